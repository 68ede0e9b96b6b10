"""What every call needs from the emulator: the account, settings, log, outbound HTTP, tasks.

Also the small helpers shared by the REST layer and the call driver (SIDs, Twilio's RFC 2822
timestamps, the standard voice request parameters).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, TypeVar

from loguru import logger

from dentalvoice.emulators.twilio.records import CallRecord, HttpExchange, Recorder
from dentalvoice.emulators.twilio.settings import EmulatorSettings
from dentalvoice.emulators.twilio.webhooks import Router, Webhooks

API_VERSION = "2010-04-01"
T = TypeVar("T")


def new_call_sid() -> str:
    """A Call SID: `CA` + 32 hex digits."""
    return "CA" + secrets.token_hex(16)


def rfc2822(moment: datetime | None = None) -> str:
    """A time as Twilio writes it: `Tue, 31 Aug 2010 20:36:28 +0000`."""
    return format_datetime((moment or datetime.now(UTC)).astimezone(UTC))


def voice_params(call: CallRecord, status: str) -> dict[str, str]:
    """The standard parameters of every voice request Twilio makes about `call`."""
    return {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.sid,
        "CallStatus": status,
        "Called": call.to,
        "Caller": call.from_,
        "Direction": "outbound-api",
        "From": call.from_,
        "To": call.to,
    }


@dataclass
class Services:
    """Shared by every call of one emulator.

    Attributes:
        account_sid: The emulated account.
        auth_token: Signs every request the emulator makes.
        settings: Timings and limits, read when needed.
        recorder: The event log.
        webhooks: Outbound HTTP.
        router: Public → local URL mapping (also for WebSockets).
        internal_errors: Unexpected exceptions in background tasks (a test should see none).
    """

    account_sid: str
    auth_token: str
    settings: EmulatorSettings
    recorder: Recorder
    webhooks: Webhooks
    router: Router
    internal_errors: list[str] = field(default_factory=list)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        """Run `coro` as a task the emulator owns and cancels on shutdown."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._reap)
        return task

    async def cancel_tasks(self) -> None:
        """Cancel every task still running and wait for them to finish."""
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)

    async def log_exchange(self, call: CallRecord, exchange: HttpExchange) -> None:
        """Keep an outbound request in the call's record and the event log."""
        call.requests.append(exchange)
        await self.recorder.emit(
            f"http.{exchange.kind}",
            call.sid,
            url=exchange.url,
            status=exchange.status,
            error=exchange.error,
        )
        if not exchange.ok:
            logger.debug(
                "twilio emulator: {} request for {} failed: status={} error={}",
                exchange.kind,
                call.sid,
                exchange.status,
                exchange.error,
            )

    def _reap(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.internal_errors.append(f"{task.get_name()}: {type(exc).__name__}: {exc}")
            logger.opt(exception=exc).error("twilio emulator task {} crashed", task.get_name())
