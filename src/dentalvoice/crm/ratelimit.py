"""Per-key token buckets (GHL: 100 requests / 10 s per location), in one process or in Redis.

A bucket holds up to `capacity` tokens and refills at `capacity / window_s` per second. A
request takes one token; when none is left it *reserves* the next one (the count goes below
zero) and waits for it, so concurrent callers queue in order without polling. A caller that
cannot wait long (free slots while the lead is on the line) passes a small `max_wait` and gets
`GhlRateLimited(kind="local")` instead of a reservation.

`block(key, seconds)` empties a bucket so the next request waits at least `seconds`: used when
GHL answers 429, or says through `X-RateLimit-Remaining: 0` that its own window is spent.

The dialer's calls-per-second limiter (`dialer/limits.py`) is the capacity-1 case of this
bucket, and the Redis variant follows its pattern (one Lua script, Redis's own clock).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from loguru import logger
from redis.asyncio import Redis
from redis.exceptions import RedisError

from dentalvoice.crm.errors import GhlRateLimited

# Without an `x-ratelimit-daily-reset` header, a spent daily quota is retried after this long.
DEFAULT_DAILY_RETRY_S: Final = 3600.0
# Fallback when a 429 carries no X-RateLimit-Interval-Milliseconds (GHL's window is 10 s).
DEFAULT_BURST_INTERVAL_S: Final = 10.0
# Burst retries are spread over up to this fraction of the interval, so that the callers
# refused together do not all come back in the same millisecond.
BURST_JITTER: Final = 0.25


class RateLimiter(Protocol):
    """Hands out request slots per key (a GHL location or company id)."""

    async def acquire(self, key: str, *, max_wait: float) -> None:
        """Take a slot for `key`, waiting at most `max_wait` seconds for it.

        Raises:
            GhlRateLimited: No slot within `max_wait` (`kind="local"`, with `retry_after`).
        """
        ...

    async def block(self, key: str, seconds: float) -> None:
        """Make the next request for `key` wait at least `seconds`."""
        ...


def _check(capacity: int, window_s: float) -> float:
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    return capacity / window_s


class TokenBucket:
    """In-process token buckets, one per key."""

    def __init__(
        self,
        capacity: int = 100,
        window_s: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Create the buckets.

        Args:
            capacity: Requests allowed per window (and the largest burst).
            window_s: The window in seconds; tokens refill at `capacity / window_s` per second.
            clock: A monotonic clock in seconds (injectable for tests).
            sleep: How to wait (injectable for tests).

        Raises:
            ValueError: `capacity` < 1 or `window_s` <= 0.
        """
        self._rate = _check(capacity, window_s)
        self._capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        # key -> (tokens, reading of `clock` when they were counted); negative = reserved.
        self._state: dict[str, tuple[float, float]] = {}

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._state.get(key, (self._capacity, now))
        return min(self._capacity, tokens + (now - at) * self._rate)

    def reserve(self, key: str, *, max_wait: float) -> float:
        """Take a token (or reserve the next one) without waiting.

        Args:
            key: The bucket.
            max_wait: The longest wait the caller accepts, in seconds.

        Returns:
            Seconds until the reserved token is due (0 when one was free).

        Raises:
            GhlRateLimited: The wait would exceed `max_wait`; nothing was reserved.
        """
        now = self._clock()
        tokens = self._tokens(key, now)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
        if wait > max_wait:
            raise GhlRateLimited(kind="local", retry_after=wait, location_id=key)
        # No await between reading and writing the state: the event loop makes this atomic.
        self._state[key] = (tokens - 1, now)
        if len(self._state) > 10_000:
            self._forget_full(now)
        return wait

    async def acquire(self, key: str, *, max_wait: float) -> None:
        """Take a slot for `key`, waiting at most `max_wait` seconds for it.

        Raises:
            GhlRateLimited: No slot within `max_wait`.
        """
        wait = self.reserve(key, max_wait=max_wait)
        if wait > 0:
            await self._sleep(wait)

    async def block(self, key: str, seconds: float) -> None:
        """Make the next request for `key` wait at least `seconds`."""
        now = self._clock()
        self._state[key] = (min(self._tokens(key, now), 1 - seconds * self._rate), now)

    def _forget_full(self, now: float) -> None:
        # A full bucket is the same as no bucket; dropping them bounds memory for many keys.
        for key in [k for k in self._state if self._tokens(k, now) >= self._capacity]:
            del self._state[key]


# KEYS[1]: the bucket hash {tokens, ts}. ARGV: capacity, refill per microsecond, mode ("take"
# or "block"), and max wait (take) or block length (block) in microseconds. Take returns the
# microseconds until the reserved token is due, or minus the wait when it exceeds the maximum
# (nothing is reserved then); block returns 0. Redis's own clock keeps processes in agreement.
_BUCKET: Final = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000000 + tonumber(now[2])
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or t
tokens = math.min(capacity, tokens + math.max(0, t - ts) * rate)
local result = 0
if ARGV[3] == 'block' then
  tokens = math.min(tokens, 1 - tonumber(ARGV[4]) * rate)
