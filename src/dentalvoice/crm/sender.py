"""The outbox sender: delivers due GHL writes, one call's writes in order, many calls at once.

One per process (`serve` and `worker` start it). It sleeps until a write is due, a commit in
this process enqueued one (`outbox.on_enqueued`), or another process published on Redis (an
operator's `outbox retry`). Each round claims the writes first in line for their call and
follows each call's chain: a write settled, the call's next one is claimed in the same
transaction.

What a failure does to the write:

- `GhlRateLimited` (a 429, or no local slot in time): retried after GHL's `retry_after`, and
  the clinic's other pending writes wait as long;
- another `GhlRetryable` (timeouts, 5xx): exponential backoff with jitter, capped; an unsure
  try (`maybe_applied`) is remembered so the note is looked for before it is created again;
- `GhlAuthError` (no or refused credentials): retried with a long backoff, the error says so;
- `GhlRejected` (a 4xx, an unknown custom-field key): parked `failed` for an operator;
- anything else (a bug, the database): backoff, with the error's type and place only.

After `RetryPolicy.max_attempts` tries a write is parked too. Nothing here logs payloads.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from loguru import logger
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from dentalvoice.crm import outbox
from dentalvoice.crm.client import GhlClient
from dentalvoice.crm.delivery import deliver
from dentalvoice.crm.errors import GhlAuthError, GhlRateLimited, GhlRejected, GhlRetryable
from dentalvoice.crm.options import CrmConfigError
from dentalvoice.crm.outbox import ClaimedWrite, Delivered, Parked, Retry, Settlement
from dentalvoice.crm.writes import Replan
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.dialer.wake import WakeRelay
from dentalvoice.logging import describe_exception

__all__ = ["WAKE_CHANNEL", "OutboxSender", "RetryPolicy", "wake_senders"]

WAKE_CHANNEL: Final = "dentalvoice:crm:wake"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed write is tried again.

    Attributes:
        base: The first retry's delay; each further try doubles it.
        cap: The longest backoff (a 429's `retry_after` is honoured even when longer).
        auth_base: The first delay after an authentication failure (someone must act).
        auth_cap: The longest delay between authentication retries.
        max_attempts: Tries after which a write is parked as failed.
    """

    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(minutes=15)
    auth_base: timedelta = timedelta(minutes=15)
    auth_cap: timedelta = timedelta(hours=2)
    max_attempts: int = 25

    def backoff(self, attempt: int, jitter: float, *, auth: bool = False) -> timedelta:
        """The delay before try `attempt + 1`, spread over [½, 1] of the exponential step.

        Args:
            attempt: Tries made so far, this one included (≥ 1).
            jitter: A number in [0, 1).
            auth: The failure was an authentication one.
        """
        base, cap = (self.auth_base, self.auth_cap) if auth else (self.base, self.cap)
        # A capped exponent: a long outage must not overflow timedelta.
        step: timedelta = min(cap, base * (2 ** min(max(attempt - 1, 0), 20)))
        return step * (0.5 + 0.5 * jitter)


async def wake_senders(redis: Redis) -> None:
    """Tell every process's sender to look at the outbox now (best effort)."""
    try:
        async with asyncio.timeout(1.0):
            await redis.publish(WAKE_CHANNEL, b"1")
    except (RedisError, OSError, TimeoutError) as exc:
        logger.warning("crm wake publish failed: {}", describe_exception(exc))


