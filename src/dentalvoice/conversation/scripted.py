"""The deterministic scripted agent: slot filling over a YAML script, no model, no network.

Each caller turn is read for every fact it holds (a caller may answer several questions in one
breath), then the agent asks the first question of the script whose slot is still open. The
questions asked and the facts recorded live in `CallState`, so another agent (the LLM agent's
fallback) can pick the conversation up where it stands.

Slots come from the context's `Calendar`. The agent asks for them at the opening and takes them
when it reaches the offer; if they are not in yet it waits up to `SLOTS_WAIT_S`, then goes on
without (a preference, and the team calls back). A chosen slot is booked before anything is
said about it: a filler line plays while the calendar is slow, and only a slot the calendar
holds is called booked. A slot just taken by someone else gets one other offer; a calendar too
slow (`BOOKING_BUDGET_S`) or failing gets "the team will confirm it".
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from typing import Any

from dentalvoice.conversation import nlu
from dentalvoice.conversation.agent import (
    Action,
    Agent,
    BookSlot,
    CallState,
    Checkpoint,
    Do,
    EndCall,
    MarkDoNotCall,
    Say,
    ScheduleCallback,
    Transfer,
    TransferReason,
    TurnEvent,
)
from dentalvoice.conversation.calendar import (
    BOOKING_BUDGET_S,
    FILLER_AFTER_S,
    SLOTS_WAIT_S,
    BookingResult,
    BookingStatus,
    SlotsLookup,
    StaticCalendar,
    await_booking,
    slots_matching,
)
from dentalvoice.conversation.nlu import Intent
from dentalvoice.conversation.qualification import (
    Outcome,
    TreatmentInterest,
)
from dentalvoice.conversation.script import Script, Slot, render
from dentalvoice.conversation.summary import (
    describe_slot,
    note_summary,
    spoken_summary,
    urgency_of,
)

# Re-asks of one question before the call goes to a human ("re-ask twice, then transfer").
MAX_REASKS = 2
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CORRECTION = re.compile(r"\b(actually|i mean|sorry|correction|more like|rather|wait)\b", re.I)
# Treatments for which a pain question would be odd unless the caller mentions pain.
_PAINLESS = frozenset(
    {
        TreatmentInterest.CLEANING_CHECKUP,
        TreatmentInterest.WHITENING,
        TreatmentInterest.VENEERS,
        TreatmentInterest.ALIGNERS,
        TreatmentInterest.COSMETIC_CONSULT,
    }
)
_PAIN_WORDS = re.compile(r"\b(pain|hurt|hurts|ache|aching|sore|sensitiv\w*|throb\w*)\b", re.I)
_SOMEONE_ELSE = re.compile(
    r"\b(this is (his|her|their)|(his|her) (husband|wife|mom|mother|dad|father|son|daughter|"
    r"partner|roommate)|(he|she)'?s not (here|home|available))\b"
)
_FIRST = re.compile(r"\b(first|earlier|former|1st|the one)\b", re.I)
_SECOND = re.compile(r"\b(second|later|latter|2nd|other one|last one)\b", re.I)


_FILLER = re.compile(r"^(?:(?:uh+|um+|er+|hmm+|mm+|well|oh|ah|so)\b[\s,.!]*)+", re.I)
_CLAUSE = re.compile(r"[.,;!?]|\s-\s|\b(?:and|but)\b")


def _lead_answer(text: str) -> nlu.YesNo | None:
    """The yes or no of the first clause that says one: the answer to the question asked.

    "Sure. I lost a tooth, no pain at all" answers "is now a good time?" with "Sure", not "no";
    "Here. I have a minute" (a word misheard, then the answer) with "I have a minute".
    """
    for part in _CLAUSE.split(_FILLER.sub("", text)):
        if part and part.strip():
            verdict = nlu.yes_no(part.strip())
            if verdict is not None:
                return verdict
    return None


def sentences(text: str) -> list[str]:
    """Split a line into sentences for streaming to speech."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


class _SlotsPending(Exception):
    """The turn reached the offer while the calendar's free slots were still on their way."""


