"""Session stores: atomic per-call state in Redis, or in this process when Redis is not set."""

from __future__ import annotations

import asyncio
import hmac
import random
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError, WatchError

from dentalvoice.errors import DentalVoiceError
from dentalvoice.sessions.schemas import CallSession, hash_stream_token

T = TypeVar("T")

# What a read-modify-write step returns: the session to write (None writes nothing) and the
# caller's answer.
Step = Callable[[CallSession], tuple[CallSession | None, T]]


class SessionStoreError(DentalVoiceError):
    """The session store could not be reached or answered with something unusable."""


class SessionStore(Protocol):
    """Live per-call state, readable and atomically changeable from any process."""

    async def put(self, key: str, session: CallSession, *, ttl_s: int) -> None:
        """Store `session` under `key`, replacing any previous one, for `ttl_s` seconds."""
        ...

    async def get(self, key: str) -> CallSession | None:
        """The session under `key`, or None if absent or expired."""
        ...

    async def delete(self, key: str) -> None:
        """Forget the session under `key`; absent keys are fine."""
        ...

    async def update(
        self, key: str, fn: Callable[[CallSession], CallSession], *, ttl_s: int | None = None
    ) -> CallSession | None:
        """Atomically replace the session by `fn(session)`; None if there is none.

        `ttl_s` None keeps the current expiry. `fn` may run more than once, so it must be pure.
        """
        ...

    async def consume_token(self, key: str, token: str) -> bool:
        """True exactly once, for the right media-stream token; the token is then spent."""
        ...

    async def advance_sequence(self, key: str, sequence: int, status: str) -> bool:
        """Record `status` only if `sequence` is newer than the last one seen; whether it was."""
        ...

    async def link_call_sid(self, call_sid: str, key: str, *, ttl_s: int) -> None:
        """Remember that Twilio's `call_sid` belongs to the session under `key`."""
        ...

    async def key_for_call_sid(self, call_sid: str) -> str | None:
        """The session key linked to `call_sid`, or None."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


def _check_ttl(ttl_s: int | None) -> None:
    if ttl_s is not None and ttl_s < 1:
        raise ValueError(f"ttl_s must be at least 1 second, got {ttl_s}")


def _now() -> datetime:
    return datetime.now(UTC)


def _consume_step(token: str) -> Step[bool]:
    token_hash = hash_stream_token(token)

    def step(session: CallSession) -> tuple[CallSession | None, bool]:
        stored = session.stream_token_hash
        # Constant-time so response timing does not reveal how much of a guess matched.
        if stored is None or not hmac.compare_digest(stored, token_hash):
            return None, False
        return session.model_copy(update={"stream_token_hash": None, "updated_at": _now()}), True

    return step


def _sequence_step(sequence: int, status: str) -> Step[bool]:
    def step(session: CallSession) -> tuple[CallSession | None, bool]:
        if sequence <= session.last_sequence:
            return None, False
        changes = {"last_sequence": sequence, "status": status, "updated_at": _now()}
        return session.model_copy(update=changes), True

    return step


def _update_step(fn: Callable[[CallSession], CallSession]) -> Step[CallSession | None]:
    def step(session: CallSession) -> tuple[CallSession | None, CallSession | None]:
        new = fn(session)
        return new, new

    return step


def _decode(raw: str | bytes) -> CallSession:
    try:
        return CallSession.model_validate_json(raw)
    except ValidationError as exc:
        raise SessionStoreError("stored call session is not valid") from exc


class InProcessSessionStore:
    """The embedded default: a dict in this process, with expiry checked on read.

    Sessions are kept as JSON, as in Redis, so a caller cannot change stored state by
    mutating an object it was given.
    """

    _SWEEP_EVERY = 256

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Create an empty store.

        Args:
            clock: Monotonic seconds; tests inject a fake one to expire entries.
        """
        self._clock = clock
        self._sessions: dict[str, tuple[str, float]] = {}
        self._sids: dict[str, tuple[str, float]] = {}
        # Weak values: a key's lock lives only while someone holds or waits on it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._writes = 0

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def _live(self, table: dict[str, tuple[str, float]], key: str) -> str | None:
        entry = table.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if self._clock() >= expires_at:
            del table[key]
            return None
        return value

    def _sweep(self) -> None:
        # Keys that are written but never read again would otherwise stay forever.
        self._writes += 1
        if self._writes % self._SWEEP_EVERY:
            return
        now = self._clock()
        for table in (self._sessions, self._sids):
            for key in [k for k, (_, exp) in table.items() if now >= exp]:
                del table[key]

    async def put(self, key: str, session: CallSession, *, ttl_s: int) -> None:
        """Store `session` under `key` for `ttl_s` seconds."""
        _check_ttl(ttl_s)
        self._sweep()
        self._sessions[key] = (session.model_dump_json(), self._clock() + ttl_s)

    async def get(self, key: str) -> CallSession | None:
        """The session under `key`, or None if absent or expired."""
        raw = self._live(self._sessions, key)
        return None if raw is None else _decode(raw)

    async def delete(self, key: str) -> None:
        """Forget the session under `key`."""
        self._sessions.pop(key, None)

    async def _transact(self, key: str, step: Step[T], missing: T, ttl_s: int | None) -> T:
        # The step is synchronous today, so the lock is what keeps this atomic should any part
        # of a read-modify-write ever await.
        async with self._lock(key):
            raw = self._live(self._sessions, key)
            if raw is None:
                return missing
            new, result = step(_decode(raw))
            if new is not None:
                expires_at = self._sessions[key][1] if ttl_s is None else self._clock() + ttl_s
                self._sessions[key] = (new.model_dump_json(), expires_at)
            return result

    async def update(
        self, key: str, fn: Callable[[CallSession], CallSession], *, ttl_s: int | None = None
    ) -> CallSession | None:
        """Atomically replace the session by `fn(session)`; None if there is none."""
        _check_ttl(ttl_s)
        return await self._transact(key, _update_step(fn), None, ttl_s)

    async def consume_token(self, key: str, token: str) -> bool:
        """True exactly once, for the right media-stream token."""
        return await self._transact(key, _consume_step(token), False, None)

    async def advance_sequence(self, key: str, sequence: int, status: str) -> bool:
        """Record `status` only if `sequence` is newer than the last one seen."""
        return await self._transact(key, _sequence_step(sequence, status), False, None)

    async def link_call_sid(self, call_sid: str, key: str, *, ttl_s: int) -> None:
        """Remember that `call_sid` belongs to the session under `key`."""
        _check_ttl(ttl_s)
        self._sweep()
        self._sids[call_sid] = (key, self._clock() + ttl_s)

    async def key_for_call_sid(self, call_sid: str) -> str | None:
        """The session key linked to `call_sid`, or None."""
        return self._live(self._sids, call_sid)

    async def close(self) -> None:
        """Nothing to release in process."""


