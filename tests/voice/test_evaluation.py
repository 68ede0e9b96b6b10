"""`eval --mode voice`: a demo call turned into the text runner's result, and the real command."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from dentalvoice.callers.talking import CallerTurn, TalkingCaller
from dentalvoice.config import get_settings
from dentalvoice.conversation.agent import (
    Action,
    EndCall,
    MarkDoNotCall,
    Transfer,
    TransferReason,
)
from dentalvoice.conversation.evaluation import build_report, parse_scenario, print_report
from dentalvoice.conversation.evaluation.runner import Line
from dentalvoice.conversation.evaluation.scenario import Scenario, Topic
from dentalvoice.conversation.qualification import Outcome, Qualification
from dentalvoice.demo import DemoResult, LeadInGhl
from dentalvoice.emulators.twilio import CallRecord
from dentalvoice.voice.evaluation import demo_differences, scenario_result
from dentalvoice.voice.handler import VoiceCallResult
from tests.conftest import invoke

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
OPT_OUT = {
    "name": "opt-out",
    "caller": {"opening": "Please stop calling me."},
    "expect": {
        "outcome": "opted_out",
        "qualification": {"opted_out": True},
        "actions_include": ["mark_do_not_call", "end_call"],
        "actions_exclude": ["transfer"],
        "say_include": ["won't call"],
        "max_turns": 2,
    },
}


def _call(*, end_reason: str | None = "program", status: str = "completed") -> CallRecord:
    return CallRecord(
        sid="CA" + "0" * 32,
        account_sid="AC" + "0" * 32,
        to="+13055550123",
        from_="+13055550100",
        params={},
        status=status,
        date_created=datetime(2026, 11, 24, 15, tzinfo=UTC),
        arrived_at=0.0,
        end_reason=end_reason,
    )


def _turn(
    index: int,
    *,
    reply: str | None = "Please stop calling me.",
    voice_to_voice_ms: float | None = 900.0,
    barge_in: bool = False,
    hang_up: bool = False,
) -> CallerTurn:
    spoken = reply is not None
    return CallerTurn(
        index=index,
        agent_turn=index,
        agent_text="heard",
        agent_start_at=float(index),
        heard_until=float(index) + 0.5,
        barge_in=barge_in,
        reply=reply,
        topic=Topic.GOOD_TIME,
        hang_up=hang_up,
        transcribe_ms=100.0,
        speech_end_at=10.0 if spoken else None,
        first_agent_audio_at=10.0 + voice_to_voice_ms / 1000 if voice_to_voice_ms else None,
    )


def _demo(
    scenario: Scenario,
    turns: list[CallerTurn],
    qualification: Qualification | None,
    transcript: list[tuple[str, str]] | None = None,
    call: CallRecord | None = None,
    actions: list[Action] | None = None,
    finished: bool = True,
) -> DemoResult:
    caller = TalkingCaller(scenario.caller)
    caller.turns = turns
    result = None
    if qualification is not None:
        result = VoiceCallResult(
            attempt_id=uuid.uuid4(),
            qualification=qualification,
            transcript=transcript or [],
            turns=[],
            actions=[MarkDoNotCall(), EndCall()] if actions is None else actions,
            finished=finished,
        )
    return DemoResult(
        call=call or _call(),
        caller=caller,
        result=result,
        outcome=None,
        ghl=LeadInGhl(
            name="", tags=[], fields={}, call_dnd=False, stages=[], appointments=[], notes=[]
        ),
        writes=[],
    )


def _opted_out() -> Qualification:
    return Qualification(opted_out=True, outcome=Outcome.OPTED_OUT)


def test_an_opt_out_call_is_scored_like_a_text_run() -> None:
    scenario = parse_scenario(OPT_OUT)
    demo = _demo(
        scenario,
        turns=[
            _turn(0, voice_to_voice_ms=1200.0),
            _turn(1, reply=None, voice_to_voice_ms=None, hang_up=True),
        ],
        qualification=_opted_out(),
        transcript=[
            ("agent", "Hi, this is Ava, an AI assistant."),
            ("caller", "Please stop calling me."),
            ("agent", "Understood. We won't call again. Goodbye."),
        ],
    )

    result = scenario_result(scenario, demo)

    assert result.passed, result.failures
    assert result.actions == [MarkDoNotCall(), EndCall()]
    assert result.turns == 1  # the hang-up is not an answer
    assert result.transcript[1] == Line("caller", "Please stop calling me.")
    assert result.voice_to_voice_ms == pytest.approx([1200.0])
    assert result.latencies == []
    assert demo.result is not None and result.qualification is not demo.result.qualification


def test_voice_to_voice_leaves_out_barge_ins_and_unanswered_turns() -> None:
    scenario = parse_scenario(OPT_OUT)
    turns = [
        _turn(0, voice_to_voice_ms=800.0),
        _turn(1, voice_to_voice_ms=300.0, barge_in=True),
        _turn(2, voice_to_voice_ms=None),
        _turn(3, voice_to_voice_ms=1000.0),
    ]
    result = scenario_result(scenario, _demo(scenario, turns, _opted_out()))
    assert result.voice_to_voice_ms == pytest.approx([800.0, 1000.0])
    assert result.turns == 4


def test_a_call_without_a_conversation_fails_with_the_reason() -> None:
    scenario = parse_scenario(OPT_OUT)
    demo = _demo(scenario, [], None, call=_call(status="failed", end_reason=None))
    result = scenario_result(scenario, demo)
    assert not result.passed
    assert result.error is not None and "failed" in result.error
    assert result.failures[0].name == "finished"


def test_more_caller_turns_than_max_turns_is_not_finished() -> None:
    scenario = parse_scenario(OPT_OUT)
    turns = [_turn(i) for i in range(3)]
    result = scenario_result(scenario, _demo(scenario, turns, _opted_out()))
    finish = result.checks[0]
    assert not finish.passed and "max_turns=2" in finish.detail


def test_a_goodbye_the_agent_did_not_end_counts_as_a_hang_up() -> None:
    scenario = parse_scenario(OPT_OUT)
    turns = [_turn(0), _turn(1, reply=None, voice_to_voice_ms=None, hang_up=True)]
    demo = _demo(scenario, turns, Qualification(), call=_call(end_reason="callee"), finished=False)
    finish = scenario_result(scenario, demo).checks[0]
    assert not finish.passed and "did not finish the call" in finish.detail


def test_the_agents_own_actions_are_scored() -> None:
    scenario = parse_scenario(OPT_OUT)
    demo = _demo(
        scenario,
        [_turn(0)],
        _opted_out(),
        actions=[
            MarkDoNotCall(),
            Transfer(reason=TransferReason.REQUESTED, summary="asked for a person"),
        ],
    )
    result = scenario_result(scenario, demo)
    assert result.actions == [
        MarkDoNotCall(),
        Transfer(reason=TransferReason.REQUESTED, summary="asked for a person"),
    ]
    failed = {check.name for check in result.failures}
    assert any("transfer" in name or "end_call" in name or "actions" in name for name in failed)


def test_the_report_shows_voice_to_voice_percentiles_instead_of_agent_turns() -> None:
    scenario = parse_scenario(OPT_OUT)
    turns = [_turn(i, voice_to_voice_ms=ms) for i, ms in enumerate([100.0, 200.0, 900.0])]
    report = build_report([scenario_result(scenario, _demo(scenario, turns, _opted_out()))])
    assert report.voice_to_voice is not None and report.voice_to_voice.count == 3

    console = Console(record=True, width=200)
    print_report(report, console)
    text = console.export_text()
    assert "3 answered turns" in text and "p50 200 ms, p90 900 ms" in text
    assert "Agent turns" not in text
    assert "opted_out" in text and "1/1 (100%)" in text


def test_a_text_report_has_no_voice_line() -> None:
    assert build_report([]).voice_to_voice is None


def test_demo_differences_name_what_the_demo_call_cannot_reproduce() -> None:
    assert demo_differences(parse_scenario(OPT_OUT)) == []
    transfer = parse_scenario(
        {
            "name": "t",
            "now": "2026-11-24T22:00:00-05:00",
            "location": {"agent_name": "Max"},
            "free_slots": ["2026-11-25T14:00:00-05:00"],
            "caller": {},
            "expect": {"transfer_reason": "emergency"},
        }
    )
    # The time and the calendar are reproduced (the GHL emulator holds the slots); the name not.
    assert demo_differences(transfer) == ["location.agent_name: the demo clinic uses the default"]


def test_eval_voice_refuses_another_agent_and_unknown_modes(cli_env: dict[str, str]) -> None:
    scenario = str(SCENARIOS / "stop-alone.yaml")
    code, out = invoke("eval", scenario, "--mode", "voice", "--agent", "openai")
    assert code == 2 and "scripted agent only" in out
    code, out = invoke("eval", scenario, "--mode", "telepathy")
    assert code == 2 and "available: text, voice" in out


def test_eval_voice_runs_a_whole_call_and_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shortest scenario as a real call, like the demo command's test: only DATA_DIR set."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    try:
        code, output = invoke("eval", str(SCENARIOS / "dnc-at-opening.yaml"), "--mode", "voice")
    finally:
        get_settings.cache_clear()

    text = " ".join(output.split())
    assert "dnc-at-opening: calling" in text
    assert "Voice-to-voice, as the caller hears it" in text
    assert code == 0, output
    assert "1/1 scenarios passed" in text
