"""OpenAIAgent: a model-driven agent that streams sentences and acts only through checked tools.

Transcript and fallback contract. A turn is *committed* when the agent yields its first `Say`.
Only then does the agent count the caller turn (`state.caller_turns += 1`) and append the caller's
words (when there were any) to `state.transcript`, exactly as `ScriptedAgent.respond` would. If
the model fails before anything was said (timeout, API error, broken stream, empty reply), the
agent has touched neither and hands the whole turn to `fallback.respond(utterance)`; the
fallback shares the `CallState` and records the caller turn itself, so it is recorded once. If
the model fails after a sentence was said, the turn stops there: the fallback is not called,
so nothing is spoken twice. The agent's own words go into the transcript as one ("agent", text)
entry per turn, grown sentence by sentence as each is yielded, so a turn cut short by the
caller is recorded as far as it got.

Facts from `record_qualification` and `set_outcome` are applied to `state.qualification` as
soon as the reply holding them has arrived; actions are yielded as `Do` events after the turn's
speech and are not added to `state.actions` (the guard wrapper records every `Do`).

Booking. The model chooses a slot with `book_slot`; the agent asks the calendar before anything
more is said about it (a filler line covers a slow calendar, for at most `BOOKING_BUDGET_S`)
and yields `BookSlot` as soon as the answer is in. A sentence claiming a booking ("you're
booked") is never spoken unless the calendar holds the slot: in a reply that also books, it and
what follows wait for the calendar's answer, and the agent then says the outcome in the
script's words (booked, to be confirmed, or taken with one other slot offered). A reply that
only called tools gets the outcome in the tool result, and the model says it. The calendar's
free slots are asked for at the opening and waited for (up to `SLOTS_WAIT_S`) only when the
offer is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeVar

import openai
from loguru import logger
from openai.types.chat import (
    ChatCompletionChunk,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
)

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
from dentalvoice.conversation.llm.prompt import build_messages
from dentalvoice.conversation.llm.tools import (
    TOOLS,
    BookSlotArgs,
    ParsedToolCall,
    RecordQualification,
    ScheduleCallbackArgs,
    SetOutcomeArgs,
    ToolArgumentsError,
    ToolName,
    TransferCallArgs,
    parse_tool_call,
)
from dentalvoice.conversation.qualification import (
    Availability,
    Outcome,
    Qualification,
)
from dentalvoice.conversation.script import Script, Slot, render
from dentalvoice.conversation.summary import describe_slot, note_summary, urgency_of
from dentalvoice.logging import describe_exception

_T = TypeVar("_T")

TEMPERATURE = 0.3
_TRANSFER_SUMMARY_CHARS = 500

# Words whose trailing period never ends a sentence ("Dr. Patel").
_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "mx", "prof", "st", "jr", "sr", "vs", "e.g", "i.e", "approx"}
)
# Words whose period ends a sentence only when a capital follows ("at 9 a.m. Does that work?").
_MAYBE_ABBREVIATIONS = frozenset({"a.m", "p.m", "etc"})
_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)|\n+")
# A sentence telling the caller a slot is booked: spoken only once the calendar holds one.
_BOOKING_CLAIM = re.compile(
    r"\b(booked|all set|you'?re scheduled|scheduled you|you'?re confirmed|locked in)\b", re.I
)
# An agent line asking for the caller's days and times: the offer comes with the answer.
_AVAILABILITY_ASKED = re.compile(
    r"\b(what|which)\b[^?]*\b(days?|times?|mornings?|afternoons?|evenings?)\b[^?]*\?", re.I
)


class SentenceSplitter:
    """Cuts streamed text into sentences as soon as each one is complete.

    A sentence ends at `.`, `!` or `?` (with any closing quote or bracket) followed by
    whitespace, or at a line break. Titles such as "Dr." and initials never end a sentence;
    "a.m.", "p.m." and "etc." do only when the next word starts with a capital, so the
    splitter waits for that word before deciding.
    """

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        """Add streamed text and return the sentences it completed.

        Args:
            text: The next piece of the stream.

        Returns:
            Complete sentences, stripped, in order; possibly none.
        """
        self._buffer += text
        done: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            if match.end() <= start:
                continue
            verdict = self._ends_sentence(match)
            if verdict is None:
                break  # undecided until more text arrives
            if verdict:
                sentence = self._buffer[start : match.end()].strip()
                if sentence:
                    done.append(sentence)
                start = match.end()
        self._buffer = self._buffer[start:]
        return done

    def flush(self) -> str | None:
        """The text after the last complete sentence, at the end of the stream."""
        tail, self._buffer = self._buffer.strip(), ""
        return tail or None

    def _ends_sentence(self, match: re.Match[str]) -> bool | None:
        mark = match.group()
        if not mark.startswith(".") or mark.startswith(".."):
            return True
        before = self._buffer[: match.start()]
        word = before.rsplit(None, 1)[-1] if before.strip() else ""
        word = word.lstrip("\"'([").lower()
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            return False
        if word in _MAYBE_ABBREVIATIONS:
            following = self._buffer[match.end() :].lstrip()
            if not following:
                return None
            return following[0].isupper()
        return True


def split_sentences(text: str) -> list[str]:
    """Split a whole text into sentences with the same rules as the streaming splitter.

    Args:
        text: Text to split.

    Returns:
        The sentences, in order.
    """
    splitter = SentenceSplitter()
    sentences = splitter.feed(text)
    tail = splitter.flush()
    return [*sentences, tail] if tail else sentences


class LLMTurnError(Exception):
    """The model's reply cannot be used: empty, cut off, filtered or malformed."""


