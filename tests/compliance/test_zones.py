"""Candidate zones and jurisdictions of a lead: address, explicit zone, and phone number."""

from __future__ import annotations

import pytest

from dentalvoice.compliance.facts import LeadFacts
from dentalvoice.compliance.rules_model import default_rules
from dentalvoice.compliance.zones import (
    INVALID_NUMBER,
    NON_GEOGRAPHIC,
    candidates,
    jurisdictions_in_zone,
    phone_facts,
    zones_for_address,
)

IND = "America/Indiana/Indianapolis"


@pytest.mark.parametrize(
    ("phone", "regions", "zones"),
    [
        ("+12085550123", ("US-ID",), {"America/Boise", "America/Los_Angeles"}),
        ("+12083450123", ("US-ID",), {"America/Denver"}),  # a Boise prefix: one zone
        ("+19865550123", ("US-ID",), {"America/Boise", "America/Los_Angeles"}),
        # no prefix-level data for 219-555: every zone the area code spans
        ("+12195550123", ("US-IN",), {"America/Chicago", "America/New_York"}),
        ("+19305550123", ("US-IN",), {"America/Chicago", "America/New_York"}),  # overlay override
        ("+18505550100", ("US-FL",), {"America/Chicago", "America/New_York"}),
        ("+13055550100", ("US-FL",), {"America/New_York"}),
        ("+12705550100", ("US-KY",), {"America/Chicago", "America/New_York"}),
        ("+14235550100", ("US-TN",), {"America/Chicago", "America/New_York"}),
        (
            "+17015550100",
            ("US-ND",),
            {"America/Chicago", "America/Denver", "America/North_Dakota/Center"},
        ),
        (
            "+16055550100",
            ("US-SD",),
            {"America/Chicago", "America/Denver", "America/North_Dakota/Center"},
        ),
        ("+13085550100", ("US-NE",), {"America/Chicago", "America/Denver"}),
        ("+17855550100", ("US-KS",), {"America/Chicago", "America/Denver"}),
        ("+15415550100", ("US-OR",), {"America/Denver", "America/Los_Angeles"}),
        ("+19065550100", ("US-MI",), {"America/Chicago", "America/New_York"}),
        ("+19155550100", ("US-TX",), {"America/Denver"}),
        ("+14165550100", ("CA-ON",), {"America/Toronto"}),
        ("+18075550100", ("CA-ON",), {"America/Toronto", "America/Winnipeg"}),
        ("+12505550100", ("CA-BC",), {"America/Edmonton", "America/Vancouver"}),
        ("+19025550100", ("CA-NS", "CA-PE"), {"America/Halifax"}),
        (
            "+18675550100",
            ("CA-NT", "CA-NU", "CA-YT"),
            {
                "America/Whitehorse",
                "America/Iqaluit",
                "America/Edmonton",
                "America/Rankin_Inlet",
                "America/Cambridge_Bay",
                "America/Resolute",
            },
        ),
        ("+12035550100", ("US-CT",), {"America/New_York"}),  # no area-code-level description
    ],
)
def test_phone_zones_and_area_code_state(
    phone: str, regions: tuple[str, ...], zones: set[str]
) -> None:
    facts = phone_facts(phone)
    assert facts.valid and not facts.non_geographic
    assert facts.jurisdictions == regions
    assert set(facts.zones) == zones


@pytest.mark.parametrize(
    "phone", ["+18005550100", "+18885550100", "+18335550100", "+15005550100", "+19005550100"]
)
def test_non_geographic_numbers(phone: str) -> None:
    facts = phone_facts(phone)
    assert facts.non_geographic
    assert facts.zones == () and facts.jurisdictions == ()
    assert candidates(LeadFacts(phone_e164=phone)).problems == (NON_GEOGRAPHIC,)


def test_numbers_outside_the_us_and_canada() -> None:
    assert phone_facts("+18765550100").jurisdictions == ("JM",)
    assert phone_facts("+17875550100").jurisdictions == ("PR",)
    assert phone_facts("+442079460000").jurisdictions == ("GB",)
    assert phone_facts("+442079460000").zones == ("Europe/London",)
    for bad in ("+1404555", "not a number", "+19995550100"):
        assert not phone_facts(bad).valid
        assert candidates(LeadFacts(phone_e164=bad)).problems == (INVALID_NUMBER,)


