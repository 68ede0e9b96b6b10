"""A whole voice call through the emulator with the local models: the caller says "stop".

The caller here is deliberately simple (it waits for the agent's opening to end, says one
line in a voice unlike the agent's, and listens): the pipeline under test is ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from dentalvoice.callers.voice import CallerVoice
from dentalvoice.compliance import dnc
from dentalvoice.config import Settings
from dentalvoice.db import Database
from dentalvoice.dialer.models import AttemptStatus, JobStatus
from dentalvoice.emulators.twilio import (
    AudioCallee,
    Callee,
    CallerLine,
    CallRecord,
    HeardFrame,
    Voicemail,
)
from dentalvoice.voice.handler import VoiceCallHandler
from tests import factories as f
from tests.telephony.stack import Stack, running_stack

# The agent's turn is over after this much silence (its sentences follow each other closely).
TURN_GAP_S = 1.5
WAIT_S = 90.0


def voiced(frame: HeardFrame) -> bool:
    # μ-law silence is 0xFF / 0x7F; speech swings far from them.
    return sum(1 for b in frame.audio if (b & 0x7F) < 0x70) > 8


class OneLineCaller:
    """Waits out the agent's opening, says `line`, then listens until the call ends."""

    def __init__(self, line: str) -> None:
        self.line = line
        self.spoke_at: float | None = None
        self.answer_at: float | None = None
        self.opening_heard = False

    async def converse(self, line: CallerLine) -> None:
        async with listening(line) as frames:
            await until_turn_over(frames)
            self.opening_heard = True
            await line.say(await CallerVoice().speak(self.line))
            self.spoke_at = time.monotonic()
            while self.answer_at is None:
                frame = await frames.get()
                if voiced(frame) and frame.at > self.spoke_at:
                    self.answer_at = frame.at
            await line.wait_ended(timeout=WAIT_S)


@contextlib.asynccontextmanager
async def listening(
    line: CallerLine, *, keep: list[HeardFrame] | None = None
) -> AsyncIterator[asyncio.Queue[HeardFrame]]:
    """The agent's frames as they play, on a queue (also appended to `keep`).

    A queue between the frames and the waits: a timed-out wait must not cancel (and so close)
    the iterator itself.
    """
    frames: asyncio.Queue[HeardFrame] = asyncio.Queue()

    async def hear() -> None:
        async for frame in line.heard():
            if keep is not None:
                keep.append(frame)
            frames.put_nowait(frame)

    hearing = asyncio.create_task(hear())
    try:
        yield frames
    finally:
        hearing.cancel()


async def until_turn_over(frames: asyncio.Queue[HeardFrame]) -> None:
    """Wait until the agent has spoken and then been silent for TURN_GAP_S."""
    last_voice: float | None = None
    while True:
        try:
            frame = await asyncio.wait_for(frames.get(), timeout=TURN_GAP_S)
        except TimeoutError:
            if last_voice is not None:
                return
            continue
        if voiced(frame):
            last_voice = frame.at
        elif last_voice is not None and frame.at - last_voice >= TURN_GAP_S:
            return


FRONT_DESK = "+13055550199"


@pytest.fixture
async def voice_stack(
    settings: Settings, db: Database
) -> AsyncIterator[tuple[Stack, VoiceCallHandler]]:
    if not db.is_sqlite:
        pytest.skip("one backend is enough for the audio path; the database parts run on both")
    handler = VoiceCallHandler(settings=settings, db=db)
    async with running_stack(
        settings, db, media_handler=handler, location={"transfer_number": FRONT_DESK}
    ) as stack:
        handler.settings = stack.settings
        handler.clock = stack.clock
        handler.control = stack.telephony.control
        yield stack, handler


async def call_the_lead(stack: Stack, callee: Callee | AudioCallee) -> CallRecord:
    """Post the sample lead with `callee` answering its phone; the call once it has ended."""
    stack.emulator.set_callee(f.PHONE_E164, callee)
    await stack.post_lead()
    (call,) = await stack.emulator.wait_calls(1, timeout=30)
    return await stack.emulator.wait_call_ended(call.sid, timeout=WAIT_S)


