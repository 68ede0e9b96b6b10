"""In-process signals between the handlers of one call (an AMD verdict → its media stream).

The callback and the WebSocket of a call usually land on the same process; when they do not,
the waiting side falls back on its own timeout, so a lost signal only costs time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class CallSignals:
    """The latest signal per call key, and the tasks waiting for one."""

    def __init__(self, *, ttl_s: float = 3600.0, clock: Callable[[], float] = time.monotonic):
        """Create an empty board.

        Args:
            ttl_s: How long an unclaimed signal is kept (a call's stream may open later).
            clock: Monotonic seconds (injectable for tests).
        """
        self._ttl_s = ttl_s
        self._clock = clock
        self._latest: dict[str, tuple[str, float]] = {}
        self._events: dict[str, asyncio.Event] = {}

    def publish(self, key: str, value: str) -> None:
        """Record `value` for the call and wake its waiters.

        Args:
            key: The call's key (its attempt id).
            value: The signal, e.g. an AMD verdict.
        """
        self._sweep()
        self._latest[key] = (value, self._clock())
        self._events.setdefault(key, asyncio.Event()).set()

    async def wait(self, key: str) -> str:
        """The call's latest signal, waiting for one if none was published yet.

        Args:
            key: The call's key.

        Returns:
            The signal.
        """
        while key not in self._latest:
            event = self._events.setdefault(key, asyncio.Event())
            await event.wait()
            event.clear()
        return self._latest[key][0]

    def forget(self, key: str) -> None:
        """Drop what is kept for a call that ended.

        Args:
            key: The call's key.
        """
        self._latest.pop(key, None)
        self._events.pop(key, None)

    def _sweep(self) -> None:
        cutoff = self._clock() - self._ttl_s
        for key in [k for k, (_, at) in self._latest.items() if at < cutoff]:
            self.forget(key)