class RedisSessionStore:
    """Sessions as JSON strings in Redis, changed with WATCH/MULTI optimistic transactions."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "dv:call:",
        timeout_s: float = 2.0,
        max_attempts: int = 100,
    ) -> None:
        """Create the client; no connection is made until the first command.

        Args:
            url: A `redis://` or `rediss://` URL.
            prefix: Prepended to every key, so several deployments can share a database.
            timeout_s: Bound on each socket operation and on each store call as a whole.
            max_attempts: How often a read-modify-write is retried when another writer wins.
        """
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._client: Redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            # Few, quick reconnects: a caller waiting on a phone call cannot wait long.
            retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=2),
        )

    def _session_key(self, key: str) -> str:
        return f"{self._prefix}s:{key}"

    def _sid_key(self, call_sid: str) -> str:
        return f"{self._prefix}sid:{call_sid}"

    @asynccontextmanager
    async def _guard(self, op: str) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._timeout_s):
                yield
        except TimeoutError as exc:
            raise SessionStoreError(f"redis {op} timed out") from exc
        except RedisError as exc:
            raise SessionStoreError(f"redis {op} failed: {type(exc).__name__}") from exc

    async def put(self, key: str, session: CallSession, *, ttl_s: int) -> None:
        """Store `session` under `key` for `ttl_s` seconds."""
        _check_ttl(ttl_s)
        async with self._guard("put"):
            await self._client.set(self._session_key(key), session.model_dump_json(), ex=ttl_s)

    async def get(self, key: str) -> CallSession | None:
        """The session under `key`, or None if absent or expired."""
        async with self._guard("get"):
            raw = await self._client.get(self._session_key(key))
        return None if raw is None else _decode(raw)

    async def delete(self, key: str) -> None:
        """Forget the session under `key`."""
        async with self._guard("delete"):
            await self._client.delete(self._session_key(key))

    async def _transact(self, key: str, step: Step[T], missing: T, ttl_s: int | None) -> T:
        name = self._session_key(key)
        async with self._client.pipeline(transaction=True) as pipe:
            for attempt in range(self._max_attempts):
                try:
                    await pipe.watch(name)
                    raw = await pipe.get(name)
                    if raw is None:
                        return missing
                    new, result = step(_decode(raw))
                    if new is None:
                        return result
                    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    if ttl_s is None:
                        pipe.set(name, new.model_dump_json(), keepttl=True)
                    else:
                        pipe.set(name, new.model_dump_json(), ex=ttl_s)
                    await pipe.execute()
                    return result
                except WatchError:
                    # Jittered backoff so writers that collided do not collide again in step.
                    await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
        raise SessionStoreError(f"gave up after {self._max_attempts} conflicting writes")

    async def update(
        self, key: str, fn: Callable[[CallSession], CallSession], *, ttl_s: int | None = None
    ) -> CallSession | None:
        """Atomically replace the session by `fn(session)`; None if there is none."""
        _check_ttl(ttl_s)
        async with self._guard("update"):
            return await self._transact(key, _update_step(fn), None, ttl_s)

    async def consume_token(self, key: str, token: str) -> bool:
        """True exactly once, for the right media-stream token."""
        async with self._guard("consume_token"):
            return await self._transact(key, _consume_step(token), False, None)

    async def advance_sequence(self, key: str, sequence: int, status: str) -> bool:
        """Record `status` only if `sequence` is newer than the last one seen."""
        async with self._guard("advance_sequence"):
            return await self._transact(key, _sequence_step(sequence, status), False, None)

    async def link_call_sid(self, call_sid: str, key: str, *, ttl_s: int) -> None:
        """Remember that `call_sid` belongs to the session under `key`."""
        _check_ttl(ttl_s)
        async with self._guard("link_call_sid"):
            await self._client.set(self._sid_key(call_sid), key, ex=ttl_s)

    async def key_for_call_sid(self, call_sid: str) -> str | None:
        """The session key linked to `call_sid`, or None."""
        async with self._guard("key_for_call_sid"):
            value = await self._client.get(self._sid_key(call_sid))
        return None if value is None else str(value)

    async def close(self) -> None:
        """Close the client and its connection pool."""
        await self._client.aclose()


def build_session_store(redis_url: str | None) -> SessionStore:
    """Pick the store for this deployment.

    Args:
        redis_url: `Settings.redis_url`; None or empty selects the in-process store, which is
            only correct when a single process serves both callbacks and media streams.

    Returns:
        A `RedisSessionStore` when a URL is given, else an `InProcessSessionStore`.
    """
    if redis_url:
        return RedisSessionStore(redis_url)
    return InProcessSessionStore()
