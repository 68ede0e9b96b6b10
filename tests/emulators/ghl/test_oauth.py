"""OAuth: code exchange, refresh rotation with the 30 s reuse window, agency → location."""

from __future__ import annotations

from typing import Any

import httpx

from dentalvoice.emulators.ghl import GhlEmulator, ManualClock

from .conftest import VERSION, World


async def _token(http: httpx.AsyncClient, world: World, **fields: str) -> httpx.Response:
    form = {
        "client_id": world.client.client_id,
        "client_secret": world.client.client_secret,
        **fields,
    }
    return await http.post("/oauth/token", data=form)


async def _install(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World, **code_args: Any
) -> dict[str, Any]:
    code = emulator.issue_authorization_code(client_id=world.client.client_id, **code_args)
    response = await _token(http, world, grant_type="authorization_code", code=code)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_a_code_becomes_a_location_token_that_works_once(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World
) -> None:
    clinic = world.clinic
    code = emulator.issue_authorization_code(
        client_id=world.client.client_id, location_id=clinic.location.id
    )

    first = await _token(http, world, grant_type="authorization_code", code=code)
    second = await _token(http, world, grant_type="authorization_code", code=code)

    assert first.status_code == 200
    token = first.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 86399
    assert (token["userType"], token["locationId"]) == ("Location", clinic.location.id)
    assert token["refresh_token"]
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    headers = {"Authorization": f"Bearer {token['access_token']}", "Version": VERSION}
    contact = await http.get(f"/contacts/{clinic.contact.id}", headers=headers)
    elsewhere = await http.get(f"/contacts/{world.other.contact.id}", headers=headers)
    assert (contact.status_code, elsewhere.status_code) == (200, 403)


async def test_refresh_rotates_and_a_repeat_within_30_s_gets_the_same_pair(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World, clock: ManualClock
) -> None:
    installed = await _install(http, emulator, world, location_id=world.clinic.location.id)
    old = installed["refresh_token"]

    refreshed = await _token(http, world, grant_type="refresh_token", refresh_token=old)
    clock.advance(29)
    repeated = await _token(http, world, grant_type="refresh_token", refresh_token=old)
    clock.advance(2)
    too_late = await _token(http, world, grant_type="refresh_token", refresh_token=old)
    onward = await _token(
        http, world, grant_type="refresh_token", refresh_token=refreshed.json()["refresh_token"]
    )

    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != old
    assert refreshed.json()["access_token"] != installed["access_token"]
    assert repeated.status_code == 200
    assert repeated.json()["refresh_token"] == refreshed.json()["refresh_token"]
    assert too_late.status_code == 400
    assert too_late.json()["error"] == "invalid_grant"
    assert onward.status_code == 200


async def test_access_tokens_expire_after_their_lifetime(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World, clock: ManualClock
) -> None:
    emulator.settings.access_token_ttl_s = 60
    token = await _install(http, emulator, world, location_id=world.clinic.location.id)
    headers = {"Authorization": f"Bearer {token['access_token']}", "Version": VERSION}
    url = f"/contacts/{world.clinic.contact.id}"

    fresh = await http.get(url, headers=headers)
    clock.advance(60)
    stale = await http.get(url, headers=headers)

    assert token["expires_in"] == 60
    assert (fresh.status_code, stale.status_code) == (200, 401)


async def test_an_agency_token_becomes_a_location_token(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World
) -> None:
    agency = await _install(http, emulator, world)
    agency_headers = {"Authorization": f"Bearer {agency['access_token']}", "Version": VERSION}
    form = {"companyId": agency["companyId"], "locationId": world.other.location.id}

    exchanged = await http.post("/oauth/locationToken", headers=agency_headers, data=form)
    direct = await http.get(f"/contacts/{world.other.contact.id}", headers=agency_headers)

    assert agency["userType"] == "Company"
    assert sorted(agency["approvedLocations"]) == sorted(
        [world.clinic.location.id, world.other.location.id]
    )
    assert exchanged.status_code == 200
    location_token = exchanged.json()
    assert location_token["locationId"] == world.other.location.id
    headers = {"Authorization": f"Bearer {location_token['access_token']}", "Version": VERSION}
    contact = await http.get(f"/contacts/{world.other.contact.id}", headers=headers)
    assert contact.status_code == 200
    # An agency token cannot read contacts itself; it can read its locations.
    assert direct.status_code == 401
    assert "authClass" in direct.json()["message"]
    location = await http.get(f"/locations/{world.other.location.id}", headers=agency_headers)
    assert location.json()["location"]["name"] == "Harbor Dental"


async def test_location_token_needs_an_agency_token_and_its_own_company(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World
) -> None:
    agency = await _install(http, emulator, world)
    agency_headers = {"Authorization": f"Bearer {agency['access_token']}", "Version": VERSION}
    stranger = emulator.seed_location(name="Not ours", company_id="OtherAgency000000001")

    with_pit = await http.post(
        "/oauth/locationToken",
        headers=world.clinic.headers,
        data={"companyId": agency["companyId"], "locationId": world.clinic.location.id},
    )
    foreign = await http.post(
        "/oauth/locationToken",
        headers=agency_headers,
        data={"companyId": agency["companyId"], "locationId": stranger.id},
    )
    no_version = await http.post(
        "/oauth/locationToken",
        headers={"Authorization": agency_headers["Authorization"]},
        data={"companyId": agency["companyId"], "locationId": world.clinic.location.id},
    )

    assert with_pit.status_code == 401
    assert foreign.status_code == 400
    assert (no_version.status_code, no_version.json()["message"]) == (422, ["Version: is required"])


async def test_bad_client_credentials_and_a_bad_grant_type(
    http: httpx.AsyncClient, world: World
) -> None:
    wrong_secret = await http.post(
        "/oauth/token",
        data={
            "client_id": world.client.client_id,
            "client_secret": "nope",
            "grant_type": "refresh_token",
            "refresh_token": "x",
        },
    )
    bad_grant = await _token(http, world, grant_type="password")
    missing = await http.post("/oauth/token", data={"client_id": world.client.client_id})

    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    assert bad_grant.status_code == 422
    assert bad_grant.json()["message"] == [
        "grant_type: must be one of: authorization_code, refresh_token, client_credentials"
    ]
    assert sorted(missing.json()["message"]) == [
        "client_secret: is required",
        "grant_type: is required",
    ]


async def test_a_code_bound_to_a_redirect_uri_needs_it_repeated(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World
) -> None:
    code = emulator.issue_authorization_code(
        client_id=world.client.client_id,
        location_id=world.clinic.location.id,
        redirect_uri="https://agent.example.test/oauth/callback",
    )

    wrong = await _token(http, world, grant_type="authorization_code", code=code)
    right = await _token(
        http,
        world,
        grant_type="authorization_code",
        code=code,
        redirect_uri="https://agent.example.test/oauth/callback",
    )

    assert (wrong.status_code, right.status_code) == (400, 200)
