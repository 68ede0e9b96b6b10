"""How tiny.en hears answers that Silero cuts at their pauses: piece by piece, or whole.

Every scenario answer with a comma or more than one sentence is spoken in the simulated
caller's voice, sent through 8 kHz μ-law, and cut into pieces where the pipeline's Silero
settings hear a pause, each piece buffered as Pipecat's segmented STT buffers it (up to 1 s
before Silero's start, 0.5 s of silence after its stop). Each piece is then transcribed two
ways: alone (what `LocalWhisperSTT` did) and together with the pieces before it in the answer
(what it does: `voice.utterance`). Printed: the answer's words each way missed, and the
median time of the last piece's transcription, which the caller waits for.

    python benchmarks/transcription.py
    python benchmarks/transcription.py --show   # every answer that came out differently

Benchmarks print; they never assert.
"""

from __future__ import annotations

import argparse
import difflib
import re
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from dentalvoice.callers.audio import ulaw_to_whisper
from dentalvoice.callers.voice import CallerVoice
from dentalvoice.conversation.evaluation.scenario import load_scenarios
from dentalvoice.voice import models
from dentalvoice.voice.handler import TurnTaking
from dentalvoice.voice.line_input import InlineSileroVAD
from dentalvoice.voice.transcriber import MIN_WINDOW_S, SAMPLE_RATE, transcriber_for

ROOT = Path(__file__).resolve().parents[1]
FRAME = SAMPLE_RATE // 50  # the line's 20 ms frames, at the pipeline's 16 kHz
PRE_ROLL = SAMPLE_RATE  # Pipecat's segmented STT keeps 1 s from before Silero's start
TRAILING = SAMPLE_RATE // 2  # ... and pads each piece with 0.5 s of silence


def answers() -> list[str]:
    """The scenario answers that may come in pieces, each once."""
    texts: list[str] = []
    for scenario in load_scenarios([str(path) for path in sorted(ROOT.glob("scenarios/*.yaml"))]):
        texts += [t for t in scenario.caller.facts.values() if t and re.search(r"[,.?!].", t)]
    return list(dict.fromkeys(texts))


def pieces(audio: np.ndarray) -> list[np.ndarray]:
    """`audio` (16 kHz float) cut where Silero, as the pipeline runs it, hears a pause."""
    from pipecat.audio.vad.vad_analyzer import VADState

    vad = InlineSileroVAD(params=TurnTaking().vad)
    vad.set_sample_rate(SAMPLE_RATE)
    line = np.concatenate([np.zeros(SAMPLE_RATE // 2), audio, np.zeros(SAMPLE_RATE)])
    pcm = (line * 32767).astype(np.int16)
    cut: list[np.ndarray] = []
    start = 0
    speaking = False
    state = VADState.QUIET
    for at in range(0, pcm.size - FRAME + 1, FRAME):
        new = vad._run_analyzer(pcm[at : at + FRAME].tobytes())
        if new is VADState.SPEAKING and state is VADState.STARTING:
            speaking = True
        elif new is VADState.QUIET and state is VADState.STOPPING and speaking:
            speaking = False
            cut.append(np.concatenate([pcm[start:at], np.zeros(TRAILING, np.int16)]))
            start = at
        state = new
        if not speaking:
            start = max(start, at + FRAME - PRE_ROLL)
    return [piece.astype(np.float32) / 32768.0 for piece in cut]


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()


def missed(said: str, heard: str) -> int:
    """The words of `said` that `heard` does not have, in order."""
    expected = words(said)
    matcher = difflib.SequenceMatcher(a=expected, b=words(heard), autojunk=False)
    return len(expected) - sum(block.size for block in matcher.get_matching_blocks())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="print the answers heard differently")
    args = parser.parse_args()

    threadpool_limits(1)  # as the voice handler runs Whisper
    transcriber = transcriber_for(models.whisper(), min_window_s=MIN_WINDOW_S)
    voice = CallerVoice()
    texts = answers()
    total = alone_missed = whole_missed = 0
    alone_s: list[float] = []
    whole_s: list[float] = []
    cut_answers = 0
    for text in texts:
        parts = pieces(ulaw_to_whisper(voice.synthesize(text)))
        if len(parts) < 2:
            continue
        cut_answers += 1
        heard_alone = []
        for part in parts:
            began = time.perf_counter()
            heard_alone.append(transcriber.transcribe(part).text)
        alone_s.append(time.perf_counter() - began)
        began = time.perf_counter()
        heard_whole = transcriber.transcribe(np.concatenate(parts)).text
        whole_s.append(time.perf_counter() - began)
        alone = " ".join(heard_alone)
        total += len(words(text))
        alone_missed += missed(text, alone)
        whole_missed += missed(text, heard_whole)
        if args.show and words(alone) != words(heard_whole):
            print(f"{text!r}\n  pieces alone: {alone!r}\n  whole:        {heard_whole!r}")

    print(f"{len(texts)} answers that may pause; Silero cut {cut_answers} of them ({total} words)")
    print(f"words missed: pieces alone {alone_missed} ({alone_missed / total:.1%}), ", end="")
    print(f"whole so far {whole_missed} ({whole_missed / total:.1%})")
    print(
        f"last piece's transcription, median: alone {statistics.median(alone_s) * 1000:.0f} ms,"
        f" whole so far {statistics.median(whole_s) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
