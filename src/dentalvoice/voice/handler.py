"""An answered call's media stream, run through the Pipecat voice pipeline.

Twilio's stream → `PhoneLineSerializer` (μ-law 8 kHz in and out) → Silero VAD → STT → Smart
Turn v3 deciding the end of the caller's turn → the agent → TTS → Twilio. The input runs at
16 kHz: Smart Turn misbehaves at 8 kHz.

When the clinic has a GHL calendar, its free slots start downloading as soon as the call is
answered (`voice.calendar`), beside the greeting rather than before it.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from loguru import logger
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams
from pipecat.turns.user_start import (
    TranscriptionUserTurnStartStrategy,
    VADUserTurnStartStrategy,
)
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from threadpoolctl import threadpool_limits

from dentalvoice.config import Settings
from dentalvoice.conversation import nlu
from dentalvoice.conversation.agent import Action, Agent
from dentalvoice.conversation.qualification import Qualification
from dentalvoice.crm.client import GhlClient
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.telephony.control import CallControl
from dentalvoice.telephony.media import LiveCall, MediaChannel
from dentalvoice.voice.actions import CallActions
from dentalvoice.voice.agent_processor import AgentProcessor, SpeechListener
from dentalvoice.voice.agents import AgentFactory, agent_factory
from dentalvoice.voice.calendar import GhlCalendar
from dentalvoice.voice.context import AnsweredCall, answered_call
from dentalvoice.voice.latency import LatencyObserver, TurnLatency
from dentalvoice.voice.line_input import InlineSileroVAD, LineTurnProcessor, LineVADProcessor
from dentalvoice.voice.playback import PhoneLineTransport
from dentalvoice.voice.providers import SpeechProviders, speech_providers
from dentalvoice.voice.serializer import PhoneLineSerializer
from dentalvoice.voice.turn_stop import WordsAwareTurnStopStrategy

PIPELINE_IN_RATE = 16_000
TWILIO_RATE = 8_000


@dataclass(frozen=True, slots=True)
class TurnTaking:
    """How the pipeline decides who is speaking: Silero starts the caller's turn (and
    interrupts the agent), Smart Turn v3 ends it.

    The defaults are tuned for a phone line. Pipecat's own (`STOCK_TURN_TAKING`) gate speech
    on a volume smoothed over ~5 chunks (0.6 of full scale) and then 200 ms of it: ~400 ms
    before a barge-in was heard (tests/voice/test_voice_call.py). A phone line carries no room
    noise to guard against, so a lower gate and 100 ms of speech interrupt the agent in
    180–250 ms (150 ms of speech: 250–290 ms, too close to the 300 ms budget). The cost: a
    short "mhm" interrupts too. When Smart Turn thinks the caller is mid-sentence, the turn
    still ends after `silence_fallback_s`: Pipecat's 3 s suits open conversation, while
    answers to short questions rarely pause that long, and a 3 s wait is what callers hang
    up on. With a 1.5 s fallback it set the median: from Silero's stop to the first audio,
    turns took 300–550 ms when Smart Turn said complete at once and 1.5–2.1 s when it did not
    (measured in the demo call; Smart Turn does call whole answers complete, at 0.75–0.99, so
    the slow turns are the ones cut at a pause).

    With `hold`, speech over the agent holds its audio rather than interrupting it, and the
    agent processor decides from the caller's words (a backchannel plays on; see
    `voice.agent_processor`); without, Pipecat interrupts at the first sign of speech.
    """

    vad: VADParams = field(default_factory=lambda: VADParams(start_secs=0.1, min_volume=0.35))
    silence_fallback_s: float = 0.8
    hold: bool = True
    # End the turn on a finished-sounding transcript when Smart Turn hesitates (`turn_stop`).
    words_end_turn: bool = True

    def strategies(self) -> UserTurnStrategies:
        """The turn strategies for one call (Smart Turn's analyzer holds per-call state)."""
        analyzer = LocalSmartTurnAnalyzerV3(
            params=SmartTurnParams(stop_secs=self.silence_fallback_s)
        )
        interrupts = not self.hold
        stop_strategy = (
            WordsAwareTurnStopStrategy if self.words_end_turn else TurnAnalyzerUserTurnStopStrategy
        )
        return UserTurnStrategies(
            start=[
                VADUserTurnStartStrategy(enable_interruptions=interrupts),
                TranscriptionUserTurnStartStrategy(enable_interruptions=interrupts),
            ],
            stop=[stop_strategy(turn_analyzer=analyzer)],
        )


# Pipecat's Twilio example: default VAD and Smart Turn settings, interruptions at once (the
# benchmarks' baseline).
STOCK_TURN_TAKING = TurnTaking(
    vad=VADParams(), silence_fallback_s=3.0, hold=False, words_end_turn=False
)


@dataclass(frozen=True, slots=True)
class VoiceCallResult:
    """What one call's conversation produced (kept in memory for demos and evaluations; the
    call record in the database is what the CRM step reads)."""

    attempt_id: uuid.UUID
    qualification: Qualification
    transcript: list[tuple[str, str]]
    turns: list[TurnLatency]
    actions: list[Action]
    finished: bool  # the agent ended the conversation itself (goodbye or hand-over)


@dataclass(frozen=True, slots=True)
class CallStart:
    """What an answered call starts with."""

    agent: Agent
    actions: CallActions
    calendar: GhlCalendar | None  # its free slots downloading; None: no calendar offered


@dataclass
class VoiceCallHandler:
    """A `MediaHandler` that holds the conversation over the call's stream."""

    settings: Settings
    db: Database
    clock: Callable[[], datetime] = utcnow
    # None: the providers the settings ask for (local models by default).
    providers: SpeechProviders | None = None
    # None: the agent LLM_PROVIDER asks for (the scripted one by default).
    agent_factory: AgentFactory | None = None
    turn_taking: TurnTaking = field(default_factory=TurnTaking)
    # The process's live-call control (transfers, hang-ups); None without Twilio.
    control: CallControl | None = None
    # The process's GHL client, for the clinic's calendar; None: slots are not offered.
    ghl: GhlClient | None = None
    # Follows what callers hear of the agent: the demo's live transcript (every call here
    # reports to it, unlabelled).
    listener: SpeechListener | None = None
    # The latest calls' results, newest last (bounded: a long-running server keeps a few).
    results: deque[VoiceCallResult] = field(default_factory=lambda: deque(maxlen=100))
    _added: asyncio.Condition = field(default_factory=asyncio.Condition)

    _speech: SpeechProviders = field(init=False)
    _agents: AgentFactory = field(init=False)

    def __post_init__(self) -> None:
        self._speech = self.providers or speech_providers(self.settings)
        self._agents = self.agent_factory or agent_factory(self.settings)

    async def warm_up(self) -> None:
        """Load the speech models now (in a thread), so the first call does not wait ~2 s."""
        # One BLAS thread: calls are the parallelism. With OpenBLAS's default (one per core),
        # each Smart Turn decision's small matrix products woke a second thread that spun for
        # as long again: 122 ms of CPU for a 62 ms decision, 55 ms with one thread
        # (benchmarks/turn_models.py), which at dozens of calls is a core's worth of waste.
        threadpool_limits(limits=1, user_api="blas")
        await self._speech.warm_up()
        # The agent's date parser loads its data on first use: ~150 ms, in the first call's
        # set-up on the event loop otherwise.
        await asyncio.to_thread(nlu.warm_up)
        # What is loaded now lives as long as the process: out of the cyclic collector with it.
        # A full collection over those ~350k objects stalled the event loop, and with it every
        # call's audio, for 180-300 ms (measured in the latency benchmark's process). Nothing
        # is collected first: after the loads a collection found no garbage (0 unreachable of
        # ~240k objects) and was itself a 20-200 ms stall on the loop.
        # Once per process: a later warm-up (the demo and the evaluations warm a handler per
        # call) loads nothing new, and freezing again would keep the garbage of the calls
        # before it for the life of the process.
        if gc.get_freeze_count() == 0:
            gc.freeze()

    async def aclose(self) -> None:
        """Close what the speech providers share (HTTP clients of the cloud ones)."""
        await self._speech.aclose()

    async def wait_results(self, count: int) -> list[VoiceCallResult]:
        """Wait until `count` calls have finished here (their results recorded)."""
        async with self._added:
            await self._added.wait_for(lambda: len(self.results) >= count)
        return list(self.results)

    async def begin(self, call: LiveCall) -> CallStart:
        """Read what the call starts with, start the calendar's fetch, build the agent.

        Args:
            call: The answered call.

        Returns:
            The call's agent, action sink and calendar (the fetch running, not awaited).

        Raises:
            dialer.progress.UnknownAttempt: No such attempt.
        """
        answered = await answered_call(
            db=self.db,
            attempt_id=call.attempt_id,
            now=self.clock(),
            default_from=self.settings.twilio_from_number,
        )
        # Started before anything else, not awaited: the greeting does not wait for GHL.
        calendar = self._calendar(answered, call.attempt_id)
        agent = self._agents(replace(answered.context, calendar=calendar))
        actions = CallActions.for_call(
            db=self.db,
            settings=self.settings,
            call=call,
            control=self.control,
            clock=self.clock,
            calendar=calendar,
        )
        return CallStart(agent=agent, actions=actions, calendar=calendar)

    async def __call__(self, *, channel: MediaChannel, call: LiveCall) -> None:
        """Run the pipeline until the call ends (our `EndCall`, Twilio's `stop`, a hang-up)."""
        start = await self.begin(call)
        agent, actions, calendar = start.agent, start.actions, start.calendar
        processor = AgentProcessor(
            agent=agent, on_action=actions, listener=self.listener, hold=self.turn_taking.hold
        )
        latency = LatencyObserver(agent=processor)
        # Silero and Smart Turn open an ONNX session per call (~75 ms each): built in a thread,
        # so the other calls' audio keeps flowing meanwhile.
        vad, turns = await asyncio.to_thread(self._turn_analysis)
        pipeline, transport = self._pipeline(call, processor, vad=vad, turns=turns)
        task = PipelineTask(
            pipeline,
            params=PipelineParams(
                audio_in_sample_rate=PIPELINE_IN_RATE, audio_out_sample_rate=TWILIO_RATE
            ),
            observers=[latency],
            idle_timeout_secs=None,
            enable_rtvi=False,
            # Nothing reads Pipecat's turn tracking; its observer is told of every frame.
            enable_turn_tracking=False,
        )

        # Twilio closes the socket after `stop` (the caller hung up, or a redirect took the
        # call); the transport only reports it, so the pipeline is cancelled here.
        async def _gone(_transport: object, _client: object) -> None:
            await task.cancel()

        transport.add_event_handler("on_client_disconnected", _gone)

        try:
            runner = PipelineRunner(handle_sigint=False)
            await runner.add_workers(task)
            await runner.run()
        finally:
            qualification = agent.state.qualification
            try:
                await actions.finished(
                    qualification=qualification,
                    transcript=list(agent.state.transcript),
                    latency=latency.turns,
                )
            finally:
                self.results.append(
                    VoiceCallResult(
                        attempt_id=call.attempt_id,
                        qualification=qualification,
                        transcript=list(agent.state.transcript),
                        turns=latency.turns,
                        actions=list(agent.state.actions),
                        finished=agent.state.finished,
                    )
                )
                async with self._added:
                    self._added.notify_all()
                if calendar is not None:
                    await calendar.aclose()
        logger.info("voice call ended: attempt={} turns={}", call.attempt_id, len(latency.turns))

    def _calendar(self, answered: AnsweredCall, attempt_id: uuid.UUID) -> GhlCalendar | None:
        """The clinic's calendar for this call, its free slots already downloading."""
        if self.ghl is None or answered.calendar is None:
            return None
        calendar = GhlCalendar(
            ghl=self.ghl,
            target=answered.calendar,
            now=answered.context.now,
            attempt_id=attempt_id,
        )
        calendar.start()
        return calendar

    def _turn_analysis(self) -> tuple[InlineSileroVAD, UserTurnStrategies]:
        return InlineSileroVAD(params=self.turn_taking.vad), self.turn_taking.strategies()

    def _pipeline(
        self,
        call: LiveCall,
        processor: AgentProcessor,
        *,
        vad: InlineSileroVAD,
        turns: UserTurnStrategies,
    ) -> tuple[Pipeline, PhoneLineTransport]:
        # No auto hang-up: our TwiML has nothing after </Connect>, so closing the socket at the
        # end of the pipeline ends the call. Pipecat's REST hang-up would also fire when the
        # stream ends because Twilio redirected the call (a voicemail, a transfer) and cut off
        # the very TwiML that replaced the stream.
        serializer = PhoneLineSerializer(
            stream_sid=call.stream_sid,
            call_sid=call.call_sid,
            params=PhoneLineSerializer.InputParams(auto_hang_up=False),
        )
        transport = PhoneLineTransport(
            websocket=call.raw,
            params=FastAPIWebsocketParams(
                audio_in_enabled=True,
                audio_out_enabled=True,
                add_wav_header=False,
                serializer=serializer,
                # Twilio's upgrade may carry no Origin header; the signature and the one-time
                # token already authenticated the socket.
                allowed_origins=[],
            ),
        )
        pipeline = Pipeline(
            [
                transport.input(),
                # The quiet after speech flows on past Smart Turn's silence fallback, which
                # counts it, with room to spare.
                LineVADProcessor(
                    vad_analyzer=vad, hangover_s=self.turn_taking.silence_fallback_s + 0.5
                ),
                self._speech.stt(),
                LineTurnProcessor(user_turn_strategies=turns),
                processor,
                self._speech.tts(),
                transport.output(),
            ]
        )
        return pipeline, transport
