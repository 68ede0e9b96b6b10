"""The tools the model may call: OpenAI function schemas and validation of their arguments."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionFunctionToolParam
from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from dentalvoice.conversation.agent import TransferReason
from dentalvoice.conversation.qualification import (
    InsuranceStatus,
    Outcome,
    RedFlag,
    TimeWindow,
    TreatmentInterest,
    Urgency,
    Weekday,
)


class ToolName(enum.StrEnum):
    """The functions offered to the model."""

    RECORD_QUALIFICATION = "record_qualification"
    END_CALL = "end_call"
    TRANSFER_CALL = "transfer_call"
    MARK_DO_NOT_CALL = "mark_do_not_call"
    SCHEDULE_CALLBACK = "schedule_callback"
    BOOK_SLOT = "book_slot"
    SET_OUTCOME = "set_outcome"


# Every optional field is nullable with no default in the schema, which is what OpenAI's strict
# mode requires: the model must send every key, and null means "not heard".


class InsuranceFacts(BaseModel):
    """The caller's dental insurance, as far as it has been heard."""

    status: InsuranceStatus | None = Field(default=None, description="has, none or unsure.")
    carrier: str | None = Field(default=None, description="The insurance company's name.")
    raw: str | None = Field(default=None, description="What the caller said about insurance.")


class AvailabilityFacts(BaseModel):
    """When the caller can come in."""

    days: list[Weekday] | None = Field(default=None, description="Days that work.")
    windows: list[TimeWindow] | None = Field(
        default=None, description='Times of day that work, clinic-local "HH:MM" to "HH:MM".'
    )
    raw: str | None = Field(default=None, description="What the caller said, in brief.")


class RecordQualification(BaseModel):
    """Facts the caller just gave; null for everything not heard in this turn."""

    chief_complaint: str | None = Field(
        default=None, description="Why they reached out, in a few words (under 200 characters)."
    )
    treatment_interest: TreatmentInterest | None = None
    pain_level: int | None = Field(default=None, ge=0, le=10, description="0 to 10.")
    urgency: Urgency | None = None
    red_flags: list[RedFlag] | None = None
    insurance: InsuranceFacts | None = None
    new_patient: bool | None = Field(default=None, description="True if never seen here before.")
    last_visit: str | None = Field(
        default=None, description="When they last saw any dentist, as said (under 100 chars)."
    )
    availability: AvailabilityFacts | None = None
    language: str | None = Field(default=None, description="ISO 639-1 code, e.g. en, es.")
    identity_confirmed: bool | None = Field(
        default=None, description="True if the person on the line is the lead."
    )
    summary: str | None = Field(default=None, description="A short note for the front desk.")


class EndCallArgs(BaseModel):
    """Hang up after the words you say in this turn."""


class TransferCallArgs(BaseModel):
    """Hand the call to a person at the clinic."""

    reason: TransferReason
    summary: str = Field(description="One or two sentences for the person taking the call.")


class MarkDoNotCallArgs(BaseModel):
    """The caller asked not to be called again."""


class ScheduleCallbackArgs(BaseModel):
    """The caller wants a call back later."""

    at: AwareDatetime = Field(description="ISO 8601 with UTC offset, e.g. 2025-03-04T15:00-05:00.")


class BookSlotArgs(BaseModel):
    """Book one of the free slots listed in the instructions."""

    start: AwareDatetime = Field(description="The slot's ISO 8601 start, exactly as listed.")


class SetOutcomeArgs(BaseModel):
    """How the call ended, for the CRM."""

    outcome: Outcome


ToolArgs = (
    RecordQualification
    | EndCallArgs
    | TransferCallArgs
    | MarkDoNotCallArgs
    | ScheduleCallbackArgs
    | BookSlotArgs
    | SetOutcomeArgs
)

_MODELS: dict[ToolName, type[BaseModel]] = {
    ToolName.RECORD_QUALIFICATION: RecordQualification,
    ToolName.END_CALL: EndCallArgs,
    ToolName.TRANSFER_CALL: TransferCallArgs,
    ToolName.MARK_DO_NOT_CALL: MarkDoNotCallArgs,
    ToolName.SCHEDULE_CALLBACK: ScheduleCallbackArgs,
    ToolName.BOOK_SLOT: BookSlotArgs,
    ToolName.SET_OUTCOME: SetOutcomeArgs,
}

