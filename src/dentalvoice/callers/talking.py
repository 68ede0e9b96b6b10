"""`TalkingCaller`: a scenario's caller on the phone, hearing and speaking only audio.

It is an audio callee for the Twilio emulator (`emulator.set_callee(number, caller)`). It
listens to what the agent plays, cuts it into turns at silences, transcribes each turn with
the shared Whisper model, asks the scenario's `SimulatedCaller` what to answer, and says it in
its own Piper voice. With the spec's `interrupt_after_ms` it barges in once, over a long agent
turn; with `backchannel_after_ms` it murmurs once ("Mm-hmm.") over the agent and listens on.
Everything it hears and says is stamped with monotonic times, so a test or the demo can read
the voice-to-voice latency of the agent under test off `turns`.

One instance plays one call; `converse` starts from a clean record each time it is called.
Log lines carry the call SID, turn numbers, durations and topics — never what was said above
DEBUG, and never phone numbers.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from loguru import logger

from dentalvoice.callers.audio import FRAME_BYTES, FRAME_S, PHONE_RATE
from dentalvoice.callers.hearing import AgentTurn, Transcriber, TurnSegmenter, mark_questions
from dentalvoice.callers.recording import CallRecording
from dentalvoice.callers.voice import CallerVoice, VoiceSettings
from dentalvoice.conversation.evaluation.caller import SimulatedCaller, split_sentences
from dentalvoice.conversation.evaluation.scenario import CallerSpec, Scenario, Topic
from dentalvoice.emulators.twilio.line import CallerLine, HeardFrame

# After its backchannel, how long the caller waits for the agent to go on before taking the
# silence as the end of the agent's turn.
BACKCHANNEL_WAIT_S = 1.5


@dataclass
class CallerTurn:
    """One answer of the caller: what it heard, what it said, and when.

    Times are `time.monotonic()` seconds, comparable with the emulator's `HeardFrame.at`.

    Attributes:
        index: 0 for the answer to the agent's opening, then 1, 2, … .
        agent_turn: Index of the `AgentTurn` answered (see `TalkingCaller.agent_turns`).
        agent_text: The transcript of what the caller heard of that turn (the part before the
            caller cut in, when `barge_in`).
        agent_start_at: When that agent turn's first voiced frame played.
        heard_until: End of the agent audio the answer is based on: the turn's end, or the
            moment the caller decided to cut in.
        barge_in: The caller started speaking while the agent was still talking.
        reply: What the caller said; None when it stayed silent or hung up.
        topic: What the caller took the agent to be asking.
        hang_up: The agent said goodbye or handed over; the caller said nothing more.
        transcribe_ms: Time Whisper took on the heard audio.
        synthesize_ms: Time Piper took on the reply (near 0 from the cache); None unspoken.
        speech_start_at: When the reply's first 20 ms frame was sent; None unspoken.
        speech_end_at: When the reply's last 20 ms frame's slot ended; None unspoken.
        first_agent_audio_at: When the first voiced agent frame after `speech_end_at`
            started playing; None while (or if) the agent has not answered. After a barge-in
            that the agent did not yield to, this is its still-running speech.
    """

    index: int
    agent_turn: int
    agent_text: str
    agent_start_at: float
    heard_until: float
    barge_in: bool
    reply: str | None
    topic: Topic | None
    hang_up: bool
    transcribe_ms: float
    synthesize_ms: float | None = None
    speech_start_at: float | None = None
    speech_end_at: float | None = None
    first_agent_audio_at: float | None = None

    @property
    def voice_to_voice_ms(self) -> float | None:
        """The agent's voice-to-voice latency: end of the caller's speech to the agent's voice."""
        if self.first_agent_audio_at is None or self.speech_end_at is None:
            return None
        return (self.first_agent_audio_at - self.speech_end_at) * 1000

    @property
    def reaction_ms(self) -> float | None:
        """The caller's own delay: end of what it heard to its first frame."""
        if self.speech_start_at is None:
            return None
        return (self.speech_start_at - self.heard_until) * 1000


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One line of the call as the caller knows it.

    Attributes:
        speaker: `agent` (as transcribed by the caller) or `caller` (its reply text).
        text: The words.
        at: When the line started (monotonic).
    """

    speaker: Literal["agent", "caller"]
    text: str
    at: float


@dataclass(frozen=True, slots=True)
class _Heard:
    """An agent turn for the caller to answer; `barge_in` when only its beginning so far."""

    turn: AgentTurn
    barge_in: bool


@cache
def _shared_voice() -> CallerVoice:
    # One cache for every caller of the process: scenarios repeat the same lines.
    return CallerVoice()


class TalkingCaller:
    """A simulated caller that hears only audio and answers from a `CallerSpec`.

    Args:
        spec: The scenario's caller (facts, opening, script, default, interrupt_after_ms).
        voice: The caller's voice; default a process-wide `CallerVoice` (shared cache).
        voice_settings: Build a voice of its own with these settings instead.
        transcriber: Default a `Transcriber` on the shared Whisper model.
        silence_gap_ms: Silence that ends an agent turn; longer than the agent's pauses
            between sentences.
        energy_threshold_dbfs: Frame level (RMS) above which agent audio counts as voice.
        min_speech_ms: Agent turns with less voice than this are ignored (clicks, breaths).
        max_call_s: The caller hangs up after this long whatever happens.
        hang_up_wait_s: After a goodbye, how long the caller waits for the agent to end the
            call before hanging up itself.
        record_audio: Keep both sides' audio for `write_stereo_wav`.

    Attributes:
        turns: One `CallerTurn` per agent turn answered (silences and hang-ups included).
        agent_turns: Every agent turn heard, in order (the full turn, also when barged into).
        transcript: Agent and caller lines in the order the caller knew them.
        recording: Both sides' audio with times (empty unless `record_audio`).
    """

    def __init__(
        self,
        spec: CallerSpec,
        *,
        voice: CallerVoice | None = None,
        voice_settings: VoiceSettings | None = None,
        transcriber: Transcriber | None = None,
        silence_gap_ms: int = 900,
        energy_threshold_dbfs: float = -40.0,
        min_speech_ms: int = 100,
        max_call_s: float = 300.0,
        hang_up_wait_s: float = 10.0,
        record_audio: bool = True,
    ) -> None:
        if voice is not None and voice_settings is not None:
            raise ValueError("give either voice or voice_settings, not both")
        if max_call_s <= 0 or hang_up_wait_s < 0:
            raise ValueError("max_call_s must be positive and hang_up_wait_s not negative")
        self.spec = spec
        if voice is not None:
            self.voice = voice
        elif voice_settings is not None:
            self.voice = CallerVoice(voice_settings)
        else:
            self.voice = _shared_voice()
        self.transcriber = transcriber or Transcriber()
        self.silence_gap_ms = silence_gap_ms
        self.energy_threshold_dbfs = energy_threshold_dbfs
        self.min_speech_ms = min_speech_ms
        self.max_call_s = max_call_s
        self.hang_up_wait_s = hang_up_wait_s
        self.record_audio = record_audio
        self._reset()

    @classmethod
    def from_scenario(cls, scenario: Scenario, **options: Any) -> TalkingCaller:
        """The caller of a scenario; `options` are the constructor's keyword arguments."""
        return cls(scenario.caller, **options)

    async def prepare(self, *, lines: bool = True) -> None:
        """Load the models before the call, so its first turns do not pay for loading.

        Args:
            lines: Also synthesize every line the spec can say (opening, script, facts,
                default) into the voice's cache; Piper takes about a tenth of each line's length.
        """
        await asyncio.to_thread(self._prepare, lines)

    def _prepare(self, lines: bool) -> None:
        self.transcriber.warm_up()
        self.voice.warm_up()
        if lines:
            spec = self.spec
            for text in [spec.opening, *spec.script, *spec.facts.values(), spec.default]:
                if text:
                    self.voice.synthesize(text)

    @property
    def interrupt_after_ms(self) -> int | None:
        """The spec's barge-in threshold (None: never barges in)."""
        return self.spec.interrupt_after_ms

    def write_stereo_wav(self, path: str | Path) -> Path:
        """Write the call as an 8 kHz 16-bit stereo WAV: caller left, agent right."""
        return self.recording.write_stereo_wav(path)

    # -- the call -------------------------------------------------------------------------

    async def converse(self, line: CallerLine) -> None:
        """Play the caller on an answered line until the call ends or the caller hangs up."""
        self._reset()
        self._line = line
        # Before anything plays: frames played earlier are never replayed.
        heard = line.heard()
        events: asyncio.Queue[_Heard | None] = asyncio.Queue()
        listener = asyncio.create_task(self._listen(heard, events), name="talking-caller-ears")
        logger.info("talking caller on call {}: answered", line.call_sid)
        try:
            async with asyncio.timeout(self.max_call_s):
                while (event := await events.get()) is not None:
                    if await self._answer(line, event):
                        break
        except TimeoutError:
            logger.warning(
                "talking caller on call {}: {:.0f} s limit reached, hanging up",
                line.call_sid,
                self.max_call_s,
            )
            await line.hang_up()
        finally:
            listener.cancel()
            await asyncio.wait({listener})
            if self._murmur is not None:
                self._murmur.cancel()
                await asyncio.wait({self._murmur})
        latencies = [t.voice_to_voice_ms for t in self.turns if t.voice_to_voice_ms is not None]
        logger.info(
            "talking caller on call {}: done after {} answers; voice-to-voice ms {}",
            line.call_sid,
            len(self.turns),
            [round(ms) for ms in latencies],
        )

    def _reset(self) -> None:
        self.turns: list[CallerTurn] = []
        self.agent_turns: list[AgentTurn] = []
        self.transcript: list[TranscriptLine] = []
        self.recording = CallRecording()
        self._simulated = SimulatedCaller(self.spec)
        self._segmenter = TurnSegmenter(
            gap_ms=self.silence_gap_ms,
            threshold_dbfs=self.energy_threshold_dbfs,
            min_speech_ms=self.min_speech_ms,
        )
        self._voiced_at: list[float] = []
        # (start, end) of the reply being said, or the last one: monotonic.
        self._saying: tuple[float, float] | None = None
        self._awaiting_agent: list[CallerTurn] = []
        after_ms = self.spec.interrupt_after_ms
        self._barge_after_s = None if after_ms is None else after_ms / 1000
        self._barged_turn: int | None = None
        murmur_ms = self.spec.backchannel_after_ms
        self._murmur_after_s = None if murmur_ms is None else murmur_ms / 1000
        self._murmur: asyncio.Task[None] | None = None
        # (first frame sent, last frame's slot ended) of the backchannel, once said.
        self.backchannels: list[tuple[float, float]] = []

    # -- ears -----------------------------------------------------------------------------

    async def _listen(
        self, heard: AsyncIterator[HeardFrame], events: asyncio.Queue[_Heard | None]
    ) -> None:
        """Follow the agent's audio; queue each finished turn (or barge-in) to be answered."""
        segmenter = self._segmenter
        try:
            while True:
                deadline = segmenter.deadline
                try:
                    if deadline is None:
                        frame = await anext(heard)
                    else:
                        # No frames arrive while the agent is silent: the gap is a timeout.
                        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                            frame = await anext(heard)
                except TimeoutError:
                    self._turn_over(segmenter.close(), events)
                    continue
                except StopAsyncIteration:
                    return
                self._hear(frame, events)
        finally:
            events.put_nowait(None)

    def _hear(self, frame: HeardFrame, events: asyncio.Queue[_Heard | None]) -> None:
        segmenter = self._segmenter
        voiced = segmenter.is_voiced(frame)
        if self.record_audio:
            self.recording.add_agent(frame.at, frame.audio)
        if voiced:
            self._voiced_at.append(frame.at)
            self._match_agent_answers()
        # A person talking goes on with what they are saying and listens once they are done:
        # agent audio that starts under the caller's reply (the agent answering a pause in it,
        # then holding or taking that answer back) is not a turn to answer, and not the start
        # of the next one. Audio going on with a turn the caller talks over still counts.
        saying = self._saying
        opens = saying is None or not saying[0] <= frame.at < saying[1]
        self._turn_over(segmenter.push(frame, voiced=voiced, opens=opens), events)
        if (
            self._murmur_after_s is not None
            and self._murmur is None
            and segmenter.in_turn
            and segmenter.speech_s >= self._murmur_after_s
        ):
            self._murmur = asyncio.create_task(self._backchannel(), name="talking-caller-mhm")
        if (
            self._barge_after_s is not None
            and self._barged_turn is None
            and segmenter.in_turn
            and segmenter.next_index >= 1
            and segmenter.speech_s >= self._barge_after_s
        ):
            partial = segmenter.snapshot()
            if partial is not None:
                self._barged_turn = partial.index
                events.put_nowait(_Heard(partial, barge_in=True))

    def _turn_over(self, turn: AgentTurn | None, events: asyncio.Queue[_Heard | None]) -> None:
        if turn is None:
            return
        self.agent_turns.append(turn)
        if turn.index != self._barged_turn:  # a barged-into turn has had its answer
            events.put_nowait(_Heard(turn, barge_in=False))

    def _match_agent_answers(self) -> None:
        """Stamp each spoken reply with the first voiced agent frame after it."""
        waiting = []
        for turn in self._awaiting_agent:
            assert turn.speech_end_at is not None
            i = bisect.bisect_left(self._voiced_at, turn.speech_end_at)
            if i < len(self._voiced_at):
                turn.first_agent_audio_at = self._voiced_at[i]
            else:
                waiting.append(turn)
        self._awaiting_agent = waiting

    # -- mouth ----------------------------------------------------------------------------

    async def _backchannel(self) -> None:
        """Say the spec's murmur over the agent, once, and wait for it to go on."""
        line = self._line
        audio = await self.voice.speak(self.spec.backchannel)
        # Until it is said and a moment after, a pause of the agent is not the end of its turn.
        self._segmenter.keep_open_until(time.monotonic() + len(audio) / 8000 + BACKCHANNEL_WAIT_S)
        if line.ended:
            return
        start = time.monotonic()
        await line.say(audio)
        end = time.monotonic() + FRAME_S
        self.backchannels.append((start, end))
        self._segmenter.keep_open_until(end + BACKCHANNEL_WAIT_S)
        if self.record_audio:
            self.recording.add_caller(start, audio)
        logger.info("talking caller on call {}: backchannel said", line.call_sid)

    async def _answer(self, line: CallerLine, heard: _Heard) -> bool:
        """Transcribe a heard turn, decide, and speak; True when the caller is done."""
        agent = heard.turn
        started = time.perf_counter()
        text = await self.transcriber.transcribe_async(agent.audio)
        transcribe_ms = (time.perf_counter() - started) * 1000
        reply = self._simulated.reply(split_sentences(mark_questions(text)))
        turn = CallerTurn(
            index=len(self.turns),
            agent_turn=agent.index,
            agent_text=text,
            agent_start_at=agent.start_at,
            heard_until=agent.end_at,
            barge_in=heard.barge_in,
            reply=None if reply.hang_up else reply.utterance,
            topic=reply.topic,
            hang_up=reply.hang_up,
            transcribe_ms=transcribe_ms,
        )
        self.turns.append(turn)
        self.transcript.append(TranscriptLine("agent", text, agent.start_at))
        action = "hangs up" if reply.hang_up else "answers" if turn.reply else "stays silent"
        logger.info(
            "talking caller on call {}: agent turn {} ({:.1f} s{}) transcribed in {:.0f} ms, "
            "topic {}; caller {}",
            line.call_sid,
            agent.index,
            agent.speech_s,
            ", cutting in" if heard.barge_in else "",
            transcribe_ms,
            reply.topic.value if reply.topic else "none",
            action,
        )
        logger.debug("talking caller heard {!r}; replies {!r}", text, turn.reply)
        if reply.hang_up:
            if not await line.wait_ended(self.hang_up_wait_s):
                await line.hang_up()
            return True
        if turn.reply is None:
            return False
        started = time.perf_counter()
        audio = await self.voice.speak(turn.reply)
        turn.synthesize_ms = (time.perf_counter() - started) * 1000
        await self._say(line, audio, turn)
        return False

    async def _say(self, line: CallerLine, audio: bytes, turn: CallerTurn) -> None:
        """Speak `audio`, stamping when its first frame went out and when its last slot ended."""
        if line.ended or not audio:
            return
        # The first frame is queued on its own so its sending can be observed; both are
        # queued before either is sent, so no silent frame can slip in between.
        start = time.monotonic()
        self._saying = (start, start + len(audio) / PHONE_RATE + FRAME_S)
        first = asyncio.ensure_future(line.say(audio[:FRAME_BYTES]))
        rest = asyncio.ensure_future(line.say(audio[FRAME_BYTES:])) if audio[FRAME_BYTES:] else None
        try:
            await first
            if line.ended:
                return
            turn.speech_start_at = time.monotonic()
            if self.record_audio:
                self.recording.add_caller(turn.speech_start_at, audio)
            assert turn.reply is not None
            self.transcript.append(TranscriptLine("caller", turn.reply, turn.speech_start_at))
            if rest is not None:
                await rest
            turn.speech_end_at = time.monotonic() + (0.0 if line.ended else FRAME_S)
        finally:
            for task in (first, rest):
                if task is not None and not task.done():
                    task.cancel()
        self._awaiting_agent.append(turn)
        self._match_agent_answers()
