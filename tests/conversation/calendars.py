"""A calendar for agent tests that answers as told, and when told."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime

from dentalvoice.conversation.calendar import BookingResult, BookingStatus


class FakeCalendar:
    """Free slots and booking answers on demand; `slots_ready` / `answer` hold them back.

    Attributes:
        asked: Times `free_slots` was called.
        booked: Every slot `book` was asked for, in order.
        answered: Every booking result given, in order (a held-back one once released).
    """

    def __init__(
        self,
        slots: Iterable[datetime] = (),
        *,
        taken: Iterable[datetime] = (),
        unavailable: bool = False,
        slots_ready: asyncio.Event | None = None,
        answer: asyncio.Event | None = None,
    ) -> None:
        self.slots = tuple(slots)
        self.taken = set(taken)
        self.unavailable = unavailable
        self.slots_ready = slots_ready
        self.answer = answer
        self.asked = 0
        self.booked: list[datetime] = []
        self.answered: list[BookingResult] = []

    async def free_slots(self) -> Sequence[datetime]:
        self.asked += 1
        if self.slots_ready is not None:
            await self.slots_ready.wait()
        return self.slots

    async def book(self, start: datetime) -> BookingResult:
        self.booked.append(start)
        if self.answer is not None:
            await self.answer.wait()
        if self.unavailable:
            result = BookingResult(BookingStatus.UNAVAILABLE, start)
        elif start in self.taken:
            result = BookingResult(BookingStatus.TAKEN, start)
        else:
            result = BookingResult(BookingStatus.HELD, start, f"appt-{len(self.answered) + 1}")
        self.answered.append(result)
        return result
