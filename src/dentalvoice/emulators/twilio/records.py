"""What the emulator saw and did, kept for assertions and benchmarks, and a way to wait on it.

Every call has a `CallRecord`; everything that happens is also appended to one flat,
time-ordered event log. Times are `time.monotonic()` seconds. `Recorder.wait_for` wakes on
every recorded change (an `asyncio.Condition`), so tests wait for work instead of sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

CallStatus = Literal[
    "queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"
]
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"completed", "busy", "failed", "no-answer", "canceled"}
)


class WaitTimeout(TimeoutError):
    """`wait_for` gave up: the awaited condition did not come true in time."""


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the flat event log.

    Attributes:
        seq: Position in the log, from 0.
        at: Monotonic time it was recorded.
        kind: What happened, dotted (`call.status`, `stream.mark`, `http.status`, ...).
        call_sid: The call it belongs to, if any.
        detail: Small values describing it.
    """

    seq: int
    at: float
    kind: str
    call_sid: str | None
    detail: dict[str, object]


@dataclass(slots=True)
class StatusChange:
    """The call reached `status` at monotonic time `at` (`initiated` appears here too)."""

    status: str
    at: float


@dataclass(slots=True)
class HttpExchange:
    """One HTTP request the emulator made (callback, TwiML fetch, action, whisper).

    Attributes:
        kind: `status`, `amd`, `twiml`, `redirect`, `connect_action`, `dial_action`, `whisper`.
        method: `POST` or `GET`.
        url: The public URL, as given by the app; the signature covers it.
        delivered_url: Where the request actually went after routing.
        params: The form fields sent (for GET: put in the query string).
        signature: The `X-Twilio-Signature` sent.
        sent_at: When the request was sent.
        status: The HTTP status answered, or None when no answer came.
        error: Why no answer came (timeout, refused), if so.
        body: The answer's text (truncated), for TwiML fetches.
        elapsed_s: Time to the answer or failure.
    """

    kind: str
    method: str
    url: str
    delivered_url: str
    params: dict[str, str]
    signature: str
    sent_at: float
    status: int | None = None
    error: str | None = None
    body: str = ""
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """The request was answered with a 2xx status."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(slots=True)
class ErrorRecord:
    """A Twilio error or warning the emulator would show in the console debugger."""

    code: int
    message: str
    at: float


@dataclass(slots=True)
class TwimlDocument:
    """TwiML the call ran: from the create, an update, or fetched from `url`."""

    source: str
    text: str
    at: float
    url: str | None = None


@dataclass(slots=True)
class VerbRecord:
    """One TwiML verb executed.

    Attributes:
        name: The verb (`Say`, `Play`, `Pause`, `Dial`, `Connect`, `Hangup`, `Redirect`, ...).
        attributes: Its XML attributes.
        text: Its text content (what `<Say>` said, the URL `<Play>` played).
        started_at: When it started.
        ended_at: When it finished, or None if it is running or was interrupted.
        interrupted: An update, a hang-up or the end of the call cut it short.
    """

    name: str
    attributes: dict[str, str]
    text: str
    started_at: float
    ended_at: float | None = None
    interrupted: bool = False


@dataclass(slots=True)
class AmdRecord:
    """The answering-machine verdict."""

    answered_by: str
    duration_ms: int
    at: float


@dataclass(slots=True)
class UpdateRecord:
    """A `POST .../Calls/{Sid}.json` received and what it did.

    Attributes:
        params: The form fields.
        at: When it arrived.
        status_before: The call's status when it arrived.
        outcome: `redirected`, `completed`, `canceled`, `unchanged` or `rejected`.
    """

    params: dict[str, str]
    at: float
    status_before: str
    outcome: str


@dataclass(slots=True)
class DialNumberRecord:
    """One `<Number>` of a `<Dial>`."""

    number: str
    whisper_url: str | None
    whisper_method: str


@dataclass(slots=True)
class DialRecord:
    """A `<Dial>` (a transfer): where to, with which caller ID, and how it went."""

    numbers: list[DialNumberRecord]
    caller_id: str | None
    timeout_s: int
    action: str | None
    started_at: float
    child_sid: str
    answered_at: float | None = None
    ended_at: float | None = None
    status: str = "ringing"
    whisper_twiml: str | None = None


@dataclass(slots=True)
class MarkEcho:
    """A `mark` sent back to the app: `cleared` when a `clear` flushed it, not playback."""

    name: str
    at: float
    cleared: bool


@dataclass(slots=True)
class ClearRecord:
    """A `clear` from the app and how much unplayed audio it dropped."""

    at: float
    dropped_bytes: int


@dataclass(slots=True)
class StreamRecord:
    """One `<Connect><Stream>`: the WebSocket, what went each way, and how it ended.

    Attributes:
        url: The `wss://` URL from the TwiML (signed).
        delivered_url: The URL actually connected to after routing.
        custom_parameters: The `<Parameter>`s, sent in `start.customParameters`.
        handshake_status: 101 when accepted, the HTTP status when refused, None if unreachable.
        stream_sid: `MZ…`.
        opened_at: When the socket opened.
        ended_at: When the socket closed.
        closed_by: `app` (our server closed it), `emulator` (after `stop`) or `error`.
        close_code: The WebSocket close code, if known.
        sent_events: Events sent to the app, in order, except `media` (counted instead).
        frames_sent: `media` messages sent to the app (the callee's audio).
        frames_received: `media` messages received from the app.
        bytes_received: Audio bytes received from the app.
        bytes_played: Audio bytes played to the callee.
        bytes_cleared: Audio bytes dropped by `clear`.
        marks_received: `(name, time)` of each mark the app sent.
        marks_echoed: Marks sent back.
        clears: `clear` messages received.
        warnings: Protocol errors (31950, 31951, 31924) caused by the app's messages.
    """

    url: str
    delivered_url: str
    custom_parameters: dict[str, str]
    handshake_status: int | None = None
    stream_sid: str = ""
    opened_at: float | None = None
    ended_at: float | None = None
    closed_by: str | None = None
    close_code: int | None = None
    sent_events: list[str] = field(default_factory=list)
    frames_sent: int = 0
    frames_received: int = 0
    bytes_received: int = 0
    bytes_played: int = 0
    bytes_cleared: int = 0
    marks_received: list[tuple[str, float]] = field(default_factory=list)
    marks_echoed: list[MarkEcho] = field(default_factory=list)
    clears: list[ClearRecord] = field(default_factory=list)
    warnings: list[ErrorRecord] = field(default_factory=list)


@dataclass(slots=True)
class VoicemailRecord:
    """What a voicemail callee recorded after its beep: the message left."""

    started_at: float
    texts: list[str] = field(default_factory=list)
    plays: list[str] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)


@dataclass(slots=True)
class CallRecord:
    """Everything about one call.

    Attributes:
        sid: `CA…`.
        account_sid: The account that created it.
        to: The number called.
        from_: The caller ID.
        params: The create request's form fields (repeated keys keep every value).
        status: The REST status now.
        history: Statuses reached, in order, with `initiated` between `queued` and `ringing`.
        date_created: Wall-clock creation time (UTC).
        arrived_at: When the create request arrived.
        early: The create arrived faster than the CPS setting allows.
        start_at: When the CPS queue let the call start.
        queue_time_ms: Time spent queued for CPS.
        answered_at: When the callee answered.
        ended_at: When the call ended.
        requests: Every HTTP request made for this call, in order.
        twiml: The TwiML documents run.
        verbs: The verbs executed.
        amd: The AMD verdict, if detection ran.
        streams: Media Streams opened.
        updates: Updates received.
        dials: Transfers (`<Dial>`).
        voicemail: The message left on a voicemail callee.
        errors: Twilio errors and warnings, as the console debugger would list them.
        end_reason: Why the call ended (`program`, `hangup-verb`, `callee`, `api`, ...).
        finished: The call ended and all its callbacks have been delivered (or failed).
    """

    sid: str
    account_sid: str
    to: str
    from_: str
    params: dict[str, list[str]]
    status: str
    date_created: datetime
    arrived_at: float
    early: bool = False
    start_at: float = 0.0
    queue_time_ms: int = 0
    history: list[StatusChange] = field(default_factory=list)
    answered_at: float | None = None
    ended_at: float | None = None
    date_updated: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    requests: list[HttpExchange] = field(default_factory=list)
    twiml: list[TwimlDocument] = field(default_factory=list)
    verbs: list[VerbRecord] = field(default_factory=list)
    amd: AmdRecord | None = None
    streams: list[StreamRecord] = field(default_factory=list)
    updates: list[UpdateRecord] = field(default_factory=list)
    dials: list[DialRecord] = field(default_factory=list)
    voicemail: VoicemailRecord | None = None
    errors: list[ErrorRecord] = field(default_factory=list)
    end_reason: str | None = None
    finished: bool = False

    def param(self, name: str) -> str | None:
        """The create request's value for `name` (the last one if repeated), or None."""
        values = self.params.get(name)
        return values[-1] if values else None

    @property
    def ended(self) -> bool:
        """The call has reached a terminal status."""
        return self.status in TERMINAL_STATUSES

    @property
    def statuses(self) -> list[str]:
        """The statuses reached, in order."""
        return [change.status for change in self.history]

    @property
    def status_callbacks(self) -> list[HttpExchange]:
        """Status callbacks sent, in order."""
        return [r for r in self.requests if r.kind == "status"]

    @property
    def amd_callbacks(self) -> list[HttpExchange]:
        """Async AMD callbacks sent."""
        return [r for r in self.requests if r.kind == "amd"]

    @property
    def duration_s(self) -> int:
        """Whole seconds from answer to end (0 if never answered), as Twilio reports it."""
        if self.answered_at is None or self.ended_at is None:
            return 0
        return int(self.ended_at - self.answered_at)

    @property
    def said(self) -> list[str]:
        """Texts of every `<Say>` executed, in order."""
        return [v.text for v in self.verbs if v.name == "Say"]


class Recorder:
    """The flat event log plus a condition that wakes waiters on every change."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._seq = itertools.count()
        self._changed = asyncio.Condition()

    async def emit(self, kind: str, call_sid: str | None = None, **detail: object) -> Event:
        """Append an event to the log and wake every waiter.

        Args:
            kind: What happened.
            call_sid: The call it belongs to.
            **detail: Small values describing it.

        Returns:
            The event.
        """
        event = Event(next(self._seq), time.monotonic(), kind, call_sid, dict(detail))
        self.events.append(event)
        await self.changed()
        return event

    def clear(self) -> None:
        """Forget every event and number the next one 0 again."""
        self.events.clear()
        self._seq = itertools.count()

    async def changed(self) -> None:
        """Wake every waiter without logging an event (for counters such as audio frames)."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the wait, like asyncio.wait_for's
        what: str = "condition",
    ) -> None:
        """Return once `predicate()` is true, re-checking it after every recorded change.

        Args:
            predicate: Checked now and after each change.
            timeout: Seconds to wait at most.
            what: Named in the error when it times out.

        Raises:
            WaitTimeout: `predicate` stayed false for `timeout` seconds.
        """
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            recent = ", ".join(f"{e.kind}{_short(e.call_sid)}" for e in self.events[-8:])
            raise WaitTimeout(
                f"timed out after {timeout}s waiting for {what}; last events: {recent or 'none'}"
            ) from None


def _short(call_sid: str | None) -> str:
    return f"[{call_sid[-6:]}]" if call_sid else ""
