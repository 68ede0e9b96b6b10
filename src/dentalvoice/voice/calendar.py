"""The clinic's GHL calendar behind the conversation's `Calendar` port, for one answered call.

The handler builds a `GhlCalendar` when the call is answered and starts it: the free slots of
the next `FREE_SLOTS_DAYS` local days are fetched in a background task while the greeting
plays (`FREE_SLOTS_TIMEOUT_S` a try, one retry after a retryable failure). Nothing waits for
it but the agent, and only at the offer step and only briefly (`conversation.calendar`).

A booking runs as its own task, so the agent can stop waiting (its in-call budget) while the
request goes on; `settle()` waits for what is still in flight when the call ends, and
`appointment_for(start)` tells the call record which slot GHL holds. A request that timed out
after it was sent is checked against the contact's appointments before it is called failed,
so the CRM write-back does not book it twice. Logs carry ids, statuses and durations only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loguru import logger

from dentalvoice.conversation.calendar import BookingResult, BookingStatus
from dentalvoice.crm.client import GhlClient
from dentalvoice.crm.errors import GhlError, GhlRejected, GhlRetryable
from dentalvoice.logging import describe_exception

__all__ = [
    "BOOKING_TIMEOUT_S",
    "FREE_SLOTS_DAYS",
    "FREE_SLOTS_TIMEOUT_S",
    "FREE_SLOTS_TRIES",
    "CalendarTarget",
    "GhlCalendar",
]

# Slots offered on a call: today and the next 13 days, in the clinic's zone.
FREE_SLOTS_DAYS = 14
# One try of the free-slot fetch; GHL answers it in well under a second when healthy.
FREE_SLOTS_TIMEOUT_S = 3.0
# The first try and one retry (after a timeout, a 5xx, a 429 or a lost connection).
FREE_SLOTS_TRIES = 2
FREE_SLOTS_RETRY_PAUSE_S = 0.25
# While the lead is on the line: the longest wait for a local rate-limit slot.
IN_CALL_RATE_LIMIT_WAIT_S = 0.5
# A booking the caller stopped waiting for may take this long before it is given up here
# (and left to the CRM write-back); the call's record waits for it at most this long.
BOOKING_TIMEOUT_S = 15.0
# GHL's messages when the slot is no longer free (the emulator's, and similar wordings).
_SLOT_GONE_WORDS = ("no longer available", "not available", "slot", "already booked", "conflict")

_TITLE = "Booked by phone"


@dataclass(frozen=True, slots=True)
class CalendarTarget:
    """Where a call books, and for whom: GHL ids, the clinic's zone, the lead's first name.

    Attributes:
        ghl_location_id: The clinic's GHL sub-account.
        calendar_id: The GHL calendar offered to leads.
        contact_id: The lead's GHL contact.
        timezone: The clinic's IANA zone (slots are fetched and booked in it).
        assigned_user_id: The team member booked on a team (round-robin) calendar, from the
            location's options; None on a personal calendar.
        first_name: The lead's first name, the only personal detail in the title.
    """

    ghl_location_id: str
    calendar_id: str
    contact_id: str
    timezone: str
    assigned_user_id: str | None = None
    first_name: str | None = None

    def __repr__(self) -> str:
        # No first name: reprs end up in logs.
        return (
            f"CalendarTarget(location={self.ghl_location_id!r}, calendar={self.calendar_id!r}, "
            f"contact={self.contact_id!r})"
        )

    @property
    def title(self) -> str:
        """The appointment's title: no health details, at most the first name."""
        name = " ".join((self.first_name or "").split())[:40]
        return f"{name} - {_TITLE}" if name else _TITLE


