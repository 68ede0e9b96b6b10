"""A whole voice call that books: free slots fetched at answer, a slot booked in GHL mid-call.

The real path — webhook, gate, dialer, the Twilio emulator, the Pipecat pipeline with local
Whisper and Piper — with the GHL emulator behind the clinic's calendar and a talking caller
that hears only audio. The agent follows a short script (availability, offer, anything else)
so the call lasts about as long as the other whole-call tests; the booking path is the same.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from loguru import logger
from sqlalchemy import select

from dentalvoice.callers.talking import TalkingCaller
from dentalvoice.config import Settings
from dentalvoice.conversation.agent import Agent, CallContext, Checkpoint, Say, TurnEvent
from dentalvoice.conversation.evaluation.scenario import CallerSpec, Topic
from dentalvoice.conversation.factory import build_agent
from dentalvoice.conversation.script import Slot, load_script
from dentalvoice.db import Database
from dentalvoice.emulators.ghl import GhlEmulator
from dentalvoice.voice.handler import VoiceCallHandler
from dentalvoice.voice.records import CallRecord
from tests import factories as f
from tests.telephony.stack import FlowingClock, running_stack
from tests.voice.ghl_line import BOOK_PATH, GhlLine, ghl_client

NY = ZoneInfo("America/New_York")
MEMBER = "UserFrontDesk0000001"
WAIT_S = 150.0
BOOKED = re.compile(r"\bbooked\b", re.I)
CHOICE = "The first one works for me."
ANSWERS = ("Sure, go ahead.", "Thursday afternoons work best.", CHOICE, "No, that's all.")


class SaidAt(Agent):
    """Passes an agent's turns through, noting when each sentence left it (monotonic)."""

    def __init__(self, inner: Agent) -> None:
        super().__init__(inner.state)
        self.inner = inner
        self.said: list[tuple[float, str]] = []

    def checkpoint(self) -> Checkpoint:
        return self.inner.checkpoint()

    def restore(self, checkpoint: Checkpoint) -> None:
        self.inner.restore(checkpoint)

    async def opening(self) -> AsyncIterator[TurnEvent]:
        async for event in self._noted(self.inner.opening()):
            yield event

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        async for event in self._noted(self.inner.respond(utterance)):
            yield event

    async def _noted(self, events: AsyncIterator[TurnEvent]) -> AsyncIterator[TurnEvent]:
        async for event in events:
            if isinstance(event, Say):
                self.said.append((time.monotonic(), event.text))
            yield event


