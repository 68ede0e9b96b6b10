"""Evaluation scenarios: the YAML format, its pydantic model, loading and expectation matching."""

# A scenario is one simulated call: who is called, what the caller says when asked about each
# topic, and what the call should establish. The format (all keys but `name` and `caller` may be
# left out):
#
#   name: implant-consult-insured           # unique; lowercase words joined by "-"
#   description: ...                        # optional: what the scenario tests
#   now: "2026-11-24T10:15:00-05:00"        # optional call time (timezone-aware); default
#                                           # Tuesday 2026-11-24 10:15 in the location's zone
#   location:                               # optional; defaults shown
#     name: Bright Smile Dental
#     timezone: America/New_York
#     agent_name: Ava                       # optional: CallContext's default when absent
#     transfer_available: true              # whether a human can take a transfer now
#     emergency_pain_threshold: 8           # optional: CallContext's default when absent
#     callback_number: "+13055550100"       # optional: the clinic's number
#   lead: {first_name: Maria, last_name: Lopez, phone: "+13055550123", state: FL}
#   free_slots: ["2026-11-25T14:00:00-05:00"]   # optional calendar slots the agent may offer
#   calendar:                               # optional: how the calendar answers bookings
#     taken: ["2026-11-25T14:00:00-05:00"]  # listed free, but refused as taken when booked
#     down: false                           # true: every booking fails (the team confirms later)
#   caller:
#     facts: {<topic>: "answer" | null}     # topics: the script's slots plus `callback`;
#                                           # null means the caller says nothing (silence)
#     opening: null                         # optional: said right after the greeting
#     script: ["...", null]                 # optional: said in order whatever was asked, first
#                                           # (after `opening`), then facts take over
#     default: "Sorry, what was that?"      # said when the topic is unknown; null = silence
#     interrupt_after_ms: 2500              # optional, audio callers only: barge in once the
#                                           # agent has spoken this long in a turn (the first
#                                           # such turn after the opening)
#     backchannel_after_ms: 1500            # optional, audio callers only: say `backchannel`
#     backchannel: "Mm-hmm."                # once, this far into an agent turn (the opening
#                                           # included), then listen on
#   expect:
#     outcome: qualified                    # Qualification.outcome
#     qualification: {pain_level: 1, insurance.carrier: Delta Dental}
#                                           # subset match on dotted paths (nested mappings are
#                                           # flattened); strings case-insensitive, enums by
#                                           # value, numbers and booleans exactly, lists equal
#                                           # ignoring order (a mapping inside a list matches
#                                           # on its own keys), date-times as ISO strings
#     qualification_contains: {red_flags: [trauma]}   # extra: lists must hold these items
#     qualification_match: {chief_complaint: "molar|tooth"}   # extra: regex search on a string
#     actions_include: [transfer]           # action kinds: end_call, transfer, mark_do_not_call,
#     actions_exclude: [mark_do_not_call]   # schedule_callback, book_slot, leave_voicemail
#     transfer_reason: emergency            # extra: some transfer had this reason
#     say_include: ["\\bAI\\b"]             # regexes (case-insensitive) searched in everything
#     say_exclude: ["\\d+ ?mg"]             # the agent said: sentences joined by a space, turns
#                                           # by a newline, so "^" is the call's first words
#     max_turns: 20                         # caller turns (silences included) allowed

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from dentalvoice.conversation.agent import (
    Action,
    BookSlot,
    EndCall,
    LeaveVoicemail,
    MarkDoNotCall,
    ScheduleCallback,
    Transfer,
    TransferReason,
)
from dentalvoice.conversation.qualification import Outcome, Qualification

DEFAULT_CLINIC = "Bright Smile Dental"
DEFAULT_TIMEZONE = "America/New_York"
DEFAULT_REPLY = "Sorry, what was that?"
# A fixed Tuesday mid-morning in the clinic's zone, so that scenarios do not depend on the
# day they are run.
DEFAULT_NOW = (2026, 11, 24, 10, 15)


class Topic(enum.StrEnum):
    """What the agent can be asking about: the script's slots, plus when to call back."""

    GOOD_TIME = "good_time"
    IDENTITY = "identity"
    REASON = "reason"
    PAIN = "pain"
    RED_FLAGS = "red_flags"
    LAST_VISIT = "last_visit"
    NEW_PATIENT = "new_patient"
    INSURANCE = "insurance"
    AVAILABILITY = "availability"
    OFFER = "offer"
    CONFIRM = "confirm"
    ANYTHING_ELSE = "anything_else"
    CALLBACK = "callback"