class GhlCalendar:
    """One call's view of the clinic's GHL calendar (a `conversation.calendar.Calendar`)."""

    def __init__(
        self,
        *,
        ghl: GhlClient,
        target: CalendarTarget,
        now: datetime,
        attempt_id: uuid.UUID | None = None,
    ) -> None:
        """Create the calendar; nothing is fetched before `start()`.

        Args:
            ghl: The process's GHL client.
            target: The clinic's calendar and the lead's contact.
            now: The call's start (timezone-aware): the first day of the slots.
            attempt_id: The call attempt, for log lines.
        """
        self.ghl = ghl
        self.target = target
        self.now = now
        self.attempt_id = attempt_id
        self.zone = ZoneInfo(target.timezone)
        self.fetch_s: float | None = None  # how long the fetch took, once it is over
        self._fetch: asyncio.Task[tuple[datetime, ...]] | None = None
        self._bookings: dict[datetime, asyncio.Task[BookingResult]] = {}

    def __repr__(self) -> str:
        return f"GhlCalendar({self.target!r}, bookings={len(self._bookings)})"

    # -- free slots ----------------------------------------------------------------------

    def start(self) -> None:
        """Start fetching the free slots in the background (once; needs a running loop)."""
        if self._fetch is None:
            self._fetch = asyncio.create_task(self._fetch_slots(), name="ghl-free-slots")

    async def free_slots(self) -> Sequence[datetime]:
        """The fetched slots, waiting for the fetch if it is still running; () if it failed."""
        self.start()
        assert self._fetch is not None
        # Shielded: an agent that stops waiting does not stop the fetch.
        return await asyncio.shield(self._fetch)

    async def _fetch_slots(self) -> tuple[datetime, ...]:
        first = self.now.astimezone(self.zone).date()
        last = first + timedelta(days=FREE_SLOTS_DAYS - 1)
        started = time.monotonic()
        try:
            for attempt in range(1, FREE_SLOTS_TRIES + 1):
                try:
                    async with asyncio.timeout(FREE_SLOTS_TIMEOUT_S):
                        slots = await self.ghl.get_free_slots(
                            location_id=self.target.ghl_location_id,
                            calendar_id=self.target.calendar_id,
                            start_day=first,
                            end_day=last,
                            timezone=self.target.timezone,
                            max_wait=IN_CALL_RATE_LIMIT_WAIT_S,
                        )
                except (TimeoutError, GhlRetryable) as exc:
                    self._log_fetch_failure(exc, attempt=attempt)
                    if attempt < FREE_SLOTS_TRIES:
                        await asyncio.sleep(FREE_SLOTS_RETRY_PAUSE_S)  # a pause, not a poll
                    continue
                except (GhlError, ValueError) as exc:
                    # No credentials, a refused request, a bad zone: a retry would not help.
                    self._log_fetch_failure(exc, attempt=attempt)
                    return ()
                logger.info(
                    "free slots fetched: attempt={} calendar={} slots={} in {:.0f} ms",
                    self.attempt_id,
                    self.target.calendar_id,
                    len(slots),
                    (time.monotonic() - started) * 1000,
                )
                return tuple(s for s in slots if s > self.now)
            return ()
        finally:
            self.fetch_s = time.monotonic() - started

    def _log_fetch_failure(self, exc: BaseException, *, attempt: int) -> None:
        logger.warning(
            "free slots not fetched: attempt={} calendar={} try {}/{}: {}",
            self.attempt_id,
            self.target.calendar_id,
            attempt,
            FREE_SLOTS_TRIES,
            _failure(exc),
        )

    # -- booking -------------------------------------------------------------------------

    async def book(self, start: datetime) -> BookingResult:
        """Book `start` for the lead (see `conversation.calendar.Calendar.book`)."""
        running = self._bookings.get(start)
        if running is None or (running.done() and self.appointment_for(start) is None):
            running = asyncio.create_task(self._create(start), name="ghl-book-slot")
            self._bookings[start] = running
        # Shielded: the agent may stop waiting; the booking goes on to its end.
        return await asyncio.shield(running)

    async def _create(self, start: datetime) -> BookingResult:
        local = start.astimezone(self.zone)  # sent with the clinic's offset
        started = time.monotonic()
        try:
            async with asyncio.timeout(BOOKING_TIMEOUT_S):
                appointment = await self.ghl.create_appointment(
                    location_id=self.target.ghl_location_id,
                    calendar_id=self.target.calendar_id,
                    contact_id=self.target.contact_id,
                    start=local,
                    title=self.target.title,
                    assigned_user_id=self.target.assigned_user_id,
                    max_wait=IN_CALL_RATE_LIMIT_WAIT_S,
                )
        except GhlRejected as exc:
            taken = _slot_gone(exc)
            logger.log(
                "INFO" if taken else "ERROR",
                "slot not booked: attempt={} calendar={} {}: {}",
                self.attempt_id,
                self.target.calendar_id,
                "taken" if taken else "refused",
                _failure(exc),
            )
            status = BookingStatus.TAKEN if taken else BookingStatus.UNAVAILABLE
            return BookingResult(status, start)
        except (TimeoutError, GhlRetryable) as exc:
            logger.warning(
                "slot booking failed: attempt={} calendar={}: {}",
                self.attempt_id,
                self.target.calendar_id,
                _failure(exc),
            )
            if isinstance(exc, TimeoutError) or exc.maybe_applied:
                return await self._find_appointment(start)
            return BookingResult(BookingStatus.UNAVAILABLE, start)
        except (GhlError, ValueError) as exc:
            # No credentials, a naive time: nothing the CRM write-back could not report too.
            logger.error(
                "slot booking failed: attempt={} calendar={}: {}",
                self.attempt_id,
                self.target.calendar_id,
                _failure(exc),
            )
            return BookingResult(BookingStatus.UNAVAILABLE, start)
        logger.info(
            "slot booked: attempt={} calendar={} appointment={} in {:.0f} ms",
            self.attempt_id,
            self.target.calendar_id,
            appointment.id,
            (time.monotonic() - started) * 1000,
        )
        return BookingResult(BookingStatus.HELD, start, appointment.id)

    async def _find_appointment(self, start: datetime) -> BookingResult:
        """After a request that may have been applied: the contact's appointment at `start`."""
        try:
            async with asyncio.timeout(FREE_SLOTS_TIMEOUT_S):
                existing = await self.ghl.list_contact_appointments(
                    location_id=self.target.ghl_location_id,
                    contact_id=self.target.contact_id,
                    max_wait=IN_CALL_RATE_LIMIT_WAIT_S,
                )
        except (TimeoutError, GhlError) as exc:
            logger.warning(
                "booked-or-not check failed: attempt={}: {}", self.attempt_id, _failure(exc)
            )
            return BookingResult(BookingStatus.UNAVAILABLE, start)
        for appointment in existing:
            same_calendar = appointment.calendar_id in (None, self.target.calendar_id)
            if same_calendar and appointment.starts_at(self.target.timezone) == start:
                logger.info(
                    "slot found booked after a failed answer: attempt={} appointment={}",
                    self.attempt_id,
                    appointment.id,
                )
                return BookingResult(BookingStatus.HELD, start, appointment.id)
        return BookingResult(BookingStatus.UNAVAILABLE, start)

    def appointment_for(self, start: datetime) -> str | None:
        """GHL's appointment id for `start` if this call holds it (its booking is over)."""
        running = self._bookings.get(start)
        if running is None or not running.done() or running.cancelled():
            return None
        if running.exception() is not None:
            return None
        result = running.result()
        return result.appointment_id if result.held else None

    def held(self) -> dict[datetime, str]:
        """Every slot this call holds, with its appointment id."""
        return {s: a for s in self._bookings if (a := self.appointment_for(s)) is not None}

    async def settle(self) -> None:
        """Wait for the bookings still in flight (each ends within `BOOKING_TIMEOUT_S`)."""
        running = [t for t in self._bookings.values() if not t.done()]
        if running:
            await asyncio.wait(running)

    async def aclose(self) -> None:
        """Stop a fetch still running (the call is over) and wait for the bookings."""
        if self._fetch is not None and not self._fetch.done():
            self._fetch.cancel()
            await asyncio.gather(self._fetch, return_exceptions=True)
        await self.settle()


def _slot_gone(exc: GhlRejected) -> bool:
    """Whether GHL refused the booking because the slot is no longer free."""
    if exc.status == 409:
        return True
    message = (exc.ghl_message or "").lower()
    return exc.status in (400, 422) and any(word in message for word in _SLOT_GONE_WORDS)


def _failure(exc: BaseException) -> str:
    # GHL errors name the operation, status and GHL's own message (never what was sent); any
    # other exception is named by type and place only, as its message could quote data.
    if isinstance(exc, GhlError):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return describe_exception(exc)
