"""Every scenario in the repository's scenarios/ directory loads and follows the conventions."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from dentalvoice.conversation.evaluation.scenario import load_scenarios
from dentalvoice.conversation.qualification import Outcome

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
FICTIONAL_PHONE = re.compile(r"^\+1\d{3}55501\d{2}$")  # NANP 555-0100..0199: reserved


def test_all_scenarios_load() -> None:
    scenarios = load_scenarios(SCENARIOS)
    assert len(scenarios) >= 32
    for scenario in scenarios:
        assert Path(scenario.source).stem == scenario.name
        assert scenario.description, scenario.name
        assert scenario.expect.outcome is not None, scenario.name


def test_people_are_distinct_and_fictional() -> None:
    scenarios = load_scenarios(SCENARIOS)
    phones = [s.lead.phone for s in scenarios]
    people = [(s.lead.first_name, s.lead.last_name) for s in scenarios]
    assert all(p is not None and FICTIONAL_PHONE.match(p) for p in phones), phones
    assert [p for p, n in Counter(phones).items() if n > 1] == []
    assert [p for p, n in Counter(people).items() if n > 1] == []


def test_the_outcomes_are_covered() -> None:
    outcomes = {s.expect.outcome for s in load_scenarios(SCENARIOS)}
    assert outcomes == set(Outcome)
