"""Opportunities: pipelines, snake_case search, create, move stage; duplicates and 403."""

from __future__ import annotations

import httpx

from dentalvoice.emulators.ghl import GhlEmulator

from .conftest import Clinic, World


def _create_body(clinic: Clinic, **overrides: object) -> dict[str, object]:
    return {
        "pipelineId": clinic.pipeline.id,
        "locationId": clinic.location.id,
        "name": "Avery Stone - consult",
        "status": "open",
        "contactId": clinic.contact.id,
        **overrides,
    }


async def test_pipelines_list_stages_in_order(http: httpx.AsyncClient, clinic: Clinic) -> None:
    response = await http.get(
        "/opportunities/pipelines",
        headers=clinic.headers,
        params={"locationId": clinic.location.id},
    )

    assert response.status_code == 200
    (pipeline,) = response.json()["pipelines"]
    assert pipeline["id"] == clinic.pipeline.id
    assert [s["name"] for s in pipeline["stages"]] == [
        "New Lead",
        "Contacted",
        "Appointment Booked",
    ]
    assert [s["id"] for s in pipeline["stages"]] == [s.id for s in clinic.pipeline.stages]


async def test_create_is_201_in_the_first_stage_and_a_duplicate_is_refused(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    body = _create_body(clinic, customFields=[{"id": clinic.budget.id, "field_value": "4500"}])

    created = await http.post("/opportunities/", headers=clinic.headers, json=body)
    again = await http.post("/opportunities/", headers=clinic.headers, json=_create_body(clinic))

    assert created.status_code == 201
    opportunity = created.json()["opportunity"]
    assert opportunity["pipelineStageId"] == clinic.pipeline.stages[0].id
    assert opportunity["contact"]["id"] == clinic.contact.id
    assert opportunity["customFields"] == [{"id": clinic.budget.id, "fieldValue": "4500"}]
    assert again.status_code == 400
    assert again.json()["message"] == "Can not create duplicate opportunity for the contact."
    assert len(emulator.state.opportunities) == 1


async def test_create_refuses_a_missing_field_and_the_all_status(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    body = _create_body(clinic)
    del body["contactId"]

    missing = await http.post("/opportunities/", headers=clinic.headers, json=body)
    all_status = await http.post(
        "/opportunities/", headers=clinic.headers, json=_create_body(clinic, status="all")
    )

    assert (missing.status_code, missing.json()["message"]) == (422, ["contactId: is required"])
    assert all_status.status_code == 422
    assert emulator.state.opportunities == {}


async def test_search_filters_by_snake_case_parameters(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    mine = emulator.seed_opportunity(contact_id=clinic.contact.id, pipeline=clinic.pipeline.name)
    someone = emulator.seed_contact(location_id=clinic.location.id, first_name="Sam")
    emulator.seed_opportunity(
        contact_id=someone.id, pipeline=clinic.pipeline.id, stage="Contacted", status="lost"
    )

    by_contact = await http.get(
        "/opportunities/search",
        headers=clinic.headers,
        params={"location_id": clinic.location.id, "contact_id": clinic.contact.id},
    )
    open_ones = await http.get(
        "/opportunities/search",
        headers=clinic.headers,
        params={"location_id": clinic.location.id, "status": "open"},
    )
    everything = await http.get(
        "/opportunities/search",
        headers=clinic.headers,
        params={"location_id": clinic.location.id, "status": "all", "limit": 1},
    )

    assert [o["id"] for o in by_contact.json()["opportunities"]] == [mine.id]
    assert [o["id"] for o in open_ones.json()["opportunities"]] == [mine.id]
    meta = everything.json()["meta"]
    assert (meta["total"], meta["currentPage"], meta["nextPage"]) == (2, 1, 2)
    assert len(everything.json()["opportunities"]) == 1


async def test_update_moves_the_stage_and_the_state_shows_it(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic, clock: object
) -> None:
    opportunity = emulator.seed_opportunity(
        contact_id=clinic.contact.id, pipeline=clinic.pipeline.id
    )
    booked = clinic.pipeline.stages[2]

    response = await http.put(
        f"/opportunities/{opportunity.id}",
        headers=clinic.headers,
        json={"pipelineId": clinic.pipeline.id, "pipelineStageId": booked.id, "status": "won"},
    )

    assert response.status_code == 200
    assert response.json()["opportunity"]["pipelineStageId"] == booked.id
    (shown,) = emulator.contact_state(clinic.contact.id)["opportunities"]
    assert (shown["stageName"], shown["status"]) == ("Appointment Booked", "won")


async def test_update_refuses_a_stage_of_another_pipeline(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    opportunity = emulator.seed_opportunity(
        contact_id=clinic.contact.id, pipeline=clinic.pipeline.id
    )

    response = await http.put(
        f"/opportunities/{opportunity.id}",
        headers=clinic.headers,
        json={"pipelineStageId": "7915dedc-8f18-44d5-8bc3-77c04e994a10"},
    )

    assert response.status_code == 400
    assert emulator.state.opportunities[opportunity.id].stage_id == clinic.pipeline.stages[0].id


async def test_other_locations_opportunities_are_403(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World
) -> None:
    theirs = emulator.seed_opportunity(
        contact_id=world.other.contact.id, pipeline=world.other.pipeline.id
    )

    search = await http.get(
        "/opportunities/search",
        headers=world.clinic.headers,
        params={"location_id": world.other.location.id},
    )
    update = await http.put(
        f"/opportunities/{theirs.id}", headers=world.clinic.headers, json={"status": "won"}
    )

    assert (search.status_code, update.status_code) == (403, 403)
    assert emulator.state.opportunities[theirs.id].status == "open"
