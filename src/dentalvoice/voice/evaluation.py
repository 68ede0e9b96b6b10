"""`dentalvoice eval --mode voice`: scenarios as whole phone calls, scored like the text mode.

Each scenario runs through `dentalvoice.demo.run_demo` (the Twilio emulator, our pipeline with
local Whisper and Piper, the talking caller that hears only audio), one after another: the local
models use every core, and latency is measured alone. Each call becomes the text runner's
`ScenarioResult` and is checked by the same `check_expectations`, so the report is the same.

What a voice call provides, and how it fills a `ScenarioResult`:

- qualification: the agent's, from `VoiceCallResult`;
- transcript: the agent's own record — its sentences as it decided them, the caller's words as
  its speech recognition heard them;
- turns: the caller's answers (silences included, its final hang-up not);
- latency: voice-to-voice as the caller measures it, over answered turns it did not barge into;
- actions and finished: the agent's own, from `VoiceCallResult` (finished also needs the call
  to end within `expect.max_turns` caller turns).

The demo call reproduces the scenario's clinic, time and calendar (its free slots, a taken one,
a calendar that is down) in the GHL emulator, but not every setting (`demo_differences`): the
agent's name, emergency threshold and callback number are the product's defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from dentalvoice.conversation.evaluation.report import EvalReport, build_report
from dentalvoice.conversation.evaluation.runner import (
    Line,
    ScenarioResult,
    check_expectations,
)
from dentalvoice.conversation.evaluation.scenario import Scenario, load_scenarios
from dentalvoice.conversation.qualification import Qualification
from dentalvoice.demo import DemoResult, run_demo


def scenario_result(scenario: Scenario, demo: DemoResult) -> ScenarioResult:
    """A demo call as the text runner's result, checked against the scenario's expectations.

    Args:
        scenario: The scenario the call played.
        demo: What `run_demo` returned for it.

    Returns:
        The result with its checks; `error` is set when the call held no conversation.
    """
    voice = demo.result
    answers = [turn for turn in demo.caller.turns if not turn.hang_up]
    voice_to_voice = [
        ms
        for turn in demo.caller.turns
        if not turn.barge_in and (ms := turn.voice_to_voice_ms) is not None
    ]
    if voice is None:
        return _checked(
            ScenarioResult(
                scenario=scenario,
                transcript=[],
                actions=[],
                qualification=Qualification(),
                finished=False,
                turns=len(answers),
                latencies=[],
                error=f"no conversation: the call ended {demo.call.status} "
                f"({demo.call.end_reason or 'no reason'})",
                voice_to_voice_ms=voice_to_voice,
            ),
            hung_up=False,
        )
    qualification = voice.qualification.model_copy(deep=True)
    result = ScenarioResult(
        scenario=scenario,
        transcript=[Line(speaker, text or None) for speaker, text in voice.transcript],
        actions=list(voice.actions),
        qualification=qualification,
        finished=voice.finished and len(answers) <= scenario.expect.max_turns,
        turns=len(answers),
        latencies=[],
        voice_to_voice_ms=voice_to_voice,
    )
    return _checked(result, hung_up=any(turn.hang_up for turn in demo.caller.turns))


def _checked(result: ScenarioResult, *, hung_up: bool) -> ScenarioResult:
    result.checks = check_expectations(result, hung_up=hung_up)
    return result


def demo_differences(scenario: Scenario) -> list[str]:
    """The scenario's settings the demo call does not reproduce (empty when none matter)."""
    notes = []
    location = scenario.location
    for name in ("agent_name", "emergency_pain_threshold", "callback_number"):
        if getattr(location, name) is not None:
            notes.append(f"location.{name}: the demo clinic uses the default")
    return notes


async def run_voice_scenario(
    scenario: Scenario, *, data_dir: Path, max_call_s: float = 240.0
) -> ScenarioResult:
    """Play one scenario as a whole phone call and check it (an error is recorded, not raised).

    Args:
        scenario: The scenario.
        data_dir: A directory the call may wipe and use.
        max_call_s: The longest the call may take.

    Returns:
        The checked result.
    """
    try:
        demo = await run_demo(scenario=scenario, data_dir=data_dir, max_call_s=max_call_s)
    except Exception as exc:  # one broken call must not stop the other scenarios
        result = ScenarioResult(
            scenario=scenario,
            transcript=[],
            actions=[],
            qualification=Qualification(),
            finished=False,
            turns=0,
            latencies=[],
            error=f"{type(exc).__name__}: {exc}",
            voice_to_voice_ms=[],
        )
        return _checked(result, hung_up=False)
    return scenario_result(scenario, demo)


async def run_voice_paths(
    paths: str | Path | Iterable[str | Path],
    *,
    data_dir: Path,
    on_start: Callable[[Scenario], None] | None = None,
) -> EvalReport:
    """Load scenario files and directories, play each as a call, one after another, and report.

    Args:
        paths: Files, directories, or one of either (`*.yaml`, sorted).
        data_dir: A directory the calls may wipe and use.
        on_start: Told of each scenario before its call starts.

    Returns:
        The report over all scenarios.

    Raises:
        ScenarioError: a scenario file is invalid.
    """
    results = []
    for scenario in load_scenarios(paths):
        if on_start is not None:
            on_start(scenario)
        results.append(await run_voice_scenario(scenario, data_dir=data_dir))
    return build_report(results)
