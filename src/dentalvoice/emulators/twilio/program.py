"""Run a call's TwiML: fetch or take the document, then execute its verbs in order.

A `Program` runs until its verbs run out, a `<Hangup/>`, or an error Twilio would end the
call for (12100 unparsable TwiML, 11200 TwiML URL failure, 31922 stream URL not wss). A
`<Redirect>`, a `<Connect action>` or a `<Dial action>` continues with the TwiML that URL
returns. The call driver cancels the task running a program to replace or end it; a running
Media Stream then sends `stop` and closes before the cancellation completes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit

from dentalvoice.emulators.twilio.context import API_VERSION, Services, new_call_sid
from dentalvoice.emulators.twilio.line import CallerLine
from dentalvoice.emulators.twilio.media import MediaStream
from dentalvoice.emulators.twilio.records import (
    CallRecord,
    DialNumberRecord,
    DialRecord,
    ErrorRecord,
    StreamRecord,
    TwimlDocument,
    VerbRecord,
)
from dentalvoice.emulators.twilio.twiml import (
    Connect,
    Dial,
    Hangup,
    Pause,
    Play,
    Redirect,
    Say,
    TwimlError,
    Unsupported,
    Verb,
    parse_twiml,
)

ProgramEnd = Literal["program", "hangup-verb", "error"]


@dataclass(frozen=True, slots=True)
class Fetch:
    """TwiML to fetch from `url`, with the standard parameters plus `extra`."""

    url: str
    method: str = "POST"
    kind: str = "twiml"
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inline:
    """TwiML given in a request (`Twiml` of a create or an update)."""

    text: str
    source: str


Source = Fetch | Inline


class _Stop:
    """A verb ended the program."""

    def __init__(self, reason: ProgramEnd) -> None:
        self.reason: ProgramEnd = reason


class Program:
    """Executes TwiML for one answered call."""

    def __init__(
        self,
        *,
        call: CallRecord,
        line: CallerLine,
        services: Services,
        request_params: Callable[[], dict[str, str]],
    ) -> None:
        """Prepare a program.

        Args:
            call: The call's record.
            line: The callee's line, which hears `<Say>` and `<Play>`.
            services: The emulator's shared services.
            request_params: The parameters sent with every TwiML request, built when sent.
        """
        self._call = call
        self._line = line
        self._s = services
        self._request_params = request_params

    async def run(self, source: Source) -> ProgramEnd:
        """Execute `source` and whatever it leads to.

        Args:
            source: The first document.

        Returns:
            Why the program ended.
        """
        next_source: Source | None = source
        while next_source is not None:
            loaded = await self._load(next_source)
            if loaded is None:
                return "error"
            text, base = loaded
            try:
                verbs = parse_twiml(text)
            except TwimlError as exc:
                await self._error(12100, f"Document parse failure: {exc}")
                return "error"
            next_source = None
            for verb in verbs:
                outcome = await self._execute(verb, base)
                if isinstance(outcome, _Stop):
                    return outcome.reason
                if outcome is not None:
                    next_source = outcome
                    break
        return "program"

    async def _load(self, source: Source) -> tuple[str, str | None] | None:
        if isinstance(source, Inline):
            self._call.twiml.append(TwimlDocument(source.source, source.text, time.monotonic()))
            await self._s.recorder.emit("call.twiml", self._call.sid, source=source.source)
            return source.text, None
        params = {**self._request_params(), **source.extra}
        exchange = await self._s.webhooks.send(
            kind=source.kind, url=source.url, params=params, method=source.method
        )
        await self._s.log_exchange(self._call, exchange)
        if not exchange.ok:
            reason = exchange.error or f"HTTP {exchange.status}"
            await self._error(11200, f"HTTP retrieval failure for {source.url}: {reason}")
            return None
        self._call.twiml.append(
            TwimlDocument(source.kind, exchange.body, time.monotonic(), url=source.url)
        )
        await self._s.recorder.emit("call.twiml", self._call.sid, source=source.kind)
        return exchange.body, source.url

    async def _execute(self, verb: Verb, base: str | None) -> Source | _Stop | None:
        text = ""
        if isinstance(verb, Say):
            text = verb.text
        elif isinstance(verb, Play | Redirect):
            text = verb.url
        name = verb.name if isinstance(verb, Unsupported) else type(verb).__name__
        attributes = dict(verb.attributes)
        record = VerbRecord(name, attributes, text, time.monotonic())
        self._call.verbs.append(record)
        await self._s.recorder.emit("verb.started", self._call.sid, verb=name)
        try:
            outcome = await self._perform(verb, base)
        except asyncio.CancelledError:
            record.interrupted = True
            raise
        record.ended_at = time.monotonic()
        await self._s.recorder.emit("verb.finished", self._call.sid, verb=name)
        return outcome

    async def _perform(self, verb: Verb, base: str | None) -> Source | _Stop | None:
        settings = self._s.settings
        match verb:
            case Say():
                self._line.hear_text(verb.text)
                await asyncio.sleep(
                    len(verb.text) * settings.say_seconds_per_char * max(verb.loop, 1)
                )
            case Play():
                self._line.hear_play(verb.url)
                await asyncio.sleep(settings.play_s * max(verb.loop, 1))
            case Pause():
                await asyncio.sleep(verb.length_s * settings.pause_scale)
            case Hangup():
                return _Stop("hangup-verb")
            case Redirect():
                return Fetch(_resolve(base, verb.url), verb.method, kind="redirect")
            case Dial():
                return await self._dial(verb, base)
            case Connect():
                return await self._connect(verb, base)
            case Unsupported():
                await self._s.recorder.emit("verb.unsupported", self._call.sid, verb=verb.name)
        return None

    async def _dial(self, verb: Dial, base: str | None) -> Source | None:
        settings = self._s.settings
        dial = DialRecord(
            numbers=[
                DialNumberRecord(n.number, _resolve(base, n.url) if n.url else None, n.method)
                for n in verb.numbers
            ],
            caller_id=verb.caller_id,
            timeout_s=verb.timeout_s,
            action=verb.action,
            started_at=time.monotonic(),
            child_sid=new_call_sid(),
        )
        self._call.dials.append(dial)
        await self._s.recorder.emit("dial.started", self._call.sid, child_sid=dial.child_sid)
        try:
            await asyncio.sleep(settings.dial_answer_s)
            dial.answered_at = time.monotonic()
            dial.status = "in-progress"
            await self._s.recorder.emit("dial.answered", self._call.sid, child_sid=dial.child_sid)
            target = dial.numbers[0]
            if target.whisper_url is not None:
                await self._whisper(dial, target)
            await asyncio.sleep(settings.dial_bridge_s)
            dial.status = "completed"
        finally:
            dial.ended_at = time.monotonic()
            if dial.status == "ringing":
                dial.status = "canceled"
        await self._s.recorder.emit("dial.ended", self._call.sid, status=dial.status)
        if verb.action is None:
            return None
        answered = dial.answered_at or dial.ended_at
        return Fetch(
            _resolve(base, verb.action),
            verb.method,
            kind="dial_action",
            extra={
                "DialCallSid": dial.child_sid,
                "DialCallStatus": dial.status,
                "DialCallDuration": str(int(dial.ended_at - answered)),
                "DialBridged": "true",
            },
        )

    async def _whisper(self, dial: DialRecord, target: DialNumberRecord) -> None:
        assert target.whisper_url is not None
        params = {
            "AccountSid": self._call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": dial.child_sid,
            "ParentCallSid": self._call.sid,
            "CallStatus": "in-progress",
            "Direction": "outbound-dial",
            "From": dial.caller_id or self._call.from_,
            "To": target.number,
            "Called": target.number,
            "Caller": dial.caller_id or self._call.from_,
        }
        exchange = await self._s.webhooks.send(
            kind="whisper", url=target.whisper_url, params=params, method=target.whisper_method
        )
        await self._s.log_exchange(self._call, exchange)
        if exchange.ok:
            dial.whisper_twiml = exchange.body

    async def _connect(self, verb: Connect, base: str | None) -> Source | _Stop | None:
        if verb.stream is None:
            await self._s.recorder.emit("verb.unsupported", self._call.sid, verb="Connect")
            return None
        url = _resolve(base, verb.stream.url)
        parts = urlsplit(url)
        if parts.scheme != "wss":
            await self._error(31922, f"stream URL scheme {parts.scheme!r} is not supported")
            return _Stop("error")
        if not parts.netloc:
            await self._error(31923, "malformed stream URL")
            return _Stop("error")
        record = StreamRecord(
            url=url,
            delivered_url=self._s.router.local(url),
            custom_parameters=dict(verb.stream.parameters),
        )
        self._call.streams.append(record)
        if parts.query:
            # <Stream url> takes no query string (twilio.md §1.1); the handshake fails.
            await self._error(31920, "stream URL must not carry a query string")
        else:
            stream = MediaStream(
                account_sid=self._s.account_sid,
                auth_token=self._s.auth_token,
                call=self._call,
                record=record,
                line=self._line,
                recorder=self._s.recorder,
                open_timeout_s=self._s.settings.stream_open_timeout_s,
                close_timeout_s=self._s.settings.stream_close_timeout_s,
            )
            await stream.run()
        if verb.action is None:
            return None
        return Fetch(_resolve(base, verb.action), verb.method, kind="connect_action")

    async def _error(self, code: int, message: str) -> None:
        self._call.errors.append(ErrorRecord(code, message, time.monotonic()))
        await self._s.recorder.emit("call.error", self._call.sid, code=code, message=message)


def _resolve(base: str | None, url: str) -> str:
    return urljoin(base, url) if base else url
