"""The process's long-lived calling parts, built from settings: shared by `serve` and `worker`.

One Twilio client, the calls-per-second limiter (Redis when configured), the wake relay and the
dial worker; one GHL client and the CRM outbox sender that delivers call results with it.
Everything is created inside the running event loop and closed by `aclose`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from loguru import logger
from redis.asyncio import Redis

from dentalvoice.compliance.policy import warm_up as compliance_warm_up
from dentalvoice.config import Settings
from dentalvoice.crm.client import GhlClient, open_ghl_client
from dentalvoice.crm.sender import OutboxSender
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.dialer.limits import CallsPerSecond, CpsLimiter, RedisCallsPerSecond
from dentalvoice.dialer.wake import WakeRelay
from dentalvoice.dialer.worker import DialWorker
from dentalvoice.logging import describe_exception
from dentalvoice.sessions.signals import CallSignals
from dentalvoice.sessions.store import SessionStore, build_session_store
from dentalvoice.telephony.callbacks import Callbacks
from dentalvoice.telephony.client import TwilioClient
from dentalvoice.telephony.control import CallControl
from dentalvoice.telephony.dialer import TwilioDialer
from dentalvoice.telephony.urls import CallbackUrls
from dentalvoice.voice.records import TransferWhispers

# How long `aclose` waits for the CRM sender's write in flight before cancelling it.
SENDER_GRACE_S = 5.0


def worker_name() -> str:
    """This process's name in `call_job.claimed_by`: host and pid (unique among live workers)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


WarmUpStep = tuple[str, Callable[[], Awaitable[None]]]


async def warm_up(*steps: WarmUpStep) -> None:
    """Run start-up steps that load now what would otherwise load at first use.

    A step that fails is only logged: the work it would have done happens at first use, where
    its error is handled.
    """
    for name, step in steps:
        try:
            await step()
        except Exception as exc:  # noqa: BLE001 - start-up goes on; first use retries it
            logger.warning("warm-up of the {} failed: {}", name, describe_exception(exc))


@dataclass
class Telephony:
    """Calling resources of one process (some absent when Twilio is not configured)."""

    settings: Settings
    db: Database
    redis: Redis | None
    sessions: SessionStore
    signals: CallSignals
    wake: WakeRelay
    callbacks: Callbacks | None = None
    client: TwilioClient | None = None
    control: CallControl | None = None  # live-call steering, for callbacks and the voice agent
    worker: DialWorker | None = None
    # GHL for the whole process: the CRM write-back, and the voice agent's calendar.
    ghl: GhlClient | None = None
    sender: OutboxSender | None = None  # None: CRM_WRITEBACK_ENABLED is off
    clock: Callable[[], datetime] = utcnow  # the wall clock the gate decides by
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _sending: asyncio.Task[None] | None = None

    def start(self, *, dial: bool) -> None:
        """Start the background loops: the wake listener, the CRM sender, the worker when `dial`.

        Args:
            dial: Run the dial worker in this process.
        """
        if self.redis is not None:
            self._tasks.append(asyncio.create_task(self.wake.listen(self._stop)))
        if self.sender is not None and self._sending is None:
            self._sending = asyncio.create_task(self.sender.run(self._stop))
            logger.info("crm outbox sender started")
        if dial and self.worker is not None:
            self._tasks.append(asyncio.create_task(self.worker.run(self._stop, self.wake.event)))
            logger.info("dial worker started")

    async def warm_up(self) -> None:
        """Load now, in threads, what the first lead's gate decision and dial would load.

        At first use, on the event loop, the rules and their holiday calendars (the gate, which
        the worker checks again) and the Twilio SDK's REST modules (the dial) stalled every
        request and call for ~0.4 s.
        """
        year = self.clock().year
        steps: list[WarmUpStep] = [
            ("compliance rules", lambda: asyncio.to_thread(compliance_warm_up, year=year))
        ]
        if self.client is not None:
            steps.append(("twilio client", self.client.warm_up))
        await warm_up(*steps)

    async def run_worker(self) -> None:
        """Run the worker in the foreground until cancelled (`dentalvoice worker`)."""
        if self.worker is None:
            raise RuntimeError(
                "the worker needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL"
            )
        await self.warm_up()
        self.start(dial=True)
        await asyncio.gather(*self._tasks)

    async def aclose(self) -> None:
        """Stop the loops (the current dial round finishes) and close the clients."""
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sending is not None:
            # A GHL request in flight gets a moment to finish; a write cut off here stays
            # leased and is retried by the next sender as maybe applied (no double note).
            done, _ = await asyncio.wait({self._sending}, timeout=SENDER_GRACE_S)
            if not done:
                self._sending.cancel()
            await asyncio.gather(self._sending, return_exceptions=True)
        if self.ghl is not None:
            await self.ghl.aclose()
        if self.client is not None:
            await self.client.close()
        await self.sessions.close()


def cps_limiter(settings: Settings, redis: Redis | None) -> CpsLimiter:
    """The account's calls-per-second limiter: shared in Redis when there is one."""
    if redis is not None:
        return RedisCallsPerSecond(redis, settings.dialer_calls_per_second)
    return CallsPerSecond(settings.dialer_calls_per_second)


def open_telephony(
    *,
    settings: Settings,
    db: Database,
    redis: Redis | None,
    clock: Callable[[], datetime] = utcnow,
) -> Telephony:
    """Build the process's calling parts; call inside the running event loop.

    `clock` is the wall clock the gate and the dialer decide by (tests and the demo shift it
    into calling hours).

    Without Twilio settings, callbacks cannot be verified and no call is placed: leads are
    still taken in and scheduled, and a warning says why nothing is dialed.
    """
    signals = CallSignals()
    wake = WakeRelay(redis)
    ghl = open_ghl_client(settings, db=db, redis=redis)
    telephony = Telephony(
        settings=settings,
        db=db,
        redis=redis,
        sessions=build_session_store(settings.redis_url),
        signals=signals,
        wake=wake,
        ghl=ghl,
        clock=clock,
    )
    if settings.crm_writeback_enabled:
        telephony.sender = OutboxSender(
            db=db, ghl=ghl, worker_id=worker_name(), clock=clock, redis=redis
        )
    if not settings.twilio_configured:
        logger.warning(
            "Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL): "
            "leads are scheduled but no call is placed"
        )
        return telephony
    assert settings.twilio_account_sid and settings.twilio_auth_token and settings.public_base_url
    urls = CallbackUrls.from_base(str(settings.public_base_url))
    client = TwilioClient(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        api_base_url=str(settings.twilio_api_base_url) if settings.twilio_api_base_url else None,
        timeout_s=settings.twilio_timeout_s,
    )
    telephony.client = client
    telephony.control = CallControl(client=client)
    telephony.callbacks = Callbacks(
        db=db,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        urls=urls,
        sessions=telephony.sessions,
        signals=signals,
        control=telephony.control,
        wake=wake,
        default_from=settings.twilio_from_number,
        whispers=TransferWhispers(db),
        clock=clock,
    )
    telephony.worker = DialWorker(
        db=db,
        dialer=TwilioDialer(
            client=client,
            urls=urls,
            default_from=settings.twilio_from_number,
            ring_timeout_s=settings.ring_timeout_s,
        ),
        worker_id=worker_name(),
        cps=cps_limiter(settings, redis),
        clock=clock,
        lease=_seconds(settings.dialer_lease_s),
        per_location_concurrency=settings.dialer_location_concurrency,
        batch=settings.dialer_batch,
        cps_rate=settings.dialer_calls_per_second,
    )
    return telephony


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)
