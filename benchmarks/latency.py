"""Voice-to-voice latency as the simulated caller measures it: ours against stock Pipecat.

Each scenario runs as one whole call on the embedded defaults (`dentalvoice.demo.run_demo`: the
Twilio emulator, the pipeline with local models, and the talking caller, all on this machine).
Voice-to-voice is the time from the end of the caller's speech to the first voiced frame of the
agent's answer, both taken where the caller hears them. Turns where the caller barged in, or
where the agent never answered, are left out.

Two configurations of the same models run through the same emulator and caller:

- `ours`: short-window Whisper with final transcripts, cached fixed prompts, phone-line VAD and
  turn settings (`voice.handler.TurnTaking`), Piper's opening silence cut;
- `stock`: Pipecat's Twilio example defaults: stock `WhisperSTTService` transcription (30 s
  window), default Silero VAD and Smart Turn settings, no speech cache, Piper's audio as it
  comes (with the silence it opens each sentence with).

Beside the caller's figure, the pipeline's own per-turn moments (`voice.latency`) are printed
as medians in ms after the caller's speech ended (VAD): turn decided, transcript ready, reply
ready, first audio sent.

`--config overhead` measures what our orchestration adds per turn: instant providers (a
transcript the moment the segment ends, a tone the moment a sentence arrives, the scripted
agent), so the time from the turn's decision to its first audio sent is ours alone.

    python benchmarks/latency.py scenarios/implant-consult-insured.yaml scenarios/dentures.yaml
    python benchmarks/latency.py --config ours scenarios/
    python benchmarks/latency.py --config overhead scenarios/implant-consult-insured.yaml
    python benchmarks/latency.py --config overhead --repeat 3 scenarios/dentures.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

from bench_support import orchestration_ms, percentile
from dentalvoice.conversation.evaluation.scenario import Scenario, load_scenarios
from dentalvoice.demo import run_demo
from dentalvoice.voice.handler import STOCK_TURN_TAKING, TurnTaking
from dentalvoice.voice.providers import SpeechProviders
from dentalvoice.voice.services import LocalPiperTTS, LocalWhisperSTT

MOMENTS = ("turn_decided_ms", "transcript_ready_ms", "reply_ready_ms", "first_audio_ms")


def stock_providers() -> SpeechProviders:
    """The same local models as Pipecat's stock services use them: no short window, no cache."""
    return SpeechProviders(
        stt=lambda: LocalWhisperSTT(window_s=None),
        tts=lambda: LocalPiperTTS(cache=None, trim_lead=False),
        name="stock",
    )


class InstantSTT(SegmentedSTTService):
    """A transcript the moment the segment ends (the caller's words do not matter here)."""

    def __init__(self) -> None:
        super().__init__(settings=STTSettings(model=None, language=None))

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        yield TranscriptionFrame("Yes.", self._user_id, time_now_iso8601(), finalized=True)


@functools.cache
def _tone(rate: int) -> bytes:
    """A minute of 220 Hz at `rate` (16-bit PCM), made once: sentences take slices of it."""
    t = np.arange(60 * rate) / rate
    return (np.sin(2 * np.pi * 220 * t) * 8000).astype(np.int16).tobytes()


class InstantTTS(TTSService):
    """A tone as long as the sentence, the moment the sentence arrives.

    The tone is computed once: making it per sentence (numpy over seconds of samples) took
    0.7-1.5 ms of the event loop per sentence, provider time that was counted as ours.
    """

    def __init__(self) -> None:
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model=None, voice="tone", language=None),
        )

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        rate = self.sample_rate
        samples = min(60 * rate, round(rate * max(0.3, len(text) / 15)))
        pcm = _tone(rate)[: 2 * samples]

        async def once() -> AsyncIterator[bytes]:
            yield pcm

        async for frame in self._stream_audio_frames_from_iterator(
            once(), in_sample_rate=rate, context_id=context_id
        ):
            yield frame


def instant_providers() -> SpeechProviders:
    return SpeechProviders(stt=InstantSTT, tts=InstantTTS, name="instant")


