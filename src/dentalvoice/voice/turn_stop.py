"""Ending the caller's turn on the words when the turn model hesitates.

Smart Turn decides from the audio alone, once Silero reports the caller quiet. When it says
"not finished", Pipecat waits for the silence fallback (`TurnTaking.silence_fallback_s`), and
those turns made the slow tail of voice-to-voice: about 1.1 s against 0.45 s for the rest
(`benchmarks/latency.py`). The final transcript arrives about 0.3 s after the caller stopped;
if it reads as a finished sentence (`sounds_finished`) the turn ends there. When the caller
was only pausing after all, they start again within a moment and the agent processor takes
its reply back and answers the whole utterance.

A final transcript that arrives while the caller is speaking again covers only what they said
before their pause. Pipecat takes it as the turn's final transcript all the same, and when
Smart Turn then calls the turn complete it ends it at once: the agent answered "No pain"
while "maybe a one" was still being transcribed, and took that answer back when the rest came
in (a `TranscriptionUserTurnStartStrategy` turn). Here the turn waits for the transcript of
the speech that ended it.
"""

from __future__ import annotations

from pipecat.frames.frames import TranscriptionFrame
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy

from dentalvoice.conversation.nlu.completeness import sounds_finished


# Pipecat's strategies are untyped: its __init_subclass__, `clear` and the trigger.
class WordsAwareTurnStopStrategy(TurnAnalyzerUserTurnStopStrategy):  # type: ignore[no-untyped-call]
    """Smart Turn's stop strategy, overruled by a finished-sounding final transcript."""

    async def _handle_transcription(self, frame: TranscriptionFrame) -> None:
        await super()._handle_transcription(frame)
        if self._vad_user_speaking:
            # The words before the caller's pause: not the final transcript of this speech.
            self._transcript_finalized = False
            return
        if (
            self._turn_complete
            or not self._vad_stopped
            or not frame.finalized
            or not sounds_finished(frame.text)
        ):
            return
        # The analyzer still buffers this speech for its fallback; it would end a phantom turn.
        self._turn_analyzer.clear()  # type: ignore[no-untyped-call]
        self._turn_complete = True
        await self._maybe_trigger_user_turn_stopped()  # type: ignore[no-untyped-call]
