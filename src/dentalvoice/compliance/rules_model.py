"""Pydantic model, validation and loading of the versioned compliance rules data (rules/*.yaml)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

Confidence = Literal["primary", "secondary", "vendor_table", "unverified", "analysis"]
Country = Literal["US", "CA"]
# Minutes since local midnight, end exclusive; (480, 1260) is 08:00-21:00.
Window = tuple[int, int]
# One tuple of windows per weekday, Monday first.
Week = tuple[tuple[Window, ...], ...]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_GROUPS = {
    "all": WEEKDAYS,
    "mon-fri": WEEKDAYS[:5],
    "mon-sat": WEEKDAYS[:6],
    "sat-sun": WEEKDAYS[5:],
}
_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_JURISDICTION = re.compile(r"^(US|CA)(-[A-Z]{2})?$")
RULES_FILE = "rules.yaml"
ZONES_FILE = "zones.yaml"
AREA_CODES_FILE = "area_codes.yaml"


def parse_clock(text: str) -> int:
    """Minutes since midnight of an "HH:MM" clock time ("24:00" is the end of the day).

    Args:
        text: The time, two-digit hours and minutes.

    Returns:
        The minute of the day, 0..1440.

    Raises:
        ValueError: If the text is not a time of day.
    """
    match = re.fullmatch(r"(\d{2}):(\d{2})", text.strip())
    if match is None:
        raise ValueError(f"not an HH:MM time: {text!r}")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"not a time of day: {text!r}")
    return hours * 60 + minutes


def _window(text: str) -> Window:
    match = _WINDOW.match(text.strip())
    if match is None:
        raise ValueError(f"window must read HH:MM-HH:MM: {text!r}")
    start = parse_clock(f"{match[1]}:{match[2]}")
    end = parse_clock(f"{match[3]}:{match[4]}")
    if not start < end:
        raise ValueError(f"window must end after it starts (no overnight windows): {text!r}")
    return (start, end)


def _check_zone(key: str) -> str:
    try:
        ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone: {key!r}") from exc
    return key


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Row(_Frozen):
    """What every rule row carries: an id, its source and how far it can be trusted."""

    id: str
    source: str
    confidence: Confidence
    note: str = ""
    effective: date | None = None  # informational: when the source says the rule took effect


class HoursRule(_Row):
    """Allowed local wall-clock windows per weekday; a weekday without windows is a no-call day."""

    kind: Literal["hours"]
    days: Week
    also_in_zones: tuple[str, ...] = ()

    @field_validator("days", mode="before")
    @classmethod
    def _expand_days(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        week: dict[str, list[Window]] = {day: [] for day in WEEKDAYS}
        for key, windows in value.items():
            days = _DAY_GROUPS.get(key, (key,))
            if any(day not in week for day in days):
                raise ValueError(f"unknown weekday or group: {key!r}")
            if not isinstance(windows, list):
                raise ValueError(f"windows of {key!r} must be a list")
            for day in days:
                week[day].extend(_window(str(text)) for text in windows)
        result = []
        for day in WEEKDAYS:
            ordered = sorted(week[day])
            if any(a[1] > b[0] for a, b in zip(ordered, ordered[1:], strict=False)):
                raise ValueError(f"overlapping windows on {day}")
            result.append(tuple(ordered))
        return tuple(result)

    @field_validator("days")
    @classmethod
    def _seven_days(cls, value: Week) -> Week:
        if len(value) != 7:
            raise ValueError("days must cover the seven weekdays")
        return value

    @field_validator("also_in_zones")
    @classmethod
    def _zones_exist(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_zone(key) for key in value)


class HolidayRule(_Row):
    """No calls on the local dates that are holidays of a `holidays` package calendar."""

    kind: Literal["holidays"]
    country: Country
    subdiv: str | None = None
    per_subdivision: bool = False  # use the subdivision of each jurisdiction in play


class AttemptCapRule(_Row):
    """At most `max_attempts` dials to the number in any rolling window."""

    kind: Literal["attempt_cap"]
    window_hours: int = Field(gt=0)
    max_attempts: int = Field(ge=0)

    @property
    def label(self) -> str:
        """The window as a reason suffix: "24h", "8h", "14d"."""
        if self.window_hours > 24 and self.window_hours % 24 == 0:
            return f"{self.window_hours // 24}d"
        return f"{self.window_hours}h"


class BlockRule(_Row):
    """Every call in the jurisdiction is blocked while the row is active."""

    kind: Literal["block"]
    reason: str = Field(pattern=r"^[a-z_]+$")
    active: bool = True


class RegistryRule(_Row):
    """National do-not-call registry parameters of a country."""

    kind: Literal["registry"]
    max_age_days: int = Field(gt=0)
    inquiry_exemption_months: int = Field(ge=0)
    written_consent_exempts: bool = False


class NoteRule(_Row):
    """Informational row; `cite` puts it in decisions as note:<code>:<jurisdiction>."""

    kind: Literal["note"]
    code: str = Field(pattern=r"^[a-z0-9_]+$")
    text: str
    cite: bool = False


Rule = Annotated[
    HoursRule | HolidayRule | AttemptCapRule | BlockRule | RegistryRule | NoteRule,
    Field(discriminator="kind"),
]


class Jurisdiction(_Frozen):
    """A country (federal rules) or a state/province and its rule rows."""

    name: str
    country: Country
    source: str
    confidence: Confidence
    note: str = ""
    rules: tuple[Rule, ...] = ()

    @property
    def hours(self) -> tuple[HoursRule, ...]:
        """The hours rows."""
        return tuple(r for r in self.rules if isinstance(r, HoursRule))

    @property
    def holidays(self) -> tuple[HolidayRule, ...]:
        """The holiday-ban rows."""
        return tuple(r for r in self.rules if isinstance(r, HolidayRule))

    @property
    def attempt_caps(self) -> tuple[AttemptCapRule, ...]:
        """The attempt-cap rows."""
        return tuple(r for r in self.rules if isinstance(r, AttemptCapRule))

    @property
    def blocks(self) -> tuple[BlockRule, ...]:
        """The active block rows."""
        return tuple(r for r in self.rules if isinstance(r, BlockRule) and r.active)

    @property
    def registry(self) -> RegistryRule | None:
        """The registry row, if the jurisdiction has one."""
        return next((r for r in self.rules if isinstance(r, RegistryRule)), None)

    @property
    def cited_notes(self) -> tuple[NoteRule, ...]:
        """The note rows that decisions cite."""
        return tuple(r for r in self.rules if isinstance(r, NoteRule) and r.cite)


class Defaults(_Frozen):
    """Product defaults that every location can only tighten."""

    search_horizon_days: int = Field(gt=0, le=60)
    horizon_note: str = ""
    attempt_caps: tuple[AttemptCapRule, ...]
    holidays: dict[Country, HolidayRule]


class ZoneEntry(_Frozen):
    """The zones of one state/province and the postal prefixes that decide among them."""

    zones: tuple[str, ...] = Field(min_length=1)
    default: str | None = None
    postal: dict[str, tuple[str, ...]] = {}
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> ZoneEntry:
        for key in self.zones:
            _check_zone(key)
        if self.default is not None and self.default not in self.zones:
            raise ValueError(f"default {self.default} is not among {self.zones}")
        for prefix, zones in self.postal.items():
            if not re.fullmatch(r"[0-9A-Z]{1,5}", prefix):
                raise ValueError(f"bad postal prefix {prefix!r}")
            if not zones or not set(zones) <= set(self.zones):
                raise ValueError(f"postal {prefix} zones {zones} not within {self.zones}")
        if len(self.zones) > 1 and self.default is None:
            raise ValueError("a multi-zone subdivision needs a default zone")
        return self

    @property
    def default_zones(self) -> tuple[str, ...]:
        """The zones of a postal code that no prefix lists."""
        return (self.default,) if self.default else self.zones[:1]


class ZoneTable(_Frozen):
    """Zones of US states and Canadian provinces (rules/zones.yaml)."""

    source: str
    confidence: Confidence
    US: dict[str, ZoneEntry]
    CA: dict[str, ZoneEntry]

    def entry(self, country: str, subdiv: str) -> ZoneEntry | None:
        """The zone entry of a subdivision, or None if the table does not know it."""
        table = self.US if country == "US" else self.CA if country == "CA" else {}
        return table.get(subdiv)


class AreaCode(_Frozen):
    """One NANP area code: the jurisdictions it is presumed to reach and its zones."""

    regions: tuple[str, ...] = Field(min_length=1)
    zones: tuple[str, ...] = Field(min_length=1)


class AreaCodeOverride(_Frozen):
    """A hand correction of the generated area-code row, with why."""

    zones: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    note: str


class AreaCodeTable(_Frozen):
    """NANP area codes of the US and Canada (rules/area_codes.yaml, generated)."""

    generated_from: str
    non_geographic: tuple[str, ...]
    overrides: dict[str, AreaCodeOverride]
    area_codes: dict[str, AreaCode]

    @field_validator("area_codes")
    @classmethod
    def _npa_keys(cls, value: dict[str, AreaCode]) -> dict[str, AreaCode]:
        for npa, row in value.items():
            if not re.fullmatch(r"[2-9]\d\d", npa):
                raise ValueError(f"bad area code {npa!r}")
            for key in row.zones:
                _check_zone(key)
        return value


class Rules(_Frozen):
    """The whole rule set the gate decides with; `version` names it in every decision."""

    version: str = Field(min_length=1, max_length=64)
    source: str
    defaults: Defaults
    jurisdictions: dict[str, Jurisdiction]
    zones: ZoneTable
    area_codes: AreaCodeTable
    # Per-rule-set memo of derived lookups (policy/zones fill it); never part of the data.
    _memo: dict[Any, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Rules:
        for key, jurisdiction in self.jurisdictions.items():
            match = _JURISDICTION.match(key)
            if match is None or match[1] != jurisdiction.country:
                raise ValueError(f"jurisdiction key {key!r} does not match its country")
            if match[2] and self.zones.entry(match[1], key[3:]) is None:
                raise ValueError(f"jurisdiction {key} has no zone entry")
        for country in ("US", "CA"):
            for subdiv in getattr(self.zones, country):
                if f"{country}-{subdiv}" not in self.jurisdictions:
                    raise ValueError(f"zone entry {country}-{subdiv} has no jurisdiction")
        for npa, row in self.area_codes.area_codes.items():
            unknown = [r for r in row.regions if r not in self.jurisdictions]
            if unknown:
                raise ValueError(f"area code {npa} names unknown jurisdictions {unknown}")
        return self

    @property
    def memo(self) -> dict[Any, Any]:
        """A cache of lookups derived from this rule set (not data)."""
        return self._memo


def _read(directory: Path | None, name: str) -> Any:
    if directory is not None:
        text = (directory / name).read_text(encoding="utf-8")
    else:
        text = resources.files("dentalvoice.compliance.rules").joinpath(name).read_text("utf-8")
    return yaml.safe_load(text)


def load_rules(directory: Path | None = None) -> Rules:
    """Load and validate the rules data.

    Args:
        directory: A folder with rules.yaml, zones.yaml and area_codes.yaml; None for the data
            shipped in `dentalvoice.compliance.rules`.

    Returns:
        The validated rule set.

    Raises:
        pydantic.ValidationError: If the data does not validate.
    """
    body = dict(_read(directory, RULES_FILE))
    body["zones"] = _read(directory, ZONES_FILE)
    body["area_codes"] = _read(directory, AREA_CODES_FILE)
    return Rules.model_validate(body)


@cache
def default_rules() -> Rules:
    """The shipped rules, loaded and validated once per process.

    Returns:
        The rule set `decide` uses when it is given none.
    """
    return load_rules()
