"""One bidirectional Media Stream (`<Connect><Stream>`), spoken as Twilio speaks it.

The emulator is the WebSocket client, like Twilio: it connects to the app's `wss://` URL
(routed to the local address) with `x-twilio-signature` over the URL as written in the TwiML,
sends `connected` and `start`, then the callee's audio as `media` frames, 20 ms each, paced by
the monotonic clock. Audio the app sends is buffered and played out in real time to the
callee; a `mark` is echoed when playback reaches it (or at once with nothing buffered), and
`clear` drops what has not played and echoes every pending mark (twilio.md §1.2-1.5).

The stream ends when the app closes the socket (the TwiML then continues after
`</Connect>`), or when the emulator cancels `run` — hang-up or redirect — which sends `stop`
and closes the socket first.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from dentalvoice.emulators.twilio.audio import FRAME_BYTES, SAMPLE_RATE
from dentalvoice.emulators.twilio.line import CallerLine, HeardFrame
from dentalvoice.emulators.twilio.records import (
    CallRecord,
    ClearRecord,
    ErrorRecord,
    MarkEcho,
    Recorder,
    StreamRecord,
)
from dentalvoice.telephony.signature import sign

Message = dict[str, Any]

_ACCEPTED_EVENTS = frozenset({"media", "mark", "clear"})
_MEDIA_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": SAMPLE_RATE, "channels": 1}
_USER_AGENT = "Twilio.TmeWs/1.0"
_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# Past this lag playback re-synchronises to the clock instead of rushing to catch up.
_MAX_LAG_S = 0.2


def new_stream_sid() -> str:
    """A Media Stream SID: `MZ` + 32 hex digits."""
    return "MZ" + secrets.token_hex(16)


class MediaStream:
    """The emulator's side of one Media Stream WebSocket."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        call: CallRecord,
        record: StreamRecord,
        line: CallerLine,
        recorder: Recorder,
        open_timeout_s: float,
        close_timeout_s: float,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._call = call
        self.record = record
        self._line = line
        self._recorder = recorder
        self._open_timeout_s = open_timeout_s
        self._close_timeout_s = close_timeout_s
        self._ws: ClientConnection | None = None
        self._send_lock = asyncio.Lock()
        self._sequence = 0
        self._chunk = 0
        self._started_at = 0.0
        self._live = False
        self._buffer = bytearray()
        self._received = 0  # audio bytes received from the app so far
        self._consumed = 0  # of which played or cleared
        self._marks: deque[tuple[int, str]] = deque()
        self._wake = asyncio.Event()

    async def run(self) -> bool:
        """Connect, stream until the socket closes, and record how it went.

        Cancelling the task running this sends `stop` and closes the socket before the
        cancellation propagates.

        Returns:
            True when the stream ran and the app closed it; False when it never opened.
        """
        record = self.record
        signature = sign(auth_token=self._auth_token, url=record.url, params={})
        try:
            ws = await connect(
                record.delivered_url,
                additional_headers={"x-twilio-signature": signature},
                user_agent_header=_USER_AGENT,
                proxy=None,
                compression=None,
                open_timeout=self._open_timeout_s,
                close_timeout=self._close_timeout_s,
                ping_interval=None,
                max_size=_MAX_MESSAGE_BYTES,
            )
        except InvalidStatus as exc:
            record.handshake_status = exc.response.status_code
            await self._error(31920, f"handshake answered HTTP {record.handshake_status}")
            return False
        except TimeoutError:
            await self._error(31901, "WebSocket connection timed out")
            return False
        except (InvalidURI, InvalidHandshake) as exc:
            await self._error(31920, f"handshake failed: {exc}")
            return False
        except OSError as exc:
            await self._error(31902, f"WebSocket connection refused: {exc}")
            return False
        self._ws = ws
        self._live = True
        record.handshake_status = 101
        record.stream_sid = new_stream_sid()
        record.opened_at = time.monotonic()
        await self._recorder.emit("stream.connected", self._call.sid, stream_sid=record.stream_sid)
        try:
            return await self._converse(ws)
        except asyncio.CancelledError:
            await self._stop(ws)
            raise
        finally:
            self._live = False
            record.ended_at = time.monotonic()
            record.close_code = ws.close_code
            await self._recorder.emit(
                "stream.closed",
                self._call.sid,
                stream_sid=record.stream_sid,
                closed_by=record.closed_by,
                close_code=record.close_code,
            )

    async def _converse(self, ws: ClientConnection) -> bool:
        record = self.record
        playback: asyncio.Task[None] | None = None
        try:
            await self._send(
                lambda _: {"event": "connected", "protocol": "Call", "version": "1.0.0"}
            )
            await self._send(self._start_message)
            self._started_at = time.monotonic()
            playback = asyncio.create_task(self._playback(), name=f"playback-{record.stream_sid}")
            self._line.attach(self._send_inbound)
            await self._recorder.emit(
                "stream.started", self._call.sid, stream_sid=record.stream_sid
            )
            async for message in ws:
                await self._receive(message)
            record.closed_by = "app"
        except ConnectionClosedOK:
            record.closed_by = "app"
        except ConnectionClosed:
            record.closed_by = "error"
        finally:
            self._live = False
            self._line.detach(self._send_inbound)
            if playback is not None:
                playback.cancel()
                await asyncio.wait({playback})
        return True

    # -- Twilio → app ---------------------------------------------------------------------

    def _start_message(self, sequence: int) -> Message:
        record = self.record
        return {
            "event": "start",
            "sequenceNumber": str(sequence),
            "start": {
                "accountSid": self._account_sid,
                "streamSid": record.stream_sid,
                "callSid": self._call.sid,
                "tracks": ["inbound"],
                "customParameters": dict(record.custom_parameters),
                "mediaFormat": dict(_MEDIA_FORMAT),
            },
            "streamSid": record.stream_sid,
        }

    async def _send_inbound(self, frame: bytes) -> None:
        """Send one frame of the callee's audio as a `media` message."""
        if not self._live:
            return
        self._chunk += 1
        chunk = self._chunk
        timestamp = int((time.monotonic() - self._started_at) * 1000)
        payload = base64.b64encode(frame).decode("ascii")
        sent = await self._send(
            lambda sequence: {
                "event": "media",
                "sequenceNumber": str(sequence),
                "media": {
                    "track": "inbound",
                    "chunk": str(chunk),
                    "timestamp": str(timestamp),
                    "payload": payload,
                },
                "streamSid": self.record.stream_sid,
            }
        )
        if sent:
            self.record.frames_sent += 1
            await self._recorder.changed()

    async def _echo(self, name: str, *, cleared: bool) -> None:
        sent = await self._send(
            lambda sequence: {
                "event": "mark",
                "sequenceNumber": str(sequence),
                "streamSid": self.record.stream_sid,
                "mark": {"name": name},
            }
        )
        if sent:
            self.record.marks_echoed.append(MarkEcho(name, time.monotonic(), cleared))
            await self._recorder.emit(
                "stream.mark_echoed", self._call.sid, name=name, cleared=cleared
            )

    async def _stop(self, ws: ClientConnection) -> None:
        """Send `stop` and close the socket, within the close timeout."""
        self._live = False
        self._line.detach(self._send_inbound)
        self.record.closed_by = self.record.closed_by or "emulator"
        try:
            async with asyncio.timeout(self._close_timeout_s + 1.0):
                await self._send(
                    lambda sequence: {
                        "event": "stop",
                        "sequenceNumber": str(sequence),
                        "streamSid": self.record.stream_sid,
                        "stop": {"accountSid": self._account_sid, "callSid": self._call.sid},
                    },
                    closing=True,
                )
                await ws.close()
        except (TimeoutError, ConnectionClosed, OSError):
            # The app may already be gone; the stream is over either way.
            pass

    async def _send(self, build: Callable[[int], Message], *, closing: bool = False) -> bool:
        """Number (from 1, `connected` excluded) and send one message, in order.

        Returns:
            True if sent; False if the socket is closed or the stream has stopped.
        """
        ws = self._ws
        if ws is None:
            return False
        async with self._send_lock:
            if not self._live and not closing:
                return False
            numbered = bool(self.record.sent_events)  # everything after `connected`
            if numbered:
                self._sequence += 1
            message = build(self._sequence)
            try:
                await ws.send(json.dumps(message, separators=(",", ":")))
            except ConnectionClosed:
                return False
            if message["event"] != "media":
                self.record.sent_events.append(str(message["event"]))
            return True

    # -- app → Twilio ---------------------------------------------------------------------

    async def _receive(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            await self._warn(31950, "binary WebSocket message")
            return
        try:
            message = json.loads(raw)
        except ValueError:
            await self._warn(31951, "message is not JSON")
            return
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            await self._warn(31951, "message has no event")
            return
        event = message["event"]
        if event not in _ACCEPTED_EVENTS:
            await self._warn(31924, f"unsupported message {event!r} (only media, mark, clear)")
            return
        if message.get("streamSid") != self.record.stream_sid:
            await self._warn(31951, f"{event} message with a wrong streamSid")
            return
        if event == "media":
            await self._on_media(message)
        elif event == "mark":
            await self._on_mark(message)
        else:
            await self._on_clear()

    async def _on_media(self, message: Message) -> None:
        media = message.get("media")
        payload = media.get("payload") if isinstance(media, dict) else None
        if not isinstance(payload, str):
            await self._warn(31951, "media message without media.payload")
            return
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            await self._warn(31951, "media.payload is not base64")
            return
        self._buffer += audio
        self._received += len(audio)
        self.record.frames_received += 1
        self.record.bytes_received += len(audio)
        self._wake.set()
        await self._recorder.changed()

    async def _on_mark(self, message: Message) -> None:
        mark = message.get("mark")
        name = mark.get("name") if isinstance(mark, dict) else None
        if not isinstance(name, str):
            await self._warn(31951, "mark message without mark.name")
            return
        self._marks.append((self._received, name))
        self.record.marks_received.append((name, time.monotonic()))
        self._wake.set()
        await self._recorder.emit("stream.mark_received", self._call.sid, name=name)

    async def _on_clear(self) -> None:
        dropped = len(self._buffer)
        self._buffer.clear()
        self._consumed = self._received
        self.record.bytes_cleared += dropped
        self.record.clears.append(ClearRecord(time.monotonic(), dropped))
        await self._recorder.emit("stream.clear", self._call.sid, dropped_bytes=dropped)
        pending = [name for _, name in self._marks]
        self._marks.clear()
        for name in pending:
            await self._echo(name, cleared=True)

    # -- playback -------------------------------------------------------------------------

    async def _playback(self) -> None:
        """Play buffered app audio to the callee in real time and echo marks as reached."""
        clock: float | None = None
        while True:
            while self._marks and self._marks[0][0] <= self._consumed:
                _, name = self._marks.popleft()
                await self._echo(name, cleared=False)
            if not self._buffer:
                clock = None
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.monotonic()
            if clock is None or now - clock > _MAX_LAG_S:
                clock = now
            size = min(FRAME_BYTES, len(self._buffer))
            if self._marks and self._marks[0][0] > self._consumed:
                # Stop the frame at the next mark so its echo comes when that audio ends.
                size = min(size, self._marks[0][0] - self._consumed)
            frame = bytes(self._buffer[:size])
            del self._buffer[:size]
            self._consumed += size
            self.record.bytes_played += size
            self._line.play(HeardFrame(clock, frame))
            clock += size / SAMPLE_RATE
            delay = clock - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    # -- errors ---------------------------------------------------------------------------

    async def _warn(self, code: int, message: str) -> None:
        error = ErrorRecord(code, message, time.monotonic())
        self.record.warnings.append(error)
        self._call.errors.append(error)
        await self._recorder.emit("stream.warning", self._call.sid, code=code, message=message)

    async def _error(self, code: int, message: str) -> None:
        self._call.errors.append(ErrorRecord(code, message, time.monotonic()))
        await self._recorder.emit("call.error", self._call.sid, code=code, message=message)
