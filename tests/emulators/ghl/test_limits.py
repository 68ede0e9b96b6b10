"""Rate limits: 100 per 10 s burst and a daily cap, per app and location, with GHL's headers."""

from __future__ import annotations

import httpx

from dentalvoice.emulators.ghl import GhlEmulator, ManualClock

from .conftest import World

HEADERS = (
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
)


async def test_every_answer_carries_the_rate_limit_headers(
    http: httpx.AsyncClient, world: World
) -> None:
    clinic = world.clinic
    ok = await http.get(f"/contacts/{clinic.contact.id}", headers=clinic.headers)
    forbidden = await http.get(f"/contacts/{world.other.contact.id}", headers=clinic.headers)

    assert {h: ok.headers[h] for h in HEADERS} == {
        "X-RateLimit-Limit-Daily": "200000",
        "X-RateLimit-Daily-Remaining": "199999",
        "X-RateLimit-Interval-Milliseconds": "10000",
        "X-RateLimit-Max": "100",
        "X-RateLimit-Remaining": "99",
    }
    assert forbidden.status_code == 403
    assert forbidden.headers["X-RateLimit-Remaining"] == "98"


async def test_the_101st_request_in_10_s_is_429_until_the_window_passes(
    http: httpx.AsyncClient, world: World, clock: ManualClock
) -> None:
    clinic = world.clinic
    url = f"/contacts/{clinic.contact.id}"
    for _ in range(100):
        assert (await http.get(url, headers=clinic.headers)).status_code == 200
        clock.advance(0.0625)  # 100 requests over 6.25 s (binary-exact steps)

    refused = await http.get(url, headers=clinic.headers)
    other_location = await http.get(
        f"/contacts/{world.other.contact.id}", headers=world.other.headers
    )
    clock.advance(3.75)  # the first request is now exactly 10 s old
    again = await http.get(url, headers=clinic.headers)

    assert refused.status_code == 429
    assert refused.json() == {
        "statusCode": 429,
        "message": "Too Many Requests - Rate limit exceeded",
    }
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Daily-Remaining"] == "199900"
    assert other_location.status_code == 200
    assert again.status_code == 200


async def test_the_daily_cap_holds_until_the_next_utc_day(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World, clock: ManualClock
) -> None:
    emulator.settings.daily_max = 3
    clinic = world.clinic
    url = f"/contacts/{clinic.contact.id}"
    statuses = []
    for _ in range(4):
        statuses.append((await http.get(url, headers=clinic.headers)).status_code)
        clock.advance(20)
    clock.advance(24 * 3600)
    tomorrow = await http.get(url, headers=clinic.headers)

    assert statuses == [200, 200, 200, 429]
    assert tomorrow.status_code == 200
    assert tomorrow.headers["X-RateLimit-Daily-Remaining"] == "2"


async def test_tokens_of_different_apps_count_separately(
    http: httpx.AsyncClient, emulator: GhlEmulator, world: World
) -> None:
    emulator.settings.burst_max = 1
    clinic = world.clinic
    code = emulator.issue_authorization_code(
        client_id=world.client.client_id, location_id=clinic.location.id
    )
    token = (
        await http.post(
            "/oauth/token",
            data={
                "client_id": world.client.client_id,
                "client_secret": world.client.client_secret,
                "grant_type": "authorization_code",
                "code": code,
            },
        )
    ).json()["access_token"]
    url = f"/contacts/{clinic.contact.id}"

    pit = await http.get(url, headers=clinic.headers)
    app = await http.get(url, headers={**clinic.headers, "Authorization": f"Bearer {token}"})
    pit_again = await http.get(url, headers=clinic.headers)

    assert (pit.status_code, app.status_code, pit_again.status_code) == (200, 200, 429)