class OutboxSender:
    """Delivers the outbox to GHL; `run` until stopped, or `run_once` round by round."""

    def __init__(
        self,
        *,
        db: Database,
        ghl: GhlClient,
        worker_id: str,
        clock: Callable[[], datetime] = utcnow,
        redis: Redis | None = None,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 20,
        policy: RetryPolicy | None = None,
        max_idle: timedelta = timedelta(seconds=30),
        max_wait_s: float | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Create the sender.

        Args:
            db: The database holding the outbox.
            ghl: The process's GHL client.
            worker_id: This process's name in `claimed_by` (at most 64 characters).
            clock: The wall clock due times are decided by (injectable for tests).
            redis: Wake-ups from other processes arrive through it, when given.
            lease: How long a claimed write is this sender's; longer than one write takes
                (a rate-limit wait plus two requests).
            batch: The most calls worked on at once.
            policy: Backoff and give-up rules.
            max_idle: The longest sleep without a wake-up or a due write.
            max_wait_s: Longest wait for a local rate-limit slot (None: the client's).
            jitter: A number in [0, 1) per retry (injectable for tests).
        """
        self._db = db
        self._ghl = ghl
        self._worker_id = worker_id[:64]
        self._clock = clock
        self._lease = lease
        self._batch = max(1, batch)
        self._policy = policy or RetryPolicy()
        self._max_idle = max_idle
        self._max_wait = max_wait_s
        self._jitter = jitter
        self._relay = WakeRelay(redis, channel=WAKE_CHANNEL)
        self._wake = self._relay.event
        self._stopping = False

    @property
    def listening(self) -> asyncio.Event:
        """Set while `run` is subscribed to other processes' wake-ups (Redis only)."""
        return self._relay.listening

    def notify(self) -> None:
        """Wake `run` now (a write was enqueued)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, keeping up to `batch` calls' chains in flight.

        A chain that ends frees its place for the next due write at once, so one clinic
        waiting for its rate limit does not hold the others back. With nothing to claim the
        loop sleeps until woken, a chain ends, or the next write is due.

        Args:
            stop: Ends the loop; each chain finishes the write it is sending first.
        """
        remove = outbox.on_enqueued(self.notify)
        listener = asyncio.create_task(self._relay.listen(stop))
        stopper = asyncio.create_task(self._watch(stop))
        active: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                # Cleared before claiming: a write enqueued meanwhile makes the wait return.
                self._wake.clear()
                active = {task for task in active if not task.done()}
                free = self._batch - len(active)
                claimed: list[ClaimedWrite] = []
                if free > 0:
                    try:
                        claimed = await outbox.claim_due(
                            db=self._db,
                            worker_id=self._worker_id,
                            now=self._clock(),
                            lease=self._lease,
                            limit=free,
                        )
                    except Exception as exc:  # noqa: BLE001 - the loop must survive it
                        logger.error("crm sender claim failed: {}", describe_exception(exc))
                for write in claimed:
                    active.add(asyncio.create_task(self._chain(write, [])))
                if claimed and len(claimed) == free:
                    continue  # full: more may be due; the next pass waits for a free place
                await self._idle(stop, active, look_ahead=len(active) < self._batch)
        finally:
            remove()
            if active:
                # `_stopping` is set: each chain ends after the write it is sending.
                await asyncio.gather(*active, return_exceptions=True)
            for task in (listener, stopper):
                task.cancel()
            await asyncio.gather(listener, stopper, return_exceptions=True)
            self._stopping = False  # `run_once`/`drain` may follow on this sender

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stopping = True

    async def _idle(
        self, stop: asyncio.Event, active: set[asyncio.Task[None]], *, look_ahead: bool
    ) -> None:
        timeout = self._max_idle.total_seconds()
        now = self._clock()
        due = None
        if look_ahead:
            try:
                due = await outbox.next_due_at(db=self._db, now=now)
            except Exception as exc:  # noqa: BLE001 - wait the full idle time and try again
                logger.error("crm sender next_due_at failed: {}", describe_exception(exc))
        if due is not None:
            # A small floor: a due write another sender is claiming must not make us spin.
            timeout = min(timeout, max((due - now).total_seconds(), 0.05))
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())]
        try:
            await asyncio.wait(
                [*waiters, *active], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def run_once(self) -> int:
        """Claim the due writes first in line and follow each call's chain.

        Returns:
            How many writes were settled (delivered, retried later or parked).
        """
        claimed = await outbox.claim_due(
            db=self._db,
            worker_id=self._worker_id,
            now=self._clock(),
            lease=self._lease,
            limit=self._batch,
        )
        if not claimed:
            return 0
        counts: list[int] = []
        async with asyncio.TaskGroup() as group:
            for write in claimed:
                group.create_task(self._chain(write, counts))
        return sum(counts)

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Rounds until nothing is due now (tests and benchmarks); returns writes settled."""
        total = 0
        for _ in range(max_rounds):
            settled = await self.run_once()
            if not settled:
                break
            total += settled
        return total

    async def _chain(self, write: ClaimedWrite | None, counts: list[int]) -> None:
        # One call's failure must not cancel the others; its lease hands it back if this dies.
        settled = 0
        try:
            while write is not None:
                if self._stopping:
                    # Claimed but not sent: the next sender may take it now, not when the
                    # lease runs out.
                    async with self._db.transaction() as session:
                        await outbox.release(
                            session=session, write_id=write.id, worker_id=self._worker_id
                        )
                    break
                write = await self._handle(write)
                settled += 1
        except Exception as exc:  # noqa: BLE001 - logged; the lease returns the write
            logger.error("crm write chain failed: {}", describe_exception(exc))
        finally:
            counts.append(settled)

    async def _handle(self, write: ClaimedWrite) -> ClaimedWrite | None:
        if isinstance(write.op, Replan):
            return await self._replan(write, write.op)
        result, hold = await self._attempt(write)
        now = self._clock()
        async with self._db.transaction() as session:
            kept = await outbox.settle(
                session=session,
                write_id=write.id,
                worker_id=self._worker_id,
                result=result,
                now=now,
            )
            if not kept:
                logger.warning("crm write lease lost: write={} kind={}", write.id, write.kind)
                return None
            if hold is not None:
                await outbox.hold_location(
                    session=session, location_id=write.location_id, until=hold
                )
            self._log(write, result)
            if isinstance(result, Retry):
                return None  # the call's later writes wait behind this one
            return await outbox.claim_next(
                session=session,
                is_sqlite=self._db.is_sqlite,
                attempt_id=write.attempt_id,
                worker_id=self._worker_id,
                now=now,
                lease=self._lease,
            )

    async def _attempt(self, write: ClaimedWrite) -> tuple[Settlement, datetime | None]:
        """Send the write; how it went, and until when its clinic is rate-limited (if so)."""
        tries = write.attempts + 1
        if write.op is None:
            return Parked("unreadable payload (written by another version?)"), None
        try:
            ghl_id = await deliver(self._ghl, write, max_wait=self._max_wait)
        except GhlRateLimited as exc:
            at = self._clock() + timedelta(seconds=exc.retry_after or 10.0)
            counted = exc.kind != "local"
            return self._retry(write, at, str(exc), counted=counted), at
        except GhlRetryable as exc:
            delay = self._policy.backoff(tries, self._jitter())
            if exc.retry_after:
                delay = max(delay, timedelta(seconds=exc.retry_after))
            at = self._clock() + delay
            return self._retry(write, at, str(exc), maybe_applied=exc.maybe_applied), None
        except GhlAuthError as exc:
            at = self._clock() + self._policy.backoff(tries, self._jitter(), auth=True)
            message = f"credentials: {exc}; fix the clinic's GHL token or OAuth install"
            return self._retry(write, at, message), None
        except GhlRejected as exc:
            return Parked(str(exc)), None
        except (ValueError, ValidationError) as exc:
            # Our own payload cannot be sent as it is: retrying will not change that.
            return Parked(f"invalid write ({type(exc).__name__})"), None
        except Exception as exc:  # noqa: BLE001 - a bug or the database: back off, keep the row
            at = self._clock() + self._policy.backoff(tries, self._jitter())
            return self._retry(write, at, f"internal error: {describe_exception(exc)}"), None
        return Delivered(ghl_id), None

    def _retry(
        self,
        write: ClaimedWrite,
        at: datetime,
        error: str,
        *,
        maybe_applied: bool = False,
        counted: bool = True,
    ) -> Settlement:
        if counted and write.attempts + 1 >= self._policy.max_attempts:
            return Parked(f"gave up after {write.attempts + 1} attempts: {error}")
        return Retry(at=at, error=error, maybe_applied=maybe_applied, counted=counted)

    async def _replan(self, write: ClaimedWrite, op: Replan) -> ClaimedWrite | None:
        now = self._clock()
        async with self._db.transaction() as session:
            result: Settlement
            try:
                planned = await outbox.replan(session=session, write_id=write.id, op=op)
                result = Delivered()
            except CrmConfigError as exc:
                planned, result = 0, Parked(f"configuration: {exc}")
            kept = await outbox.settle(
                session=session,
                write_id=write.id,
                worker_id=self._worker_id,
                result=result,
                now=now,
            )
            if not kept:
                raise RuntimeError("replan lease lost")  # rolls the new writes back too
            logger.info("crm writes replanned: write={} new={}", write.id, planned)
            if isinstance(result, Parked):
                return None
            return await outbox.claim_next(
                session=session,
                is_sqlite=self._db.is_sqlite,
                attempt_id=write.attempt_id,
                worker_id=self._worker_id,
                now=now,
                lease=self._lease,
            )

    @staticmethod
    def _log(write: ClaimedWrite, result: Settlement) -> None:
        # Ids, kinds and GHL's error text only: the payload is PHI.
        if isinstance(result, Delivered):
            logger.debug(
                "crm write delivered: write={} kind={} location={}",
                write.id,
                write.kind,
                write.ghl_location_id,
            )
        elif isinstance(result, Retry):
            logger.info(
                "crm write deferred: write={} kind={} location={} until={} error={}",
                write.id,
                write.kind,
                write.ghl_location_id,
                result.at.isoformat(),
                result.error,
            )
        else:
            logger.warning(
                "crm write failed: write={} kind={} location={} error={}",
                write.id,
                write.kind,
                write.ghl_location_id,
                result.error,
            )
