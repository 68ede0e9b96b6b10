"""Running on a real port: start/stop, the async context manager, and the CLI command."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from dentalvoice.emulators.ghl import GhlEmulator, seed_demo
from dentalvoice.emulators.ghl.demo import DEMO_CONTACT_ID, DEMO_PIT_NAME

from .conftest import VERSION


def _demo_headers(emulator: GhlEmulator) -> dict[str, str]:
    (pit,) = [p for p in emulator.state.private_tokens.values() if p.name == DEMO_PIT_NAME]
    return {"Authorization": f"Bearer {pit.token}", "Version": VERSION}


async def test_the_emulator_serves_on_a_free_port_as_a_context_manager() -> None:
    emulator = GhlEmulator()
    seed_demo(emulator)

    async with emulator, httpx.AsyncClient(base_url=str(emulator.url)) as http:
        assert emulator.url is not None and emulator.url.startswith("http://127.0.0.1:")
        response = await http.get(f"/contacts/{DEMO_CONTACT_ID}", headers=_demo_headers(emulator))
        assert response.status_code == 200
    assert emulator.url is None


async def test_a_client_gives_up_on_a_hang_and_stop_releases_the_rest() -> None:
    emulator = GhlEmulator()
    seed_demo(emulator)
    url = await emulator.start()
    try:
        fault = emulator.inject_fault(kind="timeout", count=2)
        async with httpx.AsyncClient(base_url=url, timeout=0.2) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get(f"/contacts/{DEMO_CONTACT_ID}", headers=_demo_headers(emulator))
            second = asyncio.create_task(
                http.get(f"/contacts/{DEMO_CONTACT_ID}", headers=_demo_headers(emulator), timeout=5)
            )
            while fault.hits < 2:
                fault.hit.clear()
                await fault.hit.wait()
            await emulator.stop()
            assert (await second).status_code == 504
    finally:
        await emulator.stop()


async def test_start_twice_is_refused() -> None:
    emulator = GhlEmulator()
    await emulator.start()
    try:
        with pytest.raises(RuntimeError):
            await emulator.start()
    finally:
        await emulator.stop()


def test_the_cli_offers_emulate_ghl() -> None:
    from typer.testing import CliRunner

    from dentalvoice.cli import app

    result = CliRunner().invoke(app, ["emulate", "ghl", "--help"])

    assert result.exit_code == 0
    assert "--seed-file" in result.output
    assert "8124" in result.output