else
  local wait = 0
  if tokens < 1 then wait = math.ceil((1 - tokens) / rate) end
  if wait > tonumber(ARGV[4]) then return -wait end
  tokens = tokens - 1
  result = wait
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(t))
-- The hash lives until the bucket would be full again: an absent key means a full bucket.
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate / 1000) + 1000)
return result
"""


class RedisTokenBucket:
    """`TokenBucket` shared by every process through Redis (one atomic Lua call per request).

    When Redis does not answer, the process falls back to its own in-process bucket and says
    so once: GHL enforces its limit server-side anyway, so a Redis outage must not stop every
    CRM write, and the local bucket still bounds this process's share.
    """

    def __init__(
        self,
        redis: Redis,
        capacity: int = 100,
        window_s: float = 10.0,
        *,
        prefix: str = "dentalvoice:ghl:bucket:",
        timeout_s: float = 1.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        fallback: TokenBucket | None = None,
    ) -> None:
        """Create the shared buckets.

        Args:
            redis: The shared Redis.
            capacity: Requests allowed per window, for all processes together.
            window_s: The window in seconds.
            prefix: Prefix of the Redis keys (one hash per bucket key).
            timeout_s: Upper bound for the Redis round trip.
            sleep: How to wait (injectable for tests).
            fallback: The bucket used while Redis is unreachable (default: a new in-process one).

        Raises:
            ValueError: `capacity` < 1 or `window_s` <= 0.
        """
        self._rate_per_us = _check(capacity, window_s) / 1_000_000
        self._capacity = capacity
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._script = redis.register_script(_BUCKET)
        self._fallback = fallback or TokenBucket(capacity, window_s, sleep=sleep)
        self._degraded = False

    async def _run(self, key: str, mode: str, amount_s: float) -> int | None:
        args: list[str | int] = [
            self._capacity,
            repr(self._rate_per_us),
            mode,
            max(0, round(amount_s * 1e6)),
        ]
        try:
            async with asyncio.timeout(self._timeout_s):
                result = await self._script(keys=[self._prefix + key], args=args)
        except (RedisError, OSError, TimeoutError):
            if not self._degraded:
                logger.warning("ghl rate limiter: Redis unreachable, limiting per process")
                self._degraded = True
            return None
        if self._degraded:
            logger.info("ghl rate limiter: Redis reachable again")
            self._degraded = False
        return int(result)

    async def acquire(self, key: str, *, max_wait: float) -> None:
        """Take a slot for `key` in Redis, waiting at most `max_wait` seconds for it.

        Raises:
            GhlRateLimited: No slot within `max_wait`.
        """
        wait_us = await self._run(key, "take", max_wait)
        if wait_us is None:
            await self._fallback.acquire(key, max_wait=max_wait)
            return
        if wait_us < 0:
            raise GhlRateLimited(kind="local", retry_after=-wait_us / 1e6, location_id=key)
        if wait_us > 0:
            await self._sleep(wait_us / 1e6)

    async def block(self, key: str, seconds: float) -> None:
        """Make the next request for `key`, from any process, wait at least `seconds`."""
        if await self._run(key, "block", seconds) is None:
            await self._fallback.block(key, seconds)


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """GHL's `X-RateLimit-*` response headers (absent ones are None)."""

    remaining: int | None = None
    interval_s: float | None = None
    max: int | None = None
    daily_remaining: int | None = None
    daily_limit: int | None = None
    daily_reset_s: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo:
        """Read the headers (names case-insensitive when `headers` is httpx's)."""
        interval_ms = _number(headers.get("x-ratelimit-interval-milliseconds"))
        reset_ms = _number(headers.get("x-ratelimit-daily-reset"))
        return cls(
            remaining=_integer(headers.get("x-ratelimit-remaining")),
            interval_s=interval_ms / 1000 if interval_ms is not None else None,
            max=_integer(headers.get("x-ratelimit-max")),
            daily_remaining=_integer(headers.get("x-ratelimit-daily-remaining")),
            daily_limit=_integer(headers.get("x-ratelimit-limit-daily")),
            daily_reset_s=reset_ms / 1000 if reset_ms is not None else None,
        )

    @property
    def daily_exhausted(self) -> bool:
        """Whether GHL says the day's quota is spent."""
        return self.daily_remaining is not None and self.daily_remaining <= 0

    @property
    def burst_exhausted(self) -> bool:
        """Whether GHL says the current 10-second window is spent."""
        return self.remaining is not None and self.remaining <= 0


def rate_limited(
    info: RateLimitInfo,
    *,
    operation: str | None = None,
    location_id: str | None = None,
    daily_retry_s: float = DEFAULT_DAILY_RETRY_S,
    jitter: Callable[[], float] = random.random,
) -> GhlRateLimited:
    """The error for a 429: daily when the daily quota is spent, else burst.

    Args:
        info: The 429 response's rate-limit headers.
        operation: The client method that was refused.
        location_id: The location whose quota is spent.
        daily_retry_s: Retry delay for a spent daily quota without a reset header.
        jitter: A number in [0, 1) spreading burst retries (injectable for tests).

    Returns:
        A `GhlRateLimited` whose `retry_after` is the burst interval plus up to 25% jitter,
        or the time until the daily reset.
    """
    if info.daily_exhausted:
        retry_after = info.daily_reset_s if info.daily_reset_s is not None else daily_retry_s
        return GhlRateLimited(
            kind="daily", retry_after=retry_after, operation=operation, location_id=location_id
        )
    interval = info.interval_s if info.interval_s else DEFAULT_BURST_INTERVAL_S
    return GhlRateLimited(
        kind="burst",
        retry_after=interval * (1 + BURST_JITTER * jitter()),
        operation=operation,
        location_id=location_id,
    )


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def _integer(value: str | None) -> int | None:
    # Daily-remaining can be 0 or, per some reports, negative once exceeded: keep the sign.
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None
