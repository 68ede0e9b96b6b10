"""Who answers the phone: built-in callee behaviours and the protocol for your own.

A callee decides how the call is picked up (`pick_up`: answered, busy, no answer, failed,
and after how long) and, once answered, what happens on the line (`converse`). Anything with
`async def converse(self, line: CallerLine) -> None` can be a callee (`AudioCallee`); it
answers at once and answering-machine detection says `human` for it.

Durations default to small values so tests are fast; a demo sets realistic ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, runtime_checkable

from dentalvoice.emulators.twilio.audio import beep, speech_like
from dentalvoice.emulators.twilio.line import CallerLine

PickUpOutcome = Literal["answered", "busy", "no-answer", "failed"]


@dataclass(frozen=True, slots=True)
class PickUp:
    """How a call is picked up: `outcome` after `after_s` seconds."""

    after_s: float
    outcome: PickUpOutcome


@runtime_checkable
class AudioCallee(Protocol):
    """The smallest callee: it answers, and `converse` runs while the call lasts.

    `converse` may `await line.say(ulaw)`, iterate `line.heard()`, and `await
    line.hang_up()`. When it returns without hanging up, the line stays open (silent) until
    the app ends the call.
    """

    async def converse(self, line: CallerLine) -> None:
        """Run the callee's side of the conversation."""
        ...


@dataclass
class Callee:
    """Base behaviour: rings for `ring_s`, answers, stays silent until the app hangs up.

    Attributes:
        ring_s: Ringing time before answering; longer than the create's `Timeout` means
            the call ends `no-answer`.
        machine: True for answering machines: detection waits for `report_machine` instead
            of saying `human`.
    """

    ring_s: float = 0.01
    machine: ClassVar[bool] = False

    def pick_up(self, timeout_s: float) -> PickUp:
        """How the call is picked up, given the create's ring `Timeout`."""
        if self.ring_s > timeout_s:
            return PickUp(timeout_s, "no-answer")
        return PickUp(self.ring_s, "answered")

    async def converse(self, line: CallerLine) -> None:
        """Stay on the line, silent, until the call ends."""
        await line.wait_ended()


@dataclass
class NoAnswer(Callee):
    """Rings for `ring_s` (at most the create's `Timeout`), then `no-answer`."""

    ring_s: float = 0.05

    def pick_up(self, timeout_s: float) -> PickUp:
        """Ring out."""
        return PickUp(min(self.ring_s, timeout_s), "no-answer")


@dataclass
class Busy(Callee):
    """The line is busy: `busy` after `after_s`, without ringing."""

    after_s: float = 0.0

    def pick_up(self, timeout_s: float) -> PickUp:
        """Busy signal."""
        return PickUp(self.after_s, "busy")


@dataclass
class Fails(Callee):
    """The call cannot be completed as dialed: `failed` after `after_s`."""

    after_s: float = 0.0

    def pick_up(self, timeout_s: float) -> PickUp:
        """Carrier failure."""
        return PickUp(self.after_s, "failed")


@dataclass
class SilentHuman(Callee):
    """A person who answers and says nothing; hangs up after `max_s` if the app does not."""

    max_s: float = 30.0

    async def converse(self, line: CallerLine) -> None:
        """Listen in silence, then give up."""
        if not await line.wait_ended(self.max_s):
            await line.hang_up()


@dataclass
class Voicemail(Callee):
    """An answering machine: greeting, beep, then it records the message left.

    Attributes:
        greeting_s: Length of the synthetic greeting (ignored when `greeting` is given).
        beep: Whether a beep follows the greeting.
        beep_s: Length of the 1 kHz beep.
        greeting: μ-law bytes to play as the greeting instead of the synthetic one.
        max_message_s: The machine hangs up this long after the beep.
    """

    greeting_s: float = 0.2
    beep: bool = True
    beep_s: float = 0.5
    greeting: bytes | None = None
    max_message_s: float = 30.0
    machine: ClassVar[bool] = True

    async def converse(self, line: CallerLine) -> None:
        """Play the greeting and beep into the line, then record until the call ends."""
        line.report_machine("greeting")
        await line.say(self.greeting if self.greeting is not None else speech_like(self.greeting_s))
        if self.beep:
            await line.say(beep(self.beep_s))
        line.start_message()
        line.report_machine("beep" if self.beep else "silence")
        if not await line.wait_ended(self.max_message_s):
            await line.hang_up()


@dataclass
class Conversing(Callee):
    """Adapts an `AudioCallee` (anything with `converse`) to a full `Callee`."""

    inner: AudioCallee | None = None

    async def converse(self, line: CallerLine) -> None:
        """Run the wrapped callee's conversation."""
        if self.inner is not None:
            await self.inner.converse(line)
        else:
            await line.wait_ended()


def as_callee(callee: Callee | AudioCallee) -> Callee:
    """A full `Callee` for anything with `converse`.

    Args:
        callee: A built-in behaviour or your own audio callee.

    Returns:
        The callee itself when it already is a `Callee`, else a wrapper answering at once.
    """
    if isinstance(callee, Callee):
        return callee
    return Conversing(ring_s=0.0, inner=callee)


CALLEE_FACTORIES: dict[str, Callable[[], Callee]] = {
    "no_answer": NoAnswer,
    "busy": Busy,
    "fails": Fails,
    "voicemail": Voicemail,
    "silent_human": SilentHuman,
}


def callee_from_name(name: str) -> Callee:
    """A built-in behaviour with its default durations, by name (for the CLI).

    Args:
        name: One of `no_answer`, `busy`, `fails`, `voicemail`, `silent_human`.

    Returns:
        A new callee.

    Raises:
        ValueError: An unknown name; the message lists the known ones.
    """
    factory = CALLEE_FACTORIES.get(name.strip().lower().replace("-", "_"))
    if factory is None:
        raise ValueError(f"unknown callee {name!r}; choose one of {', '.join(CALLEE_FACTORIES)}")
    return factory()
