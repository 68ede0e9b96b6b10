"""Voice-to-voice latency as the simulated caller measures it, over scenario files.

Each scenario runs as one whole call on the embedded defaults (`dentalvoice.demo.run_demo`: the
Twilio emulator, our pipeline with local models, and the talking caller, all on this machine).
Voice-to-voice is the time from the end of the caller's speech to the first voiced frame of the
agent's answer, both taken where the caller hears them. Turns where the caller barged in, or
where the agent never answered, are left out.

    python benchmarks/latency.py scenarios/implant-consult-insured.yaml scenarios/dentures.yaml

This is the baseline of the stock configuration; the comparison with Pipecat's own defaults
and the concurrency run come with the latency work.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from dentalvoice.conversation.evaluation.scenario import load_scenarios
from dentalvoice.demo import run_demo


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(paths: list[str]) -> None:
    everything: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dv-latency-") as tmp:
        for scenario in load_scenarios(paths):
            result = await run_demo(scenario=scenario, data_dir=Path(tmp) / scenario.name)
            values = [
                turn.voice_to_voice_ms
                for turn in result.caller.turns
                if turn.voice_to_voice_ms is not None and not turn.barge_in
            ]
            everything += values
            outcome = result.result.qualification.outcome if result.result else None
            summary = (
                f"p50={statistics.median(values):.0f} ms max={max(values):.0f} ms"
                if values
                else "no answered turn"
            )
            print(f"{scenario.name}: {len(values)} turns, {summary}, outcome={outcome}")
    if everything:
        print(
            f"all: {len(everything)} turns, voice-to-voice p50={statistics.median(everything):.0f}"
            f" ms p90={percentile(everything, 0.9):.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="scenario files or directories")
    asyncio.run(run(parser.parse_args().paths))


if __name__ == "__main__":
    main()
