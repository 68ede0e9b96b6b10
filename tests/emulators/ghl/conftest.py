"""Fixtures: an emulator on a manual clock, a seeded clinic, and an in-process HTTP client.

The clock starts on Monday 2030-01-07 at 12:00 UTC (07:00 in New York), before the clinic
opens, so every slot of the day is still in the future. Each test gets a fresh emulator;
requests go through `httpx.ASGITransport`, so no port is opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from dentalvoice.emulators.ghl import (
    Calendar,
    Contact,
    CustomField,
    GhlEmulator,
    Location,
    ManualClock,
    OAuthClient,
    Pipeline,
    PrivateToken,
)

START = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
VERSION = "2021-07-28"
CALENDARS_VERSION = "2021-04-15"
BASE_URL = "https://services.leadconnectorhq.com"


@dataclass
class Clinic:
    """One seeded location and what it holds."""

    location: Location
    pit: PrivateToken
    contact: Contact
    pain: CustomField
    treatment: CustomField
    budget: CustomField
    pipeline: Pipeline
    calendar: Calendar

    @property
    def headers(self) -> dict[str, str]:
        """Bearer PIT and the contacts/opportunities/locations Version."""
        return {"Authorization": f"Bearer {self.pit.token}", "Version": VERSION}

    @property
    def calendar_headers(self) -> dict[str, str]:
        """Bearer PIT and the calendars Version."""
        return {"Authorization": f"Bearer {self.pit.token}", "Version": CALENDARS_VERSION}


@dataclass
class World:
    """Two clinics of one agency, and an OAuth app installed by the agency."""

    clinic: Clinic
    other: Clinic
    client: OAuthClient


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock) -> GhlEmulator:
    return GhlEmulator(clock=clock, seed=7)


def seed_clinic(emulator: GhlEmulator, name: str, timezone: str, company_id: str) -> Clinic:
    """A clinic open Monday-Friday 09:00-12:00 and 13:00-17:00, 30-minute slots."""
    location = emulator.seed_location(name=name, timezone=timezone, company_id=company_id)
    hours = {day: [("09:00", "12:00"), ("13:00", "17:00")] for day in range(5)}
    return Clinic(
        location=location,
        pit=emulator.seed_pit(location_id=location.id, name=f"{name} agent"),
        contact=emulator.seed_contact(
            location_id=location.id,
            first_name="Avery",
            last_name="Stone",
            phone="+13055550123",
            tags=["new lead"],
        ),
        pain=emulator.seed_custom_field(
            location_id=location.id, name="Pain level", data_type="NUMERICAL"
        ),
        treatment=emulator.seed_custom_field(location_id=location.id, name="Treatment interest"),
        budget=emulator.seed_custom_field(
            location_id=location.id, name="Budget", model="opportunity", data_type="MONETORY"
        ),
        pipeline=emulator.seed_pipeline(
            location_id=location.id,
            stages=["New Lead", "Contacted", "Appointment Booked"],
        ),
        calendar=emulator.seed_calendar(location_id=location.id, open_hours=hours),
    )


@pytest.fixture
def world(emulator: GhlEmulator) -> World:
    clinic = seed_clinic(emulator, "Sunrise Dental", "America/New_York", "Agency00000000000001")
    other = seed_clinic(emulator, "Harbor Dental", "America/Los_Angeles", "Agency00000000000001")
    client = emulator.seed_oauth_client(name="dentalvoice", company_id="Agency00000000000001")
    return World(clinic=clinic, other=other, client=client)


@pytest.fixture
def clinic(world: World) -> Clinic:
    return world.clinic


@pytest.fixture
async def http(emulator: GhlEmulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds, as free-slots wants `startDate` and `endDate`."""
    return round(moment.timestamp() * 1000)
