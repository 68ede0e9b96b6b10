"""The demo clinic: GHL seeded as the scenario describes it, and our location pointing at it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from dentalvoice.conversation.evaluation.scenario import Scenario, parse_scenario
from dentalvoice.conversation.qualification import Outcome
from dentalvoice.crm.options import CrmOptions
from dentalvoice.demo.clinic import FIELDS, STAGE_OF, DemoClinic, seed_clinic
from dentalvoice.emulators.ghl import GhlEmulator, ManualClock

SLOTS = ["2026-11-25T14:00:00-05:00", "2026-11-25T15:30:00-05:00", "2026-11-27T10:00:00-05:00"]
PHONE = "+13055550123"
CONTACT = "DemoTestContact00001"


def scenario(**extra: Any) -> Scenario:
    return parse_scenario(
        {"name": "t", "lead": {"first_name": "Sam", "phone": PHONE}, "caller": {}, **extra}
    )


def seeded(spec: Scenario) -> tuple[GhlEmulator, DemoClinic]:
    emulator = GhlEmulator(clock=ManualClock(spec.call_time), seed=1)
    clinic = seed_clinic(
        emulator, scenario=spec, contact_id=CONTACT, phone=PHONE, transfer_number=None
    )
    return emulator, clinic


async def _call(
    emulator: GhlEmulator, clinic: DemoClinic, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    assert clinic.location.ghl_token is not None
    headers = {"Authorization": f"Bearer {clinic.location.ghl_token}", "Version": "2021-04-15"}
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport, base_url="https://ghl.test") as client:
        return await client.request(method, path, headers=headers, **kwargs)


async def _free(emulator: GhlEmulator, clinic: DemoClinic, spec: Scenario) -> list[str]:
    start = spec.call_time
    response = await _call(
        emulator,
        clinic,
        "GET",
        f"/calendars/{clinic.calendar_id}/free-slots",
        params={
            "startDate": int(start.timestamp() * 1000),
            "endDate": int((start + timedelta(days=14)).timestamp() * 1000),
        },
    )
    assert response.status_code == 200, response.text
    days = {k: v for k, v in response.json().items() if k != "traceId"}
    return [slot for day in sorted(days) for slot in days[day]["slots"]]


def _book(clinic: DemoClinic, start: str) -> dict[str, Any]:
    return {
        "calendarId": clinic.calendar_id,
        "locationId": clinic.location.ghl_location_id,
        "contactId": CONTACT,
        "startTime": start,
    }


async def test_the_calendar_offers_exactly_the_scenarios_free_slots() -> None:
    spec = scenario(free_slots=SLOTS)
    emulator, clinic = seeded(spec)

    assert clinic.calendar_id is not None and clinic.location.calendar_id == clinic.calendar_id
    assert await _free(emulator, clinic, spec) == SLOTS
    booked = await _call(
        emulator, clinic, "POST", "/calendars/events/appointments", json=_book(clinic, SLOTS[1])
    )
    assert booked.status_code == 200, booked.text
    assert await _free(emulator, clinic, spec) == [SLOTS[0], SLOTS[2]]


async def test_a_taken_slot_is_listed_but_refused_and_a_down_calendar_refuses_all() -> None:
    taken = scenario(free_slots=SLOTS, calendar={"taken": [SLOTS[0]]})
    emulator, clinic = seeded(taken)

    assert await _free(emulator, clinic, taken) == SLOTS  # the list was fetched before
    path = "/calendars/events/appointments"
    refused = await _call(emulator, clinic, "POST", path, json=_book(clinic, SLOTS[0]))
    assert refused.status_code == 400
    ok = await _call(emulator, clinic, "POST", path, json=_book(clinic, SLOTS[1]))
    assert ok.status_code == 200

    down = scenario(free_slots=SLOTS, calendar={"down": True})
    emulator, clinic = seeded(down)
    assert await _free(emulator, clinic, down) == SLOTS
    failing = await _call(emulator, clinic, "POST", path, json=_book(clinic, SLOTS[1]))
    assert failing.status_code == 503


def test_without_free_slots_the_clinic_has_no_calendar() -> None:
    emulator, clinic = seeded(scenario())

    assert clinic.calendar_id is None and clinic.location.calendar_id is None
    assert emulator.state.calendars == {}


def test_our_location_names_ghls_stages_and_fields() -> None:
    emulator, clinic = seeded(scenario())
    location = clinic.location

    (pipeline,) = emulator.state.pipelines.values()
    assert location.pipeline_id == pipeline.id
    names = {stage.id: stage.name for stage in pipeline.stages}
    assert {o: names[i] for o, i in location.pipeline_stages.items()} == {
        o.value: name for o, name in STAGE_OF.items()
    }
    assert Outcome.WRONG_NUMBER.value not in location.pipeline_stages  # left where it was
    keys = {d.field_key for d in emulator.state.custom_fields.values()}
    crm = CrmOptions.model_validate(location.options.model_dump()["crm"])
    written = crm.fields.model_dump(exclude_none=True)
    assert set(written) == set(FIELDS) and set(written.values()) <= keys
    # The lead is the contact the webhook names, with an opportunity in the first stage.
    contact = emulator.state.contacts[CONTACT]
    assert contact.phone == PHONE and contact.first_name == "Sam"
    (opportunity,) = emulator.state.opportunities_of(CONTACT)
    assert names[opportunity.stage_id] == "New Lead"
    assert location.ghl_token in {p.token for p in emulator.state.private_tokens.values()}
