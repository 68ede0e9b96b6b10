"""Scenario loading and validation, and the rules that match expected qualification values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dentalvoice.conversation.evaluation.scenario import (
    ActionKind,
    ScenarioError,
    Topic,
    expected_value,
    is_datetime_path,
    list_contains,
    load_scenario,
    load_scenarios,
    lookup,
    parse_scenario,
    values_match,
)
from dentalvoice.conversation.qualification import Outcome

EXAMPLE = """
name: implant-consult-insured
now: "2026-11-24T10:15:00-05:00"
location: {name: Bright Smile Dental, timezone: America/New_York}
lead: {first_name: Maria, last_name: Lopez, phone: "+13055550123", state: FL}
caller:
  facts:
    good_time: "Sure, I have a minute."
    identity: "Yes, this is Maria."
    reason: "I lost a tooth and I'm interested in implants."
    pain: "No pain, maybe a one."
    red_flags: "No, nothing like that."
    last_visit: "About two years ago."
    new_patient: "Yes, I'd be new."
    insurance: "I have Delta Dental PPO."
    availability: "Tuesday afternoons are best."
    confirm: "Yes, that's right."
    anything_else: "No, that's everything."
  opening: null
  default: "Sorry, what was that?"
expect:
  outcome: qualified
  qualification:
    treatment_interest: implants
    pain_level: 1
    insurance.carrier: Delta Dental
    new_patient: true
  actions_include: []
  max_turns: 20
