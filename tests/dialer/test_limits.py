"""Calls per second and wake-ups shared through the local Redis, as between worker processes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from dentalvoice.dialer.limits import CpsUnavailable, RedisCallsPerSecond
from dentalvoice.dialer.wake import WakeRelay


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_two_limiters_sharing_a_key_hand_out_distinct_spaced_slots(redis: Redis) -> None:
    """Two processes' limiters: every slot is 1/rate after the previous one, whoever took it."""
    key = f"dvtest:cps:{uuid.uuid4().hex}"
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    first = RedisCallsPerSecond(redis, 10.0, key=key, sleep=record)
    second = RedisCallsPerSecond(redis, 10.0, key=key, sleep=record)
    for limiter in (first, second, first, second, first):
        await limiter.acquire()

    # The first slot is free now; each later one waits 100 ms more than the one before
    # (less the few milliseconds the round trips themselves took).
    assert len(waits) == 4
    for n, wait in enumerate(waits, start=1):
        assert 0.1 * n - 0.05 < wait <= 0.1 * n
    assert 0 < await redis.pttl(key) <= 1000 + 500


async def test_an_unreachable_redis_refuses_the_slot() -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        with pytest.raises(CpsUnavailable):
            await RedisCallsPerSecond(dead, 1.0, timeout_s=1.0).acquire()
    finally:
        await dead.aclose()


async def test_a_wake_up_reaches_the_worker_of_another_process(redis: Redis) -> None:
    channel = f"dvtest:wake:{uuid.uuid4().hex}"
    here, there = WakeRelay(redis, channel=channel), WakeRelay(redis, channel=channel)
    stop = asyncio.Event()
    listening = asyncio.create_task(there.listen(stop))
    try:
        async with asyncio.timeout(10):
            await there.listening.wait()
            await here.notify()
            await there.event.wait()
    finally:
        stop.set()
        await listening
    assert here.event.is_set()  # its own worker is woken directly
