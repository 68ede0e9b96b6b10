"""Whisper on a window fit to the utterance: ~0.1 s a transcript instead of ~0.55 s.

faster-whisper's `transcribe()` pads every input to Whisper's 30 s window, so the encoder pays
for 30 s of audio on a two-second answer (../shared/reference/latency.md). CTranslate2's Whisper
accepts a shorter mel, and its cost falls with the window. What a shorter window costs, measured
here on 36 utterances in the simulated caller's voice over 8 kHz μ-law (54 key words):

- under ~10 s, outputs loop ("It's been two years. It's been two years. It's…"): an 8 s
  window looped on 16 of 36 without timestamp tokens; 10 s with them, on none;
- tiny.en misses a few more words as the window shrinks (30 s: 51–54 of 54, 20 s: 53,
  10–15 s: 45–51, varying with the synthesised voice's randomness).

So the window never goes under 10 s (`STT_WINDOW_S` raises it), the decoder's length is
bounded by the audio's duration, and a repeat that slips through is cut. The prompt carries the
insurance carriers' names: without it tiny.en hears "dealt a dental" and "sigma" (48 of 54 at
30 s; 54 with it), and then with what the agent just said, the question being answered: "No."
is no longer "Now.", nor "About a six." "About a sixth." (over the scenarios' answers, 104
words of 1,481 missed instead of 116, for ~7 ms: `benchmarks/transcription.py`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from dentalvoice.conversation.nlu.carriers import CARRIER_NAMES

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from faster_whisper.tokenizer import Tokenizer

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
SAMPLE_RATE = 16_000
MIN_WINDOW_S = 10
MAX_WINDOW_S = 30
# Fast speech is ~4 words a second and a word ~1.5 tokens; the slack covers punctuation.
TOKENS_PER_SECOND = 8
TOKEN_SLACK = 12
# How many carrier names the prompt carries: each name costs decoder time on every utterance.
PROMPT_CARRIERS = 12
# The most tokens of the agent's words the prompt carries after them (their end: the question).
CONTEXT_TOKENS = 64


# Whisper's own test for a segment without speech (faster-whisper's `transcribe` defaults):
# its no-speech probability is high *and* the words it found are unlikely. The probability
# alone is not enough: a short "Yes." on a phone line scores 0.36-0.40 (measured), while
# Silero has already called the audio speech.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0


@dataclass(frozen=True, slots=True)
class Transcript:
    """What Whisper heard in one utterance."""

    text: str
    no_speech_prob: float
    avg_logprob: float = 0.0  # the words' mean log-probability

    @property
    def silent(self) -> bool:
        """Whether Whisper takes the audio for no speech (its words a guess on noise)."""
        return self.no_speech_prob > NO_SPEECH_THRESHOLD and self.avg_logprob < LOG_PROB_THRESHOLD


def vocabulary_prompt(names: list[str] | None = None) -> str:
    """The words Whisper is primed with: the most common carriers, as a previous sentence."""
    chosen = (names if names is not None else CARRIER_NAMES)[:PROMPT_CARRIERS]
    return "Dental insurance: " + ", ".join(chosen) + "."


class ShortWindowTranscriber:
    """Transcribes utterances on a shared `WhisperModel` with a window fit to each one.

    Safe to call from several threads at once (CTranslate2 runs concurrent `generate` calls).
    """

    def __init__(
        self,
        model: WhisperModel,
        *,
        prompt: str | None = None,
        min_window_s: int = MIN_WINDOW_S,
        beam_size: int = 5,
    ) -> None:
        """Create the transcriber.

        Args:
            model: The process's loaded Whisper model (English-only or multilingual).
            prompt: Words to prime the decoder with; None for the carriers' names, "" for none.
            min_window_s: The shortest window encoded (10 to 30 s).
            beam_size: Decoder beams (faster-whisper's default is 5).
        """
        from faster_whisper.tokenizer import Tokenizer

        self._model = model
        self._min_window_s = min(MAX_WINDOW_S, max(MIN_WINDOW_S, min_window_s))
        self._beam_size = beam_size
        self._tokenizer: Tokenizer = Tokenizer(
            model.hf_tokenizer,
            model.model.is_multilingual,
            task="transcribe",
            language="en",
        )
        words = vocabulary_prompt() if prompt is None else prompt
        self._words = self._tokenizer.encode(" " + words) if words else []

    def prompt_tokens(self, context: str = "") -> list[int]:
        """What the decoder starts from: the prompt's words, then the end of `context`."""
        words = self._words
        if context.strip():
            words = [*words, *self._tokenizer.encode(" " + context.strip())[-CONTEXT_TOKENS:]]
        prefix = [self._tokenizer.sot_prev, *words] if words else []
        # Timestamp mode, as Whisper was trained: without it short windows loop more often.
        return [*prefix, *self._tokenizer.sot_sequence]

    def window_frames(self, samples: int) -> int:
        """The mel window (10 ms frames) for an utterance of `samples` at 16 kHz."""
        seconds = math.ceil(samples / SAMPLE_RATE + 0.5)
        return min(MAX_WINDOW_S, max(self._min_window_s, seconds)) * 100

    def transcribe(self, audio: np.ndarray, *, context: str = "") -> Transcript:
        """Transcribe one utterance (blocking: run it in a worker thread).

        Args:
            audio: Mono float32 samples at 16 kHz, in [-1, 1].
            context: What was said just before (the agent's question), to prime the decoder.

        Returns:
            The text (stripped) and Whisper's probability that there was no speech.
        """
        from faster_whisper.transcribe import get_ctranslate2_storage

        limit = MAX_WINDOW_S * SAMPLE_RATE
        audio = audio[-limit:] if audio.shape[0] > limit else audio
        frames = self.window_frames(audio.shape[0])
        mel = self._model.feature_extractor(audio)
        mel = mel[:, :frames]
        if mel.shape[1] < frames:
            mel = np.pad(mel, ((0, 0), (0, frames - mel.shape[1])))
        features = get_ctranslate2_storage(np.expand_dims(mel.astype(np.float32), 0))
        duration = audio.shape[0] / SAMPLE_RATE
        prompt = self.prompt_tokens(context)
        max_length = len(prompt) + TOKEN_SLACK + math.ceil(duration * TOKENS_PER_SECOND)
        result = self._model.model.generate(
            features,
            [prompt],
            beam_size=self._beam_size,
            max_length=min(max_length, self._model.max_length),
            return_no_speech_prob=True,
            return_scores=True,
            suppress_blank=True,
            no_repeat_ngram_size=0,
            max_initial_timestamp_index=50,
        )[0]
        # Timestamp tokens (above end-of-text) mark segment ends; only the words are kept.
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        return Transcript(
            text=without_repeats(self._tokenizer.decode(tokens).strip()),
            no_speech_prob=float(result.no_speech_prob),
            # Scores come normalised by length (length_penalty 1): a mean log-probability.
            avg_logprob=float(result.scores[0]) if result.scores else 0.0,
        )


def without_repeats(text: str) -> str:
    """`text` cut where its sentences start over (a decoder loop): "A. B. A. B" → "A. B."."""
    sentences = _SENTENCE_END.split(" ".join(text.split()))
    folded = [sentence.casefold() for sentence in sentences]
    for period in range(1, len(folded)):
        tail = folded[period:]
        cycle = [folded[i % period] for i in range(len(tail))]
        # The loop's last sentence is usually cut short by the length bound.
        if tail[:-1] == cycle[:-1] and cycle[-1].startswith(tail[-1]):
            return " ".join(sentences[:period])
    return text


@cache
def transcriber_for(model: WhisperModel, *, min_window_s: int) -> ShortWindowTranscriber:
    """The process's transcriber over `model` (the prompt's tokens are computed once)."""
    return ShortWindowTranscriber(model, min_window_s=min_window_s)
