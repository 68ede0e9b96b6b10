"""The media stream of an answered call, seen through a framework-free channel.

The router speaks the first part of Twilio's Media Streams protocol (`connected`, `start`) and
then hands the stream to a `MediaHandler`. The voice pipeline is one such handler; until it is
plugged in, `HangUpWhenAnswered` ends a call cleanly once a person is on the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dentalvoice.sessions.signals import CallSignals


class MediaChannel(Protocol):
    """One WebSocket carrying Twilio's JSON messages."""

    async def receive(self) -> dict[str, Any] | None:
        """The next message, or None once the socket closed."""
        ...

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send one message (`media`, `mark` or `clear`)."""
        ...

    async def close(self) -> None:
        """Close the socket; with nothing after `</Connect>`, Twilio ends the call."""
        ...


@dataclass(frozen=True, slots=True)
class LiveCall:
    """The call behind a stream, from its `start` message and our own records."""

    attempt_id: uuid.UUID
    call_sid: str
    stream_sid: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    # The framework's WebSocket object, for handlers (Pipecat) that need the socket itself.
    raw: Any = None


class MediaHandler(Protocol):
    """Runs the call over its stream; returns when the call (or the stream) is over."""

    async def __call__(self, *, channel: MediaChannel, call: LiveCall) -> None:
        """Handle the stream until `stop`, a close, or the handler's own decision to end."""
        ...


async def drain_until_stop(channel: MediaChannel) -> None:
    """Read and drop messages until Twilio's `stop` or the socket closes."""
    while (message := await channel.receive()) is not None:
        if message.get("event") == "stop":
            return


class HangUpWhenAnswered:
    """The stand-in conversation: end the call as soon as AMD says a person answered.

    A machine verdict is left alone (the AMD callback redirects the call to a voicemail and
    Twilio stops the stream); with no verdict within `hold_s`, the call is ended too.
    """

    def __init__(self, *, signals: CallSignals, hold_s: float = 30.0) -> None:
        """Create the handler.

        Args:
            signals: Where the AMD callback posts its verdict.
            hold_s: The longest the stream is held without a verdict.
        """
        self._signals = signals
        self._hold_s = hold_s

    async def __call__(self, *, channel: MediaChannel, call: LiveCall) -> None:
        """Hold the stream until a person is confirmed, then close it (the call ends)."""
        key = call.attempt_id.hex
        stopped = asyncio.create_task(drain_until_stop(channel))
        verdict = asyncio.create_task(self._wait_for_person(key))
        try:
            done, _ = await asyncio.wait(
                {stopped, verdict}, timeout=self._hold_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (stopped, verdict):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(stopped, verdict, return_exceptions=True)
        if stopped not in done:
            await channel.close()

    async def _wait_for_person(self, key: str) -> None:
        value = await self._signals.wait(key)
        if value.startswith("machine") or value == "fax":
            # The AMD callback redirects the call; Twilio's `stop` ends the wait instead.
            await asyncio.get_running_loop().create_future()