async def test_free_slots_fetched_at_answer_and_a_slot_booked_in_ghl_during_the_call(
    settings: Settings, db: Database
) -> None:
    if not db.is_sqlite:
        pytest.skip("one backend is enough for the audio path; the database parts run on both")
    # GHL's clock runs with the stack's: a Wednesday, 10:00 in the clinic's zone.
    flowing = FlowingClock()
    emulator = GhlEmulator(clock=lambda: flowing().timestamp(), seed=3)
    await asyncio.to_thread(emulator.warm_spec)
    location = emulator.seed_location(id=f.GHL_LOCATION_ID, timezone="America/New_York")
    pit = emulator.seed_pit(location_id=location.id)
    contact = emulator.seed_contact(
        location_id=location.id, id=f.contact_id(), first_name=f.FIRST_NAME
    )
    # Thursday afternoons only, on a team calendar: bookings must name the member.
    calendar = emulator.seed_calendar(
        location_id=location.id,
        open_hours={"thu": [("14:00", "16:00")]},
        team_member_ids=[MEMBER],
    )
    line = GhlLine(emulator)
    ghl = ghl_client(line, {location.id: pit.token})

    script = load_script()
    short = script.model_copy(
        update={
            "steps": [
                s
                for s in script.steps
                if s.slot in (Slot.AVAILABILITY, Slot.OFFER, Slot.ANYTHING_ELSE)
            ]
        }
    )
    agents: list[SaidAt] = []

    def agent_for(context: CallContext) -> Agent:
        agents.append(SaidAt(build_agent(context=context, script=short)))
        return agents[-1]

    # Lines in order, whatever the caller's tiny.en makes of the agent: what is under test is
    # the agent's side (its own speech recognition hears these).
    caller = TalkingCaller(
        CallerSpec(script=[*ANSWERS], facts={Topic.ANYTHING_ELSE: "No, that's all."}),
        max_call_s=WAIT_S,
    )
    await caller.prepare()
    handler = VoiceCallHandler(settings=settings, db=db, agent_factory=agent_for, ghl=ghl)
    clinic = {"calendar_id": calendar.id, "options": {"crm": {"calendar_user_id": MEMBER}}}
    try:
        # The CRM write-back stays off: the booking under test is the call's own.
        async with running_stack(
            settings, db, media_handler=handler, location=clinic, crm_writeback_enabled=False
        ) as stack:
            handler.settings = stack.settings
            handler.clock = stack.clock
            handler.control = stack.telephony.control
            stack.emulator.set_callee(f.PHONE_E164, caller)
            await stack.post_lead(contact_id=contact.id)
            (call,) = await stack.emulator.wait_calls(1, timeout=30)
            call = await stack.emulator.wait_call_ended(call.sid, timeout=WAIT_S)
            async with asyncio.timeout(30):
                (result,) = await handler.wait_results(1)
            async with db.reader() as session:
                record = (await session.execute(select(CallRecord))).scalar_one()
    finally:
        await ghl.aclose()

    # The agent held the conversation to its end and hung up itself.
    said = result.transcript  # fake people only: shown when an assertion fails
    assert call.status == "completed" and call.end_reason == "program", (call.end_reason, said)
    assert result.finished, said

    # Free slots were asked for at answer, before the greeting reached the caller.
    (fetch,) = line.sent("GET", f"/calendars/{calendar.id}/free-slots")
    assert fetch.status == 200 and fetch.answered is not None
    greeting_heard = caller.agent_turns[0].start_at
    assert fetch.started < greeting_heard

    # One booking, of the first Thursday 2pm slot, for the team member; GHL holds it.
    bookings = line.sent("POST", BOOK_PATH)
    assert len(bookings) == 1, said
    (booking,) = bookings
    assert booking.status == 200 and booking.answered is not None
    (appointment,) = emulator.state.appointments_of(contact.id)
    assert appointment.assigned_user_id == MEMBER
    assert appointment.start.astimezone(NY).strftime("%a %H:%M") == "Thu 14:00"
    # Sent in the clinic's zone, with its offset.
    assert booking.body["startTime"] == appointment.start.astimezone(NY).isoformat()

    # The call's record carries GHL's id: the CRM write-back will not book it again.
    assert record.ghl_appointment_id == appointment.id
    assert record.booked_slot_at == appointment.start and record.outcome == "booked"

    # "Booked" left the agent only after GHL's 200, and the caller heard the agent answer.
    choices = [t for t in caller.turns if t.reply == CHOICE]
    assert len(choices) == 1, [(t.agent_text, t.reply) for t in caller.turns]
    (yes,) = choices
    (agent,) = agents
    claims = [(at, text) for at, text in agent.said if BOOKED.search(text)]
    assert claims, agent.said
    assert claims[0][0] > booking.answered
    assert yes.first_agent_audio_at is not None and yes.speech_end_at is not None
    assert claims[0][0] > yes.speech_end_at

    # For the record: how long the caller waited, from their "yes" to the confirmation.
    logger.info(
        "booking call: slots fetched in {:.0f} ms, {:.0f} ms before the greeting was heard; "
        "after the caller's choice: first audio {:.0f} ms, GHL 200 {:.0f} ms, "
        "confirmation sent to TTS {:.0f} ms",
        (fetch.answered - fetch.started) * 1000,
        (greeting_heard - fetch.started) * 1000,
        yes.voice_to_voice_ms,
        (booking.answered - yes.speech_end_at) * 1000,
        (claims[0][0] - yes.speech_end_at) * 1000,
    )
