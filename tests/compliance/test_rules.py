"""The rules data: it loads, validates, covers the reference's rows and rejects bad edits."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from dentalvoice.compliance.rules_model import (
    AttemptCapRule,
    BlockRule,
    HolidayRule,
    HoursRule,
    NoteRule,
    RegistryRule,
    Rules,
    Week,
    default_rules,
    load_rules,
    parse_clock,
)
from dentalvoice.compliance.zones import build_area_code_table

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "compliance.md"
# fmt: off
US_SUBDIVISIONS = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
}
# fmt: on
CA_SUBDIVISIONS = {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}


def _raw() -> dict[str, Any]:
    folder = resources.files("dentalvoice.compliance.rules")
    body: dict[str, Any] = yaml.safe_load(folder.joinpath("rules.yaml").read_text("utf-8"))
    body["zones"] = yaml.safe_load(folder.joinpath("zones.yaml").read_text("utf-8"))
    body["area_codes"] = yaml.safe_load(folder.joinpath("area_codes.yaml").read_text("utf-8"))
    return body


def test_shipped_rules_load_once_with_a_version() -> None:
    rules = default_rules()
    assert rules is default_rules()
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d+", rules.version)
    assert load_rules().model_dump() == rules.model_dump()


def test_every_state_and_province_is_a_jurisdiction() -> None:
    rules = default_rules()
    us = {k[3:] for k in rules.jurisdictions if k.startswith("US-")}
    ca = {k[3:] for k in rules.jurisdictions if k.startswith("CA-")}
    assert us == US_SUBDIVISIONS
    assert ca == CA_SUBDIVISIONS
    assert {"US", "CA"} <= set(rules.jurisdictions)


def test_every_row_has_a_source_and_confidence() -> None:
    rules = default_rules()
    for key, jurisdiction in rules.jurisdictions.items():
        assert jurisdiction.source and jurisdiction.confidence, key
        for row in jurisdiction.rules:
            assert row.source.strip() and row.confidence, (key, row.id)
    ids = [row.id for j in rules.jurisdictions.values() for row in j.rules]
    assert len(ids) == len(set(ids)), "rule ids are unique"


def _hours(key: str) -> list[Week]:
    return [row.days for row in default_rules().jurisdictions[key].hours]


def _week(**days: tuple[str, ...]) -> Week:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    out = []
    for name in names:
        windows = days.get(name, ())
        out.append(tuple((parse_clock(w[:5]), parse_clock(w[6:])) for w in windows))
    return tuple(out)


def _every(window: str) -> Week:
    return _week(**{d: (window,) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})


def _days(days: str, window: str) -> dict[str, tuple[str, ...]]:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    first, last = days.split("-")
    return {d: (window,) for d in names[names.index(first) : names.index(last) + 1]}


@pytest.mark.parametrize(
    ("key", "weeks"),
    [
        ("US", [_every("08:00-21:00")]),
        ("US-AL", [_week(**_days("mon-sat", "08:00-20:00"))]),
        ("US-CA", [_every("08:00-21:00")]),
        ("US-CT", [_every("09:00-20:00")]),
        ("US-FL", [_every("08:00-20:00")]),
        ("US-GA", [_every("08:00-21:00")]),
        ("US-KY", [_every("10:00-21:00"), _every("08:00-21:00")]),
        ("US-LA", [_week(**_days("mon-sat", "08:00-20:00"))]),
        ("US-MD", [_every("08:00-20:00")]),
        ("US-MA", [_every("08:00-20:00")]),
        ("US-MI", [_every("09:00-21:00")]),
        ("US-MN", [_every("09:00-21:00")]),
        (
            "US-MS",
            [_week(**_days("mon-sat", "08:00-20:00")), _week(**_days("mon-sat", "08:00-21:00"))],
        ),
        ("US-NV", [_every("09:00-20:00")]),
        ("US-NM", [_every("09:00-21:00")]),
        ("US-NY", [_every("08:00-21:00")]),
        ("US-OK", [_every("08:00-20:00"), _every("09:00-21:00")]),
        ("US-PA", [_every("08:00-21:00")]),
        ("US-RI", [_week(**_days("mon-fri", "09:00-18:00"), sat=("10:00-17:00",))]),
        ("US-SD", [_week(**_days("mon-fri", "09:00-21:00"))]),
        ("US-TX", [_week(**_days("mon-sat", "09:00-21:00"), sun=("12:00-21:00",))]),
        ("US-UT", [_week(**_days("mon-sat", "08:00-21:00"))]),
        ("US-VA", [_every("08:00-21:00")]),
        ("US-WA", [_every("08:00-20:00")]),
        ("US-IL", [_every("08:00-21:00"), _every("09:00-21:00")]),
        ("US-ME", []),
        (
            "CA",
            [_week(**_days("mon-fri", "09:00-21:30"), sat=("10:00-18:00",), sun=("10:00-18:00",))],
        ),
    ],
)
def test_hours_rows(key: str, weeks: list[Any]) -> None:
    assert _hours(key) == weeks


def test_other_rows() -> None:
    j = default_rules().jurisdictions
    caps = {k: [(c.window_hours, c.max_attempts) for c in v.attempt_caps] for k, v in j.items()}
    assert caps["US-FL"] == caps["US-OK"] == caps["US-MD"] == [(24, 3)]
    assert caps["US-ME"] == [(8, 1)]
    holidays = {k: [(h.country, h.subdiv) for h in v.holidays] for k, v in j.items() if v.holidays}
    assert holidays == {
        "US-AL": [("US", "AL")],
        "US-LA": [("US", "LA")],
        "US-PA": [("US", "PA")],
        "US-RI": [("US", "RI")],
        "US-UT": [("US", "UT")],
    }
    assert [b.reason for b in j["US-MS"].blocks] == ["artificial_voice_ban"]
    emergency = [r for r in j["US-LA"].rules if isinstance(r, BlockRule)]
    assert [(b.reason, b.active) for b in emergency] == [("emergency", False)]
    assert j["US-MS"].hours[0].also_in_zones == ("Etc/GMT+6",)
    us_registry, ca_registry = j["US"].registry, j["CA"].registry
    assert us_registry is not None and ca_registry is not None
    assert (us_registry.max_age_days, us_registry.inquiry_exemption_months) == (31, 3)
    assert not us_registry.written_consent_exempts
    assert ca_registry.max_age_days == 31
    cited = {(k, n.code) for k, v in j.items() for n in v.cited_notes}
    assert {("US-CA", "ai_disclosure"), ("US-UT", "ai_disclosure")} <= cited


def test_product_defaults() -> None:
    defaults = default_rules().defaults
    assert [(c.window_hours, c.max_attempts) for c in defaults.attempt_caps] == [(24, 3), (336, 8)]
    assert defaults.holidays["US"].country == "US" and defaults.holidays["US"].subdiv is None
    assert defaults.holidays["CA"].per_subdivision
    assert 14 <= defaults.search_horizon_days <= 21


def test_every_reference_state_row_is_data() -> None:
    if not REFERENCE.exists():
        pytest.skip("shared/reference/compliance.md is not beside the repository")
    text = REFERENCE.read_text("utf-8")
    section = text.split("## 2. State rules")[1].split("## 3.")[0]
    names = re.findall(r"^\| \*\*([A-Za-z ]+)\*\* \|", section, flags=re.MULTILINE)
    names += re.findall(r"^\| \*\*(Illinois|Other states)\*\* \|", section, flags=re.MULTILINE)
    by_name = {j.name: j for j in default_rules().jurisdictions.values()}
    assert len(names) >= 25
    for name in names:
        if name in {"Federal baseline", "Other states"}:
            continue
        assert name in by_name, name
        assert by_name[name].rules, f"{name} has a row in the reference but none in the data"


def test_area_code_table_matches_phonenumbers() -> None:
    rules = default_rules()
    table = build_area_code_table(rules)
    shipped = rules.area_codes
    assert table["non_geographic"] == list(shipped.non_geographic)
    assert {
        npa: (tuple(row["regions"]), tuple(row["zones"]))
        for npa, row in table["area_codes"].items()
    } == {npa: (row.regions, row.zones) for npa, row in shipped.area_codes.items()}, (
        "area_codes.yaml is stale: run dentalvoice.compliance.zones.write_area_code_table()"
    )
    assert len(shipped.area_codes) > 380
    assert {"800", "888", "900", "500"} <= set(shipped.non_geographic)


def test_row_kinds_parse() -> None:
    rules = default_rules()
    kinds = {type(r) for j in rules.jurisdictions.values() for r in j.rules}
    assert kinds == {HoursRule, HolidayRule, AttemptCapRule, BlockRule, RegistryRule, NoteRule}


def _mutated(path: list[Any], value: Any) -> dict[str, Any]:
    body = _raw()
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["jurisdictions", "US-FL", "rules", 0, "days"], {"all": ["21:00-08:00"]}, "end after"),
        (["jurisdictions", "US-FL", "rules", 0, "days"], {"funday": ["08:00-20:00"]}, "weekday"),
        (["jurisdictions", "US-FL", "rules", 0, "days"], {"all": ["8-20"]}, "HH:MM"),
        (
            ["jurisdictions", "US-FL", "rules", 0, "days"],
            {"all": ["08:00-12:00", "11:00-13:00"]},
            "overlapping",
        ),
        (["jurisdictions", "US-FL", "rules", 0, "confidence"], "pretty sure", "confidence"),
        (["jurisdictions", "US-FL", "rules", 0, "surprise"], 1, "surprise"),
        (["jurisdictions", "US-FL", "country"], "CA", "does not match"),
        (["jurisdictions", "US-MS", "rules", 1, "also_in_zones"], ["Mars/Base"], "time zone"),
        (["zones", "US", "FL", "default"], "America/Denver", "default"),
        (["area_codes", "area_codes", "305", "regions"], ["US-XX"], "unknown jurisdictions"),
        (["version"], "", "version"),
    ],
)
def test_bad_data_is_rejected(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Rules.model_validate(_mutated(path, value))


def test_missing_version_is_rejected() -> None:
    body = _raw()
    del body["version"]
    with pytest.raises(ValidationError, match="version"):
        Rules.model_validate(body)


def test_load_from_a_folder(tmp_path: Path) -> None:
    folder = resources.files("dentalvoice.compliance.rules")
    for name in ("rules.yaml", "zones.yaml", "area_codes.yaml"):
        (tmp_path / name).write_text(folder.joinpath(name).read_text("utf-8"), "utf-8")
    body = yaml.safe_load((tmp_path / "rules.yaml").read_text("utf-8"))
    body["version"] = "counsel-review-1"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(body), "utf-8")
    assert load_rules(tmp_path).version == "counsel-review-1"


@pytest.mark.parametrize(("text", "minutes"), [("00:00", 0), ("08:30", 510), ("24:00", 1440)])
def test_parse_clock(text: str, minutes: int) -> None:
    assert parse_clock(text) == minutes


@pytest.mark.parametrize("text", ["24:01", "12:60", "8:00", "noon"])
def test_parse_clock_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(text)