_DESCRIPTIONS: dict[ToolName, str] = {
    ToolName.RECORD_QUALIFICATION: (
        "Record facts as soon as the caller states them. Send null for anything not heard."
    ),
    ToolName.END_CALL: "Hang up after what you say in this turn. Say goodbye first.",
    ToolName.TRANSFER_CALL: (
        "Connect the caller to a person at the clinic (they asked for one, or it is urgent). "
        "Tell the caller you are connecting them."
    ),
    ToolName.MARK_DO_NOT_CALL: "The caller asked not to be called again. Ends the call.",
    ToolName.SCHEDULE_CALLBACK: "The caller wants a call back at a specific later time.",
    ToolName.BOOK_SLOT: "Book one of the listed free slots after the caller chose it.",
    ToolName.SET_OUTCOME: "Set how the call ended, just before ending it.",
}

# Nested objects are checked field by field too, so one bad sub-field costs only itself.
_NESTED: dict[str, type[BaseModel]] = {
    "insurance": InsuranceFacts,
    "availability": AvailabilityFacts,
}


def _function_tool(name: ToolName) -> ChatCompletionFunctionToolParam:
    return openai.pydantic_function_tool(
        _MODELS[name], name=name.value, description=_DESCRIPTIONS[name]
    )


TOOLS: tuple[ChatCompletionFunctionToolParam, ...] = tuple(_function_tool(n) for n in ToolName)


class ToolArgumentsError(ValueError):
    """A tool call that cannot be used; the message names fields only, never values."""


@dataclass(frozen=True, slots=True)
class ParsedToolCall:
    """A tool call whose arguments passed validation."""

    name: ToolName
    args: ToolArgs
    dropped: tuple[str, ...] = ()  # record_qualification fields ignored as invalid


def parse_tool_call(name: str, arguments: str) -> ParsedToolCall:
    """Validate one tool call's JSON arguments.

    `record_qualification` is lenient: each invalid or unknown field is dropped (and named in
    `dropped`) while the valid ones are kept. Every other tool is all or nothing.

    Args:
        name: The function name the model called.
        arguments: The arguments as the model sent them, a JSON object in a string.

    Returns:
        The tool and its validated arguments.

    Raises:
        ToolArgumentsError: Unknown tool, arguments that are not a JSON object, or invalid
            arguments for a tool other than `record_qualification`.
    """
    try:
        tool = ToolName(name)
    except ValueError:
        raise ToolArgumentsError("unknown tool") from None
    try:
        data = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        raise ToolArgumentsError(f"{tool}: arguments are not JSON") from None
    if not isinstance(data, dict):
        raise ToolArgumentsError(f"{tool}: arguments are not a JSON object")
    if tool is ToolName.RECORD_QUALIFICATION:
        dropped: list[str] = []
        valid = _valid_fields(RecordQualification, data, "", dropped)
        return ParsedToolCall(tool, RecordQualification.model_validate(valid), tuple(dropped))
    try:
        args = _MODELS[tool].model_validate(data)
    except ValidationError as exc:
        raise ToolArgumentsError(f"{tool}: invalid {_field_names(exc)}") from None
    return ParsedToolCall(tool, cast(ToolArgs, args))


def _valid_fields(
    model: type[BaseModel], data: dict[str, Any], prefix: str, dropped: list[str]
) -> dict[str, Any]:
    valid: dict[str, Any] = {}
    for key, value in data.items():
        if key not in model.model_fields:
            dropped.append(prefix + key)
            continue
        if value is None:
            continue
        nested = _NESTED.get(key) if not prefix else None
        if nested is not None and isinstance(value, dict):
            inner = _valid_fields(nested, value, f"{key}.", dropped)
            if inner:
                valid[key] = inner
            continue
        try:
            # The other fields default to None, so this checks `key` alone.
            model.model_validate({key: value})
        except ValidationError:
            dropped.append(prefix + key)
            continue
        valid[key] = value
    return valid


def _field_names(exc: ValidationError) -> str:
    names = sorted(
        {".".join(str(part) for part in err["loc"]) or "arguments" for err in exc.errors()}
    )
    return ", ".join(names)
