"""One whole demo call: the scenario's lead is called, talked to, and written back to GHL.

A throwaway SQLite database, the Twilio and GHL emulators in process, local models, no
credentials: the demo clinic is seeded in GHL and configured here (`clinic`), the lead's GHL
webhook is posted, and the real path runs — gate, dialer, `calls.create`, callbacks, the media
stream, the voice pipeline with the clinic's calendar, the CRM outbox — against a caller that
speaks a scenario's lines and hears only audio. The clock starts at the scenario's time (its
`now`, else a Tuesday morning) in the clinic's zone and runs on from there.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from zoneinfo import ZoneInfo

import httpx

from dentalvoice.app import create_app
from dentalvoice.callers.talking import TalkingCaller, TranscriptLine
from dentalvoice.clock import flowing_from
from dentalvoice.config import Settings, load_settings
from dentalvoice.conversation.evaluation.scenario import Scenario
from dentalvoice.crm.admin import list_outbox
from dentalvoice.crm.client import open_ghl_client
from dentalvoice.crm.outbox import WriteView
from dentalvoice.crm.sender import OutboxSender
from dentalvoice.db import Database, open_database
from dentalvoice.db.migrate import upgrade
from dentalvoice.demo.clinic import DemoClinic, seed_clinic
from dentalvoice.demo.ghl_view import LeadInGhl, lead_in_ghl
from dentalvoice.dialer.progress import latest_attempt
from dentalvoice.emulators.ghl import GhlEmulator, serve_ghl_emulator
from dentalvoice.emulators.twilio import CallRecord, create_emulator, serve_twilio_emulator
from dentalvoice.locations import service as location_service
from dentalvoice.serving import bind, serve_asgi, url_of
from dentalvoice.voice.handler import TurnTaking, VoiceCallHandler, VoiceCallResult
from dentalvoice.voice.providers import SpeechProviders

PUBLIC = "https://demo.dentalvoice.test"
ACCOUNT_SID = "AC" + "de" * 16
DEMO_FROM = "+13055550100"
DEFAULT_PHONE = "+13055550123"
DEMO_FRONT_DESK = "+13055550199"  # where transfers go; the emulator's person answers there
CUT_OFF = "(cut off)"


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo call did."""

    call: CallRecord
    caller: TalkingCaller
    result: VoiceCallResult | None
    outcome: str | None  # the attempt's outcome as the dialer recorded it
    ghl: LeadInGhl  # what GHL shows for the lead afterwards
    writes: list[WriteView]  # the CRM outbox's writes, delivered or not


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
    clock_start: datetime,
    database_name: str,
    **overrides: object,
) -> Settings:
    """Settings for a throwaway run against the Twilio emulator: its own SQLite file in
    `data_dir`, fresh keys, and a simulated clock starting at `clock_start`."""
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
        simulated_clock_start=clock_start,
        **overrides,
    )