"""


def _data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = data
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value
    return data


def _error(**changes: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_data(**changes), source="scenarios/x.yaml")
    assert str(info.value).startswith("scenarios/x.yaml: ")
    return str(info.value)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "implant.yaml"
    path.write_text(EXAMPLE)
    scenario = load_scenario(path)
    assert scenario.source == str(path)
    assert scenario.name == "implant-consult-insured"
    assert scenario.caller.facts[Topic.PAIN] == "No pain, maybe a one."
    assert scenario.caller.opening is None
    assert scenario.expect.outcome is Outcome.QUALIFIED
    assert scenario.expect.qualification == {
        "treatment_interest": "implants",
        "pain_level": 1,
        "insurance.carrier": "Delta Dental",
        "new_patient": True,
    }
    assert scenario.location.transfer_available is True
    assert scenario.location.emergency_pain_threshold is None


def test_optional_extras() -> None:
    scenario = parse_scenario(
        _data(
            location__transfer_available=False,
            location__agent_name="Claire",
            location__emergency_pain_threshold=7,
            free_slots=["2026-11-25T14:00:00-05:00"],
            caller__script=["Hello?", None],
            caller__facts__callback="At five.",
            caller__facts__offer=None,
            expect__actions_exclude=["transfer"],
            expect__say_include=[r"\bAI\b"],
            expect__transfer_reason=None,
        )
    )
    assert scenario.location.agent_name == "Claire"
    assert scenario.caller.script == ["Hello?", None]
    assert scenario.caller.facts[Topic.OFFER] is None
    assert scenario.expect.actions_exclude == [ActionKind.TRANSFER]
    assert scenario.free_slots[0].utcoffset() is not None


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"name": "Has Spaces"}, "name: String should match pattern"),
        ({"caller__facts__insurence": "x"}, "caller.facts.insurence.[key]"),
        ({"caller__sript": []}, "caller.sript: Extra inputs"),
        ({"expect__qualification__pain_levle": 1}, "Qualification has no field 'pain_levle'"),
        ({"expect__qualification__insurance.carier": "x"}, "Insurance has no field 'carier'"),
        ({"expect__qualification__treatment_interest": "implantz"}, "treatment_interest: Input"),
        ({"expect__qualification__pain_level": 11}, "pain_level: Input should be less than"),
        ({"expect__qualification__new_patient": None}, None),
        ({"expect__qualification__red_flags": None}, "red_flags: may not be null"),
        ({"expect__qualification__red_flags": ["trauma", "zombies"]}, "red_flags.1: Input"),
        ({"expect__qualification__callback_time": "2026-11-24T17:00"}, "callback_time: Input"),
        ({"expect__qualification_contains": {"pain_level": [1]}}, "pain_level: not a list"),
        ({"expect__qualification_match": {"pain_level": "1"}}, "pain_level: not a text field"),
        ({"expect__outcome": "great"}, "expect.outcome: Input should be"),
        ({"expect__actions_include": ["teleport"]}, "expect.actions_include.0"),
        (
            {"expect__actions_include": ["transfer"], "expect__actions_exclude": ["transfer"]},
            "actions both included and excluded: transfer",
        ),
        ({"expect__say_include": ["(unclosed"]}, "expect.say_include: bad regex '(unclosed'"),
        ({"expect__max_turns": 0}, "expect.max_turns"),
        ({"now": "2026-11-24T10:15:00"}, "now: Input should have timezone info"),
        ({"free_slots": ["2026-11-25T14:00:00"]}, "free_slots.0: Input should have timezone"),
        ({"location__timezone": "Mars/Olympus"}, "location.timezone: unknown time zone"),
        ({"location__emergency_pain_threshold": 12}, "location.emergency_pain_threshold"),
        ({"lead__phone": "555-0123"}, "lead.phone: String should match pattern"),
    ],
)
def test_invalid_fields_are_named(changes: dict[str, Any], fragment: str | None) -> None:
    if fragment is None:  # allowed: new_patient may be expected to stay unknown
        parse_scenario(_data(**changes))
        return
    assert fragment in _error(**changes)


def test_missing_caller_and_non_mappings() -> None:
    data = _data()
    del data["caller"]
    with pytest.raises(ScenarioError, match="caller: Field required"):
        parse_scenario(data, source="s.yaml")
    with pytest.raises(ScenarioError, match="a scenario must be a mapping"):
        parse_scenario(["name"], source="s.yaml")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml: not valid YAML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="no such file or directory"):
        load_scenarios(tmp_path / "missing.yaml")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScenarioError, match=r"no \*\.yaml scenario files"):
        load_scenarios(empty)


def test_directories_load_sorted_and_names_must_be_unique(tmp_path: Path) -> None:
    for stem, name in [("b", "second"), ("a", "first")]:
        (tmp_path / f"{stem}.yaml").write_text(EXAMPLE.replace("implant-consult-insured", name))
    (tmp_path / "notes.txt").write_text("not a scenario")
    assert [s.name for s in load_scenarios(tmp_path)] == ["first", "second"]
    (tmp_path / "c.yaml").write_text(EXAMPLE.replace("implant-consult-insured", "first"))
    with pytest.raises(ScenarioError, match=r"c\.yaml: name: 'first' is also used by"):
        load_scenarios([tmp_path])


def test_nested_mappings_flatten_into_paths() -> None:
    scenario = parse_scenario(
        _data(expect__qualification={"insurance": {"carrier": "Aetna", "status": "has"}})
    )
    assert scenario.expect.qualification == {
        "insurance.carrier": "Aetna",
        "insurance.status": "has",
    }


def test_expected_values_are_put_in_json_form() -> None:
    assert expected_value("treatment_interest", "Implants") == "implants"
    assert expected_value("red_flags", ["TRAUMA"]) == ["trauma"]
    assert expected_value("availability.days", ["sat"]) == ["sat"]
    assert expected_value("availability.windows", [{"start": "15:00"}]) == [{"start": "15:00"}]
    assert expected_value("pain_level", 7) == 7
    # YAML turns an unquoted timestamp into a datetime; it is compared as ISO text.
    parsed = yaml.safe_load("t: 2026-11-24T17:00:00-05:00")["t"]
    assert expected_value("callback_time", parsed) == "2026-11-24T17:00:00-05:00"
    assert expected_value("preferred_slot", "2026-11-25 14:00-05:00") == (
        "2026-11-25T14:00:00-05:00"
    )
    with pytest.raises(ValueError, match="start: String should match pattern"):
        expected_value("availability.windows", [{"start": "3pm"}])
    with pytest.raises(ValueError, match="TimeWindow has no field 'begin'"):
        expected_value("availability.windows", [{"begin": "15:00"}])
    assert is_datetime_path("callback_time") and is_datetime_path("preferred_slot")
    assert not is_datetime_path("insurance.carrier")


def test_lookup_follows_dotted_paths() -> None:
    dump = {"insurance": {"carrier": "Aetna"}, "red_flags": ["trauma"], "availability": None}
    assert lookup(dump, "insurance.carrier") == (True, "Aetna")
    assert lookup(dump, "red_flags.0") == (True, "trauma")
    assert lookup(dump, "red_flags.3") == (False, None)
    assert lookup(dump, "availability.days") == (False, None)
    assert lookup(dump, "availability") == (True, None)


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        ("Delta Dental", "delta dental", True),
        ("Delta Dental", "Delta Dental PPO", False),
        ("implants", "implants", True),
        (7, 7, True),
        (7, 6, False),
        (7, "7", False),
        (1, True, False),
        (True, 1, False),
        (True, True, True),
        (False, None, False),
        (None, None, True),
        (None, "", False),
        (["sat", "sun"], ["sun", "sat"], True),
        (["sat"], ["sat", "sun"], False),
        (["sat", "sat"], ["sat", "sun"], False),
        ([], [], True),
        (["TRAUMA"], ["trauma"], True),
        ([{"start": "15:00"}], [{"start": "15:00", "end": "18:00"}], True),
        ([{"start": "15:00"}], [{"start": "16:00", "end": "18:00"}], False),
    ],
)
def test_values_match(expected: Any, actual: Any, result: bool) -> None:
    assert values_match(expected, actual) is result


def test_date_times_compare_as_exact_text() -> None:
    iso = "2026-11-24T17:00:00-05:00"
    assert values_match(iso, iso, exact_text=True)
    assert not values_match(iso, "2026-11-24T22:00:00Z", exact_text=True)
    assert not values_match("2026-11-24t17:00:00-05:00", iso, exact_text=True)


def test_list_contains() -> None:
    assert list_contains(["trauma"], ["severe_pain", "trauma"])
    assert not list_contains(["trauma"], ["severe_pain"])
    assert not list_contains(["trauma"], None)
    assert list_contains([], [])
