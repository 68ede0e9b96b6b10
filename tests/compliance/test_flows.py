"""Intake → gate → call job, through the webhook, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import httpx
import pytest
from sqlalchemy import select

from dentalvoice.app import create_app
from dentalvoice.compliance.flows import ScheduleFirstCall
from dentalvoice.compliance.models import ComplianceDecision, DecisionKind, DecisionPurpose
from dentalvoice.compliance.policy import decide
from dentalvoice.compliance.service import clinic_policy, lead_facts
from dentalvoice.config import Settings
from dentalvoice.db import Database
from dentalvoice.db.crypto import cipher_from_settings
from dentalvoice.dialer.models import CallJob, JobStatus
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location
from tests import factories as f
from tests.conftest import TEST_SECRET, GhlKeys
from tests.leads.test_router import URL, add_location

NY = ZoneInfo("America/New_York")


def _next_plain_wednesday() -> date:
    """The next Wednesday after today that is no US holiday: leads are created with today's
    clock, so the gate's clock must be after it for the inquiry exemption to hold."""
    day = datetime.now(UTC).date() + timedelta(days=1)
    us_holidays = holidays.country_holidays("US", years=range(day.year, day.year + 2))
    while day.weekday() != 2 or day in us_holidays:
        day += timedelta(days=1)
    return day


WEDNESDAY = _next_plain_wednesday()
# 10:00 in Miami: inside every US window.
MORNING = datetime.combine(WEDNESDAY, time(10, 0), tzinfo=NY).astimezone(UTC)
# 22:30 in Miami the same day: after 21:00 everywhere in the US.
NIGHT = datetime.combine(WEDNESDAY, time(22, 30), tzinfo=NY).astimezone(UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(MORNING)


@pytest.fixture
async def gated(settings: Settings, db: Database, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    cipher = cipher_from_settings(settings).cipher
    app = create_app(settings, lead_listeners=[ScheduleFirstCall(cipher=cipher, clock=clock)])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        yield c


async def job_of(db: Database, lead_id: str) -> CallJob:
    async with db.reader() as session:
        jobs = (
            (await session.execute(select(CallJob).where(CallJob.lead_id == uuid.UUID(lead_id))))
            .scalars()
            .all()
        )
    assert len(jobs) == 1
    return jobs[0]


async def test_a_consented_lead_in_hours_is_due_now(gated: httpx.AsyncClient, db: Database) -> None:
    await add_location(db)
    response = await gated.post(URL, params={"token": TEST_SECRET}, json=f.workflow_body())

    assert response.status_code == 202, response.text
    assert response.json()["next_call_at"] == MORNING.isoformat()
    job = await job_of(db, response.json()["lead_id"])
    assert (job.status, job.due_at) == (JobStatus.PENDING, MORNING)
    async with db.reader() as session:
        audit = (await session.execute(select(ComplianceDecision))).scalar_one()
    assert (audit.kind, audit.purpose) == (DecisionKind.ALLOW, DecisionPurpose.SCHEDULE)
    assert audit.inputs["consent"] is True
    assert f.PHONE_E164 not in str(audit.inputs) and "5550123" not in str(audit.inputs)


async def test_a_lead_at_night_is_deferred_to_the_first_lawful_minute(
    gated: httpx.AsyncClient, db: Database, clock: Clock, settings: Settings
) -> None:
    clock.now = NIGHT
    location_id = await add_location(db)
    response = await gated.post(URL, params={"token": TEST_SECRET}, json=f.workflow_body())

    job = await job_of(db, response.json()["lead_id"])
    assert job.status is JobStatus.PENDING
    assert job.due_at is not None and job.due_at > NIGHT
    assert response.json()["next_call_at"] == job.due_at.isoformat()
    # The due time is itself lawful: the gate allows the same lead at that instant.
    cipher = cipher_from_settings(settings).cipher
    async with db.reader() as session:
        lead = await session.get_one(Lead, uuid.UUID(response.json()["lead_id"]))
        location = await session.get_one(Location, location_id)
        facts = await lead_facts(
            session=session, cipher=cipher, lead=lead, location=location, at=job.due_at
        )
    assert decide(facts, clinic_policy(location), job.due_at).kind is DecisionKind.ALLOW


async def test_no_consent_blocks_and_says_why(gated: httpx.AsyncClient, db: Database) -> None:
    await add_location(db)
    body = f.workflow_body(customData={"consent": "No"})
    response = await gated.post(URL, params={"token": TEST_SECRET}, json=body)

    assert response.status_code == 202
    assert "no_consent" in response.json()["blocked"]
    job = await job_of(db, response.json()["lead_id"])
    assert job.status is JobStatus.BLOCKED and job.due_at is None


async def test_ghl_dnd_update_cancels_the_waiting_call(
    gated: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    created = f.marketplace_body(customFields=[{"id": "consent", "value": "yes"}])
    raw = f.dumps(created)
    first = await gated.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw))
    assert "next_call_at" in first.json(), first.text

    dnd = f.marketplace_body(
        "ContactDndUpdate",
        id=created["id"],
        webhookId=str(uuid.uuid4()),
        dndSettings={"Call": {"status": "active"}},
    )
    raw = f.dumps(dnd)
    second = await gated.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw))

    assert "ghl_dnd" in second.json()["blocked"]
    job = await job_of(db, first.json()["lead_id"])
    assert (job.status, job.reason) == (JobStatus.CANCELLED, "ghl_dnd")


async def test_an_edit_after_the_call_does_not_start_calling_again(
    gated: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    created = f.marketplace_body(customFields=[{"id": "consent", "value": "yes"}])
    raw = f.dumps(created)
    first = await gated.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw))
    job = await job_of(db, first.json()["lead_id"])
    async with db.transaction() as session:
        (await session.get_one(CallJob, job.id)).status = JobStatus.DONE

    update = f.marketplace_body(
        "ContactUpdate", id=created["id"], webhookId=str(uuid.uuid4()), tags=["vip"]
    )
    raw = f.dumps(update)
    second = await gated.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw))

    assert second.status_code == 202
    assert "next_call_at" not in second.json() and "blocked" not in second.json()
    assert (await job_of(db, first.json()["lead_id"])).status is JobStatus.DONE
