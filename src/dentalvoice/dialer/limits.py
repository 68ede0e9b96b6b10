"""Calls per second: Twilio's account-wide CPS, in one process or shared through Redis.

(A clinic's concurrent-call limit is counted in the database by the worker, so it already
holds across processes.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from dentalvoice.errors import DentalVoiceError


class CpsLimiter(Protocol):
    """Hands out call-start slots no closer than the account's calls-per-second allow."""

    async def acquire(self) -> None:
        """Wait for the next slot and take it."""
        ...


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


# Reserves the next free start time atomically and answers how long the caller must wait for
# it, in microseconds. Redis's own clock is used so that workers on different machines agree.
_RESERVE: Final = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000000 + tonumber(now[2])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(t, free)
local interval = tonumber(ARGV[1])
-- The key lives until just after the last reserved slot, so it never outlives its use.
redis.call('SET', KEYS[1], start + interval, 'PX', math.floor((start - t + interval) / 1000) + 1000)
return start - t
"""


class RedisCallsPerSecond:
    """`CallsPerSecond` for every worker sharing the account: the next slot lives in Redis.

    Each caller reserves a distinct start time (one Lua call, atomic in Redis) and sleeps
    until it, so N processes together never exceed the rate.
    """

    def __init__(
        self,
        redis: Redis,
        rate: float = 1.0,
        *,
        key: str = "dentalvoice:dialer:cps",
        timeout_s: float = 2.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Create a limiter.

        Args:
            redis: The shared Redis.
            rate: Calls allowed per second (positive), for the whole account.
            key: The Redis key holding the next free start time.
            timeout_s: Upper bound for the Redis round trip.
            sleep: How to wait (injectable for tests).

        Raises:
            ValueError: `rate` is not positive.
        """
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval_us = round(1_000_000 / rate)
        self._redis = redis
        self._key = key
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._script = redis.register_script(_RESERVE)

    async def acquire(self) -> None:
        """Reserve the next slot in Redis and wait for it.

        Raises:
            CpsUnavailable: Redis did not answer; the caller must not dial without a slot.
        """
        try:
            async with asyncio.timeout(self._timeout_s):
                wait_us = await self._script(keys=[self._key], args=[self._interval_us])
        except (RedisError, OSError, TimeoutError) as exc:
            raise CpsUnavailable("the shared calls-per-second limiter is unreachable") from exc
        if int(wait_us) > 0:
            await self._sleep(int(wait_us) / 1_000_000)


class CpsUnavailable(DentalVoiceError):
    """The shared limiter could not be asked; no call may start without a slot."""