# Everything that makes the agent give the turn to its fallback. `ValueError` covers a chunk that
# is not JSON (the SDK's SSE decoder raises it) and pydantic's errors.
_MODEL_FAILURES = (TimeoutError, openai.OpenAIError, LLMTurnError, ValueError)


@dataclass(slots=True)
class _ToolCallParts:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class _Reply:
    """One streamed completion, accumulated chunk by chunk."""

    def __init__(self) -> None:
        self.splitter = SentenceSplitter()
        self.tool_calls: dict[int, _ToolCallParts] = {}
        self.finish_reason: str | None = None

    def feed(self, chunk: ChatCompletionChunk) -> list[str]:
        try:
            return self._feed(chunk)
        except (AttributeError, TypeError) as exc:
            # The SDK builds chunks without validation, so a malformed one fails on access.
            raise LLMTurnError("malformed chunk") from exc

    def _feed(self, chunk: ChatCompletionChunk) -> list[str]:
        sentences: list[str] = []
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                sentences.extend(self.splitter.feed(delta.content))
            for call in delta.tool_calls or ():
                # Fragments of one call share its index; the id and name come in its first.
                parts = self.tool_calls.setdefault(call.index, _ToolCallParts())
                if call.id:
                    parts.id = call.id
                if call.function is not None:
                    if call.function.name:
                        parts.name += call.function.name
                    if call.function.arguments:
                        parts.arguments.append(call.function.arguments)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
        return sentences

    def calls(self) -> list[_ToolCallParts]:
        return [self.tool_calls[i] for i in sorted(self.tool_calls)]


class _Budget:
    """The turn's time for waiting on the model.

    Only time spent awaiting the API counts: while a sentence is being spoken the agent is
    suspended at `yield`, which is not the caller waiting on dead air.
    """

    def __init__(self, seconds: float) -> None:
        self.remaining = seconds

    @contextlib.asynccontextmanager
    async def spend(self) -> AsyncIterator[None]:
        if self.remaining <= 0:
            raise TimeoutError
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(self.remaining):
                yield
        finally:
            self.remaining -= loop.time() - started


@dataclass(slots=True)
class _Turn:
    """Bookkeeping for the transcript contract (see the module docstring)."""

    utterance: str | None
    committed: bool = False
    agent_entry: int | None = None

    @property
    def spoken(self) -> bool:
        return self.agent_entry is not None