def demo_settings(
    *, data_dir: Path, twilio_url: str, ghl_url: str, scenario: Scenario, auth_token: str
) -> Settings:
    """Settings for a throwaway run: its own SQLite file, keys and emulator accounts."""
    return throwaway_settings(
        data_dir=data_dir,
        twilio_url=twilio_url,
        auth_token=auth_token,
        account_sid=ACCOUNT_SID,
        from_number=DEMO_FROM,
        public_url=PUBLIC,
        clock_start=scenario.call_time,
        database_name="demo.db",
        log_level="WARNING",
        ghl_api_base_url=ghl_url,
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
        on_line: Told of each line of the call as it is spoken: the agent's sentences (its
            own words, not what the caller's Whisper made of them) and the caller's replies.
        max_call_s: The longest the call may take.
        providers: Speech services other than the settings' (benchmarks compare them).
        turn_taking: VAD and turn settings other than ours (benchmarks compare them).

    Returns:
        The emulator's record of the call, the caller (turns, recording), the results and
        what GHL shows for the lead once the CRM outbox has delivered what it could.
    """
    await asyncio.to_thread(_fresh, data_dir)
    token = secrets.token_urlsafe(24)
    phone = scenario.lead.phone or DEFAULT_PHONE
    caller = TalkingCaller.from_scenario(scenario, max_call_s=max_call_s)
    follower = _Follower(caller, on_line)
    # One clock for the app, the dialer and GHL: the scenario's time, running on.
    clock = flowing_from(scenario.call_time)
    ghl = GhlEmulator(clock=lambda: clock().timestamp())
    clinic = seed_clinic(
        ghl,
        scenario=scenario,
        contact_id=ghl.ids.object_id(),
        phone=phone,
        transfer_number=DEMO_FRONT_DESK if scenario.location.transfer_available else None,
    )
    app_sock = bind()
    twilio = create_emulator(
        account_sid=ACCOUNT_SID,
        auth_token=token,
        route={PUBLIC: url_of(app_sock)},
    )
    twilio.set_callee(phone, caller)
    async with (
        serve_twilio_emulator(twilio) as twilio_url,
        serve_ghl_emulator(ghl) as ghl_url,
    ):
        settings = demo_settings(
            data_dir=data_dir,
            twilio_url=twilio_url,
            ghl_url=ghl_url,
            scenario=scenario,
            auth_token=token,
        )
        db, _ = open_database(settings)
        await upgrade(db)
        async with db.transaction() as session:
            await location_service.create_location(session=session, location_in=clinic.location)
        handler = VoiceCallHandler(
            settings=settings,
            db=db,
            clock=clock,
            providers=providers,
            turn_taking=turn_taking or TurnTaking(),
            listener=follower,
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
                # The call control and the GHL client exist once the app has started.
                handler.control = app.state.telephony.control
                handler.ghl = app.state.telephony.ghl
                await _post_lead(http, settings, scenario, clinic, phone, clock)
                (call,) = await twilio.wait_calls(1, timeout=60)
                printer = asyncio.create_task(follower.run())
                try:
                    call = await twilio.wait_call_ended(call.sid, timeout=max_call_s + 30)
                finally:
                    printer.cancel()
                    await asyncio.gather(printer, return_exceptions=True)
                follower.flush()
                if call.answered_at is not None:
                    # Its result is stored (and its GHL writes queued) just after the hang-up;
                    # a handler that failed records none, and the demo reports no conversation.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(handler.wait_results(1), timeout=30)
                async with db.reader() as session:
                    attempt = await latest_attempt(session=session)
                outcome = attempt.outcome if attempt is not None else None
        await handler.aclose()
        writes = await _deliver(settings, db, clinic, clock)
        await db.dispose()
    result = handler.results[-1] if handler.results else None
    return DemoResult(
        call=call,
        caller=caller,
        result=result,
        outcome=outcome,
        ghl=lead_in_ghl(ghl, clinic.contact_id),
        writes=writes,
    )


async def _deliver(
    settings: Settings, db: Database, clinic: DemoClinic, clock: Callable[[], datetime]
) -> list[WriteView]:
    """Send what the app's sender had not sent when it stopped; return the clinic's writes.

    The app delivers writes as they are queued; its sender stops with the app, after the write
    it is sending. A sender of our own then sends whatever is due now, so GHL's view is final
    (a write waiting out a retry backoff stays pending, and is shown so).
    """
    ghl_client = open_ghl_client(settings, db=db)
    try:
        sender = OutboxSender(db=db, ghl=ghl_client, worker_id="demo", clock=clock)
        await sender.drain()
    finally:
        await ghl_client.aclose()
    return await list_outbox(db=db, ghl_location_id=clinic.location.ghl_location_id)


def _fresh(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


class _Follower:
    """Hands the call's lines to `on_line` as they are spoken.

    The agent's sentences come from the app as their audio starts playing; the caller's replies
    from the caller's transcript (its record of what it heard of the agent is left out: tiny.en's
    "Bright Smile Dinner" is the test caller's ear, not what the agent said).
    """

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

    def started(self, sentence: str) -> None:
        self._agent(sentence)

    def cut(self) -> None:
        self._agent(CUT_OFF)

    def _agent(self, text: str) -> None:
        self.flush()  # what the caller began saying before this is shown first
        if self._on_line is not None:
            self._on_line(TranscriptLine("agent", text, monotonic()))

    def flush(self) -> None:
        lines = self._caller.transcript[self._shown :]
        self._shown += len(lines)
        if self._on_line is not None:
            for line in lines:
                if line.speaker == "caller":
                    self._on_line(line)


async def _post_lead(
    http: httpx.AsyncClient,
    settings: Settings,
    scenario: Scenario,
    clinic: DemoClinic,
    phone: str,
    clock: Callable[[], datetime],
) -> None:
    assert settings.ghl_webhook_secret is not None
    body = {
        "contact_id": clinic.contact_id,
        "first_name": scenario.lead.first_name,
        "last_name": scenario.lead.last_name,
        "phone": phone,
        "state": scenario.lead.state,
        "country": "US",
        "location": {"id": clinic.location.ghl_location_id, "name": scenario.location.name},
        "customData": {"consent": "yes", "consent_text": "I agree to automated calls"},
    }
    response = await http.post(
        "/webhooks/ghl",
        params={"token": settings.ghl_webhook_secret.get_secret_value()},
        json=body,
    )
    if response.status_code != 202 or "next_call_at" not in response.json():
        raise RuntimeError(f"the demo lead was not scheduled: {response.text}")
    # The gate may only allow the call later (a scenario timed outside calling hours); the
    # demo's clock runs at real speed, so say so instead of waiting hours for the dialer.
    next_call_at = datetime.fromisoformat(response.json()["next_call_at"])
    if next_call_at - clock() > timedelta(seconds=30):
        raise RuntimeError(
            f"the call is not allowed at the scenario's time {scenario.call_time.isoformat()}; "
            f"the gate deferred it to {next_call_at.isoformat()}"
        )
