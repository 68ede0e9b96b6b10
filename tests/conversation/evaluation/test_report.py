"""The report: per-field and outcome accuracy, latency percentiles, and the rich output."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from dentalvoice.conversation.evaluation.report import (
    EvalReport,
    build_report,
    percentile,
    print_report,
)
from dentalvoice.conversation.evaluation.runner import (
    Check,
    Line,
    ScenarioResult,
    TurnLatency,
    run_scenario,
)
from dentalvoice.conversation.evaluation.scenario import Topic, parse_scenario
from dentalvoice.conversation.qualification import Outcome, Qualification

from .fakes import QualifyingAgent, RecordingFactory


def _result(name: str, checks: list[Check], latencies: list[TurnLatency]) -> ScenarioResult:
    return ScenarioResult(
        scenario=parse_scenario({"name": name, "caller": {}}),
        transcript=[Line("agent", "Is now a good time?"), Line("caller", None, Topic.GOOD_TIME)],
        actions=[],
        qualification=Qualification(outcome=Outcome.QUALIFIED),
        finished=True,
        turns=1,
        latencies=latencies,
        checks=checks,
    )


def _report() -> EvalReport:
    ms = 0.001
    return build_report(
        [
            _result(
                "one",
                [
                    Check("finished", True),
                    Check("outcome", True, field="outcome"),
                    Check("qualification.pain_level", True, field="pain_level"),
                    Check("qualification.insurance.carrier", False, "x", field="insurance.carrier"),
                    Check("action transfer", True),
                ],
                [TurnLatency(1 * ms, 0.5 * ms, opening=True), TurnLatency(2 * ms, None)],
            ),
            _result(
                "two",
                [
                    Check("finished", True),
                    Check("outcome", False, "expected booked", field="outcome"),
                    Check("qualification.pain_level", False, field="pain_level"),
                    Check("red_flags contains", True, field="red_flags"),
                    Check("said /911/", False, "never said"),
                ],
                [TurnLatency(3 * ms, 1 * ms), TurnLatency(4 * ms, 2 * ms)],
            ),
            _result("three", [Check("finished", True)], []),
        ]
    )


def test_per_field_and_outcome_accuracy() -> None:
    report = _report()
    counts = {name: (s.correct, s.total) for name, s in report.fields.items()}
    assert counts == {"insurance.carrier": (0, 1), "pain_level": (1, 2), "red_flags": (1, 1)}
    assert list(report.fields) == sorted(report.fields)
    assert (report.outcome.correct, report.outcome.total) == (1, 2)
    assert report.fields["pain_level"].accuracy == 0.5
    assert report.passed == 1 and not report.ok


def test_latency_percentiles() -> None:
    latency = _report().latency
    assert latency.count == 4
    assert latency.p50_ms == pytest.approx(2.0)
    assert latency.p99_ms == pytest.approx(4.0)
    assert latency.max_ms == pytest.approx(4.0)
    assert latency.first_say_p50_ms == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [([], 50, 0.0), ([5.0], 99, 5.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0), ([1, 2, 3, 4], 75, 3)],
)
def test_percentile_is_nearest_rank(values: list[float], pct: float, expected: float) -> None:
    assert percentile(values, pct) == expected
    assert percentile(list(range(1, 101)), 99) == 99


def test_ok_needs_results_all_passed() -> None:
    assert not build_report([]).ok
    passing = _result("fine", [Check("finished", True)], [])
    assert build_report([passing]).ok


def test_print_report_shows_failures_and_transcripts() -> None:
    console = Console(record=True, width=160)
    print_report(_report(), console, transcripts=True)
    text = console.export_text()
    assert "PASS" in text and "FAIL" in text
    assert "said /911/: never said" in text
    assert "qualified (expected" not in text  # no expected outcome on these scenarios
    assert "insurance.carrier" in text and "0/1 (0%)" in text
    assert "outcome" in text and "1/2 (50%)" in text
    assert "p99 4.000 ms" in text
    assert "1/3 scenarios passed" in text
    assert "caller [good_time]: (silence)" in text


async def test_a_real_run_reports_brackets_verbatim() -> None:
    data: dict[str, Any] = {
        "name": "brackets",
        "caller": {"facts": {"pain": "2", "insurance": "I have Aetna."}},
        "expect": {"outcome": "booked", "actions_include": ["transfer"]},
    }
    result = await run_scenario(
        parse_scenario(data), agent_factory=RecordingFactory(QualifyingAgent)
    )
    console = Console(record=True, width=200)
    print_report(build_report([result]), console)
    text = console.export_text()
    assert "qualified (expected booked)" in text
    assert "actions: ['end_call']" in text
