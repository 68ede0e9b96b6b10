"""Locations: the location itself and its custom field definitions."""

from __future__ import annotations

import httpx

from .conftest import Clinic, World


async def test_custom_fields_are_listed_per_model(http: httpx.AsyncClient, clinic: Clinic) -> None:
    url = f"/locations/{clinic.location.id}/customFields"

    contact = await http.get(url, headers=clinic.headers, params={"model": "contact"})
    opportunity = await http.get(url, headers=clinic.headers, params={"model": "opportunity"})
    everything = await http.get(url, headers=clinic.headers)

    assert contact.status_code == 200
    fields = contact.json()["customFields"]
    assert [(f["id"], f["fieldKey"], f["dataType"]) for f in fields] == [
        (clinic.pain.id, "contact.pain_level", "NUMERICAL"),
        (clinic.treatment.id, "contact.treatment_interest", "TEXT"),
    ]
    assert [f["fieldKey"] for f in opportunity.json()["customFields"]] == ["opportunity.budget"]
    assert len(everything.json()["customFields"]) == 3


async def test_the_location_answers_its_own_token_only(
    http: httpx.AsyncClient, world: World
) -> None:
    clinic = world.clinic

    own = await http.get(f"/locations/{clinic.location.id}", headers=clinic.headers)
    other = await http.get(f"/locations/{world.other.location.id}", headers=clinic.headers)
    fields = await http.get(
        f"/locations/{world.other.location.id}/customFields", headers=clinic.headers
    )

    assert own.status_code == 200
    location = own.json()["location"]
    assert (location["id"], location["timezone"]) == (clinic.location.id, "America/New_York")
    assert (other.status_code, fields.status_code) == (403, 403)
