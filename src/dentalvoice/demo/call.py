"""`dentalvoice demo`: one whole call on the embedded defaults, with a talking simulated caller.

A throwaway SQLite database, the Twilio emulator in process, local models, no credentials: a
demo clinic is created, a sample lead's GHL webhook is posted, and the real path runs — gate,
dialer, `calls.create`, callbacks, the media stream, the voice pipeline — against a caller that
speaks a scenario's lines and hears only audio. The clock starts on a weekday morning in the
clinic's zone so the gate allows the call at any hour.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from dentalvoice.app import create_app
from dentalvoice.callers.talking import TalkingCaller, TranscriptLine
from dentalvoice.clock import process_clock
from dentalvoice.config import Settings, load_settings
from dentalvoice.conversation.evaluation.scenario import Scenario
from dentalvoice.db import open_database
from dentalvoice.db.migrate import upgrade
from dentalvoice.dialer.progress import latest_attempt
from dentalvoice.emulators.twilio import CallRecord, create_emulator, serve_twilio_emulator
from dentalvoice.locations import service as location_service
from dentalvoice.locations.schemas import LocationCreate
from dentalvoice.serving import bind, serve_asgi, url_of
from dentalvoice.voice.handler import TurnTaking, VoiceCallHandler, VoiceCallResult
from dentalvoice.voice.providers import SpeechProviders

PUBLIC = "https://demo.dentalvoice.test"
ACCOUNT_SID = "AC" + "de" * 16
GHL_LOCATION = "LocDemo0000000000001"
DEMO_FROM = "+13055550100"
DEFAULT_PHONE = "+13055550123"
DEMO_FRONT_DESK = "+13055550199"  # where transfers go; the emulator's person answers there


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo call did."""

    call: CallRecord
    caller: TalkingCaller
    result: VoiceCallResult | None
    outcome: str | None  # the attempt's outcome as the dialer recorded it


def morning(zone: str) -> datetime:
    """The next weekday, 10:00 in `zone`, in UTC."""
    tz = ZoneInfo(zone)
    day = datetime.now(tz).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=tz).astimezone(UTC)


def throwaway_settings(
    *,
    data_dir: Path,
    twilio_url: str,
    auth_token: str,
    account_sid: str,
    from_number: str,
    public_url: str,
    zone: str,
    database_name: str,
    **overrides: object,
) -> Settings:
    """Settings for a throwaway run against the Twilio emulator: its own SQLite file in
    `data_dir`, fresh keys, and a simulated clock at 10:00 on the next weekday in `zone`."""
    return load_settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / database_name}",
        phi_encryption_key=base64.b64encode(os.urandom(32)).decode(),
        ghl_webhook_secret=secrets.token_urlsafe(24),
        twilio_account_sid=account_sid,
        twilio_auth_token=auth_token,
        twilio_api_base_url=twilio_url,
        twilio_from_number=from_number,
        public_base_url=public_url,
        simulated_clock_start=morning(zone),
        **overrides,
    )


def demo_settings(
    *, data_dir: Path, twilio_url: str, scenario: Scenario, auth_token: str
) -> Settings:
    """Settings for a throwaway run: its own SQLite file, keys and emulator account."""
    return throwaway_settings(
        data_dir=data_dir,
        twilio_url=twilio_url,
        auth_token=auth_token,
        account_sid=ACCOUNT_SID,
        from_number=DEMO_FROM,
        public_url=PUBLIC,
        zone=scenario.location.timezone,
        database_name="demo.db",
        log_level="WARNING",
    )


