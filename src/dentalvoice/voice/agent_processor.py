"""The conversation agent inside the Pipecat pipeline: caller turns in, sentences and actions out.

Placed after STT and the user-turn processor. It collects the transcripts of a caller turn,
asks the agent when the turn is over, and pushes each sentence to TTS as soon as the agent
yields it (the first sentence is speaking while the rest is still being decided). Actions go
to an `ActionSink` (telephony, DNC, the CRM record); `EndCall` ends the pipeline once the
goodbye has been spoken, and the serializer hangs up the call. A `Transfer` waits until its
one-line message has been played to the caller: the redirect that follows cuts the stream.

When the caller speaks while the agent has audio to play, the agent is held, not cut off
(`voice.playback`), until the caller's words say which it was:

- a **backchannel** ("mhm", "yeah, okay") over anything but the agent's last sentence: the
  agent plays on from where it was held, and the murmur is not a turn;
- the caller **going on with their own turn** (they paused, the agent answered the first half,
  and they resumed within `RESUME_WINDOW_S`, before they could have heard the answer begin):
  that answer is taken back — the agent's state goes back to before it — and the whole
  utterance is answered instead (STT is told where each utterance starts, and transcribes
  the whole of it again as it goes on: `voice.utterance`);
- anything else is a **barge-in**: the held audio is dropped, and the agent's line in the
  transcript keeps only the sentences the caller heard begin.

A caller talking over the agent for `CUT_IN_S` is taking the turn, whatever they say.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    ControlFrame,
    EndWorkerFrame,
    Frame,
    InterruptionFrame,
    StartFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from dentalvoice.conversation.agent import (
    Action,
    Agent,
    Checkpoint,
    Do,
    EndCall,
    Say,
    Transfer,
    TurnEvent,
)
from dentalvoice.conversation.nlu.backchannel import is_backchannel
from dentalvoice.voice.playback import PausePlaybackFrame, ResumePlaybackFrame
from dentalvoice.voice.utterance import UtteranceStartFrame, UtteranceTranscriptionFrame

ActionSink = Callable[[Action], Awaitable[None]]


class SpeechListener(Protocol):
    """Follows what the caller hears of the agent (a live transcript). Called on the event
    loop: it must not block."""

    def started(self, sentence: str) -> None:
        """A sentence's audio began playing to the caller."""

    def cut(self) -> None:
        """The caller took the turn from a reply that had begun playing: the rest is dropped."""


# A turn ended but its transcript has not arrived yet: how long to wait for it.
TRANSCRIPT_GRACE_S = 1.5
# The longest a transfer waits for its message to play (a TTS failure must not strand the
# caller, who asked for a person, with no transfer at all).
PLAYOUT_WAIT_S = 15.0
# A caller who starts again this soon after their turn was taken as over is still on it: no
# one answers a reply they have not yet heard. Turns are decided ~0.3 s after the speech
# ends and speech is detected 0.1 s after it starts, so this covers pauses up to ~1.2 s.
RESUME_WINDOW_S = 0.8
# ... unless the answer's audio had been going out for longer than this when their speech
# was detected: then they may be answering it ("Sorry, what was that?"), a new turn. The
# quickest spoken reaction to a heard word takes ~0.2 s and Silero reports speech 0.1 s
# after it starts; a real phone line only adds to the delay before the answer is heard.
REACTION_S = 0.3
# How many of the agent's last sentences STT is primed with: a question and its lead-in
# ("Do you have dental insurance? If so, which company is it with?").
CONTEXT_SENTENCES = 2
# Talking over the agent this long is taking the turn, not acknowledging it. The agent is
# silent while held, so this only bounds the hold (the output's write gives up after 10 s);
# a murmur's words can take ~1.5 s to be in on a loaded machine.
CUT_IN_S = 3.0


@dataclass
class _TurnOver(ControlFrame):
    """The end of caller turn `turn`, queued by the processor to itself.

    Turn frames are system frames: they overtake the transcripts queued before them, the one
    whose arrival ended the turn among them. Queued, the end is handled behind those.
    """

    turn: int


