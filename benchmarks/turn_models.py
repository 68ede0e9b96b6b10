"""What the two local turn-taking models cost per call, and so how many calls a core can hold.

Whatever the speech providers, every call runs Silero VAD on the caller's audio and Smart Turn
v3 at the end of each caller utterance, on this machine's CPU. This times both on real audio
(the answers `concurrency.py`'s callers give, at 16 kHz as the pipeline runs them) and
turns the medians into a ceiling: with the caller speaking `--speech-share` of the call and
ending an utterance every `--utterance-s` seconds, the model seconds one call needs per second,
and the calls one core could hold if it did nothing else (from CPU time: ONNX Runtime spreads
Smart Turn over several threads).

    python benchmarks/turn_models.py
    python benchmarks/turn_models.py --speech-share 0.3 --utterance-s 6
    python benchmarks/turn_models.py --blas-threads 2   # OpenBLAS's default on 2 cores

Benchmarks print; they never assert.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from threadpoolctl import threadpool_limits

from concurrency import caller_answers
from dentalvoice.callers.audio import ulaw_to_whisper
from dentalvoice.conversation.evaluation.scenario import load_scenarios

ROOT = Path(__file__).resolve().parents[1]
RATE = 16_000
WINDOW = 512  # Silero's window at 16 kHz (32 ms)
# Pipecat's VAD scores 32 ms windows; the volume gate skips the silent ones (voice.line_input)
# but runs a warm-up of 16 quiet windows before each onset.
WINDOWS_PER_S = RATE / WINDOW


def caller_speech(scenario: Path, answers: int) -> list[np.ndarray]:
    """The answers the concurrency benchmark's callers give, float32 at 16 kHz."""
    (loaded,) = load_scenarios([str(scenario)])
    return [ulaw_to_whisper(audio) for _, audio in caller_answers(loaded, answers)]


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (every thread of the process: ONNX uses several)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def time_silero(clips: list[np.ndarray]) -> list[tuple[float, float]]:
    vad = SileroVADAnalyzer(sample_rate=RATE)
    vad.set_sample_rate(RATE)
    times = []
    for clip in clips:
        pcm = (np.clip(clip, -1, 1) * 32767).astype(np.int16).tobytes()
        windows = [pcm[i : i + 2 * WINDOW] for i in range(0, len(pcm) - 2 * WINDOW + 1, 2 * WINDOW)]
        # Timed a clip at a time: the process clock is too coarse for one 32 ms window.
        wall, cpu = timed(lambda ws=windows: [vad.voice_confidence(w) for w in ws])
        times.append((wall / len(windows), cpu / len(windows)))
    return times


def time_smart_turn(clips: list[np.ndarray]) -> list[tuple[float, float]]:
    turn = LocalSmartTurnAnalyzerV3()
    turn.set_sample_rate(RATE)
    turn._predict_endpoint(clips[0])  # the first run pays for ONNX's set-up
    return [timed(lambda c=clip: turn._predict_endpoint(c)) for _ in range(3) for clip in clips]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "standard-molar-pain.yaml"))
    parser.add_argument("--answers", type=int, default=5, help="caller sentences timed (5)")
    parser.add_argument(
        "--speech-share", type=float, default=0.3, help="share of a call the caller speaks (0.3)"
    )
    parser.add_argument(
        "--utterance-s", type=float, default=8.0, help="seconds between utterance ends (8)"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads, as the voice handler sets them at warm-up (1)",
    )
    args = parser.parse_args()
    threadpool_limits(limits=args.blas_threads, user_api="blas")

    clips = caller_speech(Path(args.scenario), args.answers)
    silero_wall, silero = (statistics.median(t) for t in zip(*time_silero(clips), strict=True))
    turn_wall, smart_turn = (
        statistics.median(t) for t in zip(*time_smart_turn(clips), strict=True)
    )
    spoken = sum(len(c) for c in clips) / RATE

    silero_per_s = silero * WINDOWS_PER_S * args.speech_share
    turn_per_s = smart_turn / args.utterance_s
    per_call = silero_per_s + turn_per_s
    print(
        f"{os.cpu_count()} CPUs, {args.blas_threads} BLAS thread(s); {len(clips)} caller"
        f" sentences, {spoken:.1f} s of speech"
    )
    print(
        f"Silero VAD: {silero_wall * 1e6:.0f} µs per 32 ms window, {silero * 1e6:.0f} µs of CPU"
        " (medians)"
    )
    print(
        f"Smart Turn v3: {turn_wall * 1e3:.0f} ms per end-of-utterance decision,"
        f" {smart_turn * 1e3:.0f} ms of CPU (medians)"
    )
    print(
        f"per call, caller speaking {args.speech_share:.0%} of the time and ending an utterance"
        f" every {args.utterance_s:.0f} s: Silero {silero_per_s * 1e3:.1f} ms/s + Smart Turn"
        f" {turn_per_s * 1e3:.1f} ms/s = {per_call * 100:.2f} % of a core"
    )
    print(f"calls one core holds running nothing but these two models: {1 / per_call:.0f}")


if __name__ == "__main__":
    main()
