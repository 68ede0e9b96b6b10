"""An answered call's media stream, run through the Pipecat voice pipeline.

Twilio's stream → `TwilioFrameSerializer` (μ-law 8 kHz in and out) → Silero VAD → local Whisper →
Smart Turn v3 deciding the end of the caller's turn → the agent → local Piper → Twilio. The
input runs at 16 kHz: Smart Turn misbehaves at 8 kHz.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from pipecat.turns.user_turn_processor import UserTurnProcessor

from dentalvoice.config import Settings
from dentalvoice.conversation.factory import build_agent
from dentalvoice.conversation.qualification import Qualification
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.telephony.media import LiveCall, MediaChannel
from dentalvoice.voice import models
from dentalvoice.voice.actions import CallActions
from dentalvoice.voice.agent_processor import AgentProcessor, TurnTiming
from dentalvoice.voice.context import call_context
from dentalvoice.voice.services import LocalPiperTTS, LocalWhisperSTT

PIPELINE_IN_RATE = 16_000
TWILIO_RATE = 8_000


@dataclass(frozen=True, slots=True)
class VoiceCallResult:
    """What one call's conversation produced (in memory; the CRM step persists it)."""

    attempt_id: uuid.UUID
    qualification: Qualification
    transcript: list[tuple[str, str]]
    turns: list[TurnTiming]


@dataclass
class VoiceCallHandler:
    """A `MediaHandler` that holds the conversation over the call's stream."""

    settings: Settings
    db: Database
    clock: Callable[[], datetime] = utcnow
    # The latest calls' results, newest last (bounded: a long-running server keeps a few).
    results: deque[VoiceCallResult] = field(default_factory=lambda: deque(maxlen=100))
    _added: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def warm_up(self) -> None:
        """Load the speech models now (in a thread), so the first call does not wait ~2 s."""
        await asyncio.to_thread(models.whisper)
        await asyncio.to_thread(models.piper)

    async def wait_results(self, count: int) -> list[VoiceCallResult]:
        """Wait until `count` calls have finished here (their results recorded)."""
        async with self._added:
            await self._added.wait_for(lambda: len(self.results) >= count)
        return list(self.results)

    async def __call__(self, *, channel: MediaChannel, call: LiveCall) -> None:
        """Run the pipeline until the call ends (our `EndCall`, Twilio's `stop`, a hang-up)."""
        context = await call_context(
            db=self.db,
            attempt_id=call.attempt_id,
            now=self.clock(),
            default_from=self.settings.twilio_from_number,
        )
        agent = build_agent(context=context)
        actions = CallActions(db=self.db, attempt_id=call.attempt_id)
        processor = AgentProcessor(agent=agent, on_action=actions)
        pipeline, transport = self._pipeline(call, processor)
        task = PipelineTask(
            pipeline,
            params=PipelineParams(
                audio_in_sample_rate=PIPELINE_IN_RATE, audio_out_sample_rate=TWILIO_RATE
            ),
            idle_timeout_secs=None,
            enable_rtvi=False,
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
                    outcome=qualification.outcome, opted_out=qualification.opted_out
                )
            finally:
                self.results.append(
                    VoiceCallResult(
                        attempt_id=call.attempt_id,
                        qualification=qualification,
                        transcript=list(agent.state.transcript),
                        turns=processor.turns,
                    )
                )
                async with self._added:
                    self._added.notify_all()
        logger.info("voice call ended: attempt={} turns={}", call.attempt_id, len(processor.turns))

    def _pipeline(
        self, call: LiveCall, processor: AgentProcessor
    ) -> tuple[Pipeline, FastAPIWebsocketTransport]:
        # No auto hang-up: our TwiML has nothing after </Connect>, so closing the socket at the
        # end of the pipeline ends the call. Pipecat's REST hang-up would also fire when the
        # stream ends because Twilio redirected the call (a voicemail, a transfer) and cut off
        # the very TwiML that replaced the stream.
        serializer = TwilioFrameSerializer(
            stream_sid=call.stream_sid,
            call_sid=call.call_sid,
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
        transport = FastAPIWebsocketTransport(
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
                VADProcessor(vad_analyzer=SileroVADAnalyzer()),
                LocalWhisperSTT(),
                UserTurnProcessor(),
                processor,
                LocalPiperTTS(),
                transport.output(),
            ]
        )
        return pipeline, transport