async def run_demo(
    *,
    scenario: Scenario,
    data_dir: Path,
    on_line: Callable[[TranscriptLine], None] | None = None,
    max_call_s: float = 240.0,
    providers: SpeechProviders | None = None,
    turn_taking: TurnTaking | None = None,
) -> DemoResult:
    """Run the scenario's call end to end and return what happened.

    Args:
        scenario: Who the clinic and the lead are, and how the caller answers.
        data_dir: A directory the demo may wipe and use.
        on_line: Told of each transcript line as the caller hears or says it.
        max_call_s: The longest the call may take.
        providers: Speech services other than the settings' (benchmarks compare them).
        turn_taking: VAD and turn settings other than ours (benchmarks compare them).

    Returns:
        The emulator's record of the call, the caller (turns, recording) and the results.
    """
    await asyncio.to_thread(_fresh, data_dir)
    token = secrets.token_urlsafe(24)
    phone = scenario.lead.phone or DEFAULT_PHONE
    caller = TalkingCaller.from_scenario(scenario, max_call_s=max_call_s)
    app_sock = bind()
    emulator = create_emulator(
        account_sid=ACCOUNT_SID,
        auth_token=token,
        route={PUBLIC: url_of(app_sock)},
    )
    emulator.set_callee(phone, caller)
    async with serve_twilio_emulator(emulator) as twilio_url:
        settings = demo_settings(
            data_dir=data_dir, twilio_url=twilio_url, scenario=scenario, auth_token=token
        )
        db, _ = open_database(settings)
        await upgrade(db)
        async with db.transaction() as session:
            await location_service.create_location(
                session=session,
                location_in=LocationCreate(
                    name=scenario.location.name,
                    ghl_location_id=GHL_LOCATION,
                    timezone=scenario.location.timezone,
                    transfer_number=DEMO_FRONT_DESK
                    if scenario.location.transfer_available
                    else None,
                ),
            )
        clock = process_clock(settings)
        handler = VoiceCallHandler(
            settings=settings,
            db=db,
            clock=clock,
            providers=providers,
            turn_taking=turn_taking or TurnTaking(),
        )
        app = create_app(settings, media_handler=handler, clock=clock)
        # As a server is before its first lead: models loaded, fixed prompts synthesised.
        await handler.warm_up()
        with app_sock:
            async with (
                app.router.lifespan_context(app),
                serve_asgi(app, sock=app_sock, websockets=True) as app_url,
                httpx.AsyncClient(base_url=app_url, timeout=30) as http,
            ):
                # The call control exists once the app has started (it owns the Twilio client).
                handler.control = app.state.telephony.control
                await _post_lead(http, settings, scenario, phone)
                (call,) = await emulator.wait_calls(1, timeout=60)
                follower = _Follower(caller, on_line)
                printer = asyncio.create_task(follower.run())
                try:
                    call = await emulator.wait_call_ended(call.sid, timeout=max_call_s + 30)
                finally:
                    printer.cancel()
                    await asyncio.gather(printer, return_exceptions=True)
                follower.flush()
                async with db.reader() as session:
                    attempt = await latest_attempt(session=session)
                outcome = attempt.outcome if attempt is not None else None
        await handler.aclose()
        await db.dispose()
    result = handler.results[-1] if handler.results else None
    return DemoResult(call=call, caller=caller, result=result, outcome=outcome)


def _fresh(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


class _Follower:
    """Hands the caller's transcript lines to `on_line` as they appear."""

    def __init__(
        self, caller: TalkingCaller, on_line: Callable[[TranscriptLine], None] | None
    ) -> None:
        self._caller = caller
        self._on_line = on_line
        self._shown = 0

    async def run(self) -> None:
        # A display refresh: the caller appends lines from its own tasks, with no event.
        while True:
            self.flush()
            await asyncio.sleep(0.25)

    def flush(self) -> None:
        lines = self._caller.transcript[self._shown :]
        self._shown += len(lines)
        if self._on_line is not None:
            for line in lines:
                self._on_line(line)


async def _post_lead(
    http: httpx.AsyncClient, settings: Settings, scenario: Scenario, phone: str
) -> None:
    assert settings.ghl_webhook_secret is not None
    body = {
        "contact_id": "ctdemo" + secrets.token_hex(6),
        "first_name": scenario.lead.first_name,
        "last_name": scenario.lead.last_name,
        "phone": phone,
        "state": scenario.lead.state,
        "country": "US",
        "location": {"id": GHL_LOCATION, "name": scenario.location.name},
        "customData": {"consent": "yes", "consent_text": "I agree to automated calls"},
    }
    response = await http.post(
        "/webhooks/ghl",
        params={"token": settings.ghl_webhook_secret.get_secret_value()},
        json=body,
    )
    if response.status_code != 202 or "next_call_at" not in response.json():
        raise RuntimeError(f"the demo lead was not scheduled: {response.text}")