class ActionKind(enum.StrEnum):
    """Action names as scenarios and reports spell them."""

    END_CALL = "end_call"
    TRANSFER = "transfer"
    MARK_DO_NOT_CALL = "mark_do_not_call"
    SCHEDULE_CALLBACK = "schedule_callback"
    BOOK_SLOT = "book_slot"
    LEAVE_VOICEMAIL = "leave_voicemail"


_KIND_OF: dict[type, ActionKind] = {
    EndCall: ActionKind.END_CALL,
    Transfer: ActionKind.TRANSFER,
    MarkDoNotCall: ActionKind.MARK_DO_NOT_CALL,
    ScheduleCallback: ActionKind.SCHEDULE_CALLBACK,
    BookSlot: ActionKind.BOOK_SLOT,
    LeaveVoicemail: ActionKind.LEAVE_VOICEMAIL,
}


def action_kind(action: Action) -> ActionKind:
    """The scenario name of an action, e.g. `Transfer(...)` -> `transfer`."""
    return _KIND_OF[type(action)]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the fields."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class _Spec(BaseModel):
    # Unknown keys are refused so that a misspelt key fails loudly instead of being ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocationSpec(_Spec):
    """The clinic the call is made for."""

    name: str = Field(default=DEFAULT_CLINIC, min_length=1)
    timezone: str = DEFAULT_TIMEZONE
    agent_name: str | None = Field(default=None, min_length=1)
    transfer_available: bool = True
    emergency_pain_threshold: int | None = Field(default=None, ge=0, le=10)
    callback_number: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class LeadSpec(_Spec):
    """The person called."""

    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = Field(default=None, pattern=r"^\+[1-9]\d{7,14}$")
    state: str | None = None


class CallerSpec(_Spec):
    """How the simulated caller answers."""

    facts: dict[Topic, str | None] = Field(default_factory=dict)
    opening: str | None = None
    script: list[str | None] = Field(default_factory=list)
    default: str | None = DEFAULT_REPLY
    # Only audio callers (dentalvoice.callers) act on it; the text runner has no time to barge into.
    interrupt_after_ms: int | None = Field(default=None, ge=0)
    # Audio callers only: say `backchannel` once, this far into a long agent turn, and listen on.
    backchannel_after_ms: int | None = Field(default=None, ge=0)
    backchannel: str = Field(default="Mm-hmm.", min_length=1, max_length=40)


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regex {pattern!r}: {exc}") from None
    return pattern


