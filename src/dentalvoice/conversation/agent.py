"""The agent protocol: per-call agents that turn caller text into spoken sentences and actions.

An agent is created for one call with a `CallContext`. `opening()` gives the first words
before the caller speaks; `respond(utterance)` handles one caller turn (`None` means the caller
said nothing before the turn timed out). Both yield `Say` events sentence by sentence, so
text-to-speech can start on the first one, and `Do` events for actions; the call's
`Qualification` lives in `agent.state` and is updated as the turn runs.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dentalvoice.conversation.calendar import BookingResult, Calendar
from dentalvoice.conversation.qualification import Outcome, Qualification


class TransferReason(enum.StrEnum):
    """Why a call goes to a human."""

    EMERGENCY = "emergency"
    TECHNICAL = "technical"
    REQUESTED = "requested"


@dataclass(frozen=True, slots=True)
class EndCall:
    """Hang up after the current sentences have been spoken."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """Connect the caller to the clinic's front desk; `summary` is whispered to the human."""

    reason: TransferReason
    summary: str


@dataclass(frozen=True, slots=True)
class MarkDoNotCall:
    """Put the caller's number on the do-not-call list, now."""


@dataclass(frozen=True, slots=True)
class ScheduleCallback:
    """Call the lead again at `at` (timezone-aware)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class BookSlot:
    """The caller chose the calendar slot starting at `start` (timezone-aware).

    Yielded once the calendar has answered: the calendar holds the slot, or it is to be
    confirmed (the CRM write-back books it). The calendar, not this action, knows which.
    """

    start: datetime


@dataclass(frozen=True, slots=True)
class LeaveVoicemail:
    """The call reached a machine: leave the compliant voicemail and hang up."""


Action = EndCall | Transfer | MarkDoNotCall | ScheduleCallback | BookSlot | LeaveVoicemail


@dataclass(frozen=True, slots=True)
class Say:
    """One sentence for the caller to hear."""

    text: str


@dataclass(frozen=True, slots=True)
class Do:
    """One action for telephony / the CRM to carry out."""

    action: Action


TurnEvent = Say | Do


@dataclass(frozen=True, slots=True)
class CallContext:
    """What an agent knows before the call starts. No audio, HTTP or database in here."""

    clinic_name: str
    timezone: str
    now: datetime  # timezone-aware; the call's start
    agent_name: str = "Ava"
    lead_first_name: str | None = None
    lead_last_name: str | None = None
    lead_state: str | None = None
    free_slots: tuple[datetime, ...] = ()  # aware, in the clinic's zone, soonest first
    # Where slots are offered and booked; None: `free_slots`, booked in memory
    # (`StaticCalendar`). The voice layer passes the clinic's CRM calendar.
    calendar: Calendar | None = None
    # Whether a human can take a transfer right now (clinic open and a transfer number set).
    transfer_available: bool = True
    emergency_pain_threshold: int = 8
    callback_number: str | None = None  # the clinic's number, for messages

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.timezone)

    def local_now(self) -> datetime:
        """The call's start in the clinic's zone."""
        return self.now.astimezone(self.zone)


@dataclass(slots=True)
class CallState:
    """A call's conversation so far; agents and guards read and update it."""

    context: CallContext
    qualification: Qualification = field(default_factory=Qualification)
    transcript: list[tuple[str, str]] = field(default_factory=list)  # ("agent"|"caller", text)
    actions: list[Action] = field(default_factory=list)
    finished: bool = False  # the agent has said goodbye or handed the call over
    caller_turns: int = 0
    # The calendar's free slots once an agent has them (None: not yet). What the calendar
    # said stays known when a turn is taken back, as do the slots found taken meanwhile.
    free_slots: tuple[datetime, ...] | None = None
    taken_slots: list[datetime] = field(default_factory=list)
    # The calendar's answer for the slot the caller chose (`qualification.preferred_slot`).
    booking: BookingResult | None = None

    def copy(self) -> CallState:
        """A copy that later turns do not change (the context is immutable and shared)."""
        return CallState(
            context=self.context,
            qualification=self.qualification.model_copy(deep=True),
            transcript=list(self.transcript),
            actions=list(self.actions),
            finished=self.finished,
            caller_turns=self.caller_turns,
            free_slots=self.free_slots,
            taken_slots=list(self.taken_slots),
            booking=self.booking,
        )

    def restore(self, saved: CallState) -> None:
        """Go back to `saved` in place: every agent sharing this state sees the change.

        The calendar's slots and the slots found taken are facts about the clinic, not about
        the turn, and stay as they are.
        """
        restored = saved.copy()
        self.qualification = restored.qualification
        self.transcript[:] = restored.transcript
        self.actions[:] = restored.actions
        self.finished = restored.finished
        self.caller_turns = restored.caller_turns
        self.booking = restored.booking

    def offerable_slots(self) -> tuple[datetime, ...]:
        """Slots the agent may offer: the calendar's (the context's until it has answered),
        after the call's start, minus those found taken since."""
        slots = self.free_slots if self.free_slots is not None else self.context.free_slots
        return tuple(s for s in slots if s > self.context.now and s not in self.taken_slots)

    def booking_outcome(self) -> Outcome | None:
        """`BOOKED` when the calendar holds the chosen slot, `BOOKING_PENDING` when a slot was
        chosen but is not held yet (the team confirms it), None when none was chosen."""
        chosen = self.qualification.preferred_slot
        if chosen is None:
            return None
        booking = self.booking
        if booking is not None and booking.held and booking.start == chosen:
            return Outcome.BOOKED
        return Outcome.BOOKING_PENDING

    def keep_heard(self, *, since: int, heard: str) -> None:
        """Keep, of the agent's lines from `since` on, only the part the caller `heard`.

        The caller cut the agent off: what was never played is not part of the conversation,
        and the next turn must not assume the caller heard it. The agent's lines at or after
        index `since` become one line, `heard` (none if it is empty); the caller's stay.
        """
        first: int | None = None
        kept: list[tuple[str, str]] = []
        for i, line in enumerate(self.transcript[since:], start=since):
            if line[0] == "agent":
                if first is None:
                    first = i
                    if heard:
                        kept.append(("agent", heard))
            else:
                kept.append(line)
        if first is not None:
            self.transcript[since:] = kept


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """An agent as it was before a turn, to go back to if that turn is taken back."""

    state: CallState
    own: Any  # the agent's own memory (its `_memory()`)


