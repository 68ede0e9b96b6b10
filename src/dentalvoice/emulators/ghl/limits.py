"""GHL's rate limits: a burst window and a daily cap per app and resource.

docs/oauth/Authorization.md: "100 requests / 10 seconds per Marketplace app (client) per
resource (Location or Company)" and "200,000 requests / day per app per resource", reported
on every response in `X-RateLimit-*` headers. Private Integration Tokens count as one app
per location here (unverified upstream). The burst window slides: a request is allowed when
fewer than `burst_max` accepted requests arrived in the last `burst_interval_s`. The day is
the UTC calendar day of the emulator's clock. Refused requests do not count.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from dentalvoice.emulators.ghl.clock import Clock
from dentalvoice.emulators.ghl.settings import GhlSettings

RateKey = tuple[str, str]
"""(app id, location or company id)."""
_DAY_S = 86_400


@dataclass(frozen=True)
class Decision:
    """One request's verdict and the headers to send with its response.

    Attributes:
        allowed: False when a limit is exhausted (answer 429).
        headers: The five `X-RateLimit-*` headers.
        daily: True when the daily cap (not the burst window) refused it.
    """

    allowed: bool
    headers: dict[str, str]
    daily: bool = False


@dataclass
class _Bucket:
    recent: deque[float] = field(default_factory=deque)
    day: int = -1
    used_today: int = 0


@dataclass
class RateLimiter:
    """Counts requests per `RateKey` against the current settings.

    Attributes:
        clock: Now, in epoch seconds.
        settings: The emulator's current settings (read on every request).
    """

    clock: Clock
    settings: Callable[[], GhlSettings]
    _buckets: dict[RateKey, _Bucket] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget every count."""
        self._buckets.clear()

    def take(self, key: RateKey) -> Decision:
        """Count one request for `key` if both limits allow it."""
        bucket, now = self._current(key)
        settings = self.settings()
        daily = bucket.used_today >= settings.daily_max
        allowed = not daily and len(bucket.recent) < settings.burst_max
        if allowed:
            bucket.recent.append(now)
            bucket.used_today += 1
        return Decision(allowed=allowed, headers=self._headers(bucket), daily=daily)

    def peek(self, key: RateKey) -> dict[str, str]:
        """The headers for `key` without counting a request."""
        bucket, _ = self._current(key)
        return self._headers(bucket)

    def exhausted(self, key: RateKey) -> dict[str, str]:
        """Headers claiming the burst window is used up (for an injected 429)."""
        headers = self.peek(key)
        headers["X-RateLimit-Remaining"] = "0"
        return headers

    def _current(self, key: RateKey) -> tuple[_Bucket, float]:
        now = self.clock()
        bucket = self._buckets.setdefault(key, _Bucket())
        horizon = now - self.settings().burst_interval_s
        while bucket.recent and bucket.recent[0] <= horizon:
            bucket.recent.popleft()
        day = math.floor(now / _DAY_S)
        if day != bucket.day:
            bucket.day, bucket.used_today = day, 0
        return bucket, now

    def _headers(self, bucket: _Bucket) -> dict[str, str]:
        settings = self.settings()
        return {
            "X-RateLimit-Limit-Daily": str(settings.daily_max),
            "X-RateLimit-Daily-Remaining": str(max(settings.daily_max - bucket.used_today, 0)),
            "X-RateLimit-Interval-Milliseconds": str(round(settings.burst_interval_s * 1000)),
            "X-RateLimit-Max": str(settings.burst_max),
            "X-RateLimit-Remaining": str(max(settings.burst_max - len(bucket.recent), 0)),
        }