@dataclass(slots=True)
class _Effects:
    """What a reply's tool calls asked for, after validation."""

    actions: list[Action] = field(default_factory=list)  # callbacks, in order
    end_call: bool = False
    do_not_call: bool = False
    transfer: Transfer | None = None
    results: dict[str, str] = field(default_factory=dict)  # tool_call_id -> result for the model
    booking: tuple[str, datetime] | None = None  # (tool_call_id, slot): one booking a turn
    booked: BookingResult | None = None  # the calendar's answer to `booking`


class OpenAIAgent(Agent):
    """An agent whose words come from an OpenAI-compatible chat model.

    The opening is always the script's fixed opening, never the model: it must say that this is
    an AI and how to opt out. Each caller turn is one streamed chat completion (plus at most one
    follow-up when the model only called tools); sentences are yielded as soon as they are
    complete. See the module docstring for the transcript and fallback contract.
    """

    def __init__(
        self,
        state: CallState,
        *,
        script: Script,
        client: openai.AsyncOpenAI,
        model: str = "gpt-4o",
        turn_timeout_s: float = 8.0,
        fallback: Agent,
        max_retries: int = 0,
    ) -> None:
        """Create the agent for one call.

        Args:
            state: The call's state, shared with `fallback`.
            script: The location's script: the opening, the checklist and the fixed lines.
            client: The OpenAI client (any OpenAI-compatible base URL).
            model: The chat model.
            turn_timeout_s: How long one turn may wait on the model in total, follow-up
                included, before the fallback takes the turn.
            fallback: The agent that answers a turn the model could not; it must share `state`.
            max_retries: SDK retries per request, 0 by default: a caller is waiting on the
                line, and the fallback answers at once where a retry would back off.
        """
        super().__init__(state)
        if fallback.state is not state:
            raise ValueError("the fallback agent must share the call's state")
        self.script = script
        self.client = client.with_options(max_retries=max_retries)
        self.model = model
        self.turn_timeout_s = turn_timeout_s
        self.fallback = fallback
        context = state.context
        self.slots = SlotsLookup(context.calendar or StaticCalendar(context.free_slots))
        # Bookings in flight; kept so that one the caller stopped waiting for runs to its end.
        self._bookings: set[asyncio.Task[BookingResult]] = set()

    def checkpoint(self) -> Checkpoint:
        """The fallback's checkpoint: the model's context is built from the shared state."""
        return self.fallback.checkpoint()

    def restore(self, checkpoint: Checkpoint) -> None:
        """Restore the fallback (and so the shared state the model's context comes from)."""
        self.fallback.restore(checkpoint)

    async def opening(self) -> AsyncIterator[TurnEvent]:
        """The script's fixed opening, sentence by sentence; the model is not asked.

        Yields:
            One `Say` per sentence of the rendered opening.
        """
        # Asked now, waited for only when the offer is due: the first turns give it time.
        self.slots.start()
        turn = _Turn(utterance=None, committed=True)
        for sentence in split_sentences(render(self.script.opening, self.state.context)):
            yield self._say(turn, sentence)

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        """Answer one caller turn from the model, or from the fallback if the model fails.

        Args:
            utterance: What the caller said; None (or blank) when they stayed silent.

        Yields:
            `Say` per sentence as soon as it is complete, then `Do` per action.
        """
        if self.state.finished:
            return
        turn = _Turn(utterance=utterance)
        try:
            async with contextlib.aclosing(self._model_turn(turn)) as events:
                async for event in events:
                    yield event
            return
        except _MODEL_FAILURES as exc:
            failure = describe_exception(exc)
        if turn.spoken:
            logger.warning("LLM turn cut short after speaking; not retried: {}", failure)
            return
        logger.warning("LLM turn failed; the fallback agent answers it: {}", failure)
        async with _closing(self.fallback.respond(utterance)) as events:
            async for event in events:
                yield event

    # -- one model turn ------------------------------------------------------------------

    async def _model_turn(self, turn: _Turn) -> AsyncGenerator[TurnEvent, None]:
        budget = _Budget(self.turn_timeout_s)
        await self._take_slots()
        messages = build_messages(self.script, self.state, turn.utterance)
        reply = _Reply()
        # A booking claim, and what follows it, waits for the calendar (see the docstring).
        held_back: list[str] = []
        async with contextlib.aclosing(self._stream(messages, reply, budget, "auto")) as said:
            async for sentence in said:
                if held_back or self._unheld_claim(sentence):
                    held_back.append(sentence)
                else:
                    yield self._say(turn, sentence)
        model_spoke = turn.spoken or bool(held_back)
        calls = reply.calls()
        effects = self._apply(calls)
        if effects.booking is not None:
            async for event in self._book(turn, effects):
                yield event
        if model_spoke:
            booked = effects.booked
            if booked is not None:
                for sentence in self._booking_lines(booked):
                    yield self._say(turn, sentence)
            if booked is None or booked.status is not BookingStatus.TAKEN:
                # After the agent's own words on the booking, the model's are left out.
                for sentence in held_back:
                    if not _BOOKING_CLAIM.search(sentence):
                        yield self._say(turn, sentence)
            if not turn.spoken:
                raise LLMTurnError("the reply only claimed a booking")
        else:
            if not calls:
                raise LLMTurnError("empty reply")
            follow_up = [*messages, *self._tool_messages(calls, effects)]
            async with contextlib.aclosing(
                self._follow_up(turn, follow_up, budget, effects)
            ) as said:
                async for event in said:
                    yield event
        for action in self._settle(effects):
            yield Do(action)

    async def _follow_up(
        self,
        turn: _Turn,
        messages: list[ChatCompletionMessageParam],
        budget: _Budget,
        effects: _Effects,
    ) -> AsyncGenerator[TurnEvent, None]:
        """The words after a reply that only called tools (their results in `messages`)."""
        again = _Reply()
        spoken = 0
        try:
            async with contextlib.aclosing(self._stream(messages, again, budget, "none")) as said:
                async for sentence in said:
                    if self._unheld_claim(sentence):
                        continue
                    spoken += 1
                    yield self._say(turn, sentence)
        except _MODEL_FAILURES as exc:
            if effects.booked is None:
                raise
            # The booking is made and recorded: the caller hears its outcome whatever the model.
            logger.warning("LLM follow-up after a booking failed: {}", describe_exception(exc))
        else:
            # With tool_choice "none" there should be no calls; any that come are still checked.
            more = self._apply(again.calls())
            effects.actions.extend(more.actions)
            effects.end_call |= more.end_call
            effects.do_not_call |= more.do_not_call
            effects.transfer = effects.transfer or more.transfer
        if effects.booked is not None and not spoken:
            for sentence in self._booking_lines(effects.booked):
                yield self._say(turn, sentence)
        if not turn.spoken:
            raise LLMTurnError("no spoken reply after tool calls")

    # -- the calendar --------------------------------------------------------------------

    async def _take_slots(self) -> None:
        """Have the calendar's slots in the state when they are in, or when the offer is due."""
        state = self.state
        if state.free_slots is not None:
            return
        state.free_slots = self.slots.ready()
        if state.free_slots is None and self._offer_due():
            slots = await self.slots.wait(SLOTS_WAIT_S)
            # Not in time: the call goes on as for a clinic without a calendar.
            state.free_slots = slots if slots is not None else ()

    def _offer_due(self) -> bool:
        """Whether this turn may offer slots: the caller's days and times are in, or asked."""
        if self.state.qualification.availability is not None:
            return True
        said = next((t for who, t in reversed(self.state.transcript) if who == "agent"), "")
        step = self.script.step(Slot.AVAILABILITY)
        ctx = self.state.context
        asked = step is not None and any(
            render(q, ctx).lower() in said.lower() for q in (step.ask, step.reask)
        )
        return asked or bool(_AVAILABILITY_ASKED.search(said))

    def _unheld_claim(self, sentence: str) -> bool:
        """A sentence saying a slot is booked while the calendar holds none."""
        booking = self.state.booking
        return bool(_BOOKING_CLAIM.search(sentence)) and not (booking is not None and booking.held)

    async def _book(self, turn: _Turn, effects: _Effects) -> AsyncGenerator[TurnEvent, None]:
        """Ask the calendar for the chosen slot; record its answer for the speech and the model."""
        assert effects.booking is not None
        call_id, chosen = effects.booking
        booking = asyncio.ensure_future(self.slots.calendar.book(chosen))
        self._bookings.add(booking)
        booking.add_done_callback(self._bookings.discard)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.wait({booking}, timeout=min(FILLER_AFTER_S, BOOKING_BUDGET_S))
        if not booking.done():
            # The caller hears this while the CRM works, instead of silence.
            filler = self.script.line("booking_filler", self.state.context)
            for sentence in split_sentences(filler):
                yield self._say(turn, sentence)
        budget = BOOKING_BUDGET_S - (loop.time() - began)
        result = await await_booking(booking, start=chosen, budget=budget)
        effects.booked = result
        q = self.state.qualification
        if result.status is BookingStatus.TAKEN:
            self.state.taken_slots.append(chosen)
            following = self._next_offer()
            effects.results[call_id] = _booking_result(
                result,
                next_slot=following,
                say="offer next_slot instead"
                if following is not None
                else "no other slot: say the team will call to find a time",
            )
            return
        q.preferred_slot = chosen
        self.state.booking = result
        effects.results[call_id] = _booking_result(
            result,
            say=None if result.held else "say the team will confirm it; do not say it is booked",
        )
        # At once, not after the speech: a model failing later must not lose the booking.
        yield Do(BookSlot(start=chosen))

    def _next_offer(self) -> datetime | None:
        """The one slot offered in place of a taken one (none after a second taken slot)."""
        if len(self.state.taken_slots) > 1:
            return None
        ctx = self.state.context
        matching = slots_matching(
            self.state.offerable_slots(), self.state.qualification.availability, ctx.zone
        )
        return matching[0] if matching else None

    def _booking_lines(self, result: BookingResult) -> list[str]:
        """The script's words for the calendar's answer, sentence by sentence."""
        ctx = self.state.context
        when = describe_slot(result.start.astimezone(ctx.zone))
        if result.held:
            line = self.script.line("booked", ctx, slot=when)
        elif result.to_confirm:
            line = self.script.line("booking_pending", ctx, slot=when)
        elif (following := self._next_offer()) is not None:
            line = self.script.line(
                "slot_taken", ctx, slot=describe_slot(following.astimezone(ctx.zone))
            )
        else:
            line = self.script.line("no_slots", ctx)
        return split_sentences(line)

    async def _stream(
        self,
        messages: list[ChatCompletionMessageParam],
        reply: _Reply,
        budget: _Budget,
        tool_choice: Literal["auto", "none"],
    ) -> AsyncGenerator[str, None]:
        async with budget.spend():
            stream = await self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                tools=TOOLS,
                tool_choice=tool_choice,
                stream=True,
                temperature=TEMPERATURE,
            )
        try:
            while True:
                async with budget.spend():
                    chunk = await anext(stream, None)
                if chunk is None:
                    break
                for sentence in reply.feed(chunk):
                    yield sentence
        finally:
            await stream.close()
        if reply.finish_reason is None:
            raise LLMTurnError("stream ended without a finish reason")
        if reply.finish_reason == "content_filter":
            raise LLMTurnError("reply was filtered")
        tail = reply.splitter.flush()
        # At "length" the last words were cut off mid-sentence; better unsaid.
        if tail and reply.finish_reason != "length":
            yield tail

    def _say(self, turn: _Turn, sentence: str) -> Say:
        transcript = self.state.transcript
        if not turn.committed:
            turn.committed = True
            self.state.caller_turns += 1
            if turn.utterance is not None and turn.utterance.strip():
                transcript.append(("caller", turn.utterance.strip()))
        if turn.agent_entry is None:
            transcript.append(("agent", sentence))
            turn.agent_entry = len(transcript) - 1
        else:
            _, so_far = transcript[turn.agent_entry]
            transcript[turn.agent_entry] = ("agent", f"{so_far} {sentence}")
        return Say(sentence)

    # -- tools ---------------------------------------------------------------------------

    def _apply(self, calls: Iterable[_ToolCallParts]) -> _Effects:
        effects = _Effects()
        for parts in calls:
            try:
                parsed = parse_tool_call(parts.name, "".join(parts.arguments))
            except ToolArgumentsError as exc:
                # The message names the tool and fields only, never their values.
                logger.warning("LLM tool call ignored: {}", exc)
                effects.results[parts.id] = _result(error=str(exc))
                continue
            effects.results[parts.id] = self._apply_one(parsed, effects, call_id=parts.id)
        return effects

    def _apply_one(self, call: ParsedToolCall, effects: _Effects, *, call_id: str) -> str:
        ctx = self.state.context
        q = self.state.qualification
        args = call.args
        if isinstance(args, RecordQualification):
            ignored = [*call.dropped, *_merge(q, args)]
            if ignored:
                logger.warning("record_qualification: ignored fields {}", ", ".join(ignored))
            return _result(ignored=ignored)
        if isinstance(args, SetOutcomeArgs):
            q.outcome = args.outcome  # a booking outcome is checked against the calendar later
        elif isinstance(args, TransferCallArgs):
            if not ctx.transfer_available:
                logger.warning("transfer_call ignored: no one can take a transfer now")
                return _result(error="no one at the clinic can take a transfer right now")
            summary = args.summary.strip()[:_TRANSFER_SUMMARY_CHARS]
            effects.transfer = Transfer(reason=args.reason, summary=summary)
        elif isinstance(args, ScheduleCallbackArgs):
            if args.at <= ctx.now:
                logger.warning("schedule_callback ignored: the time is in the past")
                return _result(error="that time is in the past")
            q.callback_time = args.at
            effects.actions.append(ScheduleCallback(at=args.at))
        elif isinstance(args, BookSlotArgs):
            slot = next((s for s in self.state.offerable_slots() if s == args.start), None)
            if slot is None:
                logger.warning("book_slot ignored: not one of the free slots")
                return _result(error="that is not one of the free slots")
            if effects.booking is not None:
                logger.warning("book_slot ignored: one booking a turn")
                return _result(error="only one slot can be booked at a time")
            # Booked after the reply (`_book`); the result the model sees is set there.
            effects.booking = (call_id, slot)
        elif call.name is ToolName.END_CALL:
            effects.end_call = True
        elif call.name is ToolName.MARK_DO_NOT_CALL:
            effects.do_not_call = True
        return _result()

    def _tool_messages(
        self, calls: list[_ToolCallParts], effects: _Effects
    ) -> list[ChatCompletionMessageParam]:
        usable = [c for c in calls if c.id and c.name]
        if not usable:
            raise LLMTurnError("tool calls without ids")
        tool_calls: list[ChatCompletionMessageFunctionToolCallParam] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": "".join(c.arguments)},
            }
            for c in usable
        ]
        messages: list[ChatCompletionMessageParam] = [
            {"role": "assistant", "content": None, "tool_calls": tool_calls}
        ]
        for c in usable:
            messages.append(
                {"role": "tool", "tool_call_id": c.id, "content": effects.results.get(c.id, "")}
            )
        return messages

    def _settle(self, effects: _Effects) -> list[Action]:
        """The turn's actions in the order telephony should run them; ends the call if asked."""
        q = self.state.qualification
        if q.outcome in (Outcome.BOOKED, Outcome.BOOKING_PENDING):
            # Booked is the calendar's word, not the model's (this turn's booking is settled).
            q.outcome = self.state.booking_outcome() or Outcome.QUALIFIED
        actions = list(dict.fromkeys(effects.actions))
        if not (effects.transfer or effects.end_call or effects.do_not_call):
            return actions
        if effects.do_not_call:
            q.opted_out = True
            q.outcome = Outcome.OPTED_OUT
            actions.append(MarkDoNotCall())
        elif q.outcome is None:
            q.outcome = _default_outcome(self.state, effects.transfer)
        if q.urgency is None:
            q.urgency = urgency_of(q)
        if q.summary is None:
            q.summary = note_summary(q)
        self.state.finished = True
        # A transfer hands the call over, so it replaces hanging up.
        if effects.transfer is not None and not effects.do_not_call:
            summary = effects.transfer.summary or q.summary
            actions.append(Transfer(reason=effects.transfer.reason, summary=summary))
        else:
            actions.append(EndCall())
        return actions