class Agent(ABC):
    """A conversation agent for one call."""

    def __init__(self, state: CallState) -> None:
        self.state = state

    def checkpoint(self) -> Checkpoint:
        """Everything the next turn may change, saved.

        The voice pipeline answers a turn as soon as the caller seems done; when the caller
        goes on speaking at once, that answer is taken back (`restore`) and the whole
        utterance answered instead.
        """
        return Checkpoint(state=self.state.copy(), own=self._memory())

    def restore(self, checkpoint: Checkpoint) -> None:
        """Forget every turn since `checkpoint` was taken (their actions are not undone)."""
        self.state.restore(checkpoint.state)
        self._recall(checkpoint.own)

    def _memory(self) -> Any:
        """A copy of what this agent keeps beside `state` (none by default)."""
        return None

    def _recall(self, memory: Any) -> None:  # noqa: B027 - agents without memory keep this
        """Go back to a `_memory()` copy."""

    @abstractmethod
    def opening(self) -> AsyncIterator[TurnEvent]:
        """The first words, spoken before the caller says anything."""

    @abstractmethod
    def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        """Answer one caller turn; `None` when the caller stayed silent."""


@dataclass(slots=True)
class AgentTurn:
    """A whole turn, collected: what was said and done."""

    sentences: list[str]
    actions: list[Action]

    @property
    def text(self) -> str:
        """The sentences as one string."""
        return " ".join(self.sentences)


async def collect(events: AsyncIterator[TurnEvent]) -> AgentTurn:
    """Drain a turn's events into sentences and actions."""
    turn = AgentTurn(sentences=[], actions=[])
    async for event in events:
        if isinstance(event, Say):
            turn.sentences.append(event.text)
        else:
            turn.actions.append(event.action)
    return turn
