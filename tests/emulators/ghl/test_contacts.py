"""Contacts: read, update (fields, DND, tags), tags, notes, appointments; auth and 422s."""

from __future__ import annotations

import httpx
import pytest

from dentalvoice.emulators.ghl import GhlEmulator

from .conftest import CALENDARS_VERSION, Clinic, World


async def test_get_contact_answers_ghl_shape(http: httpx.AsyncClient, clinic: Clinic) -> None:
    response = await http.get(f"/contacts/{clinic.contact.id}", headers=clinic.headers)

    assert response.status_code == 200
    contact = response.json()["contact"]
    assert contact["id"] == clinic.contact.id
    assert contact["locationId"] == clinic.location.id
    assert contact["name"] == "Avery Stone"
    assert contact["tags"] == ["new lead"]
    assert contact["customFields"] == []
    assert contact["dateAdded"] == "2030-01-07T12:00:00.000Z"


@pytest.mark.parametrize("value_key", ["field_value", "fieldValue", "value"])
async def test_update_writes_custom_fields_by_id_under_any_value_key(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic, value_key: str
) -> None:
    body = {"customFields": [{"id": clinic.pain.id, value_key: 7}]}

    response = await http.put(f"/contacts/{clinic.contact.id}", headers=clinic.headers, json=body)

    assert response.status_code == 200
    assert response.json()["succeded"] is True
    assert response.json()["contact"]["customFields"] == [{"id": clinic.pain.id, "value": 7}]
    assert emulator.contact_state(clinic.contact.id)["customFields"] == {"contact.pain_level": 7}


