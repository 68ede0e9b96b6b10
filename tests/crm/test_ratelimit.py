"""Token buckets per location, in-process (injected clock, no sleeping) and in the local Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from dentalvoice.crm import StaticTokens, open_ghl_client
from dentalvoice.crm.errors import GhlRateLimited
from dentalvoice.crm.ratelimit import RateLimitInfo, RedisTokenBucket, TokenBucket, rate_limited
from tests.conftest import make_settings


class FakeTime:
    """A clock that moves only when the code under test sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


def bucket(time_: FakeTime, capacity: int = 100, window_s: float = 10.0) -> TokenBucket:
    return TokenBucket(capacity, window_s, clock=time_.clock, sleep=time_.sleep)


async def test_a_full_bucket_lets_a_burst_through_then_spaces_requests(time_: FakeTime) -> None:
    limiter = bucket(time_)
    for _ in range(100):
        await limiter.acquire("loc", max_wait=0)
    assert time_.slept == []

    await limiter.acquire("loc", max_wait=1)
    await limiter.acquire("loc", max_wait=1)
    # Refill is 10 tokens a second: each further request is due 0.1 s after the last.
    assert time_.slept == pytest.approx([0.1, 0.1])


async def test_concurrent_reservations_queue_in_order(time_: FakeTime) -> None:
    limiter = bucket(time_, capacity=2, window_s=1.0)  # 2 per second
    waits = [limiter.reserve("loc", max_wait=10) for _ in range(5)]
    assert waits == pytest.approx([0, 0, 0.5, 1.0, 1.5])


async def test_a_caller_that_cannot_wait_is_refused_and_takes_nothing(time_: FakeTime) -> None:
    limiter = bucket(time_, capacity=1, window_s=10.0)
    await limiter.acquire("loc", max_wait=0)
    with pytest.raises(GhlRateLimited) as caught:
        await limiter.acquire("loc", max_wait=2)
    assert caught.value.kind == "local" and caught.value.retry_after == pytest.approx(10.0)
    assert caught.value.status is None
    time_.now = 10.0
    await limiter.acquire("loc", max_wait=0)  # the refusal reserved nothing


async def test_locations_have_separate_buckets(time_: FakeTime) -> None:
    limiter = bucket(time_, capacity=1)
    await limiter.acquire("a", max_wait=0)
    await limiter.acquire("b", max_wait=0)
    with pytest.raises(GhlRateLimited):
        await limiter.acquire("a", max_wait=0)


async def test_refill_never_exceeds_capacity(time_: FakeTime) -> None:
    limiter = bucket(time_, capacity=3, window_s=3.0)
    for _ in range(3):
        await limiter.acquire("loc", max_wait=0)
    time_.now = 1000.0
    for _ in range(3):
        await limiter.acquire("loc", max_wait=0)
    with pytest.raises(GhlRateLimited):
        await limiter.acquire("loc", max_wait=0)


async def test_block_makes_the_next_request_wait(time_: FakeTime) -> None:
    limiter = bucket(time_)
    await limiter.block("loc", 8.0)
    with pytest.raises(GhlRateLimited) as caught:
        await limiter.acquire("loc", max_wait=1)
    assert caught.value.retry_after == pytest.approx(8.0)
    await limiter.acquire("loc", max_wait=10)
    assert time_.slept == pytest.approx([8.0])


def test_rate_limit_headers_are_read() -> None:
    info = RateLimitInfo.from_headers(
        {
            "x-ratelimit-remaining": "42",
            "x-ratelimit-interval-milliseconds": "10000",
            "x-ratelimit-max": "100",
            "x-ratelimit-daily-remaining": "0",
            "x-ratelimit-limit-daily": "200000",
            "x-ratelimit-daily-reset": "5000",
        }
    )
    assert info == RateLimitInfo(42, 10.0, 100, 0, 200000, 5.0)
    assert info.daily_exhausted and not info.burst_exhausted
    assert RateLimitInfo.from_headers({"x-ratelimit-remaining": "junk"}) == RateLimitInfo()


