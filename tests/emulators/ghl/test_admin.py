"""The `/_emulator/` routes: contact state, request log, seeding, codes, clock, reset."""

from __future__ import annotations

import httpx

from dentalvoice.emulators.ghl import GhlEmulator, ManualClock

from .conftest import Clinic


async def test_contact_state_gathers_everything_written(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    url = f"/contacts/{clinic.contact.id}"
    await http.post(f"{url}/notes", headers=clinic.headers, json={"body": "Booked a consult."})
    await http.post(f"{url}/tags", headers=clinic.headers, json={"tags": ["ai-booked"]})
    await http.put(
        url,
        headers=clinic.headers,
        json={"customFields": [{"id": clinic.pain.id, "field_value": 3}]},
    )
    emulator.seed_opportunity(contact_id=clinic.contact.id, pipeline=clinic.pipeline.id)

    response = await http.get(f"/_emulator/contacts/{clinic.contact.id}")
    missing = await http.get("/_emulator/contacts/NoSuchContact0000000")

    state = response.json()
    assert [n["body"] for n in state["notes"]] == ["Booked a consult."]
    assert state["tags"] == ["new lead", "ai-booked"]
    assert state["customFields"] == {"contact.pain_level": 3}
    assert [o["stageName"] for o in state["opportunities"]] == ["New Lead"]
    assert state["appointments"] == []
    assert missing.status_code == 404


async def test_the_request_log_counts_writes_and_is_filterable(
    http: httpx.AsyncClient, clinic: Clinic
) -> None:
    url = f"/contacts/{clinic.contact.id}"
    await http.get(url, headers=clinic.headers)
    await http.post(f"{url}/notes", headers=clinic.headers, json={"body": "x"})
    await http.post(f"{url}/notes", headers=clinic.headers, json={})

    everything = (await http.get("/_emulator/requests")).json()["requests"]
    notes = await http.get(
        "/_emulator/requests", params={"method": "POST", "path": f"{url}/notes", "status": 201}
    )
    await http.delete("/_emulator/requests")
    emptied = (await http.get("/_emulator/requests")).json()["requests"]

    assert [(r["method"], r["status"]) for r in everything] == [
        ("GET", 200),
        ("POST", 201),
        ("POST", 422),
    ]
    assert everything[0]["token"] == f"pit:{clinic.pit.name}"
    assert everything[0]["location_id"] == clinic.location.id
    assert len(notes.json()["requests"]) == 1
    assert emptied == []


async def test_seeding_codes_clock_and_reset_over_http(
    http: httpx.AsyncClient, emulator: GhlEmulator, clock: ManualClock
) -> None:
    document = {
        "locations": [
            {
                "name": "Lakeside Dental",
                "timezone": "America/Chicago",
                "pits": [{"name": "agent", "token": "pit-11111111-2222-4333-8444-555555555555"}],
                "pipelines": [{"name": "Leads", "stages": ["New", "Won"]}],
                "contacts": [
                    {"first_name": "Kim", "opportunities": [{"pipeline": "Leads", "stage": "Won"}]}
                ],
            }
        ],
        "oauth_clients": [{"name": "app"}],
    }

    seeded = await http.post("/_emulator/seed", json=document)
    (location,) = seeded.json()["locations"]
    client_id = seeded.json()["oauth_clients"][0]["client_id"]
    code = await http.post(
        "/_emulator/authorization-codes",
        json={"client_id": client_id, "location_id": location["id"]},
    )
    moved = await http.post("/_emulator/clock", json={"advance_s": 60})
    bad = await http.post("/_emulator/seed", json={"locations": [{"nickname": "x"}]})

    assert seeded.status_code == 201
    assert location["pits"] == [
        {"name": "agent", "token": "pit-11111111-2222-4333-8444-555555555555"}
    ]
    (contact_id,) = location["contacts"]
    assert emulator.contact_state(contact_id)["opportunities"][0]["stageName"] == "Won"
    assert code.status_code == 201 and code.json()["code"] in emulator.state.authorization_codes
    assert moved.json()["now"] == clock()
    assert bad.status_code == 400

    summary = (await http.get("/_emulator/state")).json()
    reset = await http.post("/_emulator/reset")
    assert summary["locations"] == 1 and summary["private_tokens"] == ["agent"]
    assert reset.json() == {"reset": True}
    assert emulator.state.locations == {}


async def test_the_clock_route_refuses_a_real_clock() -> None:
    emulator = GhlEmulator()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://ghl"
    ) as http:
        response = await http.post("/_emulator/clock", json={"advance_s": 1})

    assert response.status_code == 409
