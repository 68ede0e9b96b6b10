"""Candidate time zones and jurisdictions of a lead, from its address, its zone and its number."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from phonenumbers import PhoneNumberType
from phonenumbers.geodata import GEOCODE_DATA
from phonenumbers.timezone import time_zones_for_number
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from dentalvoice.compliance.facts import LeadFacts
from dentalvoice.compliance.rules_model import AREA_CODES_FILE, Rules, default_rules

INVALID_NUMBER = "invalid_number"
NON_GEOGRAPHIC = "non_geographic_number"
NANP_REGIONS = ("US", "CA")
_NON_GEOGRAPHIC_TYPES = frozenset(
    {
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.PERSONAL_NUMBER,
        PhoneNumberType.UAN,
        PhoneNumberType.VOIP,
        PhoneNumberType.PAGER,
        PhoneNumberType.VOICEMAIL,
    }
)
_COUNTRY_ALIASES = {"USA": "US", "CAN": "CA", "UNITED STATES": "US", "CANADA": "CA"}
# phonenumbers' English descriptions that are not the jurisdiction's own name.
_GEO_ALIASES = {
    "Washington D.C.": "US-DC",
    "Washington State": "US-WA",
    "British Colombia": "CA-BC",
}


@dataclass(frozen=True, slots=True)
class PhoneFacts:
    """What the number alone says about where the called party is."""

    valid: bool
    region: str | None  # phonenumbers' region code, e.g. "US", "CA", "JM"
    area_code: str | None  # the NANP NPA
    non_geographic: bool
    jurisdictions: tuple[str, ...]  # e.g. ("US-FL",); ("JM",) for a number outside US/CA
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Candidates:
    """Every zone and jurisdiction that plausibly applies to a lead, most trusted first."""

    zones: tuple[str, ...]
    jurisdictions: tuple[str, ...]  # countries first ("US"), then subdivisions ("US-FL")
    problems: tuple[str, ...] = ()  # "invalid_number", "non_geographic_number"


def candidates(lead: LeadFacts, rules: Rules | None = None) -> Candidates:
    """The candidate zones and jurisdictions of a lead.

    Zones, in order of trust: the contact's explicit IANA zone, its address (state or province,
    narrowed by postal code where the table splits it), then the number's zones. The call has to
    be lawful in all of them, so they are united, not chosen between. Jurisdictions are the
    address's and the area code's (statutes presume an area code reaches a resident), plus their
    countries. A non-geographic number contributes nothing; unless the address decides, the
    lead is flagged `non_geographic_number`.

    Args:
        lead: The lead.
        rules: The rule set whose zone and area-code tables to use; the shipped one by default.

    Returns:
        The candidates; `problems` says why they may not be trusted.
    """
    rules = rules or default_rules()
    key = (
        "candidates",
        lead.phone_e164,
        lead.explicit_timezone,
        lead.state,
        lead.postal_code,
        lead.country,
    )
    memo = rules.memo
    found = memo.get(key)
    if found is None:
        found = _candidates(lead, rules)
        if len(memo) > 100_000:  # bound the memo in long-running workers
            memo.clear()
        memo[key] = found
    result: Candidates = found
    return result


def _candidates(lead: LeadFacts, rules: Rules) -> Candidates:
    phone = phone_facts(lead.phone_e164, rules)
    problems: list[str] = []
    if not phone.valid:
        problems.append(INVALID_NUMBER)
    explicit = _valid_zone(lead.explicit_timezone)
    country, subdiv = normalize_address(lead.state, lead.country, phone.region, rules)
    address_jurisdictions: list[str] = []
    address_zones: tuple[str, ...] = ()
    if subdiv is not None:
        address_jurisdictions.append(f"{country}-{subdiv}" if country else subdiv)
        if country is not None:
            address_zones = zones_for_address(country, subdiv, lead.postal_code, rules)
    elif country is not None and country not in NANP_REGIONS:
        address_jurisdictions.append(country)
    zones: list[str] = []
    if explicit is not None:
        zones.append(explicit)
        # The contact's own zone is more trusted than the state's list: when it is one of the
        # state's zones it narrows a multi-zone state; otherwise both stay in play.
        if any(_same_zone(explicit, z) for z in address_zones):
            address_zones = ()
    zones.extend(address_zones)
    if phone.non_geographic:
        decided = bool(address_jurisdictions) or explicit is not None
        if explicit is not None and not address_jurisdictions:
            address_jurisdictions.extend(jurisdictions_in_zone(explicit, country, rules))
            decided = bool(address_jurisdictions)
        if not decided:
            problems.append(NON_GEOGRAPHIC)
    else:
        zones.extend(phone.zones)
    subdivisions = _unique([*address_jurisdictions, *phone.jurisdictions])
    countries = [j[:2] for j in subdivisions if re.fullmatch(r"(US|CA)-[A-Z]{2}", j)]
    if phone.non_geographic and phone.region in NANP_REGIONS and not subdivisions:
        countries.append(country or phone.region or "US")
    ordered = _unique([*countries, *subdivisions])
    jurisdictions = [j for j in ordered if "-" not in j] + [j for j in ordered if "-" in j]
    return Candidates(tuple(_unique(zones)), tuple(jurisdictions), tuple(problems))


def normalize_address(
    state: str | None, country: str | None, phone_region: str | None, rules: Rules
) -> tuple[str | None, str | None]:
    """The address's country and state/province codes, as the tables spell them.

    Args:
        state: The address's state or province: a two-letter code or its full name.
        country: The address's country, if given.
        phone_region: The number's region, used when the address gives no country.
        rules: The rule set whose tables name the subdivisions.

    Returns:
        (country, subdivision); either may be None.
    """
    code = (country or "").strip().upper() or None
    code = _COUNTRY_ALIASES.get(code, code) if code else None
    subdiv = (state or "").strip().upper() or None
    if subdiv is not None and len(subdiv) != 2:
        subdiv = _subdivision_by_name(rules).get(subdiv.casefold(), subdiv)
        if "-" in subdiv:
            by_name_country, subdiv = subdiv.split("-", 1)
            code = code or by_name_country
    if subdiv is not None and code is None:
        if rules.zones.entry("US", subdiv) is not None:
            code = "US"
        elif rules.zones.entry("CA", subdiv) is not None:
            code = "CA"
        else:
            code = phone_region if phone_region in NANP_REGIONS else "US"
    return code, subdiv


def _subdivision_by_name(rules: Rules) -> dict[str, str]:
    key = "subdivision_names"
    names: dict[str, str] | None = rules.memo.get(key)
    if names is None:
        names = {j.name.casefold(): code for code, j in rules.jurisdictions.items() if "-" in code}
        rules.memo[key] = names
    return names


def zones_for_address(
    country: str, subdiv: str, postal_code: str | None, rules: Rules
) -> tuple[str, ...]:
    """The zones of a state/province, narrowed by the postal code where the table splits it.

    Args:
        country: "US" or "CA".
        subdiv: The two-letter state or province.
        postal_code: The address's ZIP code or Canadian postal code, if any.
        rules: The rule set with the zone table.

    Returns:
        The zones; empty if the table does not know the subdivision.
    """
    entry = rules.zones.entry(country, subdiv)
    if entry is None:
        return ()
    if len(entry.zones) == 1:
        return entry.zones
    postal = _normalize_postal(postal_code, country)
    if postal is None:
        return entry.zones
    for length in range(min(len(postal), 5), 0, -1):
        zones = entry.postal.get(postal[:length])
        if zones is not None:
            return zones
    return entry.default_zones


def _normalize_postal(postal_code: str | None, country: str) -> str | None:
    if not postal_code:
        return None
    text = re.sub(r"[\s-]", "", postal_code).upper()
    if country == "US":
        return text[:5] if re.fullmatch(r"\d{5}(\d{4})?", text) else None
    if country == "CA":
        return text if re.fullmatch(r"[A-Z]\d[A-Z](\d[A-Z]\d)?", text) else None
    return None


def phone_facts(phone_e164: str, rules: Rules | None = None) -> PhoneFacts:
    """What a number says about the called party's location.

    For a US/Canadian number the area code gives the jurisdictions (from the shipped NANP table)
    and phonenumbers' prefix data gives the zones. When phonenumbers only knows the area code as
    a whole (no finer prefix matches) the zones are every zone the area code spans, so a split
    area code such as Idaho 208 or Indiana 219 yields all of its zones.

    Args:
        phone_e164: The number in E.164.
        rules: The rule set with the area-code table; the shipped one by default.

    Returns:
        The number's facts.
    """
    rules = rules or default_rules()
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return PhoneFacts(False, None, None, False, (), ())
    if not phonenumbers.is_valid_number(number):
        return PhoneFacts(False, None, None, False, (), ())
    region = phonenumbers.region_code_for_number(number)
    national = phonenumbers.national_significant_number(number)
    if number.country_code != 1 or region not in NANP_REGIONS:
        zones = tuple(z for z in time_zones_for_number(number) if z != "Etc/Unknown")
        # A country-level list (every zone of +1, say) says nothing about the called party.
        zones = zones if len(zones) <= 3 else ()
        return PhoneFacts(True, region, None, False, (region or f"+{number.country_code}",), zones)
    npa = national[:3]
    table = rules.area_codes
    row = table.area_codes.get(npa)
    # number_type is slow; an area code the table lists as geographic cannot be toll-free.
    non_geographic = npa in table.non_geographic or (
        row is None and phonenumbers.number_type(number) in _NON_GEOGRAPHIC_TYPES
    )
    if non_geographic:
        return PhoneFacts(True, region, npa, True, (), ())
    if row is None:
        return PhoneFacts(True, region, npa, False, (f"NANP-{npa}",), ())
    override = table.overrides.get(npa)
    zones = row.zones
    if override is None or override.zones is None:
        specific = _prefix_zones("1" + national)
        if specific is not None:
            zones = specific
    return PhoneFacts(True, region, npa, False, row.regions, zones)


def _prefix_zones(digits: str) -> tuple[str, ...] | None:
    # Only a match finer than the area code is trusted; the area-code-level entry names one zone
    # even where the area code spans several (e.g. 219 -> New_York only).
    for length in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 4, -1):
        zones = TIMEZONE_DATA.get(digits[:length])
        if zones is not None:
            return tuple(z for z in zones if z != "Etc/Unknown") or None
    return None


def _valid_zone(key: str | None) -> str | None:
    if not key:
        return None
    try:
        ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        # An unknown zone name cannot be evaluated; the address and number still decide.
        return None
    return key


@lru_cache(maxsize=1024)
def zone_signature(key: str) -> tuple[float, ...]:
    """UTC offsets of a zone at fixed instants over several years: equal for equivalent zones.

    Args:
        key: An IANA zone name.

    Returns:
        The offsets in hours at the 1st and 15th of each month, 2024-2029.
    """
    zone = ZoneInfo(key)
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    offsets = []
    for months in range(72):
        year, month = 2024 + months // 12, months % 12 + 1
        for day in (1, 15):
            instant = start.replace(year=year, month=month, day=day)
            offset = instant.astimezone(zone).utcoffset() or timedelta(0)
            offsets.append(offset.total_seconds() / 3600)
    return tuple(offsets)


def _same_zone(a: str, b: str) -> bool:
    return a == b or zone_signature(a) == zone_signature(b)


def jurisdictions_in_zone(zone: str, country: str | None, rules: Rules) -> tuple[str, ...]:
    """Every state/province any of whose zones is equivalent to `zone`.

    Used when a non-geographic number has only the contact's zone to go by: the call must then be
    lawful under every state that could be in that zone.

    Args:
        zone: An IANA zone name.
        country: Limit to this country, if known.
        rules: The rule set with the zone table.

    Returns:
        The jurisdictions, e.g. ("US-AL", "US-AR", ...).
    """
    found = []
    for code, table in (("US", rules.zones.US), ("CA", rules.zones.CA)):
        if country is not None and country != code:
            continue
        for subdiv, entry in table.items():
            if any(_same_zone(zone, z) for z in entry.zones):
                found.append(f"{code}-{subdiv}")
    return tuple(found)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------------- table generation


def build_area_code_table(rules: Rules) -> dict[str, Any]:
    """Regenerate the NANP area-code table from phonenumbers' geocoding and zone data.

    Each US/Canadian area code maps to the jurisdictions named by phonenumbers' area-code-level
    description ("Idaho", "Toronto, ON", "Nova Scotia/Prince Edward Island"; when only finer
    prefixes are described, the most common state among them) and to every zone any of its
    prefixes has. Area codes without geographic data are non-geographic. The hand `overrides`
    of the shipped table are applied on top.

    Args:
        rules: The rule set whose jurisdiction names and overrides to use.

    Returns:
        The table, as area_codes.yaml stores it.
    """
    names = {j.name: code for code, j in rules.jurisdictions.items() if "-" in code}
    names.update(_GEO_ALIASES)
    overrides = rules.area_codes.overrides
    zones_by_npa: dict[str, set[str]] = {}
    for prefix, prefix_zones in TIMEZONE_DATA.items():
        if prefix.startswith("1") and len(prefix) >= 4:
            zones_by_npa.setdefault(prefix[1:4], set()).update(
                z for z in prefix_zones if z != "Etc/Unknown"
            )
    area_codes: dict[str, dict[str, list[str]]] = {}
    non_geographic: list[str] = []
    for npa_number in range(200, 1000):
        npa = str(npa_number)
        sample = phonenumbers.parse(f"+1{npa}5550100", None)
        region = phonenumbers.region_code_for_number(sample)
        if region not in NANP_REGIONS:
            continue
        regions = _regions_of(npa, region, names)
        if not regions:
            non_geographic.append(npa)
            continue
        zones = sorted(zones_by_npa.get(npa, ()))
        override = overrides.get(npa)
        if override is not None:
            zones = list(override.zones or zones)
            regions = list(override.regions or regions)
        if not zones:
            zones = sorted({z for r in regions for z in _subdivision_zones(r, rules)})
        area_codes[npa] = {"regions": regions, "zones": zones}
    return {
        "generated_from": f"phonenumbers {phonenumbers.__version__} geodata and tzdata",
        "non_geographic": non_geographic,
        "overrides": {npa: o.model_dump(exclude_none=True) for npa, o in sorted(overrides.items())},
        "area_codes": area_codes,
    }


def _regions_of(npa: str, region: str, names: dict[str, str]) -> list[str]:
    description = GEOCODE_DATA.get("1" + npa, {}).get("en")
    if description is None:
        finer = [v.get("en", "") for k, v in GEOCODE_DATA.items() if k.startswith("1" + npa)]
        suffixes = Counter(m[1] for d in finer if (m := re.search(r", ([A-Z]{2})$", d)))
        if not suffixes:
            return []
        description = f"x, {suffixes.most_common(1)[0][0]}"
    regions = []
    for part in description.split("/"):
        suffix = re.search(r", ([A-Z]{2})$", part)
        code = f"{region}-{suffix[1]}" if suffix else names.get(part.strip())
        if code is None:
            raise ValueError(f"area code {npa}: unknown place {part!r}")
        regions.append(code)
    return regions


def _subdivision_zones(jurisdiction: str, rules: Rules) -> tuple[str, ...]:
    entry = rules.zones.entry(jurisdiction[:2], jurisdiction[3:])
    return entry.zones if entry else ()


def dump_area_code_table(table: dict[str, Any]) -> str:
    """The area-code table as area_codes.yaml text, one area code per line.

    Args:
        table: What `build_area_code_table` returns.

    Returns:
        The file's text.
    """
    lines = [
        "# NANP area codes of the US and Canada -> jurisdictions presumed reached and time zones.",
        "# GENERATED by dentalvoice.compliance.zones.write_area_code_table from phonenumbers'",
        "# area-code geocoding data (1NPA descriptions) and prefix time-zone data; edit only the",
        "# `overrides` (hand corrections, applied on generation) and regenerate. A test checks",
        "# that this file matches what the installed phonenumbers generates.",
        f"generated_from: {table['generated_from']}",
        f"non_geographic: [{', '.join(repr(n) for n in table['non_geographic'])}]".replace(
            "'", '"'
        ),
        "overrides:",
    ]
    for npa, override in table["overrides"].items():
        body = yaml.safe_dump(override, default_flow_style=True, width=1000, sort_keys=True)
        lines.append(f'  "{npa}": {body.strip()}')
    lines.append("area_codes:")
    for npa, row in table["area_codes"].items():
        lines.append(
            f'  "{npa}": {{regions: [{", ".join(row["regions"])}], '
            f"zones: [{', '.join(row['zones'])}]}}"
        )
    return "\n".join(lines) + "\n"


def write_area_code_table(path: Path | None = None) -> Path:
    """Regenerate area_codes.yaml in place (a maintenance step, never called by the gate).

    Args:
        path: Where to write; the shipped data file by default.

    Returns:
        The path written.
    """
    target = path or Path(__file__).with_name("rules") / AREA_CODES_FILE
    target.write_text(dump_area_code_table(build_area_code_table(default_rules())), "utf-8")
    return target