def test_429_classification() -> None:
    burst = rate_limited(RateLimitInfo(remaining=0, interval_s=10.0), jitter=lambda: 0.0)
    assert (burst.kind, burst.retry_after) == ("burst", 10.0)
    jittered = rate_limited(RateLimitInfo(interval_s=10.0), jitter=lambda: 0.999)
    assert 10.0 < (jittered.retry_after or 0) < 12.5
    no_headers = rate_limited(RateLimitInfo(), jitter=lambda: 0.0)
    assert (no_headers.kind, no_headers.retry_after) == ("burst", 10.0)
    daily = rate_limited(RateLimitInfo(daily_remaining=0), daily_retry_s=900.0)
    assert (daily.kind, daily.retry_after) == ("daily", 900.0)


# -- Redis ----------------------------------------------------------------------------------


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"dvtest:ghl:{uuid.uuid4().hex}:"


async def test_processes_sharing_redis_share_one_bucket(redis: Redis, prefix: str) -> None:
    """Two limiters on one key (as two processes): 3 requests per second between them."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    first = RedisTokenBucket(redis, 3, 1.0, prefix=prefix, sleep=record)
    second = RedisTokenBucket(redis, 3, 1.0, prefix=prefix, sleep=record)
    for limiter in (first, second, first):
        await limiter.acquire("loc", max_wait=0)
    assert waits == []

    with pytest.raises(GhlRateLimited) as caught:
        await second.acquire("loc", max_wait=0)
    assert caught.value.kind == "local"
    assert 0.2 < (caught.value.retry_after or 0) <= 1 / 3 + 0.01

    await second.acquire("loc", max_wait=1)
    await first.acquire("loc", max_wait=1)
    # Reserved one after the other: ~1/3 s, then ~2/3 s (less the round trips' time).
    assert len(waits) == 2
    assert 0.2 < waits[0] <= 1 / 3 + 0.01
    assert 0.5 < waits[1] <= 2 / 3 + 0.01
    # The hash expires once the bucket would be full again: 5 tokens short at 3 a second, + 1 s.
    assert 2000 < await redis.pttl(prefix + "loc") <= 5 / 3 * 1000 + 1000 + 10
    await first.acquire("other", max_wait=0)  # another location is untouched


async def test_block_in_redis_reaches_every_process(redis: Redis, prefix: str) -> None:
    first = RedisTokenBucket(redis, 100, 10.0, prefix=prefix)
    second = RedisTokenBucket(redis, 100, 10.0, prefix=prefix)
    await first.block("loc", 5.0)
    with pytest.raises(GhlRateLimited) as caught:
        await second.acquire("loc", max_wait=1)
    assert 4.9 < (caught.value.retry_after or 0) <= 5.0


async def test_an_unreachable_redis_falls_back_to_the_process_bucket() -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    time_ = FakeTime()
    try:
        limiter = RedisTokenBucket(
            dead, 1, 10.0, timeout_s=1.0, sleep=time_.sleep, fallback=bucket(time_, 1, 10.0)
        )
        await limiter.acquire("loc", max_wait=0)
        with pytest.raises(GhlRateLimited):
            await limiter.acquire("loc", max_wait=0)
    finally:
        await dead.aclose()


def test_bad_bucket_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 10.0)
    with pytest.raises(ValueError):
        TokenBucket(10, 0)


async def test_the_process_client_shares_buckets_through_redis_when_configured(
    redis: Redis,
) -> None:
    settings = make_settings(ghl_client_id="app", ghl_client_secret="secret")
    shared = open_ghl_client(settings, tokens=StaticTokens({}), redis=redis)
    local = open_ghl_client(settings, tokens=StaticTokens({}))
    try:
        assert isinstance(shared.limiter, RedisTokenBucket)
        assert isinstance(local.limiter, TokenBucket)
    finally:
        await shared.aclose()
        await local.aclose()