async def test_update_sets_dnd_merges_channels_and_replaces_tags(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    url = f"/contacts/{clinic.contact.id}"
    first = {"dndSettings": {"SMS": {"status": "active", "message": "asked"}}}
    second = {"dnd": True, "dndSettings": {"Call": {"status": "permanent"}}, "tags": ["DNC"]}

    assert (await http.put(url, headers=clinic.headers, json=first)).status_code == 200
    response = await http.put(url, headers=clinic.headers, json=second)

    contact = emulator.state.contacts[clinic.contact.id]
    assert response.status_code == 200
    assert contact.dnd is True
    assert contact.dnd_settings == {
        "SMS": {"status": "active", "message": "asked"},
        "Call": {"status": "permanent"},
    }
    # PUT replaces every tag ("new lead" is gone); tags are stored lower-cased.
    assert contact.tags == ["dnc"]


async def test_an_unknown_custom_field_is_ignored_silently_but_recorded(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    body = {"customFields": [{"id": "Pain level", "field_value": 7}]}

    response = await http.put(f"/contacts/{clinic.contact.id}", headers=clinic.headers, json=body)

    assert response.status_code == 200
    assert emulator.state.contacts[clinic.contact.id].custom_fields == {}
    assert emulator.ignored_custom_fields == [(clinic.contact.id, "Pain level")]


async def test_an_empty_value_clears_a_custom_field(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    url = f"/contacts/{clinic.contact.id}"
    set_ = {"customFields": [{"id": clinic.treatment.id, "field_value": "implants"}]}
    clear = {"customFields": [{"id": clinic.treatment.id, "field_value": ""}]}

    await http.put(url, headers=clinic.headers, json=set_)
    assert emulator.state.contacts[clinic.contact.id].custom_fields == {
        clinic.treatment.id: "implants"
    }
    await http.put(url, headers=clinic.headers, json=clear)
    assert emulator.state.contacts[clinic.contact.id].custom_fields == {}


async def test_tags_are_added_with_201_and_removed(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    url = f"/contacts/{clinic.contact.id}/tags"

    added = await http.post(url, headers=clinic.headers, json={"tags": ["AI Called", "new lead"]})
    removed = await http.request("DELETE", url, headers=clinic.headers, json={"tags": ["new lead"]})

    assert added.status_code == 201
    assert added.json() == {"tags": ["new lead", "ai called"]}
    assert removed.status_code == 200
    assert removed.json() == {"tags": ["ai called"]}
    assert emulator.state.contacts[clinic.contact.id].tags == ["ai called"]


async def test_notes_are_created_with_201_and_listed(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    url = f"/contacts/{clinic.contact.id}/notes"
    body = {"body": "Called; wants implants.", "title": "AI call", "pinned": True}

    created = await http.post(url, headers=clinic.headers, json=body)
    listed = await http.get(url, headers=clinic.headers)

    assert created.status_code == 201
    note = created.json()["note"]
    assert (note["body"], note["title"], note["pinned"]) == (
        "Called; wants implants.",
        "AI call",
        True,
    )
    assert note["contactId"] == clinic.contact.id
    assert len(note["id"]) == 20 and note["id"].isalnum()
    assert listed.json() == {"notes": [note]}
    assert len(emulator.contact_state(clinic.contact.id)["notes"]) == 1
    writes = emulator.requests_matching(method="POST", path=url, status=201)
    assert len(writes) == 1


async def test_contact_appointments_are_listed_as_events(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    booked = emulator.seed_appointment(
        calendar_id=clinic.calendar.id,
        contact_id=clinic.contact.id,
        start="2030-01-08T10:00:00-05:00",
    )

    response = await http.get(f"/contacts/{clinic.contact.id}/appointments", headers=clinic.headers)

    assert response.status_code == 200
    (event,) = response.json()["events"]
    assert event["id"] == booked.id
    assert (event["startTime"], event["endTime"]) == (
        "2030-01-08T10:00:00-05:00",
        "2030-01-08T10:30:00-05:00",
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Invalid token: access token is invalid"),
        ({"Authorization": "Bearer pit-unknown"}, "Invalid token: access token is invalid"),
        ({"Authorization": "Basic abc"}, "Invalid token: access token is invalid"),
    ],
)
async def test_a_bad_token_is_401(
    http: httpx.AsyncClient, clinic: Clinic, headers: dict[str, str], message: str
) -> None:
    response = await http.get(
        f"/contacts/{clinic.contact.id}", headers={"Version": "2021-07-28", **headers}
    )

    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "message": message, "error": "Unauthorized"}


async def test_another_locations_contact_is_403(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World
) -> None:
    theirs = world.other.contact.id
    url = f"/contacts/{theirs}"

    read = await http.get(url, headers=world.clinic.headers)
    write = await http.post(f"{url}/notes", headers=world.clinic.headers, json={"body": "x"})

    for response in (read, write):
        assert response.status_code == 403
        assert response.json() == {
            "statusCode": 403,
            "message": "The token does not have access to this location.",
            "error": "Forbidden",
        }
    assert emulator.state.notes == {}


async def test_an_unknown_contact_is_400(http: httpx.AsyncClient, clinic: Clinic) -> None:
    response = await http.get("/contacts/NoSuchContact0000000", headers=clinic.headers)

    assert response.status_code == 400
    assert response.json()["message"] == "Contact not found"


async def test_a_wrong_version_is_422_and_changes_nothing(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    headers = {**clinic.headers, "Version": CALENDARS_VERSION}

    response = await http.post(
        f"/contacts/{clinic.contact.id}/notes", headers=headers, json={"body": "x"}
    )

    assert response.status_code == 422
    assert response.json() == {
        "statusCode": 422,
        "message": ["Version: must be one of: 2021-07-28"],
        "error": "Unprocessable Entity",
    }
    assert emulator.state.notes == {}


async def test_body_mistakes_are_422_naming_the_field(
    http: httpx.AsyncClient, clinic: Clinic
) -> None:
    url = f"/contacts/{clinic.contact.id}"

    missing = await http.post(f"{url}/notes", headers=clinic.headers, json={"title": "x"})
    wrong_type = await http.put(url, headers=clinic.headers, json={"dnd": "yes"})
    not_json = await http.post(
        f"{url}/tags", headers={**clinic.headers, "Content-Type": "text/plain"}, content=b"vip"
    )

    assert (missing.status_code, missing.json()["message"]) == (422, ["body: is required"])
    assert (wrong_type.status_code, wrong_type.json()["message"]) == (
        422,
        ["dnd: must be of type boolean"],
    )
    assert (not_json.status_code, not_json.json()["message"]) == (
        422,
        ["Content-Type: must be application/json"],
    )


async def test_a_scope_the_token_lacks_is_401(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    reader = emulator.seed_pit(
        location_id=clinic.location.id, name="reader", scopes=["contacts.readonly"]
    )
    headers = {**clinic.headers, "Authorization": f"Bearer {reader.token}"}
    url = f"/contacts/{clinic.contact.id}"

    read = await http.get(url, headers=headers)
    write = await http.put(url, headers=headers, json={"dnd": True})

    assert read.status_code == 200
    assert write.status_code == 401
    assert write.json()["message"] == "The token is not authorized for this scope."


async def test_an_unknown_route_is_nestjs_404(http: httpx.AsyncClient, clinic: Clinic) -> None:
    response = await http.get("/conversations/search", headers=clinic.headers)

    assert response.status_code == 404
    assert response.json()["message"] == "Cannot GET /conversations/search"


async def test_with_validation_off_a_missing_field_is_still_named(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    emulator.settings.validate_requests = False
    url = f"/contacts/{clinic.contact.id}/notes"

    wrong_version = await http.post(
        url, headers={**clinic.headers, "Version": "x"}, json={"body": "a"}
    )
    missing = await http.post(url, headers=clinic.headers, json={"title": "no body"})

    assert wrong_version.status_code == 201
    assert (missing.status_code, missing.json()["message"]) == (422, ["body: is required"])
