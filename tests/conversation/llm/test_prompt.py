"""The system prompt and messages built from the script."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from dentalvoice.conversation.agent import CallContext, CallState
from dentalvoice.conversation.llm.prompt import (
    RECORDED_PREFIX,
    SILENCE_NOTE,
    build_messages,
    build_system_prompt,
    checklist,
)
from dentalvoice.conversation.script import Script, Slot


def test_prompt_has_identity_rules_checklist_and_data(script: Script, state: CallState) -> None:
    state.qualification.pain_level = 3

    prompt = build_system_prompt(script, state)

    assert "Ava" in prompt and "Bright Smiles Dental" in prompt and "Maria" in prompt
    for rule in ("you are an AI", "one question at a time", "clinical advice", "prices",
                 "record_qualification", "free slots"):  # fmt: skip
        assert rule.lower() in prompt.lower()
    positions = [prompt.index(text) for _, text in checklist(script, state.context)]
    assert positions == sorted(positions)
    assert "Tuesday, March 4 at 9am = 2025-03-04T09:00:00-05:00" in prompt
    assert "2025-03-03T10:00:00-05:00" in prompt  # the local time
    recorded = next(line for line in prompt.splitlines() if line.startswith(RECORDED_PREFIX))
    assert json.loads(recorded.removeprefix(RECORDED_PREFIX))["pain_level"] == 3
    assert script.lines["robot"].split(",")[0] in prompt  # the fixed lines are included


def test_slots_are_shown_in_the_clinic_zone(script: Script, context: CallContext) -> None:
    utc_slot = datetime(2025, 3, 4, 19, 0, tzinfo=UTC)
    state = CallState(context=replace(context, free_slots=(utc_slot,)))

    prompt = build_system_prompt(script, state)

    assert "Tuesday, March 4 at 2pm = 2025-03-04T14:00:00-05:00" in prompt


def test_no_identity_question_without_a_name_and_no_slots(
    script: Script, context: CallContext
) -> None:
    anonymous = replace(context, lead_first_name=None, free_slots=())

    items = dict(checklist(script, anonymous))

    assert Slot.IDENTITY not in items
    assert "no free slots" in items[Slot.OFFER]
    assert "- none" in build_system_prompt(script, CallState(context=anonymous))


def test_messages_follow_the_transcript(script: Script, state: CallState) -> None:
    state.transcript += [("agent", "Hello."), ("caller", "Hi."), ("agent", "How can I help?")]

    spoken = build_messages(script, state, "A cleaning.")
    silent = build_messages(script, state, "   ")

    assert [m["role"] for m in spoken] == ["system", "assistant", "user", "assistant", "user"]
    assert spoken[-1] == {"role": "user", "content": "A cleaning."}
    assert silent[-1] == {"role": "system", "content": SILENCE_NOTE}
