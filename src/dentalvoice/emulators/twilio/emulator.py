"""The Twilio emulator: its state, the call operations behind the REST API, and waiting.

`TwilioEmulator` is an ASGI application (the REST surface lives in `api`) holding the calls,
the callees, the settings and the event log. Creating a call records it, queues it for CPS
and hands it to a `CallDriver` task; updates steer that driver.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger

from dentalvoice.emulators.twilio import api
from dentalvoice.emulators.twilio.callees import AudioCallee, Callee, SilentHuman, as_callee
from dentalvoice.emulators.twilio.calls import CallDriver
from dentalvoice.emulators.twilio.context import Services, new_call_sid
from dentalvoice.emulators.twilio.program import Fetch, Inline, Source
from dentalvoice.emulators.twilio.records import (
    CallRecord,
    Event,
    Recorder,
    StatusChange,
    UpdateRecord,
)
from dentalvoice.emulators.twilio.rules import (
    ApiError,
    Form,
    check_create,
    check_instructions,
    last,
)
from dentalvoice.emulators.twilio.settings import EmulatorSettings
from dentalvoice.emulators.twilio.spec import (
    DEFAULT_SPEC_PATH,
    SpecNotFoundError,
    TwilioSpec,
    load_spec,
)
from dentalvoice.emulators.twilio.webhooks import Router, Webhooks
from dentalvoice.leads.normalize import mask_phone

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_ACTIVE = frozenset({"queued", "ringing", "in-progress"})


class TwilioEmulator:
    """Twilio as seen from outside, for one account. Build it with `create_emulator`.

    Attributes:
        account_sid: The account the REST API accepts (`AC…`).
        auth_token: Its token: Basic auth password and the key of every signature sent.
        calls: Every call created, by SID.
        url: The base URL while served by `serve_twilio_emulator`, else None.
        create_arrivals: Monotonic arrival time of every authenticated create request,
            including those refused afterwards (a bad number still counts as an attempt).
        early_creates: How many creates arrived sooner after the previous one than
            `1 / settings.cps` (less `settings.cps_tolerance_s`) allows.
        internal_errors: Unexpected exceptions in the emulator's tasks (tests expect none).
        request_lock: Makes REST requests take turns, in arrival order, for their spec check.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        settings: EmulatorSettings,
        route: Mapping[str, str] | None,
        default_callee: Callee,
        spec_path: Path,
    ) -> None:
        """Use `create_emulator`, which checks its arguments."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.spec_path = spec_path
        self.url: str | None = None
        self.calls: dict[str, CallRecord] = {}
        self.create_arrivals: list[float] = []
        self.early_creates = 0
        self._recorder = Recorder()
        router = Router(route)
        self._services = Services(
            account_sid=account_sid,
            auth_token=auth_token,
            settings=settings,
            recorder=self._recorder,
            webhooks=Webhooks(
                auth_token=auth_token,
                router=router,
                timeout_s=settings.webhook_timeout_s,
                max_body_chars=settings.max_response_chars,
            ),
            router=router,
        )
        self._default_callee = self._initial_callee = default_callee
        self._callees: dict[str, Callee] = {}
        self._drivers: dict[str, CallDriver] = {}
        self._next_start = 0.0
        self._injected: ApiError | None = None
        self.request_lock = asyncio.Lock()

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: api.Scope, receive: api.Receive, send: api.Send) -> None:
        """Serve the REST API (see `api`)."""
        await api.handle(self, scope, receive, send)

    # -- configuration --------------------------------------------------------------------

    @property
    def spec(self) -> TwilioSpec:
        """The OpenAPI spec requests are checked against (loaded on first use)."""
        return load_spec(self.spec_path)

    @property
    def settings(self) -> EmulatorSettings:
        """Timings and limits; change fields, or assign new settings, at any time."""
        return self._services.settings

    @settings.setter
    def settings(self, settings: EmulatorSettings) -> None:
        self._services.settings = settings
        self._services.webhooks.timeout_s = settings.webhook_timeout_s

    @property
    def events(self) -> list[Event]:
        """The flat, time-ordered event log."""
        return self._recorder.events

    @property
    def internal_errors(self) -> list[str]:
        """Unexpected exceptions in the emulator's tasks."""
        return self._services.internal_errors

    def set_callee(self, number: str, callee: Callee | AudioCallee) -> None:
        """Make `callee` answer calls to `number` (E.164) from now on."""
        self._callees[number] = as_callee(callee)

    def callee_for(self, number: str) -> Callee:
        """Who answers calls to `number`: its own callee or the default one."""
        return self._callees.get(number, self._default_callee)

    def set_default_callee(self, callee: Callee | AudioCallee) -> None:
        """Who answers numbers without a callee of their own."""
        self._default_callee = as_callee(callee)

    def fail_next_create(
        self, *, status: int = 500, code: int | None = None, message: str | None = None
    ) -> None:
        """Make the next create request fail once with this error (e.g. 429 / 20429).

        Args:
            status: The HTTP status.
            code: Twilio's error code; defaults to the status.
            message: The error message.
        """
        self._injected = ApiError(
            status, code if code is not None else status, message or "Injected failure"
        )

    # -- operations behind the REST API ---------------------------------------------------

    def note_create_arrival(self, arrived_at: float) -> bool:
        """Count an authenticated create request for the CPS check, valid or not.

        Args:
            arrived_at: Monotonic time the request arrived.

        Returns:
            True if it came sooner after the previous create than the CPS setting allows.
        """
        previous = self.create_arrivals[-1] if self.create_arrivals else None
        self.create_arrivals.append(arrived_at)
        gap = 1.0 / self.settings.cps - self.settings.cps_tolerance_s
        early = previous is not None and arrived_at - previous < gap
        self.early_creates += early
        return early

    async def create_call(
        self, form: Form, *, arrived_at: float, early: bool | None = None
    ) -> CallRecord:
        """CreateCall, after authentication and spec validation.

        Args:
            form: The form fields.
            arrived_at: Monotonic time the request arrived.
            early: What `note_create_arrival` said for it; None counts the arrival here.

        Returns:
            The new call, `queued`.

        Raises:
            ApiError: An injected failure, a broken rule, or the concurrency limit.
        """
        if early is None:
            early = self.note_create_arrival(arrived_at)
        injected, self._injected = self._injected, None
        if injected is not None:
            raise injected
        settings = self.settings
        check_create(form, settings=settings, call_events=self.spec.call_events)
        active = sum(1 for call in self.calls.values() if call.status in _ACTIVE)
        if settings.max_concurrent_calls is not None and active >= settings.max_concurrent_calls:
            raise ApiError(429, 10004, "Call concurrency limit exceeded")
        to, from_ = last(form, "To") or "", last(form, "From") or ""
        start_at = max(arrived_at, self._next_start)
        self._next_start = start_at + 1.0 / settings.cps
        record = CallRecord(
            sid=new_call_sid(),
            account_sid=self.account_sid,
            to=to,
            from_=from_,
            params={name: list(values) for name, values in form.items()},
            status="queued",
            date_created=datetime.now(UTC),
            arrived_at=arrived_at,
            early=early,
            start_at=start_at,
            queue_time_ms=round((start_at - arrived_at) * 1000),
        )
        record.history.append(StatusChange("queued", time.monotonic()))
        self.calls[record.sid] = record
        driver = CallDriver(
            record=record,
            callee=self.callee_for(to),
            services=self._services,
            source=_source(form, "create"),
        )
        self._drivers[record.sid] = driver
        self._services.spawn(driver.run(), name=f"call-{record.sid}")
        await self._recorder.emit(
            "call.created", record.sid, queue_time_ms=record.queue_time_ms, early=record.early
        )
        logger.info(
            "twilio emulator: call {} to {} queued ({} ms)",
            record.sid,
            mask_phone(to),
            record.queue_time_ms,
        )
        return record

    async def update_call(self, sid: str, form: Form) -> CallRecord:
        """UpdateCall: redirect (`Twiml`, `Url`) or end (`Status`) a call.

        Args:
            sid: The Call SID.
            form: The form fields.

        Returns:
            The call after the update.

        Raises:
            ApiError: Unknown call (20404), or a redirect of an ended call (21220).
        """
        record = self.fetch_call(sid)
        driver = self._drivers[sid]
        update = UpdateRecord(
            {k: v[-1] for k, v in form.items() if v}, time.monotonic(), record.status, "unchanged"
        )
        record.updates.append(update)
        status = last(form, "Status")
        source = _source(form, "update")
        try:
            if status == "canceled":
                update.outcome = "canceled" if driver.cancel() else "unchanged"
            elif status == "completed":
                outcome = "canceled" if record.status in ("queued", "ringing") else "completed"
                update.outcome = outcome if driver.hang_up() else "unchanged"
            elif source is not None:
                check_instructions(form)
                if not driver.redirect(source):
                    raise ApiError(400, 21220, "Call is not in-progress. Cannot redirect.")
                update.outcome = "redirected"
        except ApiError:
            update.outcome = "rejected"
            raise
        finally:
            await self._recorder.emit("call.update", sid, outcome=update.outcome)
        return record

    def fetch_call(self, sid: str) -> CallRecord:
        """FetchCall.

        Raises:
            ApiError: 20404 for an unknown SID.
        """
        record = self.calls.get(sid)
        if record is None:
            raise ApiError(
                404,
                20404,
                f"The requested resource /2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json "
                "was not found",
            )
        return record

    def list_calls(
        self, *, to: str | None, from_: str | None, status: str | None
    ) -> list[CallRecord]:
        """ListCall: calls matching the filters, newest first."""
        found = [
            call
            for call in self.calls.values()
            if (to is None or call.to == to)
            and (from_ is None or call.from_ == from_)
            and (status is None or call.status == status)
        ]
        return sorted(found, key=lambda call: call.arrived_at, reverse=True)

    # -- waiting --------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the wait, like asyncio.wait_for's
        what: str = "condition",
    ) -> None:
        """Wait until `predicate()` holds; re-checked on every recorded event, never polled.

        Raises:
            WaitTimeout: It did not hold within `timeout` seconds.
        """
        await self._recorder.wait_for(predicate, timeout=timeout, what=what)

    async def wait_calls(
        self,
        count: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the wait, like asyncio.wait_for's
    ) -> list[CallRecord]:
        """Wait until at least `count` calls exist; returns them in creation order."""
        await self.wait_for(
            lambda: len(self.calls) >= count, timeout=timeout, what=f"{count} calls"
        )
        return list(self.calls.values())

    async def wait_call_ended(
        self,
        sid: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the wait, like asyncio.wait_for's
    ) -> CallRecord:
        """Wait until the call has ended and its last callback has been delivered."""
        await self.wait_for(
            lambda: sid in self.calls and self.calls[sid].finished,
            timeout=timeout,
            what=f"call {sid} to finish",
        )
        return self.calls[sid]

    async def wait_status(
        self,
        sid: str,
        status: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the wait, like asyncio.wait_for's
    ) -> CallRecord:
        """Wait until the call has reached `status` (any status in its history)."""
        await self.wait_for(
            lambda: sid in self.calls and status in self.calls[sid].statuses,
            timeout=timeout,
            what=f"call {sid} to reach {status}",
        )
        return self.calls[sid]

    async def wait_event(
        self,
        kind: str,
        *,
        call_sid: str | None = None,
        after: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the wait, like asyncio.wait_for's
    ) -> Event:
        """Wait for an event of `kind` (for `call_sid` if given) at log position >= `after`."""
        found: list[Event] = []

        def match() -> bool:
            for event in self._recorder.events[after:]:
                if event.kind == kind and (call_sid is None or event.call_sid == call_sid):
                    found.append(event)
                    return True
            return False

        await self.wait_for(match, timeout=timeout, what=f"event {kind}")
        return found[0]

    # -- lifecycle ------------------------------------------------------------------------

    async def reset(self, *, settings: EmulatorSettings | None = None) -> None:
        """Start over: end every call (no callbacks), forget calls, events and callees.

        For tests and benchmarks that reuse one running emulator between runs.

        Args:
            settings: New settings; None keeps the current ones.
        """
        await self._services.cancel_tasks()
        self.calls.clear()
        self._drivers.clear()
        self.create_arrivals.clear()
        self.early_creates = 0
        self._recorder.clear()
        self._callees.clear()
        self._default_callee = self._initial_callee
        self._injected = None
        self._next_start = 0.0
        self._services.internal_errors.clear()
        if settings is not None:
            self.settings = settings

    async def aclose(self) -> None:
        """Cancel every call task and close outbound HTTP; the emulator is done after this."""
        await self._services.cancel_tasks()
        await self._services.webhooks.aclose()


