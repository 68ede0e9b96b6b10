"""Frames by which STT and the agent processor agree on what one caller utterance is.

Silero cuts an answer at each pause, and STT transcribes each piece as it ends. tiny.en hears a
short piece after a comma much worse alone than inside the whole answer ("Yes, I'd be new"
alone: "Happy New"; `benchmarks/transcription.py`: 116 words of 1,481 missed whole, 131
piece by piece). So STT transcribes the utterance so far at each piece and says which transcripts
the new one replaces; the agent processor, which decides when the caller's speech starts a
new utterance rather than going on with one it may already have answered, tells STT so, and
what the agent had just said: the question the utterance answers primes Whisper.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.frames.frames import SystemFrame, TranscriptionFrame


@dataclass
class UtteranceStartFrame(SystemFrame):
    """Sent upstream when the caller has started a new utterance: the speech now going on is
    not the rest of what they said before (which was answered, or was a murmur).

    Attributes:
        context: The agent's last words the caller heard begin, which the utterance likely
            answers (Whisper is primed with them).
    """

    context: str = ""


@dataclass
class UtteranceTranscriptionFrame(TranscriptionFrame):
    """The transcript of the caller's utterance so far, from its start.

    Attributes:
        replaces_previous: It replaces the transcript before it (the same utterance, up to
            the piece before this one).
    """

    replaces_previous: bool = False
