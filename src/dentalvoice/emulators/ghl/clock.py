"""The emulator's notion of now: the real clock, or a manual one tests move by hand.

Everything time-dependent (token expiry, the 30 s refresh reuse window, rate-limit windows,
"slots in the past", request-log times) reads one `Clock`, so a test advances a
`ManualClock` instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]
"""Returns seconds since the Unix epoch (like `time.time`)."""


def system_clock() -> float:
    """The real wall clock."""
    return time.time()


class ManualClock:
    """A clock that only moves when told to.

    Attributes:
        now: The current reading, seconds since the epoch.
    """

    def __init__(self, start: datetime | float) -> None:
        """Start at `start` (an aware datetime or epoch seconds)."""
        self.now = start.timestamp() if isinstance(start, datetime) else float(start)

    def __call__(self) -> float:
        """The current reading."""
        return self.now

    def __repr__(self) -> str:
        return f"ManualClock({datetime.fromtimestamp(self.now, UTC).isoformat()})"

    def advance(self, seconds: float) -> float:
        """Move forward by `seconds` (never backwards); returns the new reading."""
        if seconds < 0:
            raise ValueError("a manual clock does not go backwards")
        self.now += seconds
        return self.now

    def set(self, moment: datetime | float) -> None:
        """Jump to `moment`."""
        self.now = moment.timestamp() if isinstance(moment, datetime) else float(moment)
