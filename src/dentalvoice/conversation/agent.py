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
from zoneinfo import ZoneInfo

from dentalvoice.conversation.qualification import Qualification


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
    """Book the clinic calendar slot starting at `start` (timezone-aware)."""

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


class Agent(ABC):
    """A conversation agent for one call."""

    def __init__(self, state: CallState) -> None:
        self.state = state

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
