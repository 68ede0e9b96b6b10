"""Tool schemas (strict-mode shaped) and validation of the model's arguments."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from dentalvoice.conversation.llm.tools import (
    TOOLS,
    BookSlotArgs,
    RecordQualification,
    ToolArgumentsError,
    ToolName,
    TransferCallArgs,
    parse_tool_call,
)

# Keywords OpenAI's strict mode rejects; defaults are meaningless there too.
_UNSUPPORTED = {"minLength", "maxLength", "default", "minProperties", "maxProperties"}


def _objects(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append(schema)
        for value in schema.values():
            found += _objects(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _objects(value)
    return found


def _keys(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        return set(schema) | {k for v in schema.values() for k in _keys(v)}
    if isinstance(schema, list):
        return {k for v in schema for k in _keys(v)}
    return set()


def test_every_tool_is_a_strict_function() -> None:
    assert [t["function"]["name"] for t in TOOLS] == [n.value for n in ToolName]
    for tool in TOOLS:
        function = tool["function"]
        assert tool["type"] == "function"
        assert function.get("strict") is True
        assert function.get("description")
        parameters = function.get("parameters", {})
        for obj in _objects(parameters):
            assert obj["additionalProperties"] is False
            assert sorted(obj["required"]) == sorted(obj.get("properties", {}))
        assert not (_keys(parameters) & _UNSUPPORTED)
        json.dumps(tool)  # sent as JSON


def test_record_qualification_keeps_valid_fields_and_names_the_rest() -> None:
    arguments = json.dumps(
        {
            "pain_level": 11,
            "new_patient": True,
            "chief_complaint": None,
            "insurance": {"status": "nope", "carrier": "Cigna", "raw": None},
            "availability": {"days": ["tue"], "windows": [{"start": "25:00", "end": "26:00"}]},
            "shoe_size": 9,
        }
    )

    parsed = parse_tool_call("record_qualification", arguments)

    assert isinstance(parsed.args, RecordQualification)
    assert parsed.args.pain_level is None
    assert parsed.args.new_patient is True
    assert parsed.args.insurance is not None
    assert parsed.args.insurance.carrier == "Cigna"
    assert parsed.args.insurance.status is None
    assert parsed.args.availability is not None
    assert parsed.args.availability.windows is None
    assert sorted(parsed.dropped) == [
        "availability.windows",
        "insurance.status",
        "pain_level",
        "shoe_size",
    ]


def test_other_tools_are_all_or_nothing_and_errors_name_no_values() -> None:
    with pytest.raises(ToolArgumentsError) as bad_reason:
        parse_tool_call("transfer_call", '{"reason": "secret-reason", "summary": "Ann, 555-0100"}')
    with pytest.raises(ToolArgumentsError, match="not JSON"):
        parse_tool_call("end_call", "{oops")
    with pytest.raises(ToolArgumentsError, match="not a JSON object"):
        parse_tool_call("end_call", "[1]")
    with pytest.raises(ToolArgumentsError, match="unknown tool"):
        parse_tool_call("format_disk", "{}")
    with pytest.raises(ToolArgumentsError, match="start"):
        parse_tool_call("book_slot", '{"start": "2025-03-04T09:00:00"}')  # no offset

    message = str(bad_reason.value)
    assert "reason" in message
    assert "secret" not in message and "Ann" not in message and "555" not in message


def test_valid_action_arguments() -> None:
    transfer = parse_tool_call("transfer_call", '{"reason": "emergency", "summary": "Pain 9."}')
    booking = parse_tool_call("book_slot", '{"start": "2025-03-04T09:00:00-05:00"}')
    end = parse_tool_call("end_call", "")

    assert transfer.args == TransferCallArgs.model_validate(
        {"reason": "emergency", "summary": "Pain 9."}
    )
    assert isinstance(booking.args, BookSlotArgs)
    assert booking.args.start == datetime.fromisoformat("2025-03-04T09:00:00-05:00")
    assert end.name is ToolName.END_CALL