def create_emulator(
    *,
    account_sid: str,
    auth_token: str,
    cps: float = 1.0,
    route: Mapping[str, str] | None = None,
    default_callee: Callee | AudioCallee | None = None,
    spec_path: Path | str | None = None,
    settings: EmulatorSettings | None = None,
) -> TwilioEmulator:
    """A Twilio emulator for one account.

    Args:
        account_sid: The account SID the REST API accepts (`AC` + 32 hex digits).
        auth_token: Its auth token.
        cps: Calls per second (overrides `settings.cps`).
        route: Public base URL → local base URL, for delivering webhooks and streams.
        default_callee: Who answers numbers without their own callee (default: a silent
            human who hangs up after 30 s).
        spec_path: Twilio's OpenAPI file; default `<repo>/../shared/specs/twilio/...`.
        settings: Timings and limits; defaults are fast, for tests.

    Returns:
        The emulator, an ASGI app.

    Raises:
        ValueError: A malformed account SID, empty token or bad route.
        SpecNotFoundError: The OpenAPI file does not exist.
    """
    if not _ACCOUNT_SID.match(account_sid):
        raise ValueError("account_sid must be 'AC' followed by 32 hex digits")
    if not auth_token:
        raise ValueError("auth_token must not be empty")
    path = Path(spec_path).resolve() if spec_path is not None else DEFAULT_SPEC_PATH
    if not path.is_file():
        raise SpecNotFoundError(
            f"Twilio OpenAPI spec not found at {path}; pass spec_path (the shared checkout "
            "keeps it at ../shared/specs/twilio/twilio_api_v2010.json beside the repository)"
        )
    if cps <= 0:
        raise ValueError("cps must be positive")
    chosen = settings if settings is not None else EmulatorSettings(cps=cps)
    if settings is not None and cps != 1.0:
        # An explicit cps wins over the one in `settings`; 1.0 is the default, so it is
        # taken to mean "not given".
        chosen.cps = cps
    return TwilioEmulator(
        account_sid=account_sid,
        auth_token=auth_token,
        settings=chosen,
        route=route,
        default_callee=as_callee(default_callee) if default_callee is not None else SilentHuman(),
        spec_path=path,
    )


def _source(form: Form, origin: str) -> Source | None:
    # Twilio: "If both twiml and url are provided then twiml parameter will be ignored."
    url, twiml = last(form, "Url"), last(form, "Twiml")
    if url is not None:
        return Fetch(url, (last(form, "Method") or "POST").upper(), kind="twiml")
    if twiml is not None:
        return Inline(twiml, origin)
    return None
