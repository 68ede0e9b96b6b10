"""Injected failures: what a client must survive that a healthy GHL rarely shows on demand.

A `Fault` makes matching requests fail before they reach the API: with an HTTP status
(500/502/503 ...), with a 429 rate-limit answer, or by hanging until the client gives up.
It lasts for a number of requests, for a time on the emulator's clock, or until cleared,
and may be narrowed to a method and a path pattern (`fnmatch` style: `/contacts/*/notes`).
Faults are checked in the order they were added; the first match applies.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
from dataclasses import dataclass, field
from typing import Literal

from dentalvoice.emulators.ghl.clock import Clock

FaultKind = Literal["status", "rate_limit", "timeout"]


@dataclass
class Fault:
    """One injected failure.

    Attributes:
        id: Its handle (`fault-1`), for clearing it alone.
        kind: `status` (answer `status`), `rate_limit` (429 with exhausted headers) or
            `timeout` (hang; answer 504 if `hang_s` passes with the client still there).
        status: The status a `status` fault answers with.
        remaining: Requests it still applies to; None for no count limit.
        until: Clock time it ends; None for no time limit.
        method: Only this method (upper case), or any.
        path: Only paths matching this pattern, or any.
        hang_s: How long a `timeout` hangs at most; None hangs until the client leaves or
            the fault is cleared.
        hits: Requests it has failed so far.
        hit: Set each time it takes a request (tests await it instead of polling).
        released: Set when cleared: requests hanging on it stop hanging.
    """

    id: str
    kind: FaultKind
    status: int
    remaining: int | None
    until: float | None
    method: str | None
    path: str | None
    hang_s: float | None
    hits: int = 0
    hit: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    released: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def applies(self, method: str, path: str, now: float) -> bool:
        """Whether it is still active and covers this request."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.until is not None and now >= self.until:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        return self.path is None or fnmatch.fnmatchcase(path, self.path)

    def summary(self) -> dict[str, object]:
        """A JSON-ready description (for the admin route)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "remaining": self.remaining,
            "until": self.until,
            "method": self.method,
            "path": self.path,
            "hang_s": self.hang_s,
            "hits": self.hits,
        }


@dataclass
class FaultBook:
    """The active faults, in the order they were added.

    Attributes:
        clock: Now, in epoch seconds.
    """

    clock: Clock
    _faults: list[Fault] = field(default_factory=list)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(
        self,
        *,
        kind: FaultKind = "status",
        status: int | None = None,
        count: int | None = 1,
        duration_s: float | None = None,
        method: str | None = None,
        path: str | None = None,
        hang_s: float | None = None,
    ) -> Fault:
        """Start failing matching requests.

        Args:
            kind: `status`, `rate_limit` or `timeout`.
            status: For `status` faults (default 500); ignored otherwise.
            count: How many requests fail; None for no count limit.
            duration_s: For how long (emulator clock); None for no time limit. With both
                None the fault lasts until cleared.
            method: Only this method.
            path: Only paths matching this `fnmatch` pattern.
            hang_s: For `timeout`: the longest hang (None: until the client leaves).

        Returns:
            The fault.

        Raises:
            ValueError: A bad kind, status, count or duration.
        """
        if kind not in ("status", "rate_limit", "timeout"):
            raise ValueError(f"unknown fault kind {kind!r}")
        chosen = {"status": status or 500, "rate_limit": 429, "timeout": 504}[kind]
        if not 400 <= chosen <= 599:
            raise ValueError("a fault's status must be 4xx or 5xx")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None)")
        if duration_s is not None and duration_s <= 0:
            raise ValueError("duration_s must be positive (or None)")
        if hang_s is not None and hang_s < 0:
            raise ValueError("hang_s must not be negative")
        fault = Fault(
            id=f"fault-{next(self._numbers)}",
            kind=kind,
            status=chosen,
            remaining=count,
            until=self.clock() + duration_s if duration_s is not None else None,
            method=method.upper() if method else None,
            path=path,
            hang_s=hang_s,
        )
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault covering this request, counted as used; None if none does."""
        now = self.clock()
        for fault in self._faults:
            if fault.applies(method, path, now):
                fault.hits += 1
                fault.hit.set()
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None

    def active(self) -> list[Fault]:
        """Faults that can still apply to some request."""
        now = self.clock()
        return [
            f
            for f in self._faults
            if (f.remaining is None or f.remaining > 0) and (f.until is None or now < f.until)
        ]

    def clear(self, fault_id: str | None = None) -> int:
        """Remove one fault (or all); hanging requests of removed faults are let go.

        Returns:
            How many were removed.
        """
        removed = [f for f in self._faults if fault_id is None or f.id == fault_id]
        for fault in removed:
            fault.released.set()
            self._faults.remove(fault)
        return len(removed)