async def test_stop_calling_me_is_honoured_on_the_spot(
    voice_stack: tuple[Stack, VoiceCallHandler], db: Database
) -> None:
    stack, handler = voice_stack
    caller = OneLineCaller("Take me off your list. Do not call me again.")
    call = await call_the_lead(stack, caller)

    # The agent spoke first, heard the caller, answered, and ended the call itself by closing
    # the stream (`program`: nothing follows </Connect>) — not the caller hanging up.
    assert caller.opening_heard and caller.spoke_at is not None
    assert caller.answer_at is not None, "the agent never answered the opt-out"
    assert call.status == "completed" and call.end_reason == "program"
    async with asyncio.timeout(30):
        (result,) = await handler.wait_results(1)
    assert result.qualification.opted_out
    said = " ".join(text for who, text in result.transcript if who == "caller").lower()
    assert "list" in said or "call" in said
    # On the spot: the number is on the clinic's do-not-call list, the job will not redial.
    async with db.reader() as session:
        (attempt,) = await stack.attempts()
        assert await dnc.is_blocked(
            session=session, phone_hash=attempt.phone_hash, location_id=attempt.location_id
        )
    assert (attempt.status, attempt.outcome) == (AttemptStatus.COMPLETED, "opted_out")
    (job,) = await stack.jobs()
    assert (job.status, job.reason) == (JobStatus.DONE, "opted_out")


async def test_a_voicemail_greeting_gets_the_message_not_the_conversation(
    voice_stack: tuple[Stack, VoiceCallHandler],
) -> None:
    """With the pipeline on the line, AMD's redirect still leaves the whole message."""
    stack, handler = voice_stack
    call = await call_the_lead(stack, Voicemail(greeting_s=1.0))

    assert call.voicemail is not None and call.end_reason == "hangup-verb"
    assert any("call us back" in text for text in call.voicemail.texts)
    async with asyncio.timeout(30):
        await handler.wait_results(1)
    (attempt,) = await stack.attempts()
    assert (attempt.status, attempt.outcome) == (AttemptStatus.VOICEMAIL, "voicemail")
    (job,) = await stack.jobs()
    assert (job.status, job.reason) == (JobStatus.PENDING, "voicemail")


async def test_an_emergency_is_handed_to_the_front_desk_after_one_line(
    voice_stack: tuple[Stack, VoiceCallHandler], db: Database
) -> None:
    stack, handler = voice_stack
    caller = OneLineCaller("My face is swollen and I have a fever.")
    call = await call_the_lead(stack, caller)

    assert caller.spoke_at is not None and caller.answer_at is not None
    (dial,) = call.dials
    assert [n.number for n in dial.numbers] == [FRONT_DESK]
    # Within 30 s of the red flag being spoken, and only after the agent's one line (the
    # caller heard the agent answer before the redirect took the call).
    assert dial.started_at - caller.spoke_at <= 30.0
    assert caller.answer_at < dial.started_at
    # The receptionist hears a summary before being connected; the patient's words stay on
    # our side (fetched by Twilio from the signed whisper URL, not carried in it).
    assert dial.whisper_twiml is not None and "<Say" in dial.whisper_twiml
    assert all("swollen" not in (n.whisper_url or "") for n in dial.numbers)
    async with asyncio.timeout(30):
        (result,) = await handler.wait_results(1)
    assert result.qualification.outcome is not None
    assert result.qualification.outcome.value == "emergency_transferred"
    (attempt,) = await stack.attempts()
    assert attempt.outcome == "transferred"


class BargingCaller:
    """Lets the agent's opening play for `after_s`, talks over it, then hangs up."""

    def __init__(self, line: str, *, after_s: float = 1.5) -> None:
        self.line = line
        self.after_s = after_s
        self.spoke_at: float | None = None
        self.spoke_until: float | None = None
        self.heard: list[HeardFrame] = []

    async def converse(self, line: CallerLine) -> None:
        # Synthesised before the call's audio starts, so speaking starts on the dot.
        audio = await CallerVoice().speak(self.line)
        async with listening(line, keep=self.heard) as frames:
            started: float | None = None
            while True:
                frame = await frames.get()
                if voiced(frame):
                    started = started or frame.at
                    if frame.at - started >= self.after_s:
                        break
            self.spoke_at = time.monotonic()
            await line.say(audio)
            self.spoke_until = time.monotonic()
            await line.hang_up()