@contextlib.asynccontextmanager
async def _closing(events: AsyncIterator[_T]) -> AsyncIterator[AsyncIterator[_T]]:
    """Like `contextlib.aclosing` for an iterator typed without `aclose` (an `Agent`'s turn)."""
    try:
        yield events
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


def _booking_result(
    result: BookingResult, *, next_slot: datetime | None = None, say: str | None = None
) -> str:
    """The book_slot result for the model: the calendar's answer and what to tell the caller."""
    body: dict[str, object] = {"ok": result.status is not BookingStatus.TAKEN}
    body["status"] = result.status.value
    if result.status is BookingStatus.TAKEN:
        body["error"] = "that slot was just taken by someone else"
    if next_slot is not None:
        body["next_slot"] = next_slot.isoformat()
    if say is not None:
        body["say"] = say
    return json.dumps(body)


def _result(*, error: str | None = None, ignored: list[str] | None = None) -> str:
    body: dict[str, object] = {"ok": error is None}
    if error is not None:
        body["error"] = error
    if ignored:
        body["ignored_fields"] = ignored
    return json.dumps(body)


def _merge(q: Qualification, facts: RecordQualification) -> list[str]:
    """Copy the facts heard into the qualification; returns the fields it would not take."""
    rejected: list[str] = []
    simple = facts.model_dump(exclude_none=True, exclude={"insurance", "availability", "red_flags"})
    for name, value in simple.items():
        try:
            setattr(q, name, _clip(q, name, value))
        except ValueError:
            rejected.append(name)
    if facts.red_flags:
        q.add_red_flags(facts.red_flags)
    if facts.insurance is not None:
        for name, value in facts.insurance.model_dump(exclude_none=True).items():
            try:
                setattr(q.insurance, name, value)
            except ValueError:
                rejected.append(f"insurance.{name}")
    if facts.availability is not None:
        heard = facts.availability
        current = q.availability or Availability()
        days = heard.days if heard.days is not None else current.days
        windows = heard.windows if heard.windows is not None else current.windows
        q.availability = Availability(
            days=list(dict.fromkeys(days)),
            windows=list(windows),
            raw=heard.raw if heard.raw is not None else current.raw,
        )
    return rejected


def _clip(q: Qualification, name: str, value: object) -> object:
    """Shorten free text to the field's limit rather than lose it."""
    if not isinstance(value, str):
        return value
    for rule in type(q).model_fields[name].metadata:
        limit = getattr(rule, "max_length", None)
        if isinstance(limit, int) and len(value) > limit:
            return value[:limit].rsplit(" ", 1)[0]
    return value


def _default_outcome(state: CallState, transfer: Transfer | None) -> Outcome:
    q = state.qualification
    if transfer is not None and transfer.reason is TransferReason.EMERGENCY:
        return Outcome.EMERGENCY_TRANSFERRED
    if transfer is not None and transfer.reason is TransferReason.TECHNICAL:
        return Outcome.TECHNICAL_TRANSFER
    booked = state.booking_outcome()
    if booked is not None:
        return booked
    if q.callback_time is not None:
        return Outcome.CALLBACK_REQUESTED
    if q.treatment_interest is not None or q.chief_complaint:
        return Outcome.QUALIFIED
    return Outcome.INCOMPLETE
