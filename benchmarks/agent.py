"""Benchmark the agent's per-turn latency by running every scenario K times in process."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path

from dentalvoice.conversation.evaluation.report import latency_stats
from dentalvoice.conversation.evaluation.runner import (
    AgentFactory,
    ScenarioResult,
    default_agent_factory,
    run_scenario,
)
from dentalvoice.conversation.evaluation.scenario import Scenario, load_scenarios

ROOT = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 2.0


async def run_all(
    scenarios: list[Scenario], factory: AgentFactory, repeat: int
) -> list[ScenarioResult]:
    """Every scenario `repeat` times, one call at a time (latency is measured alone)."""
    results = []
    for _ in range(repeat):
        for scenario in scenarios:
            results.append(await run_scenario(scenario, agent_factory=factory))
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when p99 misses the target, 2 when it cannot run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-k", "--repeat", type=int, default=20, help="runs of each scenario")
    parser.add_argument("--scenarios", type=Path, default=ROOT / "scenarios")
    parser.add_argument("--kind", default="scripted", help="agent kind for build_agent")
    parser.add_argument("--target-p99-ms", type=float, default=TARGET_P99_MS)
    args = parser.parse_args(argv)

    factory = default_agent_factory(args.kind)
    scenarios = load_scenarios(args.scenarios)

    # One unmeasured pass: imports, regex compilation and caches would otherwise count.
    warm = asyncio.run(run_all(scenarios, factory, 1))
    gc.collect()
    started = time.perf_counter()
    results = asyncio.run(run_all(scenarios, factory, args.repeat))
    elapsed = time.perf_counter() - started

    turns = [t for r in results for t in r.latencies]
    stats = latency_stats(
        [t.total for t in turns], [t.first_say for t in turns if t.first_say is not None]
    )
    agent_seconds = sum(t.total for t in turns)
    caller_turns = sum(r.turns for r in results)
    passed = sum(r.passed for r in warm)
    errors = sorted({f"{r.name}: {r.error}" for r in results if r.error})

    print(f"scenarios: {len(scenarios)} x {args.repeat} runs, agent kind {args.kind!r}")
    print(f"scenarios passing: {passed}/{len(scenarios)}")
    print(f"agent turns: {stats.count} (caller turns {caller_turns}) in {elapsed:.2f} s")
    print(
        f"per-turn latency to last event: p50 {stats.p50_ms:.3f} ms, "
        f"p99 {stats.p99_ms:.3f} ms, max {stats.max_ms:.3f} ms"
    )
    print(
        f"per-turn latency to first sentence: p50 {stats.first_say_p50_ms:.3f} ms, "
        f"p99 {stats.first_say_p99_ms:.3f} ms"
    )
    print(
        f"throughput: {stats.count / elapsed:,.0f} turns/s end to end (caller and checks "
        f"included), {stats.count / agent_seconds:,.0f} turns/s in the agent alone"
        if elapsed > 0 and agent_seconds > 0
        else "throughput: n/a"
    )
    for error in errors:
        print(f"agent error: {error}")
    ok = stats.p99_ms <= args.target_p99_ms
    verdict = "meets" if ok else "MISSES"
    print(f"p99 {stats.p99_ms:.3f} ms {verdict} the target of {args.target_p99_ms} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
