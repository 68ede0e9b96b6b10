"""How tiny.en hears the caller's answers: piece by piece or whole, primed with the question or not.

Every scenario answer to one of the script's questions is spoken in the simulated caller's
voice, sent through 8 kHz μ-law, and cut into pieces where the pipeline's Silero settings hear
a pause, each piece buffered as Pipecat's segmented STT buffers it (up to 1 s before Silero's
start, 0.5 s of silence after its stop). Then transcribed three ways:

- each piece alone, primed with the carriers' names only (`LocalWhisperSTT` before);
- each piece with the pieces before it in the answer (`voice.utterance`);
- the same, primed with the script's question too, as the agent processor primes it.

Printed: the answers' words each way missed, and the median time of the last piece's
transcription, which the caller waits for.

    python benchmarks/transcription.py
    python benchmarks/transcription.py --show   # every answer the last way changed

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
from pipecat.audio.vad.vad_analyzer import VADState
from threadpoolctl import threadpool_limits

from dentalvoice.callers.audio import ulaw_to_whisper
from dentalvoice.callers.voice import CallerVoice
from dentalvoice.conversation.evaluation.runner import build_context
from dentalvoice.conversation.evaluation.scenario import load_scenarios
from dentalvoice.conversation.script import Slot, load_script, render
from dentalvoice.voice import models
from dentalvoice.voice.handler import TurnTaking
from dentalvoice.voice.line_input import InlineSileroVAD
from dentalvoice.voice.transcriber import MIN_WINDOW_S, SAMPLE_RATE, transcriber_for

ROOT = Path(__file__).resolve().parents[1]
FRAME = SAMPLE_RATE // 50  # the line's 20 ms frames, at the pipeline's 16 kHz
PRE_ROLL = SAMPLE_RATE  # Pipecat's segmented STT keeps 1 s from before Silero's start
TRAILING = SAMPLE_RATE // 2  # ... and pads each piece with 0.5 s of silence
# The offer and the read-back are made of the call's own data: their answers are left out.
MADE_OF_DATA = ("{offer}", "{summary}")
SLOTS = {slot.value for slot in Slot}  # a scenario's facts also answer when to call back


def answers() -> list[tuple[str, str]]:
    """(the script's question, the answer) for each scenario answer to one, each once."""
    script = load_script()
    found: dict[tuple[str, str], None] = {}
    for scenario in load_scenarios([str(path) for path in sorted(ROOT.glob("scenarios/*.yaml"))]):
        context = build_context(scenario)
        for key, text in scenario.caller.facts.items():
            step = script.step(Slot(key)) if key in SLOTS else None
            if text and step is not None and not any(f in step.ask for f in MADE_OF_DATA):
                found[render(step.ask, context), text] = None
    return list(found)


def pieces(audio: np.ndarray) -> list[np.ndarray]:
    """`audio` (16 kHz float) cut where Silero, as the pipeline runs it, hears a pause."""
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
    pairs = answers()
    ways = ("pieces alone", "whole so far", "whole + question")
    missing = dict.fromkeys(ways, 0)
    last_s: dict[str, list[float]] = {way: [] for way in ways}
    total = cut = 0
    for question, text in pairs:
        parts = pieces(ulaw_to_whisper(voice.synthesize(text)))
        if not parts:
            continue
        cut += len(parts) > 1
        total += len(words(text))
        heard: dict[str, str] = {}
        for way in ways:
            said = []
            for at in range(len(parts)):
                audio = parts[at] if way == "pieces alone" else np.concatenate(parts[: at + 1])
                context = question if way == "whole + question" else ""
                began = time.perf_counter()
                said.append(transcriber.transcribe(audio, context=context).text)
                spent = time.perf_counter() - began
            last_s[way].append(spent)
            heard[way] = " ".join(said) if way == "pieces alone" else said[-1]
            missing[way] += missed(text, heard[way])
        if args.show and words(heard[ways[0]]) != words(heard[ways[-1]]):
            print(f"{question}  {text!r}")
            print("\n".join(f"  {way:>16}: {heard[way]!r}" for way in ways))

    print(f"{len(pairs)} answers ({total} words); Silero cut {cut} of them at a pause")
    for way in ways:
        print(
            f"{way:>16}: {missing[way]} words missed ({missing[way] / total:.1%}), last piece"
            f" transcribed in {statistics.median(last_s[way]) * 1000:.0f} ms (median)"
        )


if __name__ == "__main__":
    main()