@dataclass(slots=True)
class _Reply:
    """One agent turn: what it answered, what it said and how much of it was heard."""

    utterance: str | None  # the caller's turn it answers; None for the opening
    checkpoint: Checkpoint | None  # the agent before this turn
    transcript_at: int  # length of the transcript before this turn
    decided_at: float  # monotonic: when the caller's turn was taken as over
    said: list[str] = field(default_factory=list)  # every sentence, spoken or muted
    pushed: int = 0  # sentences sent to TTS
    started: int = 0  # sentences whose audio began playing
    audio_at: float | None = None  # monotonic: when its first sentence's audio began
    generated: bool = False  # the agent's turn has run to its end
    acted: bool = False  # an action was carried out
    heard: int | None = None  # sentences heard, once the caller cut the agent off

    @property
    def on_last_sentence(self) -> bool:
        """Whether the sentence playing is the turn's last (often the question)."""
        return self.generated and self.started >= len(self.said)


@dataclass(slots=True)
class _Overlap:
    """The caller started speaking while the agent had something to say."""

    reply: _Reply
    held: bool  # the agent's audio is being held
    heard: int  # sentences whose audio had begun when the caller started
    on_last_sentence: bool
    resumed: bool  # the caller went on with the turn the reply answers


class AgentProcessor(FrameProcessor):
    """Drives one call's `Agent` from caller turns."""

    def __init__(
        self,
        *,
        agent: Agent,
        on_action: ActionSink | None = None,
        listener: SpeechListener | None = None,
        hold: bool = True,
    ) -> None:
        """Create the processor.

        Args:
            agent: The call's agent (guards included).
            on_action: Where actions go; None records them on the agent's state only.
            listener: Told each sentence as its audio starts, and of replies cut off.
            hold: Hold the agent's audio when the caller speaks over it, and decide from their
                words (needs the `voice.playback` output and user-turn strategies that do not
                interrupt on their own). False: the pipeline interrupts at once (Pipecat's
                default), and every overlap is a barge-in.
        """
        super().__init__()
        self._agent = agent
        self._on_action = on_action
        self._listener = listener
        self._hold = hold
        self._heard: list[str] = []
        # The last transcript in `_heard` covers the caller's words the last reply answered.
        self._heard_answered = False
        # The agent's last sentences whose audio began: what the caller answers, most likely.
        self._last_said: deque[str] = deque(maxlen=CONTEXT_SENTENCES)
        self._turns = 0  # caller turns started
        self._turn_over = False
        self._speaking_task: asyncio.Task[None] | None = None
        self._grace_task: asyncio.Task[None] | None = None
        self._cut_in_task: asyncio.Task[None] | None = None
        self._ending = False
        self._muted = False
        self._reply: _Reply | None = None
        self._overlap: _Overlap | None = None
        # Sentences sent to TTS whose audio has not finished playing. The output transport
        # reports the end of each sentence's audio (a `BotStoppedSpeakingFrame` per TTS
        # context, in order with the audio), so the count reaching 0 means all was played.
        self._unplayed = 0
        self._played_out = asyncio.Event()
        self._played_out.set()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Route caller turns to the agent; pass every frame on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, _TurnOver):
            await self._turn_ended(frame.turn)
            return
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self._start_reply(None, checkpoint=None)
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._turns += 1
            self._turn_over = False
            going_on = bool(self._heard) or self._grace_task is not None
            if self._grace_task is not None:
                # The caller went on: what they said before belongs to this turn.
                await self.cancel_task(self._grace_task)
                self._grace_task = None
            await self._caller_started()
            if not going_on and (self._overlap is None or not self._overlap.resumed):
                context = " ".join(self._last_said)
                await self.push_frame(UtteranceStartFrame(context=context), FrameDirection.UPSTREAM)
        elif isinstance(frame, TranscriptionFrame) and frame.text.strip():
            self._hear(frame)
            if self._turn_over:
                await self._answer()
            elif self._acknowledged():
                # The words are in before the turn is decided: a murmur needs no decision.
                await self._play_on()
        elif isinstance(frame, UserStoppedSpeakingFrame):
            await self.queue_frame(_TurnOver(turn=self._turns))
        elif isinstance(frame, BotStartedSpeakingFrame):
            # From the output, one per sentence (its audio starts after the last one's end).
            reply = self._reply
            if reply is not None:
                reply.started += 1
                if reply.audio_at is None:
                    reply.audio_at = time.monotonic()
                # The sentences pushed are the first ones said: muting stops the pushes.
                if reply.started <= reply.pushed:
                    sentence = reply.said[reply.started - 1]
                    self._last_said.append(sentence)
                    if self._listener is not None:
                        self._listener.started(sentence)
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._unplayed = max(0, self._unplayed - 1)
            if self._unplayed == 0:
                self._played_out.set()
        elif isinstance(frame, InterruptionFrame):
            # The pipeline interrupted on its own (`hold` off): the caller talked over the
            # agent and the rest of the reply is not spoken.
            self._mute(heard=self._reply.started if self._reply is not None else 0)

    # -- the caller -----------------------------------------------------------------------

    def _hear(self, frame: TranscriptionFrame) -> None:
        if isinstance(frame, UtteranceTranscriptionFrame) and frame.replaces_previous:
            if self._heard:
                self._heard.pop()
            else:
                # What it replaces was answered: the caller is going on with that turn. (Should
                # that answer have acted, it stands, and the words it answered come again.)
                self._heard_answered = True
        self._heard.append(frame.text.strip())

    async def _turn_ended(self, turn: int) -> None:
        if turn != self._turns:
            return  # the caller started again before the transcripts were in: one turn
        self._turn_over = True
        if self._heard:
            await self._answer()
        else:
            self._grace_task = self.create_task(self._wait_for_transcript())

    async def _caller_started(self) -> None:
        reply = self._reply
        if not self._hold or reply is None or self._ending or self._overlap is not None:
            return  # (an overlap already open: the caller paused and went on within it)
        now = time.monotonic()
        resumed = (
            reply.checkpoint is not None
            and not reply.acted
            and now - reply.decided_at <= RESUME_WINDOW_S
            and (reply.audio_at is None or now - reply.audio_at <= REACTION_S)
        )
        busy = self._unplayed > 0 or (
            self._speaking_task is not None and not self._speaking_task.done()
        )
        if not busy and not resumed:
            return
        if busy:
            logger.debug(
                "caller speaking over the agent ({} ms into its audio; {}): holding it",
                "-" if reply.audio_at is None else round((now - reply.audio_at) * 1000),
                "going on with their turn" if resumed else "answering it or murmuring",
            )
            await self.push_frame(PausePlaybackFrame())
            self._cut_in_task = self.create_task(self._cut_in())
        self._overlap = _Overlap(
            reply=reply,
            held=busy,
            heard=reply.started,
            on_last_sentence=reply.on_last_sentence,
            resumed=resumed,
        )

    async def _cut_in(self) -> None:
        await asyncio.sleep(CUT_IN_S)  # a deadline, not a wait for work
        overlap = self._overlap
        if overlap is not None and overlap.held:
            overlap.held = False
            await self._interrupt(overlap)

    async def _wait_for_transcript(self) -> None:
        await asyncio.sleep(TRANSCRIPT_GRACE_S)  # a deadline, not a wait for work
        self._turn_over = False  # noise without words: not a turn
        overlap, self._overlap = self._overlap, None
        await self._stop_cut_in()
        if overlap is not None and overlap.held:
            logger.debug("no words over the agent: it plays on")
            await self.push_frame(ResumePlaybackFrame())

    async def _answer(self) -> None:
        if self._grace_task is not None:
            await self.cancel_task(self._grace_task)
            self._grace_task = None
        self._turn_over = False
        if self._acknowledged():
            await self._play_on()
            return
        utterance = " ".join(self._heard)
        whole = self._heard_answered
        self._forget_heard()
        overlap, self._overlap = self._overlap, None
        await self._stop_cut_in()
        checkpoint = None
        if overlap is not None:
            reply = overlap.reply
            if overlap.resumed and not reply.acted and reply.checkpoint is not None:
                # The caller had not finished: answer the whole of what they said.
                if overlap.held:
                    await self._interrupt(overlap)
                await self._take_back(reply)
                checkpoint = reply.checkpoint
                if not whole:
                    utterance = f"{reply.utterance} {utterance}"
            elif overlap.held:
                await self._interrupt(overlap)
        # One agent turn at a time: the previous one finishes (muted if interrupted) first.
        if self._speaking_task is not None:
            await self._speaking_task
        self._start_reply(utterance, checkpoint=checkpoint or self._agent.checkpoint())

    def _acknowledged(self) -> bool:
        """Whether the caller, speaking over the agent, has only said "mhm" (or the like)."""
        overlap = self._overlap
        return (
            overlap is not None
            and overlap.held
            and not overlap.on_last_sentence
            and is_backchannel(" ".join(self._heard))
        )

    async def _play_on(self) -> None:
        logger.debug("caller only acknowledged: the agent plays on")
        self._forget_heard()
        self._overlap = None
        await self._stop_cut_in()
        await self.push_frame(ResumePlaybackFrame())

    def _forget_heard(self) -> None:
        self._heard.clear()
        self._heard_answered = False

    async def _stop_cut_in(self) -> None:
        if self._cut_in_task is not None:
            await self.cancel_task(self._cut_in_task)
            self._cut_in_task = None

    async def _interrupt(self, overlap: _Overlap) -> None:
        logger.debug("caller took the turn: the agent's held audio is dropped")
        self._mute(heard=overlap.heard)
        # Downstream only: TTS drops its work, the output its queue, Twilio its buffer.
        await self.push_frame(InterruptionFrame())

    def _mute(self, *, heard: int) -> None:
        reply = self._reply
        # Cut off as the caller knows it: the reply had begun playing and had more to play.
        if self._listener is not None and reply is not None and reply.started and self._unplayed:
            self._listener.cut()
        self._muted = True
        self._unplayed = 0
        self._played_out.set()
        if reply is not None and reply.heard is None:
            reply.heard = heard
            if reply.generated:
                self._keep_heard(reply)

    async def _take_back(self, reply: _Reply) -> None:
        if self._speaking_task is not None:
            await self.cancel_task(self._speaking_task)
            self._speaking_task = None
        assert reply.checkpoint is not None
        self._agent.restore(reply.checkpoint)
        logger.debug("caller went on after a pause: the agent's last turn is taken back")

    def _keep_heard(self, reply: _Reply) -> None:
        heard = " ".join(reply.said[: reply.heard])
        self._agent.state.keep_heard(since=reply.transcript_at, heard=heard)

    # -- the agent ------------------------------------------------------------------------

    def _start_reply(self, utterance: str | None, *, checkpoint: Checkpoint | None) -> None:
        if self._ending:
            return
        self._muted = False
        reply = _Reply(
            utterance=utterance,
            checkpoint=checkpoint,
            transcript_at=len(self._agent.state.transcript),
            decided_at=time.monotonic(),
        )
        self._reply = reply
        events = self._agent.opening() if utterance is None else self._agent.respond(utterance)
        self._speaking_task = self.create_task(self._speak(reply, events))

    async def _speak(self, reply: _Reply, events: AsyncIterator[TurnEvent]) -> None:
        async for event in events:
            if isinstance(event, Say):
                reply.said.append(event.text)
                if self._muted:
                    continue
                reply.pushed += 1
                self._unplayed += 1
                self._played_out.clear()
                await self.push_frame(TTSSpeakFrame(event.text))
            elif isinstance(event, Do):
                reply.acted = True
                await self._act(event.action)
        reply.generated = True
        if reply.heard is not None:
            self._keep_heard(reply)

    async def _act(self, action: Action) -> None:
        if isinstance(action, Transfer):
            try:
                await asyncio.wait_for(self._played_out.wait(), timeout=PLAYOUT_WAIT_S)
            except TimeoutError:
                logger.warning("transfer message not played out in {} s", PLAYOUT_WAIT_S)
        if self._on_action is not None:
            try:
                await self._on_action(action)
            except Exception as exc:  # noqa: BLE001 - a failed action must not end the call
                logger.error(
                    "voice action {} failed: {}", type(action).__name__, type(exc).__name__
                )
        if isinstance(action, EndCall):
            # Queued behind the goodbye sentence, so it is spoken before the line closes.
            self._ending = True
            await self.push_frame(EndWorkerFrame(reason=type(action).__name__))
