"""The clinic calendar as the agents see it: a port, its in-memory implementation, and waiting.

An agent offers and books slots through a `Calendar`, so the conversation knows nothing of the
CRM behind it. The voice layer plugs in GHL (`voice.calendar.GhlCalendar`, whose free-slot fetch
starts when the call is answered); text evaluations, `chat` and tests use `StaticCalendar`,
the free slots a `CallContext` lists, booked in memory.

The agent never keeps the caller waiting on the calendar for long: `SlotsLookup` waits at most
`SLOTS_WAIT_S` for a fetch still in flight, and a booking is awaited for at most
`BOOKING_BUDGET_S` (with a filler line once it has taken `FILLER_AFTER_S`) before the agent
tells the caller the team will confirm it (`PENDING`); the booking itself goes on.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from dentalvoice.conversation.qualification import Availability

__all__ = [
    "BOOKING_BUDGET_S",
    "FILLER_AFTER_S",
    "SLOTS_WAIT_S",
    "BookingResult",
    "BookingStatus",
    "Calendar",
    "SlotsLookup",
    "StaticCalendar",
    "await_booking",
    "slots_matching",
]

# At the offer step, how long the caller may wait for a free-slot fetch still in flight. The
# fetch starts when the call is answered, many turns earlier, so this only matters when the CRM
# is slow; past it the agent takes a preference and promises a call-back.
SLOTS_WAIT_S = 1.0
# How long the caller may wait for the CRM to hold a chosen slot (a filler line plays
# meanwhile). Past it the agent says the team will confirm; the booking goes on.
BOOKING_BUDGET_S = 2.5
# A booking still in flight after this long gets a filler line ("Let me grab that for you.").
# A quicker answer is confirmed at once: the filler would only put ~1.3 s of speech before the
# confirmation (a 20 ms booking measured 0.5 s to first audio without it, ~1.8 s with it).
FILLER_AFTER_S = 0.3


class BookingStatus(enum.StrEnum):
    """What came of asking the calendar for a slot."""

    HELD = "held"  # the calendar holds the slot for the lead (an appointment id)
    TAKEN = "taken"  # the slot is gone (someone else booked it): offer another
    PENDING = "pending"  # not confirmed yet (slow CRM): the booking goes on, or is retried later
    UNAVAILABLE = "unavailable"  # the calendar could not book now; the CRM write-back will


@dataclass(frozen=True, slots=True)
class BookingResult:
    """The calendar's answer to one booking.

    Attributes:
        status: Held, taken, pending or unavailable.
        start: The slot asked for (timezone-aware).
        appointment_id: The CRM's appointment id, when held.
    """

    status: BookingStatus
    start: datetime
    appointment_id: str | None = None

    def __post_init__(self) -> None:
        if (self.status is BookingStatus.HELD) != (self.appointment_id is not None):
            raise ValueError("a held booking, and only a held one, has an appointment id")
        if self.start.tzinfo is None:
            raise ValueError("a slot start must be timezone-aware")

    @property
    def held(self) -> bool:
        """Whether the calendar holds the slot."""
        return self.status is BookingStatus.HELD

    @property
    def to_confirm(self) -> bool:
        """Whether the slot was chosen but is not held yet (the team confirms it later)."""
        return self.status in (BookingStatus.PENDING, BookingStatus.UNAVAILABLE)


class Calendar(Protocol):
    """A clinic calendar the agent offers and books slots in, for one call's lead."""

    async def free_slots(self) -> Sequence[datetime]:
        """The free slot starts, timezone-aware, soonest first.

        May wait for a fetch already in flight (callers bound the wait). Never raises: a
        calendar that cannot tell answers with no slots.
        """
        ...

    async def book(self, start: datetime) -> BookingResult:
        """Book the slot starting at `start` for the call's lead.

        Never raises: a failure is `UNAVAILABLE`. The agent may stop waiting before the answer
        (its budget); the booking must then go on, or be left to the CRM write-back, rather
        than be abandoned half-sent. Asking again for a slot already held returns the same
        appointment.
        """
        ...


