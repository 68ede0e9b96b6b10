"""Seeding: ids repeat per seed, references resolve by name, bad input is refused."""

from __future__ import annotations

from datetime import time

import pytest

from dentalvoice.emulators.ghl import GhlEmulator, parse_open_hours, seed_demo
from dentalvoice.emulators.ghl.demo import DEMO_LOCATION_ID


def test_the_same_seed_gives_the_same_ids_and_tokens() -> None:
    first, second, other = GhlEmulator(seed=3), GhlEmulator(seed=3), GhlEmulator(seed=4)

    made = [seed_demo(e) for e in (first, second, other)]

    assert made[0] == made[1]
    assert made[0] != made[2]
    pit = made[0]["locations"][0]["pits"][0]["token"]
    assert pit.startswith("pit-") and len(pit) == 40
    stage_id = made[0]["locations"][0]["pipelines"][0]["stages"][0]["id"]
    assert len(stage_id) == 36 and stage_id.count("-") == 4


def test_reset_forgets_everything_and_restarts_the_ids() -> None:
    emulator = GhlEmulator(seed=5)
    before = emulator.seed_location().id
    emulator.reset()

    assert emulator.state.locations == {}
    assert emulator.seed_location().id == before


def test_contacts_take_custom_field_values_by_key() -> None:
    emulator = GhlEmulator()
    seed_demo(emulator)

    contact = emulator.seed_contact(
        location_id=DEMO_LOCATION_ID,
        custom_fields={"contact.pain_level": 8, "call_outcome": "booked"},
    )

    assert emulator.contact_state(contact.id)["customFields"] == {
        "contact.pain_level": 8,
        "contact.call_outcome": "booked",
    }
    with pytest.raises(KeyError):
        emulator.seed_contact(location_id=DEMO_LOCATION_ID, custom_fields={"contact.nope": 1})


def test_references_to_missing_things_are_refused() -> None:
    emulator = GhlEmulator()
    location = emulator.seed_location()
    contact = emulator.seed_contact(location_id=location.id)
    emulator.seed_pipeline(location_id=location.id, name="Leads", stages=["New"])

    with pytest.raises(KeyError):
        emulator.seed_contact(location_id="NoSuchLocation000000")
    with pytest.raises(KeyError):
        emulator.seed_opportunity(contact_id=contact.id, pipeline="Leads", stage="Won")
    with pytest.raises(ValueError):
        emulator.seed_pit(location_id=location.id, token="not-a-pit")
    with pytest.raises(TypeError):
        emulator.seed({"locations": [{"name": "x", "colour": "blue"}]})


def test_open_hours_accept_names_and_refuse_nonsense() -> None:
    hours: dict[int | str, list[tuple[str, str]]] = {
        "Mon": [("08:00", "12:00")],
        4: [("13:00", "15:30")],
    }

    assert parse_open_hours(hours) == {
        0: [(time(8), time(12))],
        4: [(time(13), time(15, 30))],
    }
    with pytest.raises(ValueError):
        parse_open_hours({"funday": [("08:00", "12:00")]})
    with pytest.raises(ValueError):
        parse_open_hours({0: [("12:00", "08:00")]})
