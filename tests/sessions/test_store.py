"""Both session stores pass the same suite; the Redis one runs against the local server."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from dentalvoice.sessions import (
    CallSession,
    InProcessSessionStore,
    RedisSessionStore,
    SessionStore,
    SessionStoreError,
    build_session_store,
    hash_stream_token,
)

TOKEN = "tok-" + "a" * 40


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """A store under test plus the means to look behind it."""

    store: SessionStore
    clock: FakeClock | None = None
    raw: Redis | None = None

    async def remaining_ttl_ms(self, key: str) -> float:
        if isinstance(self.store, RedisSessionStore):
            assert self.raw is not None
            return float(await self.raw.pttl(self.store._session_key(key)))
        assert isinstance(self.store, InProcessSessionStore) and self.clock is not None
        return (self.store._sessions[key][1] - self.clock.now) * 1000


@pytest.fixture(params=["in_process", "redis"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "in_process":
        clock = FakeClock()
        yield Harness(InProcessSessionStore(clock=clock), clock=clock)
        return
    redis_url = request.getfixturevalue("redis_url")
    raw = Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=1)
    prefix = f"dvtest:{uuid.uuid4().hex}:"
    store = RedisSessionStore(redis_url, prefix=prefix)
    try:
        yield Harness(store, raw=raw)
    finally:
        await store.close()
        keys = [k async for k in raw.scan_iter(match=f"{prefix}*")]
        if keys:
            await raw.delete(*keys)
        await raw.aclose()


def make_session(**overrides: object) -> CallSession:
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "attempt_id": uuid.uuid4(),
        "lead_id": uuid.uuid4(),
        "location_id": uuid.uuid4(),
        "stream_token_hash": hash_stream_token(TOKEN),
        "status": "queued",
        "created_at": now,
        "updated_at": now,
    }
    values.update(overrides)
    return CallSession.model_validate(values)


async def test_put_get_delete(harness: Harness) -> None:
    store = harness.store
    session = make_session(data={"script": "recall"})
    await store.put("a1", session, ttl_s=60)

    assert await store.get("a1") == session
    assert await store.get("other") is None

    await store.delete("a1")
    await store.delete("a1")  # deleting twice is harmless
    assert await store.get("a1") is None


async def test_put_replaces_and_sets_ttl(harness: Harness) -> None:
    store = harness.store
    await store.put("a1", make_session(status="queued"), ttl_s=600)
    await store.put("a1", make_session(status="ringing"), ttl_s=1)

    got = await store.get("a1")
    assert got is not None and got.status == "ringing"
    assert 0 < await harness.remaining_ttl_ms("a1") <= 1000


async def test_in_process_sessions_and_links_expire() -> None:
    # Redis expires keys itself; for it the TTL tests check what it was told.
    clock = FakeClock()
    store = InProcessSessionStore(clock=clock)
    await store.put("a1", make_session(), ttl_s=10)
    await store.link_call_sid("CA1", "a1", ttl_s=10)

    clock.advance(9.9)
    assert await store.get("a1") is not None
    assert await store.key_for_call_sid("CA1") == "a1"

    clock.advance(0.1)
    assert await store.get("a1") is None
    assert await store.key_for_call_sid("CA1") is None
    assert await store.consume_token("a1", TOKEN) is False


async def test_transactions_keep_the_ttl_unless_given_one(harness: Harness) -> None:
    store = harness.store
    await store.put("a1", make_session(), ttl_s=1)

    assert await store.advance_sequence("a1", 0, "initiated")
    assert await store.consume_token("a1", TOKEN)
    await store.update("a1", lambda s: s.model_copy(update={"status": "in-progress"}))
    assert 0 < await harness.remaining_ttl_ms("a1") <= 1000

    await store.update("a1", lambda s: s, ttl_s=300)
    assert 1000 < await harness.remaining_ttl_ms("a1") <= 300_000


def _increment(session: CallSession) -> CallSession:
    data = dict(session.data)
    data["n"] = str(int(data.get("n", "0")) + 1)
    return session.model_copy(update={"data": data})


async def test_concurrent_updates_are_not_lost(harness: Harness) -> None:
    store = harness.store
    await store.put("a1", make_session(), ttl_s=60)

    results = await asyncio.gather(*(store.update("a1", _increment) for _ in range(50)))

    assert sorted(int(r.data["n"]) for r in results if r is not None) == list(range(1, 51))
    final = await store.get("a1")
    assert final is not None and final.data["n"] == "50"


async def test_update_of_a_missing_session_is_none(harness: Harness) -> None:
    assert await harness.store.update("nope", _increment) is None
    assert await harness.store.get("nope") is None


async def test_token_is_consumed_exactly_once_under_a_race(harness: Harness) -> None:
    store = harness.store
    await store.put("a1", make_session(), ttl_s=60)

    results = await asyncio.gather(*(store.consume_token("a1", TOKEN) for _ in range(20)))

    assert results.count(True) == 1
    assert await store.consume_token("a1", TOKEN) is False
    after = await store.get("a1")
    assert after is not None and after.stream_token_hash is None


async def test_wrong_token_is_refused_and_does_not_spend_the_right_one(harness: Harness) -> None:
    store = harness.store
    await store.put("a1", make_session(), ttl_s=60)
    await store.put("no-token", make_session(stream_token_hash=None), ttl_s=60)

    assert await store.consume_token("a1", "guess") is False
    assert await store.consume_token("a1", "") is False
    assert await store.consume_token("no-token", TOKEN) is False
    assert await store.consume_token("missing", TOKEN) is False
    assert await store.consume_token("a1", TOKEN) is True


async def test_stale_and_out_of_order_sequences_are_ignored(harness: Harness) -> None:
    store = harness.store
    await store.put("a1", make_session(), ttl_s=60)

    assert await store.advance_sequence("a1", 2, "ringing") is True
    assert await store.advance_sequence("a1", 1, "initiated") is False
    assert await store.advance_sequence("a1", 2, "ringing") is False
    assert await store.advance_sequence("a1", 3, "completed") is True
    assert await store.advance_sequence("missing", 9, "completed") is False

    final = await store.get("a1")
    assert final is not None
    assert (final.last_sequence, final.status) == (3, "completed")


async def test_racing_callbacks_leave_the_newest_status(harness: Harness) -> None:
    store = harness.store
    await store.put("a1", make_session(), ttl_s=60)
    sequences = list(range(20))
    random.shuffle(sequences)

    await asyncio.gather(*(store.advance_sequence("a1", n, f"s{n}") for n in sequences))

    final = await store.get("a1")
    assert final is not None
    assert (final.last_sequence, final.status) == (19, "s19")


async def test_call_sid_index(harness: Harness) -> None:
    store = harness.store
    await store.link_call_sid("CA123", "a1", ttl_s=60)

    assert await store.key_for_call_sid("CA123") == "a1"
    assert await store.key_for_call_sid("CA999") is None


async def test_ttl_must_be_positive(harness: Harness) -> None:
    with pytest.raises(ValueError):
        await harness.store.put("a1", make_session(), ttl_s=0)
    with pytest.raises(ValueError):
        await harness.store.link_call_sid("CA1", "a1", ttl_s=-1)


async def test_redis_errors_become_session_store_errors() -> None:
    store = RedisSessionStore("redis://127.0.0.1:1/0", timeout_s=1.0)
    try:
        with pytest.raises(SessionStoreError) as info:
            await store.get("a1")
        assert isinstance(info.value.__cause__, (RedisError, TimeoutError))
        with pytest.raises(SessionStoreError):
            await store.consume_token("a1", TOKEN)
    finally:
        await store.close()


async def test_corrupt_stored_session_is_a_store_error() -> None:
    store = InProcessSessionStore()
    store._sessions["a1"] = ("{not json", float("inf"))
    with pytest.raises(SessionStoreError):
        await store.get("a1")


async def test_build_session_store_picks_by_url() -> None:
    assert isinstance(build_session_store(None), InProcessSessionStore)
    assert isinstance(build_session_store(""), InProcessSessionStore)
    store = build_session_store("redis://127.0.0.1:6379/0")  # built lazily; never connects
    try:
        assert isinstance(store, RedisSessionStore)
    finally:
        await store.close()
