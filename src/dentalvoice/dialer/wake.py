"""Waking dial workers the moment a job is scheduled, in this process and (via Redis) others.

Without it a worker finds a new job on its next idle check (up to `max_idle` later); with it
webhook → dial takes one database round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from loguru import logger
from redis.asyncio import Redis
from redis.exceptions import RedisError

from dentalvoice.logging import describe_exception

CHANNEL: Final = "dentalvoice:dialer:wake"


class WakeRelay:
    """One per process: `event` wakes the local worker; `notify` wakes every worker."""

    def __init__(self, redis: Redis | None = None, *, channel: str = CHANNEL) -> None:
        """Create the relay.

        Args:
            redis: The shared Redis, or None when every worker lives in this process.
            channel: The pub/sub channel.
        """
        self.event = asyncio.Event()
        # Set once `listen` is subscribed: from then on no other process's wake-up is missed.
        self.listening = asyncio.Event()
        self._redis = redis
        self._channel = channel

    async def notify(self) -> None:
        """Wake this process's worker now, and publish for the others (best effort: a lost
        message only delays a dial until that worker's next idle check)."""
        self.event.set()
        if self._redis is None:
            return
        try:
            async with asyncio.timeout(1.0):
                await self._redis.publish(self._channel, b"1")
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning("dialer wake publish failed: {}", describe_exception(exc))

    async def listen(self, stop: asyncio.Event) -> None:
        """Relay other processes' wake-ups to `event` until `stop` (no-op without Redis)."""
        if self._redis is None:
            return
        while not stop.is_set():
            try:
                await self._listen_once(stop)
            except (RedisError, OSError) as exc:
                logger.warning("dialer wake subscription lost: {}", describe_exception(exc))
                # Reconnect after a pause; the worker's idle checks cover the gap.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=5.0)

    async def _listen_once(self, stop: asyncio.Event) -> None:
        assert self._redis is not None
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            self.listening.set()
            while not stop.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None:
                    self.event.set()
        finally:
            self.listening.clear()
            await pubsub.aclose()  # type: ignore[no-untyped-call]
