"""Injected faults: statuses, 429 bursts, hangs, expired tokens; Python API and admin routes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from dentalvoice.emulators.ghl import GhlEmulator, ManualClock

from .conftest import Clinic


async def _get(http: httpx.AsyncClient, clinic: Clinic) -> int:
    return (await http.get(f"/contacts/{clinic.contact.id}", headers=clinic.headers)).status_code


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_the_next_n_requests_fail_with_the_status(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic, status: int
) -> None:
    emulator.inject_fault(status=status, count=2)

    statuses = [await _get(http, clinic) for _ in range(3)]

    assert statuses == [status, status, 200]
    assert [r.fault is not None for r in emulator.requests] == [True, True, False]


async def test_a_fault_for_a_duration_ends_on_the_emulator_clock(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic, clock: ManualClock
) -> None:
    emulator.inject_fault(status=503, count=None, duration_s=30)

    during = [await _get(http, clinic) for _ in range(3)]
    clock.advance(30)
    after = await _get(http, clinic)

    assert during == [503, 503, 503]
    assert after == 200


async def test_a_fault_without_limits_lasts_until_cleared(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    fault = emulator.inject_fault(status=500, count=None)

    before = [await _get(http, clinic) for _ in range(5)]
    assert emulator.clear_faults() == 1
    after = await _get(http, clinic)

    assert before == [500] * 5
    assert fault.hits == 5
    assert after == 200


async def test_a_fault_can_target_a_path_pattern_and_method(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    emulator.inject_fault(status=502, count=None, method="POST", path="/contacts/*/notes")
    notes = f"/contacts/{clinic.contact.id}/notes"

    read = await http.get(notes, headers=clinic.headers)
    write = await http.post(notes, headers=clinic.headers, json={"body": "x"})
    tags = await http.post(
        f"/contacts/{clinic.contact.id}/tags", headers=clinic.headers, json={"tags": ["a"]}
    )

    assert (read.status_code, write.status_code, tags.status_code) == (200, 502, 201)
    assert emulator.state.notes == {}


async def test_a_429_burst_shows_exhausted_headers(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    emulator.inject_fault(kind="rate_limit", count=1)

    refused = await http.get(f"/contacts/{clinic.contact.id}", headers=clinic.headers)
    then = await http.get(f"/contacts/{clinic.contact.id}", headers=clinic.headers)

    assert refused.status_code == 429
    assert refused.json()["message"] == "Too Many Requests - Rate limit exceeded"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Max"] == "100"
    assert then.status_code == 200


async def test_a_hang_lasts_until_the_client_gives_up(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    emulator.inject_fault(kind="timeout")

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await _get(http, clinic)
    after = await _get(http, clinic)

    assert after == 200
    assert [r.status for r in emulator.requests] == [0, 200]


async def test_a_hang_ends_with_504_when_cleared_or_after_hang_s(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    fault = emulator.inject_fault(kind="timeout")
    hanging = asyncio.create_task(_get(http, clinic))
    await fault.hit.wait()
    emulator.clear_faults()

    assert await hanging == 504
    emulator.inject_fault(kind="timeout", hang_s=0.0)
    assert await _get(http, clinic) == 504


async def test_an_expired_token_is_401_from_now_on(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    before = await _get(http, clinic)
    assert emulator.expire_tokens(token=clinic.pit.token) == 1
    after = await _get(http, clinic)

    assert (before, after) == (200, 401)


async def test_faults_and_expiry_through_the_admin_routes(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    created = await http.post(
        "/_emulator/faults", json={"status": 503, "count": None, "path": "/contacts/*"}
    )
    listed = await http.get("/_emulator/faults")
    failed = await _get(http, clinic)
    cleared = await http.delete("/_emulator/faults")
    healthy = await _get(http, clinic)
    expired = await http.post("/_emulator/tokens/expire", json={"location_id": clinic.location.id})
    unauthorized = await _get(http, clinic)
    bad = await http.post("/_emulator/faults", json={"status": 503, "color": "red"})

    assert created.status_code == 201
    assert [f["id"] for f in listed.json()["faults"]] == [created.json()["id"]]
    assert (failed, healthy, unauthorized) == (503, 200, 401)
    assert cleared.json() == {"cleared": 1}
    assert expired.json() == {"expired": 1}
    assert bad.status_code == 400