@pytest.mark.parametrize(
    ("country", "state", "postal", "zones"),
    [
        ("US", "ID", "83814", ("America/Los_Angeles",)),  # Coeur d'Alene
        ("US", "ID", "83702", ("America/Boise",)),  # Boise
        ("US", "ID", "83501", ("America/Los_Angeles", "America/Boise")),  # Lewiston area, split
        ("US", "ID", None, ("America/Boise", "America/Los_Angeles")),
        ("US", "IN", "46320", ("America/Chicago",)),  # Hammond
        ("US", "IN", "46204", (IND,)),  # Indianapolis
        ("US", "IN", "47708", ("America/Chicago",)),  # Evansville
        ("US", "KY", "42001", ("America/Chicago",)),  # Paducah
        ("US", "KY", "40202", ("America/New_York",)),  # Louisville
        ("US", "TN", "37902", ("America/New_York",)),  # Knoxville
        ("US", "TN", "37203", ("America/Chicago",)),  # Nashville
        ("US", "FL", "32501", ("America/Chicago",)),  # Pensacola
        ("US", "FL", "32301", ("America/New_York",)),  # Tallahassee
        ("US", "FL", "33101-1234", ("America/New_York",)),  # ZIP+4
        ("US", "ND", "58601", ("America/Chicago", "America/Denver")),  # Dickinson area
        ("US", "ND", "58102", ("America/Chicago",)),  # Fargo
        ("US", "SD", "57701", ("America/Denver",)),  # Rapid City
        ("US", "NE", "69301", ("America/Denver",)),  # Alliance
        ("US", "KS", "67735", ("America/Chicago", "America/Denver")),  # Goodland
        ("US", "TX", "79901", ("America/Denver",)),  # El Paso
        ("US", "TX", "75201", ("America/Chicago",)),  # Dallas
        ("US", "OR", "97914", ("America/Los_Angeles", "America/Boise")),  # Ontario OR
        ("US", "MI", "49858", ("America/Detroit", "America/Menominee")),  # Menominee
        ("US", "MI", "48201", ("America/Detroit",)),  # Detroit
        ("US", "AZ", "85004", ("America/Phoenix",)),
        ("US", "AZ", "86515", ("America/Phoenix", "America/Denver")),  # Window Rock
        ("US", "AK", "99546", ("America/Adak",)),
        ("US", "GA", "30301", ("America/New_York",)),
        ("US", "FL", "garbage", ("America/New_York", "America/Chicago")),  # unusable ZIP
        ("CA", "ON", "P9N 1A1", ("America/Winnipeg",)),  # Kenora
        ("CA", "ON", "M5V 2T6", ("America/Toronto",)),
        ("CA", "BC", "V1C 1A1", ("America/Edmonton",)),  # Cranbrook
        ("CA", "BC", "V6B1A1", ("America/Vancouver",)),
        ("CA", "NU", "X0A 0H0", ("America/Iqaluit", "America/Resolute")),
        ("CA", "NU", "X0C 0A0", ("America/Rankin_Inlet",)),
        ("CA", "QC", "G4T 1A1", ("America/Halifax",)),  # Magdalen Islands
        ("CA", "SK", "S9V 0A1", ("America/Edmonton",)),  # Lloydminster
    ],
)
def test_address_zones(
    country: str, state: str, postal: str | None, zones: tuple[str, ...]
) -> None:
    assert zones_for_address(country, state, postal, default_rules()) == zones


def test_unknown_subdivision_has_no_zones() -> None:
    assert zones_for_address("US", "ZZ", None, default_rules()) == ()


def test_every_candidate_source_is_united_in_trust_order() -> None:
    lead = LeadFacts(
        phone_e164="+12195550123",  # Indiana, Eastern and Central
        explicit_timezone="America/Denver",
        state="ID",
        postal_code="83814",  # Pacific
    )
    found = candidates(lead)
    assert found.zones == (
        "America/Denver",
        "America/Los_Angeles",
        "America/Chicago",
        "America/New_York",
    )
    assert found.jurisdictions == ("US", "US-ID", "US-IN")
    assert found.problems == ()


def test_explicit_zone_narrows_a_multi_zone_state() -> None:
    lead = LeadFacts(phone_e164="+18505550100", explicit_timezone="America/Chicago", state="FL")
    # the address contributes only its own zone; the 850 number still brings Eastern
    assert candidates(lead).zones == ("America/Chicago", "America/New_York")
    lone = LeadFacts(phone_e164="+13055550100", explicit_timezone="America/New_York", state="FL")
    assert candidates(lone).zones == ("America/New_York",)


def test_invalid_explicit_zone_is_ignored() -> None:
    lead = LeadFacts(phone_e164="+13055550100", explicit_timezone="Mars/Olympus_Mons")
    assert candidates(lead).zones == ("America/New_York",)


def test_florida_number_with_georgia_address() -> None:
    lead = LeadFacts(phone_e164="+13055550100", state="GA")
    assert candidates(lead).jurisdictions == ("US", "US-GA", "US-FL")


def test_state_names_and_countries_are_normalised() -> None:
    named = candidates(LeadFacts(phone_e164="+13055550100", state="Georgia", country="usa"))
    assert named.jurisdictions == ("US", "US-GA", "US-FL")
    province = candidates(LeadFacts(phone_e164="+13055550100", state="on"))
    assert province.jurisdictions == ("CA", "US", "CA-ON", "US-FL")


def test_toll_free_decided_by_the_address() -> None:
    by_state = candidates(LeadFacts(phone_e164="+18005550100", state="TX", postal_code="79901"))
    assert by_state.zones == ("America/Denver",)
    assert by_state.jurisdictions == ("US", "US-TX")
    by_zone = candidates(LeadFacts(phone_e164="+18775550100", explicit_timezone="America/Chicago"))
    assert by_zone.problems == ()
    assert by_zone.zones == ("America/Chicago",)
    assert {"US-MS", "US-TX", "US-AL", "CA-MB"} <= set(by_zone.jurisdictions)
    us_only = candidates(
        LeadFacts(phone_e164="+18775550100", explicit_timezone="America/Chicago", country="US")
    )
    assert not any(j.startswith("CA") for j in us_only.jurisdictions)


def test_jurisdictions_in_zone_match_equivalent_zone_names() -> None:
    rules = default_rules()
    # America/Indiana/Indianapolis keeps the same clock as America/New_York
    eastern = set(jurisdictions_in_zone("America/Indiana/Indianapolis", "US", rules))
    assert {"US-NY", "US-FL", "US-GA", "US-IN"} <= eastern
    assert "US-CA" not in eastern
    assert jurisdictions_in_zone("Europe/Paris", None, rules) == ()