class ScriptedAgent(Agent):
    """Follows a `Script`; deterministic and fast (well under 2 ms a turn)."""

    def __init__(self, state: CallState, *, script: Script) -> None:
        super().__init__(state)
        self.script = script
        self.asked: Slot | None = None
        self.reasks = 0
        self.done: set[Slot] = set()
        self.awaiting_callback_time = False
        self.offered: list[datetime] = []
        self.confirm_attempts = 0
        self.reoffered = False  # a taken slot's replacement was offered (once per call)
        if not state.context.lead_first_name:
            self.done.add(Slot.IDENTITY)
        context = state.context
        self.slots = SlotsLookup(context.calendar or StaticCalendar(context.free_slots))
        self._to_book: datetime | None = None  # the slot this turn's answer chose
        # Bookings in flight; kept so that one the caller stopped waiting for runs to its end.
        self._bookings: set[asyncio.Task[BookingResult]] = set()

    def _memory(self) -> tuple[object, ...]:
        return (
            self.asked,
            self.reasks,
            set(self.done),
            self.awaiting_callback_time,
            list(self.offered),
            self.confirm_attempts,
            self.reoffered,
        )

    def _recall(self, memory: Any) -> None:
        (
            self.asked,
            self.reasks,
            done,
            self.awaiting_callback_time,
            offered,
            self.confirm_attempts,
            self.reoffered,
        ) = memory
        self.done = set(done)
        self.offered = list(offered)

    # -- the protocol ---------------------------------------------------------------------

    async def opening(self) -> AsyncIterator[TurnEvent]:
        """The fixed opening: who is calling, that it is an AI, how to opt out, good time?"""
        # Asked now, waited for only at the offer: the first turns give the calendar time.
        self.slots.start()
        self.asked = Slot.GOOD_TIME
        for event in self._say(render(self.script.opening, self.state.context)):
            yield event

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        """Handle one caller turn; a chosen slot is booked before the turn goes on."""
        self.state.caller_turns += 1
        if utterance is not None and utterance.strip():
            self.state.transcript.append(("caller", utterance))
        for event in await self._decide(utterance.strip() if utterance else None):
            yield event
        chosen, self._to_book = self._to_book, None
        if chosen is not None:
            async for event in self._book(chosen):
                yield event

    async def _decide(self, text: str | None) -> list[TurnEvent]:
        """`_turn`, with the calendar's slots in hand if the turn reaches the offer."""
        state = self.state
        if state.free_slots is None:
            state.free_slots = self.slots.ready()
        if state.free_slots is not None:
            return self._turn(text)
        saved: Checkpoint = self.checkpoint()
        try:
            return self._turn(text)
        except _SlotsPending:
            # The turn is played again once the slots are in (or the wait is over): going
            # back first keeps the half-played turn from counting twice.
            self.restore(saved)
            self._to_book = None
        slots = await self.slots.wait(SLOTS_WAIT_S)
        # Not in time: the call goes on as for a clinic without a calendar.
        state.free_slots = slots if slots is not None else ()
        return self._turn(text)

    # -- one turn -------------------------------------------------------------------------

    def _turn(self, text: str | None) -> list[TurnEvent]:
        if self.state.finished:
            return []
        if text is None:
            return self._not_understood()
        if self.awaiting_callback_time:
            return self._callback_time(text)
        found = nlu.intents(text)
        if Intent.WRONG_NUMBER in found:
            # The number is not the lead's: whoever answered never asked to be called.
            return self._finish(Outcome.WRONG_NUMBER, "wrong_number", before_end=MarkDoNotCall())
        if Intent.NOT_INTERESTED in found:
            return self._finish(Outcome.NOT_INTERESTED, "not_interested")
        if Intent.HUMAN_REQUEST in found:
            return self._human()
        if Intent.CALL_LATER in found or (
            self.asked is Slot.GOOD_TIME and _lead_answer(text) == "no"
        ):
            return self._callback_time(text, first=True)
        preface: list[str] = []
        if Intent.IS_ROBOT in found:
            preface.append(self.script.line("robot", self.state.context))
        elif Intent.WHO_IS_THIS in found:
            preface.append(self.script.line("who_is_this", self.state.context))
        if Intent.CLINICAL_QUESTION in found:
            preface.append(self.script.line("clinical_question", self.state.context))
        if Intent.PRICE_QUESTION in found:
            preface.append(self.script.line("price_question", self.state.context))
        if Intent.REPEAT in found and not preface:
            # Counted like a re-ask: a caller who cannot hear us three times needs a human.
            self.reasks += 1
            if self.reasks > MAX_REASKS:
                return self._technical()
            return self._ask(self.asked or self._next_slot())

        if self.asked is Slot.IDENTITY and self._identity(text) is False:
            # Someone else answered: no health questions to a third party.
            self.state.qualification.identity_confirmed = False
            return self._finish(Outcome.INCOMPLETE, "identity_wrong")
        if self.asked is Slot.OFFER:
            booked = self._choose_slot(text)
            if booked is not None:
                return booked
        if self.asked is Slot.CONFIRM:
            return self._confirm(text)
        if self.asked is Slot.ANYTHING_ELSE:
            self.done.add(Slot.ANYTHING_ELSE)
            return self._wrap_up()

        understood = self._absorb(text) or bool(preface)
        if not understood:
            return self._not_understood()
        self.reasks = 0
        return self._next(preface)

    def _absorb(self, text: str) -> bool:
        """Record every fact in `text`; True if it answered the question asked (or any)."""
        q = self.state.qualification
        asked = self.asked
        answered = False
        if asked is Slot.GOOD_TIME:
            verdict = _lead_answer(text)
            if verdict is not None:
                self.done.add(Slot.GOOD_TIME)
                answered = True
        if asked is Slot.IDENTITY and self._identity(text):
            q.identity_confirmed = True
            self.done.add(Slot.IDENTITY)
            answered = True

        treatment = nlu.treatment(text)
        if treatment is not None and (q.treatment_interest is None or asked is Slot.REASON):
            q.treatment_interest = treatment
            answered |= asked is Slot.REASON
        complaint = nlu.chief_complaint(text)
        if complaint and (q.chief_complaint is None or asked is Slot.REASON):
            q.chief_complaint = complaint
            answered |= asked is Slot.REASON
        # The reason is settled by an answer to its question, or by a treatment heard anywhere.
        if treatment is not None or (asked is Slot.REASON and complaint):
            self.done.add(Slot.REASON)

        correcting = q.pain_level is not None and bool(_CORRECTION.search(text))
        pain = nlu.pain_level(text, asked=asked is Slot.PAIN or correcting)
        if pain is not None:
            q.pain_level = pain
            self.done.add(Slot.PAIN)
            answered |= asked is Slot.PAIN or correcting

        if asked is Slot.RED_FLAGS and nlu.yes_no(text) in ("no", None, "unsure"):
            # A positive answer never reaches here: the guards hand it to a human first.
            self.done.add(Slot.RED_FLAGS)
            answered = True

        visit = nlu.last_visit(text, asked=asked is Slot.LAST_VISIT)
        if visit is not None:
            q.last_visit = visit
            self.done.add(Slot.LAST_VISIT)
            answered |= asked is Slot.LAST_VISIT

        new = nlu.new_patient(text, asked=asked is Slot.NEW_PATIENT)
        if new is not None:
            q.new_patient = new
            self.done.add(Slot.NEW_PATIENT)
            answered |= asked is Slot.NEW_PATIENT

        insurance = nlu.insurance(text, asked=asked is Slot.INSURANCE)
        if insurance is not None:
            q.insurance = insurance
            self.done.add(Slot.INSURANCE)
            answered |= asked is Slot.INSURANCE

        availability = nlu.availability(text, now=self.state.context.local_now())
        structured = availability is not None and bool(availability.days or availability.windows)
        if availability is not None and (asked is Slot.AVAILABILITY or structured):
            q.availability = availability
            self.done.add(Slot.AVAILABILITY)
            answered |= asked is Slot.AVAILABILITY
        return answered or (asked is None)

    # -- moving on ------------------------------------------------------------------------

    def _pain_relevant(self) -> bool:
        q = self.state.qualification
        if q.treatment_interest in _PAINLESS:
            return bool(q.chief_complaint and _PAIN_WORDS.search(q.chief_complaint))
        return True

    def _next_slot(self) -> Slot | None:
        q = self.state.qualification
        for step in self.script.steps:
            slot = step.slot
            if slot in self.done:
                continue
            if slot in (Slot.PAIN, Slot.RED_FLAGS) and not self._pain_relevant():
                continue
            if slot is Slot.RED_FLAGS and q.pain_level == 0:
                continue
            if slot is Slot.OFFER and not self._offer_candidates():
                continue
            return slot
        return None

    def _next(self, preface: list[str]) -> list[TurnEvent]:
        slot = self._next_slot()
        if slot is None:
            return self._wrap_up(preface)
        return self._ask(slot, preface=preface)

    def _ask(
        self, slot: Slot | None, *, preface: list[str] | None = None, again: bool = False
    ) -> list[TurnEvent]:
        if slot is None:
            return self._wrap_up(preface)
        step = self.script.step(slot)
        if step is None:
            self.done.add(slot)
            return self._next(preface or [])
        self.asked = slot
        extra = {}
        if slot is Slot.OFFER:
            self.offered = self._offer_candidates()[:2]
            extra["offer"] = self._offer_text()
        if slot is Slot.CONFIRM:
            held = self.state.booking_outcome() is not Outcome.BOOKING_PENDING
            extra["summary"] = spoken_summary(self.state.qualification, slot_held=held)
        question = render(step.reask if again else step.ask, self.state.context, **extra)
        return self._say(*(preface or []), question)

    def _not_understood(self) -> list[TurnEvent]:
        self.reasks += 1
        if self.reasks > MAX_REASKS:
            return self._technical()
        slot = self.asked or self._next_slot()
        intro = self.script.line("didnt_catch", self.state.context)
        if slot is None:
            return self._wrap_up()
        return self._ask(slot, preface=[intro], again=True)

    # -- special paths --------------------------------------------------------------------

    def _identity(self, text: str) -> bool | None:
        verdict = _lead_answer(text)
        lowered = text.lower()
        if _SOMEONE_ELSE.search(lowered):
            return False
        name = (self.state.context.lead_first_name or "").lower()
        if name and re.search(
            rf"\b(this is|it'?s|i'?m|speaking)\b.*\b{re.escape(name)}\b", lowered
        ):
            return True
        if re.search(r"\b(speaking|that'?s me|this is (she|he|me))\b", lowered):
            return True
        if verdict == "yes":
            return True
        if verdict == "no":
            return False
        return None

    def _callback_time(self, text: str, *, first: bool = False) -> list[TurnEvent]:
        ctx = self.state.context
        at = nlu.moment(text, now=ctx.local_now())
        if at is None and first:
            self.awaiting_callback_time = True
            self.asked = None
            return self._say(self.script.line("callback_when", ctx))
        if at is None:
            # No time we can read: the next morning at 10, the clinic's zone.
            tomorrow = ctx.local_now().date() + timedelta(days=1)
            at = datetime.combine(tomorrow, time(10, 0), tzinfo=ctx.zone)
        self.awaiting_callback_time = False
        q = self.state.qualification
        q.callback_time = at
        q.outcome = Outcome.CALLBACK_REQUESTED
        q.urgency = urgency_of(q)
        q.summary = note_summary(q)
        self.state.finished = True
        when = describe_slot(at.astimezone(ctx.zone))
        return [
            *self._say(self.script.line("callback_ok", ctx, when=when)),
            Do(ScheduleCallback(at=at)),
            Do(EndCall()),
        ]

    def _human(self) -> list[TurnEvent]:
        ctx = self.state.context
        q = self.state.qualification
        if not ctx.transfer_available:
            return self._callback_time("", first=False)
        q.urgency = urgency_of(q)
        q.outcome = Outcome.QUALIFIED if q.treatment_interest else Outcome.INCOMPLETE
        q.summary = note_summary(q)
        self.state.finished = True
        return [
            *self._say(self.script.line("human_transfer", ctx)),
            Do(Transfer(reason=TransferReason.REQUESTED, summary=q.summary)),
        ]

    def _technical(self) -> list[TurnEvent]:
        ctx = self.state.context
        q = self.state.qualification
        q.outcome = Outcome.TECHNICAL_TRANSFER
        q.urgency = urgency_of(q)
        q.summary = note_summary(q)
        self.state.finished = True
        if ctx.transfer_available:
            return [
                *self._say(self.script.line("technical_transfer", ctx)),
                Do(Transfer(reason=TransferReason.TECHNICAL, summary=q.summary)),
            ]
        return [*self._say(self.script.line("no_slots", ctx)), Do(EndCall())]

    def _offer_candidates(self) -> list[datetime]:
        ctx = self.state.context
        if self.state.free_slots is None:
            raise _SlotsPending
        availability = self.state.qualification.availability
        return slots_matching(self.state.offerable_slots(), availability, ctx.zone)

    def _offer_text(self) -> str:
        ctx = self.state.context
        names = [describe_slot(s.astimezone(ctx.zone)) for s in self.offered]
        if len(names) == 1:
            return f"I have {names[0]}. Would that work?"
        return self.script.line("offer_slots", ctx, first_slot=names[0], second_slot=names[1])

    def _choose_slot(self, text: str) -> list[TurnEvent] | None:
        """Take the offered slot the caller picked, to be booked after this turn's decision
        (`_book`); None to read the answer as a preference."""
        ctx = self.state.context
        verdict = nlu.yes_no(text)
        chosen: datetime | None = None
        if _SECOND.search(text) and len(self.offered) > 1:
            chosen = self.offered[1]
        elif _FIRST.search(text) or (verdict == "yes" and len(self.offered) == 1):
            chosen = self.offered[0]
        else:
            lowered = text.lower()
            for slot in self.offered:
                local = slot.astimezone(ctx.zone)
                day = local.strftime("%A").lower()
                hour = local.strftime("%I").lstrip("0")
                if day in lowered or re.search(rf"\b{hour}\b", lowered):
                    chosen = slot
                    break
            if chosen is None and verdict == "yes":
                chosen = self.offered[0]
        self.done.add(Slot.OFFER)
        if chosen is None:
            self.asked = None
            absorbed = self._absorb(text)
            preface = [self.script.line("no_slots", ctx)] if not absorbed else []
            return self._next(preface)
        self._to_book = chosen
        return []

    # -- booking --------------------------------------------------------------------------

    async def _book(self, chosen: datetime) -> AsyncIterator[TurnEvent]:
        """Ask the calendar for `chosen`; say the outcome only once it is known."""
        booking = asyncio.ensure_future(self.slots.calendar.book(chosen))
        self._bookings.add(booking)
        booking.add_done_callback(self._bookings.discard)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.wait({booking}, timeout=min(FILLER_AFTER_S, BOOKING_BUDGET_S))
        if not booking.done():
            # The caller hears this while the CRM works, instead of silence.
            for event in self._say(self.script.line("booking_filler", self.state.context)):
                yield event
        budget = BOOKING_BUDGET_S - (loop.time() - began)
        result = await await_booking(booking, start=chosen, budget=budget)
        for event in self._booked(result):
            yield event

    def _booked(self, result: BookingResult) -> list[TurnEvent]:
        ctx = self.state.context
        if result.status is BookingStatus.TAKEN:
            return self._slot_taken(result.start)
        self.state.qualification.preferred_slot = result.start
        self.state.booking = result
        # Only a slot the calendar holds is called booked; otherwise the team confirms it.
        line = "booked" if result.held else "booking_pending"
        when = describe_slot(result.start.astimezone(ctx.zone))
        return [
            *self._say(self.script.line(line, ctx, slot=when)),
            Do(BookSlot(start=result.start)),
            *self._next([]),
        ]

    def _slot_taken(self, start: datetime) -> list[TurnEvent]:
        """Offer the next matching slot, once a call; then leave the time to the team."""
        ctx = self.state.context
        self.state.taken_slots.append(start)
        if self.state.free_slots is None:
            self.state.free_slots = ()
        candidates = self._offer_candidates()  # the taken slot is left out now
        if candidates and not self.reoffered:
            self.reoffered = True
            self.offered = [candidates[0]]
            self.done.discard(Slot.OFFER)
            self.asked = Slot.OFFER
            when = describe_slot(candidates[0].astimezone(ctx.zone))
            return self._say(self.script.line("slot_taken", ctx, slot=when))
        return self._next([self.script.line("no_slots", ctx)])

    def _confirm(self, text: str) -> list[TurnEvent]:
        verdict = _lead_answer(text)
        self.asked = None
        absorbed = self._absorb(text)  # "no, it's Cigna" corrects as it denies
        if verdict == "yes" or self.confirm_attempts >= 1 or (verdict is None and not absorbed):
            self.done.add(Slot.CONFIRM)
            return self._next([])
        self.confirm_attempts += 1
        if absorbed:
            return self._ask(Slot.CONFIRM)
        self.asked = Slot.CONFIRM
        return self._say("Sorry about that. What should I change?")

    def _wrap_up(self, preface: list[str] | None = None) -> list[TurnEvent]:
        q = self.state.qualification
        if q.outcome is None:
            q.outcome = self.state.booking_outcome() or Outcome.QUALIFIED
        return self._finish(q.outcome, "goodbye", preface=preface)

    def _finish(
        self,
        outcome: Outcome,
        line: str,
        *,
        preface: list[str] | None = None,
        before_end: Action | None = None,
    ) -> list[TurnEvent]:
        q = self.state.qualification
        q.outcome = outcome
        q.urgency = urgency_of(q)
        q.summary = note_summary(q)
        self.state.finished = True
        events = self._say(*(preface or []), self.script.line(line, self.state.context))
        if before_end is not None:
            events.append(Do(before_end))
        return [*events, Do(EndCall())]

    def _say(self, *lines: str) -> list[TurnEvent]:
        text = " ".join(line for line in lines if line)
        if text:
            self.state.transcript.append(("agent", text))
        return [Say(s) for s in sentences(text)]