@dataclass
class Figures:
    """One configuration's measurements over the scenario set."""

    name: str
    v2v: list[float] = field(default_factory=list)
    moments: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in MOMENTS})
    outcomes: list[str] = field(default_factory=list)
    orchestration: list[float] = field(default_factory=list)  # turn decided -> audio sent
    agent: list[float] = field(default_factory=list)  # turn decided -> first sentence pushed

    def summary(self) -> str:
        if not self.v2v:
            return f"{self.name}: no answered turn"
        parts = [
            f"{self.name}: {len(self.v2v)} turns, voice-to-voice"
            f" p50={statistics.median(self.v2v):.0f} ms p90={percentile(self.v2v, 0.9):.0f} ms"
            f" max={max(self.v2v):.0f} ms",
            "  pipeline medians after speech end: "
            + ", ".join(
                f"{name.removesuffix('_ms')} {statistics.median(values):.0f} ms"
                for name, values in self.moments.items()
                if values
            ),
            f"  outcomes: {', '.join(self.outcomes)}",
        ]
        return "\n".join(parts)


async def measure(
    name: str,
    scenarios: list[Scenario],
    *,
    providers: SpeechProviders | None,
    turn_taking: TurnTaking,
) -> Figures:
    figures = Figures(name)
    with tempfile.TemporaryDirectory(prefix="dv-latency-") as tmp:
        for number, scenario in enumerate(scenarios):
            result = await run_demo(
                scenario=scenario,
                data_dir=Path(tmp) / f"{number}-{scenario.name}",
                providers=providers,
                turn_taking=turn_taking,
            )
            values = [
                turn.voice_to_voice_ms
                for turn in result.caller.turns
                if turn.voice_to_voice_ms is not None and not turn.barge_in
            ]
            figures.v2v += values
            for turn in result.result.turns if result.result else []:
                for moment, ms in turn.as_ms().items():
                    if ms is not None:
                        figures.moments[moment].append(ms)
                added = orchestration_ms(turn)
                if added is not None:
                    figures.orchestration.append(added[0])
                    if added[1] is not None:
                        figures.agent.append(added[1])
            outcome = result.result.qualification.outcome if result.result else None
            figures.outcomes.append(f"{scenario.name}={outcome.value if outcome else None}")
            p50 = f"p50={statistics.median(values):.0f} ms" if values else "no answered turn"
            print(f"  [{name}] {scenario.name}: {len(values)} turns, {p50}", flush=True)
    return figures


async def run(
    paths: list[str], configs: list[str], vad_stop_s: float | None, repeat: int = 1
) -> None:
    scenarios = load_scenarios(paths) * repeat
    results: dict[str, Figures] = {}
    if "ours" in configs:
        taking = TurnTaking()
        if vad_stop_s is not None:
            taking = replace(taking, vad=taking.vad.model_copy(update={"stop_secs": vad_stop_s}))
        results["ours"] = await measure("ours", scenarios, providers=None, turn_taking=taking)
    if "stock" in configs:
        results["stock"] = await measure(
            "stock", scenarios, providers=stock_providers(), turn_taking=STOCK_TURN_TAKING
        )
    for figures in results.values():
        print(figures.summary())
    if "overhead" in configs:
        figures = await measure(
            "overhead", scenarios, providers=instant_providers(), turn_taking=TurnTaking()
        )
        added = figures.orchestration
        if added:
            print(
                f"orchestration (turn decided -> first audio sent, instant providers): "
                f"{len(added)} turns, p50={statistics.median(added):.1f} ms "
                f"p99={percentile(added, 0.99):.1f} ms max={max(added):.1f} ms\n"
                f"  of which the agent (turn decided -> first sentence pushed): "
                f"p50={statistics.median(figures.agent):.1f} ms "
                f"p99={percentile(figures.agent, 0.99):.1f} ms\n"
                f"  all, ms: {' '.join(f'{ms:.1f}' for ms in sorted(added))}"
            )
    ours, stock = results.get("ours"), results.get("stock")
    if ours and stock and ours.v2v and stock.v2v:
        p50 = statistics.median(ours.v2v) / statistics.median(stock.v2v)
        p90 = percentile(ours.v2v, 0.9) / percentile(stock.v2v, 0.9)
        print(f"ratio ours/stock: p50 {p50:.2f}, p90 {p90:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="scenario files or directories")
    parser.add_argument(
        "--config",
        choices=["ours", "stock", "both", "overhead"],
        default="both",
        help="what to run",
    )
    parser.add_argument(
        "--vad-stop-s",
        type=float,
        default=None,
        help="ours with this Silero stop_secs (silence before the speech counts as ended)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the scenario set this many times (1)"
    )
    args = parser.parse_args()
    configs = ["ours", "stock"] if args.config == "both" else [args.config]
    asyncio.run(run(args.paths, configs, args.vad_stop_s, args.repeat))


if __name__ == "__main__":
    main()