class StaticCalendar:
    """Slots known before the call, booked in memory (text evaluations, `chat`, tests).

    `taken` slots are listed as free but refused when booked, as when someone else booked
    them after the list was fetched; a `failing` calendar refuses every booking as unavailable
    (a CRM that is down).
    """

    def __init__(
        self,
        slots: Iterable[datetime] = (),
        *,
        taken: Iterable[datetime] = (),
        failing: bool = False,
    ) -> None:
        """Create the calendar with these free slot starts (timezone-aware)."""
        self._free = sorted(slots)
        self._taken = set(taken)
        self._failing = failing
        self._held: dict[datetime, str] = {}

    def __repr__(self) -> str:
        return f"StaticCalendar(free={len(self._free)}, held={len(self._held)})"

    async def free_slots(self) -> Sequence[datetime]:
        """The slots not booked yet (taken ones included: the list is a little stale)."""
        return tuple(self._free)

    async def book(self, start: datetime) -> BookingResult:
        """Hold `start` if it is free; a slot held by this calendar stays held."""
        if self._failing:
            return BookingResult(BookingStatus.UNAVAILABLE, start)
        if start in self._held:
            return BookingResult(BookingStatus.HELD, start, self._held[start])
        if start not in self._free or start in self._taken:
            return BookingResult(BookingStatus.TAKEN, start)
        self._free.remove(start)
        self._held[start] = f"local-{len(self._held) + 1}"
        return BookingResult(BookingStatus.HELD, start, self._held[start])


class SlotsLookup:
    """One agent's view of the calendar's free slots: asked once, waited for with a bound.

    The question goes out at the opening (`start`), so a fetch still running in the calendar
    has the first turns to finish; `ready()` reads the answer without waiting and `wait()`
    waits at most a given time.
    """

    def __init__(self, calendar: Calendar) -> None:
        """Create the lookup for `calendar` (nothing is asked yet)."""
        self.calendar = calendar
        self._task: asyncio.Task[Sequence[datetime]] | None = None

    def start(self) -> None:
        """Ask the calendar, if not asked yet (needs a running event loop)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self.calendar.free_slots())

    def ready(self) -> tuple[datetime, ...] | None:
        """The slots if the answer is in (none when the calendar failed), else None."""
        self.start()
        assert self._task is not None
        if not self._task.done():
            return None
        if self._task.cancelled() or self._task.exception() is not None:
            return ()  # the port never raises; a broken calendar offers nothing
        return tuple(sorted(self._task.result()))

    async def wait(self, at_most: float) -> tuple[datetime, ...] | None:
        """The slots, waiting at most `at_most` seconds; None if still not in."""
        self.start()
        assert self._task is not None
        # `asyncio.wait` leaves the task running when the time is up (a later turn may use it).
        await asyncio.wait({self._task}, timeout=at_most)
        return self.ready()


async def await_booking(
    booking: asyncio.Task[BookingResult], *, start: datetime, budget: float
) -> BookingResult:
    """The booking's result, or `PENDING` once `budget` seconds have passed (it goes on).

    Args:
        booking: The task running `Calendar.book(start)`.
        start: The slot asked for.
        budget: The longest the caller waits.

    Returns:
        The calendar's answer; `PENDING` when it did not come in time; `UNAVAILABLE` when the
        calendar broke its promise never to raise.
    """
    done, _ = await asyncio.wait({booking}, timeout=max(0.0, budget))
    if not done:
        return BookingResult(BookingStatus.PENDING, start)
    if booking.cancelled() or booking.exception() is not None:
        return BookingResult(BookingStatus.UNAVAILABLE, start)
    return booking.result()


def slots_matching(
    slots: Iterable[datetime], availability: Availability | None, zone: ZoneInfo
) -> list[datetime]:
    """The slots on the caller's days and within their windows (all of them when no preference).

    Args:
        slots: Timezone-aware slot starts, in order.
        availability: The caller's stated days and clinic-local windows, if any.
        zone: The clinic's zone, where the days and windows apply.

    Returns:
        The matching slots, in their order.
    """
    if availability is None:
        return list(slots)
    days = {d.value for d in availability.days}
    windows = [(w.start, w.end) for w in availability.windows]

    def fits(slot: datetime) -> bool:
        local = slot.astimezone(zone)
        if days and local.strftime("%a").lower()[:3] not in days:
            return False
        hhmm = local.strftime("%H:%M")
        return not windows or any(start <= hhmm < end for start, end in windows)

    return [s for s in slots if fits(s)]
