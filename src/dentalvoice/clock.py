"""The wall clock calling decisions are made by: the real one, or a simulated one for demos."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from dentalvoice.config import Settings
from dentalvoice.db.base import utcnow


def flowing_from(start: datetime) -> Callable[[], datetime]:
    """A clock that reads `start` now and then advances at the real rate.

    Args:
        start: The first reading (timezone-aware).

    Returns:
        The clock.
    """
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def process_clock(settings: Settings) -> Callable[[], datetime]:
    """The real UTC clock, or SIMULATED_CLOCK_START's flowing one (emulators only)."""
    if settings.simulated_clock_start is None:
        return utcnow
    return flowing_from(settings.simulated_clock_start)
