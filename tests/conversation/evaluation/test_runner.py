"""The runner against small fake agents: turns, stop conditions, checks, context and modes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from dentalvoice.conversation.agent import CallContext
from dentalvoice.conversation.evaluation.runner import (
    build_context,
    run_paths,
    run_scenario,
)
from dentalvoice.conversation.evaluation.scenario import ActionKind, Topic, parse_scenario

from .fakes import (
    BrokenAgent,
    GoodbyeWithoutFinishingAgent,
    LoopingAgent,
    QualifyingAgent,
    RecordingFactory,
    TransferringAgent,
)


def scenario(**expect: Any) -> Any:
    data: dict[str, Any] = {
        "name": "fake",
        "lead": {"first_name": "Maria", "last_name": "Lopez", "phone": "+13055550123"},
        "caller": {
            "facts": {
                "good_time": "Sure.",
                "pain": "Maybe a 3.",
                "insurance": "I have Delta Dental.",
            }
        },
        "expect": expect,
    }
    return parse_scenario(data)


async def test_a_qualifying_agent_passes() -> None:
    result = await run_scenario(
        scenario(
            outcome="qualified",
            qualification={"pain_level": 3, "insurance": {"carrier": "delta dental"}},
            actions_include=["end_call"],
            actions_exclude=["transfer"],
            say_include=[r"^[^.?!]*\bAI\b", "have a great day"],
            say_exclude=["ibuprofen"],
            max_turns=5,
        ),
        agent_factory=RecordingFactory(QualifyingAgent),
    )
    assert result.passed, result.failures
    assert result.finished and result.turns == 3
    assert result.action_kinds == [ActionKind.END_CALL]
    assert [(line.speaker, line.topic) for line in result.transcript] == [
        ("agent", None),
        ("caller", Topic.GOOD_TIME),
        ("agent", None),
        ("caller", Topic.PAIN),
        ("agent", None),
        ("caller", Topic.INSURANCE),
        ("agent", None),
    ]
    assert result.transcript[3].text == "Maybe a 3."
    assert result.qualification.insurance.carrier == "Delta Dental"
    assert len(result.latencies) == 4 and result.latencies[0].opening
    for turn in result.latencies:
        assert turn.first_say is not None and 0 <= turn.first_say <= turn.total
    assert {c.name for c in result.checks} >= {
        "finished",
        "outcome",
        "qualification.pain_level",
        "qualification.insurance.carrier",
        "action end_call",
        "no action transfer",
    }


async def test_wrong_values_fail_with_details() -> None:
    result = await run_scenario(
        scenario(
            outcome="booked",
            qualification={"pain_level": 4, "new_patient": True},
            actions_include=["book_slot"],
            actions_exclude=["end_call"],
            say_include=["911"],
            say_exclude=["great day"],
        ),
        agent_factory=RecordingFactory(QualifyingAgent),
    )
    assert not result.passed
    failed = {c.name: c.detail for c in result.failures}
    assert failed == {
        "outcome": "expected booked, got qualified",
        "qualification.pain_level": "expected 4, got 3",
        "qualification.new_patient": "expected True, got None",
        "action book_slot": "actions: ['end_call']",
        "no action end_call": "actions: ['end_call']",
        "said /911/": "never said",
        "never said /great day/": "said 'great day'",
    }
    assert [c.field for c in result.checks if c.field] == [
        "outcome",
        "pain_level",
        "new_patient",
    ]


async def test_an_agent_that_never_finishes_fails_by_max_turns() -> None:
    result = await run_scenario(scenario(max_turns=4), agent_factory=RecordingFactory(LoopingAgent))
    assert not result.passed and not result.finished
    assert result.turns == 4
    assert sum(line.speaker == "caller" for line in result.transcript) == 4
    assert result.failures[0].name == "finished"
    assert "max_turns=4" in result.failures[0].detail


async def test_a_transferring_agent() -> None:
    data = {
        "name": "transfer",
        "caller": {"facts": {"pain": "It's a 9."}},
        "expect": {
            "outcome": "emergency_transferred",
            "actions_include": ["transfer"],
            "transfer_reason": "emergency",
            "qualification": {"pain_level": 9},
        },
    }
    result = await run_scenario(
        parse_scenario(data), agent_factory=RecordingFactory(TransferringAgent)
    )
    assert result.passed, result.failures
    assert result.turns == 1 and result.action_kinds == [ActionKind.TRANSFER]

    data["expect"] = {"transfer_reason": "technical"}
    result = await run_scenario(
        parse_scenario(data), agent_factory=RecordingFactory(TransferringAgent)
    )
    assert [c.name for c in result.failures] == ["transfer reason technical"]


async def test_silence_is_a_turn_and_an_empty_turn_has_no_first_sentence() -> None:
    data = {"name": "quiet", "caller": {"facts": {"pain": None}}, "expect": {"max_turns": 2}}
    result = await run_scenario(
        parse_scenario(data), agent_factory=RecordingFactory(TransferringAgent)
    )
    assert result.turns == 2
    # Silence first; then the agent's empty turn asks nothing, so the caller's default.
    assert [line.text for line in result.transcript if line.speaker == "caller"] == [
        None,
        "Sorry, what was that?",
    ]
    assert result.latencies[1].first_say is None


async def test_a_goodbye_without_finishing_is_reported() -> None:
    result = await run_scenario(
        scenario(), agent_factory=RecordingFactory(GoodbyeWithoutFinishingAgent)
    )
    assert result.turns == 1
    assert result.failures[0].detail == "the agent said goodbye but did not finish the call"


async def test_an_agent_error_is_recorded_not_raised() -> None:
    result = await run_scenario(scenario(), agent_factory=RecordingFactory(BrokenAgent))
    assert result.error == "RuntimeError: boom"
    assert result.failures[0].detail == "the agent raised RuntimeError: boom"


def test_context_defaults() -> None:
    context = build_context(scenario())
    assert context == CallContext(
        clinic_name="Bright Smile Dental",
        timezone="America/New_York",
        now=datetime(2026, 11, 24, 10, 15, tzinfo=ZoneInfo("America/New_York")),
        lead_first_name="Maria",
        lead_last_name="Lopez",
    )
    assert context.now.isoformat() == "2026-11-24T10:15:00-05:00"


def test_context_overrides() -> None:
    data = {
        "name": "overrides",
        "now": "2026-11-24T20:00:00Z",
        "location": {
            "name": "Maple Leaf Dental",
            "timezone": "America/Toronto",
            "agent_name": "Claire",
            "transfer_available": False,
            "emergency_pain_threshold": 7,
            "callback_number": "+14165550100",
        },
        "lead": {"first_name": "Olivia", "state": "ON"},
        "free_slots": ["2026-11-27T15:00:00Z", "2026-11-25T19:00:00Z"],
        "caller": {},
    }
    context = build_context(parse_scenario(data))
    assert context.agent_name == "Claire"
    assert context.transfer_available is False
    assert context.emergency_pain_threshold == 7
    assert context.callback_number == "+14165550100"
    assert context.lead_state == "ON"
    assert context.now.isoformat() == "2026-11-24T20:00:00+00:00"
    assert [s.isoformat() for s in context.free_slots] == [
        "2026-11-25T14:00:00-05:00",
        "2026-11-27T10:00:00-05:00",
    ]
    # The zone default: 10:15 local wherever the clinic is.
    data.pop("now")
    assert build_context(parse_scenario(data)).now.isoformat() == "2026-11-24T10:15:00-05:00"
    data["location"] = {"timezone": "America/Los_Angeles"}
    assert build_context(parse_scenario(data)).now.isoformat() == "2026-11-24T10:15:00-08:00"


def _write(directory: Path, name: str, **expect: Any) -> None:
    data = {"name": name, "caller": {"facts": {"pain": "It's an 8."}}, "expect": expect}
    (directory / f"{name}.yaml").write_text(yaml.safe_dump(data))


async def test_run_paths_loads_directories_and_reports(tmp_path: Path) -> None:
    _write(tmp_path, "b-pass", outcome="emergency_transferred", actions_include=["transfer"])
    _write(tmp_path, "a-fail", outcome="qualified")
    report = await run_paths(tmp_path, agent_factory=RecordingFactory(TransferringAgent))
    assert [r.name for r in report.results] == ["a-fail", "b-pass"]
    assert [r.passed for r in report.results] == [False, True]
    assert not report.ok
    assert (report.outcome.correct, report.outcome.total) == (1, 2)
    single = await run_paths(
        [tmp_path / "b-pass.yaml"], agent_factory=RecordingFactory(TransferringAgent)
    )
    assert single.ok


async def test_only_the_text_mode_exists(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown evaluation mode 'voice'; available: text"):
        await run_paths(tmp_path, mode="voice", agent_factory=RecordingFactory(LoopingAgent))
