"""Evaluation reports: pass/fail per scenario, per-field accuracy, turn latency, as rich tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from dentalvoice.conversation.evaluation.runner import ScenarioResult


@dataclass(slots=True)
class Score:
    """How often one field came out right."""

    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float:
        """correct / total; 1.0 when nothing was scored (nothing went wrong)."""
        return self.correct / self.total if self.total else 1.0

    def add(self, passed: bool) -> None:
        """Count one scored check."""
        self.total += 1
        self.correct += int(passed)


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Agent turn latency in milliseconds (time to a turn's last event)."""

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    first_say_p50_ms: float
    first_say_p99_ms: float


@dataclass(frozen=True, slots=True)
class VoiceLatencyStats:
    """Voice-to-voice latency in milliseconds, as the caller hears it (voice runs)."""

    count: int
    p50_ms: float
    p90_ms: float
    max_ms: float


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (`pct` in 0..100) of `values`; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_stats(totals: Sequence[float], first_says: Sequence[float]) -> LatencyStats:
    """Summary of per-turn latencies given in seconds."""
    return LatencyStats(
        count=len(totals),
        p50_ms=percentile(totals, 50) * 1000,
        p99_ms=percentile(totals, 99) * 1000,
        max_ms=max(totals, default=0.0) * 1000,
        first_say_p50_ms=percentile(first_says, 50) * 1000,
        first_say_p99_ms=percentile(first_says, 99) * 1000,
    )


def voice_latency_stats(values_ms: Sequence[float]) -> VoiceLatencyStats:
    """Summary of voice-to-voice latencies given in milliseconds."""
    return VoiceLatencyStats(
        count=len(values_ms),
        p50_ms=percentile(values_ms, 50),
        p90_ms=percentile(values_ms, 90),
        max_ms=max(values_ms, default=0.0),
    )


@dataclass(slots=True)
class EvalReport:
    """The results of an evaluation run and what they add up to."""

    results: list[ScenarioResult]
    fields: dict[str, Score] = field(default_factory=dict)  # qualification path -> score
    outcome: Score = field(default_factory=Score)
    latency: LatencyStats = field(default_factory=lambda: latency_stats([], []))
    voice_to_voice: VoiceLatencyStats | None = None  # set when the results are voice runs

    @property
    def passed(self) -> int:
        """How many scenarios passed."""
        return sum(r.passed for r in self.results)

    @property
    def ok(self) -> bool:
        """Whether at least one scenario ran and every one passed."""
        return bool(self.results) and all(r.passed for r in self.results)


def build_report(results: list[ScenarioResult]) -> EvalReport:
    """Score results: each qualification check counts for its field, outcome checks apart.

    Args:
        results: Finished scenario runs.

    Returns:
        The report.
    """
    fields: dict[str, Score] = {}
    outcome = Score()
    totals: list[float] = []
    first_says: list[float] = []
    voice_ms: list[float] = []
    for result in results:
        for check in result.checks:
            if check.field == "outcome":
                outcome.add(check.passed)
            elif check.field is not None:
                fields.setdefault(check.field, Score()).add(check.passed)
        for turn in result.latencies:
            totals.append(turn.total)
            if turn.first_say is not None:
                first_says.append(turn.first_say)
        voice_ms.extend(result.voice_to_voice_ms or [])
    voice = any(result.voice_to_voice_ms is not None for result in results)
    return EvalReport(
        results=results,
        fields=dict(sorted(fields.items())),
        outcome=outcome,
        latency=latency_stats(totals, first_says),
        voice_to_voice=voice_latency_stats(voice_ms) if voice else None,
    )


def _score_text(score: Score) -> str:
    return f"{score.correct}/{score.total} ({score.accuracy:.0%})"


def print_report(report: EvalReport, console: Console, *, transcripts: bool = False) -> None:
    """Print the report as rich tables.

    Args:
        report: What to print.
        console: Where to print it.
        transcripts: Also print the transcript of each failed scenario.
    """
    scenarios = Table(title="Scenarios", show_lines=False)
    scenarios.add_column("scenario")
    scenarios.add_column("result")
    scenarios.add_column("outcome")
    scenarios.add_column("turns", justify="right")
    scenarios.add_column("failed checks")
    for result in report.results:
        expected = result.scenario.expect.outcome
        actual = result.qualification.outcome
        outcome = actual.value if actual else "-"
        if expected is not None and expected != actual:
            outcome = f"{outcome} (expected {expected.value})"
        verdict = Text("PASS", style="green") if result.passed else Text("FAIL", style="bold red")
        failed = "\n".join(f"{c.name}: {c.detail}" if c.detail else c.name for c in result.failures)
        # Text, not markup: details hold brackets ("['transfer']") that rich would eat.
        scenarios.add_row(
            Text(result.name), verdict, Text(outcome), str(result.turns), Text(failed)
        )
    console.print(scenarios)

    accuracy = Table(title="Accuracy")
    accuracy.add_column("field")
    accuracy.add_column("correct/total", justify="right")
    accuracy.add_row(Text("outcome", style="bold"), _score_text(report.outcome))
    for name, score in report.fields.items():
        accuracy.add_row(Text(name), _score_text(score))
    console.print(accuracy)

    lat = report.latency
    voice = report.voice_to_voice
    if voice is None or lat.count:
        console.print(
            f"Agent turns: {lat.count}; latency to last event p50 {lat.p50_ms:.3f} ms, "
            f"p99 {lat.p99_ms:.3f} ms, max {lat.max_ms:.3f} ms; to first sentence p50 "
            f"{lat.first_say_p50_ms:.3f} ms, p99 {lat.first_say_p99_ms:.3f} ms",
            markup=False,
            highlight=False,
        )
    if voice is not None:
        console.print(
            f"Voice-to-voice, as the caller hears it: {voice.count} answered turns (barge-ins "
            f"left out); p50 {voice.p50_ms:.0f} ms, p90 {voice.p90_ms:.0f} ms, "
            f"max {voice.max_ms:.0f} ms",
            markup=False,
            highlight=False,
        )
    style = "bold green" if report.ok else "bold red"
    console.print(Text(f"{report.passed}/{len(report.results)} scenarios passed", style=style))
    if transcripts:
        for result in report.results:
            if result.passed:
                continue
            console.print(Text(f"\n{result.name} ({result.scenario.source})", style="bold"))
            for line in result.transcript:
                text = "(silence)" if line.text is None else line.text
                topic = f" [{line.topic.value}]" if line.topic else ""
                console.print(Text(f"  {line.speaker}{topic}: {text}"))
