"""The `dentalvoice` command: clinics, stored events, replay, and `serve` as a real process."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dentalvoice.config import get_settings
from dentalvoice.telephony import TwilioClient
from tests import factories as f
from tests.conftest import TEST_SECRET, invoke


def test_location_add_and_list(cli_env: dict[str, str]) -> None:
    code, out = invoke(
        "location", "add", "--name", "Bright Test Dental", "--ghl-location-id", "LocCli1",
        "--timezone", "America/Chicago", "--transfer-number", "+13055550100",
    )  # fmt: skip
    assert code == 0, out
    assert "added location" in out

    code, out = invoke("location", "list")
    assert code == 0
    assert "LocCli1" in out and "America/Chicago" in out

    code, out = invoke(
        "location", "add", "--name", "Again", "--ghl-location-id", "LocCli1",
        "--timezone", "America/Chicago",
    )  # fmt: skip
    assert code == 1 and "already exists" in out


def test_location_add_generates_a_secret_when_none_is_configured(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GHL_WEBHOOK_SECRET")
    get_settings.cache_clear()
    code, out = invoke(
        "location", "add", "--name", "N", "--ghl-location-id", "LocCli2", "--timezone", "UTC"
    )
    assert code == 0, out
    assert "/webhooks/ghl?token=" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Base"], "--timezone"),
        (["--timezone", "UTC", "--country", "MX"], "--country"),
        (["--timezone", "UTC", "--transfer-number", "12"], "--transfer-number"),
    ],
)
def test_location_add_rejects_bad_options(
    cli_env: dict[str, str], args: list[str], message: str
) -> None:
    code, out = invoke("location", "add", "--name", "N", "--ghl-location-id", "L", *args)
    assert code == 2
    assert message in out


def test_a_bad_setting_stops_with_one_line(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    get_settings.cache_clear()
    code, out = invoke("db", "upgrade")
    assert code == 2
    assert "invalid DATABASE_URL" in out


def test_keys_generate() -> None:
    code, out = invoke("keys", "generate")
    assert code == 0 and len(out.strip()) == 44


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(cli_env: dict[str, str]) -> AsyncIterator[str]:
    """`dentalvoice serve` in its own process, ready when uvicorn says so."""
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dentalvoice", "serve", "--port", str(port),
        env={**os.environ, **cli_env, "LOG_LEVEL": "INFO"},
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = []
    async with asyncio.timeout(60):
        while True:
            line = (await proc.stderr.readline()).decode()
            seen.append(line)
            if "Application startup complete" in line:
                break
            assert line, "server exited before it was ready:\n" + "".join(seen)
    drain = asyncio.create_task(proc.stderr.read())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        await proc.wait()
        output = (await drain).decode()
        # Webhook bodies carried a name, a phone and the secret: none may be logged.
        for secret in (f.FIRST_NAME, f.PHONE_E164, "555-0123", TEST_SECRET):
            assert secret not in output + "".join(seen)


async def test_serve_receive_unroutable_then_add_location_and_replay(
    server: str, cli_env: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).json()["checks"] == {"database": "ok"}
        response = await client.post(
            "/webhooks/ghl", params={"token": TEST_SECRET}, json=f.workflow_body()
        )
    assert response.status_code == 422
    assert response.json()["status"] == "unroutable"
    event_id = response.json()["event_id"]

    code, out = await asyncio.to_thread(invoke, "events", "list", "--status", "unroutable")
    assert code == 0 and event_id[:8] in out

    code, out = await asyncio.to_thread(
        invoke, "location", "add", "--name", "Bright Test Dental",
        "--ghl-location-id", f.GHL_LOCATION_ID, "--timezone", "America/New_York",
    )  # fmt: skip
    assert code == 0, out

    code, out = await asyncio.to_thread(invoke, "events", "replay", "--all-unprocessed")
    assert code == 0, out
    assert f"{event_id}  accepted" in out

    code, out = await asyncio.to_thread(invoke, "events", "list", "--status", "processed")
    assert event_id[:8] in out
    code, out = await asyncio.to_thread(invoke, "events", "replay", event_id)
    assert code == 0 and "already_processed" in out
    code, out = await asyncio.to_thread(invoke, "events", "replay")
    assert code == 2


def test_chat_talks_and_shows_the_qualification(cli_env: dict[str, str]) -> None:
    code, out = invoke(
        "chat",
        "--first-name",
        "Testina",
        input="Yes.\nYes, this is Testina.\nI need a cleaning.\nstop calling me\n",
    )
    assert code == 0, out
    assert "AI assistant" in out
    assert "treatment_interest" in out and "cleaning_checkup" in out
    assert "MarkDoNotCall" in out
    assert "opted_out" in out


def test_chat_ends_on_end_of_input(cli_env: dict[str, str]) -> None:
    code, out = invoke("chat", input="Yes.\n")
    assert code == 0, out


def test_eval_exit_codes(cli_env: dict[str, str], tmp_path: Path) -> None:
    scenarios = Path(__file__).resolve().parents[1] / "scenarios"
    code, out = invoke(
        "eval", str(scenarios / "stop-alone.yaml"), str(scenarios / "wrong-number.yaml")
    )
    assert code == 0, out
    assert "2/2 scenarios passed" in out

    failing = tmp_path / "failing.yaml"
    failing.write_text(
        (scenarios / "stop-alone.yaml").read_text().replace("outcome: opted_out", "outcome: booked")
    )
    code, out = invoke("eval", str(failing))
    assert code == 1
    assert "0/1 scenarios passed" in out

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nexpect: {outcome: nonsense}\n")
    code, out = invoke("eval", str(bad))
    assert code == 2
    code, out = invoke("eval", str(scenarios), "--mode", "telepathy")
    assert code == 2 and "telepathy" in out


@pytest.mark.parametrize(
    ("args", "verdict", "reason"),
    [
        (["--at", "2026-11-24T10:15:00-05:00"], "allow", None),
        (["--at", "2026-11-24T21:15:00-05:00"], "defer", "outside_hours:US-FL"),
        (["--at", "2026-11-24T10:15:00-05:00", "--no-consent"], "block", "no_consent"),
    ],
)
def test_compliance_check(
    cli_env: dict[str, str], args: list[str], verdict: str, reason: str | None
) -> None:
    code, out = invoke("compliance", "check", "--phone", f.PHONE_E164, *args)
    assert code == 0, out
    assert "+1******0123 at 2026-11-24T" in out and f": {verdict}" in out
    assert f.PHONE_E164 not in out
    if reason:
        assert reason in out
    if verdict == "defer":
        assert "not before: 2026-11-25T13:00:00+00:00" in out


def test_compliance_check_rejects_bad_input(cli_env: dict[str, str]) -> None:
    assert invoke("compliance", "check", "--phone", "xyz")[0] == 2
    assert invoke("compliance", "check", "--phone", f.PHONE_E164, "--at", "tomorrow")[0] == 2
    assert (
        invoke("compliance", "check", "--phone", f.PHONE_E164, "--at", "2026-11-24T10:00")[0] == 2
    )


def test_llm_provider_openai_needs_a_key(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dentalvoice.config import get_settings

    monkeypatch.setenv("LLM_PROVIDER", "openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    get_settings.cache_clear()
    code, out = invoke("chat", input="")
    assert code == 2 and "OPENAI_API_KEY" in out
    code, out = invoke("chat", "--agent", "scripted", input="")
    assert code == 0, out


def test_emulate_twilio_needs_an_account_and_known_options(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = invoke("emulate", "twilio")
    assert code == 2 and "TWILIO_ACCOUNT_SID" in output

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    get_settings.cache_clear()
    code, output = invoke("emulate", "twilio", "--callee", "chatty")
    assert code == 2 and "chatty" in output
    code, output = invoke("emulate", "twilio", "--route", "no-equals-sign")
    assert code == 2 and "public=local" in output


def test_worker_refuses_to_start_without_twilio(cli_env: dict[str, str]) -> None:
    code, output = invoke("worker")
    assert code == 2 and "TWILIO_ACCOUNT_SID" in output


async def test_emulate_twilio_serves_the_calls_api(tmp_path: Path) -> None:
    """The command as an operator runs it: a separate process the real SDK can place calls on."""
    sid, token = "AC" + "2" * 32, "emulator-token"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "TWILIO_ACCOUNT_SID": sid,
        "TWILIO_AUTH_TOKEN": token,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dentalvoice",
        "emulate",
        "twilio",
        "--port",
        str(port),
        "--callee",
        "busy",
        env=env,
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
    )
    client = None
    try:
        assert process.stderr is not None
        async with asyncio.timeout(60):
            while b"listening on" not in (line := await process.stderr.readline()):
                assert line, "the emulator exited before listening"
        client = TwilioClient(
            account_sid=sid, auth_token=token, api_base_url=f"http://127.0.0.1:{port}"
        )
        call_sid = await client.create_call(
            to="+13055550123",
            from_="+13055550100",
            url="https://agent.example.test/twilio/voice",
            status_callback="https://agent.example.test/twilio/status",
            amd_callback="https://agent.example.test/twilio/amd",
            idempotency_key="cli-test",
        )
        assert call_sid.startswith("CA")
    finally:
        if client is not None:
            await client.close()
        process.terminate()
        await process.wait()


def test_demo_runs_a_whole_call_and_exits_0_on_the_expected_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's main command, on its shortest scenario: the caller opts out at the opening.

    The demo brings its own database, keys and emulators: only DATA_DIR is set.
    """
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "dnc-at-opening.yaml"
    record = tmp_path / "call.wav"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    try:
        code, output = invoke("demo", "--scenario", str(scenario), "--record", str(record))
    finally:
        get_settings.cache_clear()

    assert code == 0, output
    shown = " ".join(output.split())
    assert "outcome opted_out (expected opted_out)" in shown
    # The live transcript has the agent's own words, a sentence a line as each starts playing
    # (not what the caller's Whisper made of them).
    lines = output.splitlines()
    assert "Hi Patricia, this is Ava, an AI assistant calling for Bright Smile Dental" in shown
    assert "        If you'd rather we didn't call, just say stop at any time." in lines, output
    assert record.stat().st_size > 44  # a WAV header and audio
    # What GHL now shows: the opt-out reached the contact, beside the tags it had.
    assert "what GHL now shows for the lead" in shown
    assert "tags new lead, facebook ad, ai-opted-out" in shown
    assert "call DND on" in shown
    assert "opportunity New Patients: Not Interested (open)" in shown
    assert "This call was handled by an AI phone assistant" in shown
    assert re.search(r"writes \d+ delivered(?!,)", shown), shown