class Expectation(_Spec):
    """What a careful reviewer would want the call to have established."""

    outcome: Outcome | None = None
    qualification: dict[str, Any] = Field(default_factory=dict)
    qualification_contains: dict[str, list[Any]] = Field(default_factory=dict)
    qualification_match: dict[str, str] = Field(default_factory=dict)
    actions_include: list[ActionKind] = Field(default_factory=list)
    actions_exclude: list[ActionKind] = Field(default_factory=list)
    transfer_reason: TransferReason | None = None
    say_include: list[str] = Field(default_factory=list)
    say_exclude: list[str] = Field(default_factory=list)
    max_turns: int = Field(default=20, ge=1, le=500)

    @field_validator("qualification", mode="before")
    @classmethod
    def _flatten_paths(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        flat: dict[str, Any] = {}
        _flatten("", value, flat)
        return {path: expected_value(path, v) for path, v in flat.items()}

    @field_validator("qualification_contains")
    @classmethod
    def _list_paths(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        out = {}
        for path, items in value.items():
            if get_origin(_strip_optional(_resolve(path)[0])) is not list:
                raise ValueError(f"{path}: not a list field")
            out[path] = expected_value(path, items)
        return out

    @field_validator("qualification_match")
    @classmethod
    def _string_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path, pattern in value.items():
            if _strip_optional(_resolve(path)[0]) is not str:
                raise ValueError(f"{path}: not a text field")
            _check_regex(pattern)
        return value

    @field_validator("say_include", "say_exclude")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return [_check_regex(p) for p in value]

    @model_validator(mode="after")
    def _consistent(self) -> Expectation:
        both = sorted(set(self.actions_include) & set(self.actions_exclude))
        if both:
            raise ValueError(f"actions both included and excluded: {', '.join(both)}")
        if self.transfer_reason is not None and ActionKind.TRANSFER in self.actions_exclude:
            raise ValueError("transfer_reason set but transfer excluded")
        return self


class CalendarSpec(_Spec):
    """How the clinic calendar answers bookings (free slots are `Scenario.free_slots`)."""

    taken: list[AwareDatetime] = Field(default_factory=list)
    down: bool = False


class Scenario(_Spec):
    """One simulated call and what it should achieve."""

    name: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    description: str | None = None
    now: AwareDatetime | None = None
    location: LocationSpec = Field(default_factory=LocationSpec)
    lead: LeadSpec = Field(default_factory=LeadSpec)
    free_slots: list[AwareDatetime] = Field(default_factory=list)
    calendar: CalendarSpec | None = None
    caller: CallerSpec
    expect: Expectation = Field(default_factory=Expectation)
    _source: str = PrivateAttr(default="<memory>")

    @property
    def source(self) -> str:
        """The file the scenario came from, for messages."""
        return self._source

    @property
    def call_time(self) -> datetime:
        """When the call happens: `now`, or Tuesday 2026-11-24 10:15 in the clinic's zone."""
        return self.now or datetime(*DEFAULT_NOW, tzinfo=ZoneInfo(self.location.timezone))


def _flatten(prefix: str, value: dict[Any, Any], out: dict[str, Any]) -> None:
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict):
            _flatten(path, item, out)
        else:
            out[path] = item


def _unannotated(tp: Any) -> Any:
    return get_args(tp)[0] if get_origin(tp) is Annotated else tp


def _nullable(tp: Any) -> bool:
    tp = _unannotated(tp)
    return tp is Any or (get_origin(tp) in (Union, UnionType) and NoneType in get_args(tp))


def _strip_optional(tp: Any) -> Any:
    """The type without `Annotated` metadata and without `| None`."""
    tp = _unannotated(tp)
    if get_origin(tp) in (Union, UnionType):
        rest = [a for a in get_args(tp) if a is not NoneType]
        if len(rest) == 1:
            return _unannotated(rest[0])
    return tp


def _resolve(path: str) -> tuple[Any, FieldInfo | None]:
    """The type at a dotted path into Qualification, and the field that declares it."""
    tp: Any = Qualification
    field: FieldInfo | None = None
    for segment in path.split("."):
        inner = _strip_optional(tp)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            field = inner.model_fields.get(segment)
            if field is None:
                known = ", ".join(inner.model_fields)
                raise ValueError(f"{path}: {inner.__name__} has no field {segment!r} ({known})")
            tp = field.annotation
        elif get_origin(inner) is list and segment.isdigit():
            tp, field = get_args(inner)[0], None
        else:
            raise ValueError(f"{path}: cannot go into {segment!r}")
    return tp, field


@lru_cache(maxsize=256)
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def _canonical(tp: Any, value: Any, path: str) -> Any:
    """`value` validated against `tp` and dumped as JSON would be; mappings stay partial."""
    if value is None:
        if not _nullable(tp):
            raise ValueError(f"{path}: may not be null")
        return None
    inner = _strip_optional(tp)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        if not isinstance(value, dict):
            raise ValueError(f"{path}: expected a mapping of {inner.__name__} fields")
        out = {}
        for key, item in value.items():
            field = inner.model_fields.get(str(key))
            if field is None:
                raise ValueError(f"{path}: {inner.__name__} has no field {key!r}")
            out[str(key)] = _canonical(_with_constraints(field), item, f"{path}.{key}")
        return out
    if get_origin(inner) is list:
        if not isinstance(value, list):
            raise ValueError(f"{path}: expected a list")
        item_tp = get_args(inner)[0]
        return [_canonical(item_tp, item, f"{path}.{i}") for i, item in enumerate(value)]
    if isinstance(value, datetime):
        # YAML reads unquoted timestamps as datetimes; compare them as the ISO text they were.
        value = value.isoformat()
    adapter = _adapter(tp)
    try:
        parsed = adapter.validate_python(value)
    except ValidationError as exc:
        if not isinstance(value, str):
            raise ValueError(f"{path}: {_first_message(exc)}") from None
        # Enum values are lower case; a scenario may spell them "Implants".
        try:
            parsed = adapter.validate_python(value.lower())
        except ValidationError:
            raise ValueError(f"{path}: {_first_message(exc)}") from None
    return adapter.dump_python(parsed, mode="json")


def _with_constraints(field: FieldInfo) -> Any:
    return Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation


def _first_message(exc: ValidationError) -> str:
    return str(exc.errors()[0]["msg"])


def expected_value(path: str, value: Any) -> Any:
    """An expected value for a Qualification path, checked and put in comparable form.

    Raises:
        ValueError: the path is not in Qualification or the value cannot be one of its values.
    """
    tp, field = _resolve(path)
    return _canonical(_with_constraints(field) if field else tp, value, path)


def is_datetime_path(path: str) -> bool:
    """Whether the path holds a date-time, compared as exact ISO text."""
    inner = _strip_optional(_resolve(path)[0])
    return inner is AwareDatetime or (isinstance(inner, type) and issubclass(inner, datetime))


def lookup(dump: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted path in a JSON-mode model dump: (found, value)."""
    current = dump
    for segment in path.split("."):
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return False, None
    return True, current


def values_match(expected: Any, actual: Any, *, exact_text: bool = False) -> bool:
    """Whether an actual JSON-mode value satisfies an expected (canonical) one.

    Strings compare case-insensitively unless `exact_text`; numbers and booleans exactly (a
    boolean never equals a number); lists hold the same items in any order; a mapping matches
    when each of its keys does.

    Args:
        expected: The value from the scenario, as `expected_value` returned it.
        actual: The value from `Qualification.model_dump(mode="json")`.
        exact_text: Compare strings exactly (date-times).

    Returns:
        True when they match.
    """
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, int | float):
        return isinstance(actual, int | float) and expected == actual
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        return expected == actual if exact_text else expected.casefold() == actual.casefold()
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            values_match(v, actual.get(k), exact_text=exact_text) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and _all_found(expected, actual, exact_text=exact_text)
        )
    return bool(expected == actual)


def list_contains(expected: list[Any], actual: Any, *, exact_text: bool = False) -> bool:
    """Whether `actual` is a list holding every expected item (each matched once)."""
    return isinstance(actual, list) and _all_found(expected, actual, exact_text=exact_text)


def _all_found(expected: list[Any], actual: list[Any], *, exact_text: bool) -> bool:
    unused = list(actual)
    for item in expected:
        index = next(
            (i for i, a in enumerate(unused) if values_match(item, a, exact_text=exact_text)),
            None,
        )
        if index is None:
            return False
        del unused[index]
    return True


def _format_errors(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return problems


def parse_scenario(data: Any, *, source: str = "<memory>") -> Scenario:
    """A scenario from already-parsed YAML.

    Args:
        data: The mapping read from a scenario file.
        source: Where it came from, for error messages.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: the data is not a valid scenario; the message names each bad field.
    """
    if not isinstance(data, dict):
        raise ScenarioError(source, ["(top level): a scenario must be a mapping"])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _format_errors(exc)) from None
    scenario._source = source
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """A scenario from a YAML file.

    Raises:
        ScenarioError: the file cannot be read, is not YAML, or is not a valid scenario.
    """
    source = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(source, [f"cannot read: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [f"not valid YAML: {exc}"]) from None
    return parse_scenario(data, source=source)


def scenario_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Files to load: each file as given, each directory's `*.yaml` in sorted order.

    Raises:
        ScenarioError: a path does not exist, or a directory holds no scenario.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                raise ScenarioError(str(path), ["no *.yaml scenario files in this directory"])
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ScenarioError(str(path), ["no such file or directory"])
    return files


def load_scenarios(paths: str | Path | Iterable[str | Path]) -> list[Scenario]:
    """Scenarios from files and directories (see `scenario_files`); names must be unique.

    Raises:
        ScenarioError: a file is invalid, or two scenarios share a name.
    """
    scenarios: list[Scenario] = []
    seen: dict[str, str] = {}
    for file in scenario_files(paths):
        scenario = load_scenario(file)
        if scenario.name in seen:
            raise ScenarioError(
                scenario.source, [f"name: {scenario.name!r} is also used by {seen[scenario.name]}"]
            )
        seen[scenario.name] = scenario.source
        scenarios.append(scenario)
    return scenarios
