"""In-process dialing limits: calls per second, and concurrent calls per clinic.

Both hold for one process only. Several dialer processes sharing a Twilio account need the
same limits in Redis (a shared token bucket and per-clinic counters); that is the next step.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable


class CallsPerSecond:
    """Spaces call starts at least `1 / rate` seconds apart (Twilio's CPS limit)."""

    def __init__(
        self,
        rate: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Create a limiter.

        Args:
            rate: Calls allowed per second (positive).
            clock: A monotonic clock in seconds (injectable for tests).
            sleep: How to wait (injectable for tests).

        Raises:
            ValueError: `rate` is not positive.
        """
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until the next call may start, and take that slot."""
        # The lock queues callers so each one takes the next slot in turn.
        async with self._lock:
            now = self._clock()
            if self._next is not None and now < self._next:
                await self._sleep(self._next - now)
                now = self._next
            self._next = now + self._interval


class ConcurrencyLimits:
    """Counts calls in progress per clinic."""

    def __init__(self) -> None:
        """Start with no call in progress."""
        self._active: dict[uuid.UUID, int] = {}

    def try_acquire(self, location_id: uuid.UUID, limit: int) -> bool:
        """Take a slot for the clinic if it has fewer than `limit` calls in progress.

        Args:
            location_id: The clinic.
            limit: Its most concurrent calls.

        Returns:
            Whether a slot was taken (release it with `release`).
        """
        current = self._active.get(location_id, 0)
        if current >= limit:
            return False
        self._active[location_id] = current + 1
        return True

    def release(self, location_id: uuid.UUID) -> None:
        """Give back a slot taken with `try_acquire`.

        Args:
            location_id: The clinic.
        """
        current = self._active.get(location_id, 0)
        if current <= 1:
            self._active.pop(location_id, None)
        else:
            self._active[location_id] = current - 1

    def active(self, location_id: uuid.UUID) -> int:
        """How many calls the clinic has in progress.

        Args:
            location_id: The clinic.

        Returns:
            The count.
        """
        return self._active.get(location_id, 0)