async def test_barging_in_stops_the_agent_and_clears_twilios_buffer(
    voice_stack: tuple[Stack, VoiceCallHandler],
) -> None:
    stack, _handler = voice_stack
    # One breath, no pause inside: a pause could end the turn and draw a reply mid-sentence.
    caller = BargingCaller("Hold on who is this exactly")
    call = await call_the_lead(stack, caller)

    assert caller.spoke_at is not None and caller.spoke_until is not None
    (stream,) = call.streams
    assert stream.clears, "the agent never cleared Twilio's buffer"
    cleared_at = stream.clears[0].at
    # The budget: `clear` within 300 ms of the caller starting to speak (Silero needs
    # 100 ms of speech to call it speech; 180-250 ms measured in all).
    assert 0 < cleared_at - caller.spoke_at <= 0.3, (
        f"clear after {cleared_at - caller.spoke_at:.3f} s"
    )
    # And the agent's voice stopped within the same budget: nothing voiced reached the caller
    # after it while the caller kept talking (a frame already on its way when the clear went
    # out may still play, as on Twilio).
    talked_over = [
        frame
        for frame in caller.heard
        if caller.spoke_at + 0.3 < frame.at < caller.spoke_until and voiced(frame)
    ]
    assert not talked_over, f"{len(talked_over)} voiced agent frames after 300 ms"


class MurmuringCaller:
    """Says `murmur` over the agent's opening, lets it finish, then asks not to be called."""

    def __init__(self, murmur: str, *, after_s: float = 1.2) -> None:
        self.murmur = murmur
        self.after_s = after_s
        self.murmur_at: float | None = None
        self.murmur_until: float | None = None
        self.resumed_at: float | None = None  # the agent's voice after the murmur
        self.spoke_at: float | None = None

    async def converse(self, line: CallerLine) -> None:
        voice = CallerVoice()
        murmur = await voice.speak(self.murmur)
        async with listening(line) as frames:
            first = await self._next_voiced(frames, after=0.0)
            while (await frames.get()).at < first + self.after_s:
                pass
            self.murmur_at = time.monotonic()
            await line.say(murmur)
            self.murmur_until = time.monotonic()
            self.resumed_at = await self._next_voiced(frames, after=self.murmur_until)
            await until_turn_over(frames)
            await line.say(await voice.speak("Take me off your list. Do not call me again."))
            self.spoke_at = time.monotonic()
            await line.wait_ended(timeout=WAIT_S)

    @staticmethod
    async def _next_voiced(frames: asyncio.Queue[HeardFrame], *, after: float) -> float:
        while not (voiced(frame := await frames.get()) and frame.at > after):
            pass
        return frame.at


async def test_a_backchannel_does_not_stop_the_agent(
    voice_stack: tuple[Stack, VoiceCallHandler],
) -> None:
    stack, handler = voice_stack
    # tiny.en writes this voice's "Mm-hmm" as anything from "NMM." to "In a month.": an
    # "Okay." is as common on the phone and heard reliably.
    caller = MurmuringCaller("Okay.")
    await call_the_lead(stack, caller)
    (result,) = await handler.wait_results(1)

    assert caller.murmur_until is not None and caller.resumed_at is not None
    assert caller.spoke_at is not None and caller.resumed_at < caller.spoke_at
    # The agent went on with its opening once the murmur was understood as one (held while
    # the caller spoke: Silero's 200 ms of silence and the transcript decide it).
    assert caller.resumed_at - caller.murmur_until < 1.5, (
        f"agent silent {caller.resumed_at - caller.murmur_until:.2f} s after the murmur"
    )
    # The murmur was not a turn: the only caller line is the request, the opening stands whole.
    said = [text for speaker, text in result.transcript if speaker == "caller"]
    assert len(said) == 1 and "list" in said[0].lower(), said
    opening = result.transcript[0]
    assert opening[0] == "agent" and opening[1].endswith("?")
    assert result.qualification.opted_out
