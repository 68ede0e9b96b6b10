"""carrier and insurance: US and Canadian carriers, STT spellings, status and hedging."""

from __future__ import annotations

import pytest

from dentalvoice.conversation.nlu import carrier, insurance
from dentalvoice.conversation.qualification import InsuranceStatus

CARRIERS = [
    ("I have Delta Dental PPO", "Delta Dental"),
    ("delta dentist", "Delta Dental"),
    ("deltadentle", "Delta Dental"),
    ("met life", "MetLife"),
    ("MetLife", "MetLife"),
    ("metlive", "MetLife"),
    ("cigna", "Cigna"),
    ("signa", "Cigna"),
    ("aetna", "Aetna"),
    ("it's through my work, guardian", "Guardian"),
    ("humana", "Humana"),
    ("humanna", "Humana"),
    ("UHC", "UnitedHealthcare"),
    ("united health care", "UnitedHealthcare"),
    ("united concordia", "United Concordia"),
    ("tricare", "TRICARE Dental"),
    ("blue cross", "Blue Cross Blue Shield"),
    ("b.c.b.s", "Blue Cross Blue Shield"),
    ("Anthem", "Blue Cross Blue Shield"),
    ("ameritas", "Ameritas"),
    ("principle dental", "Principal"),
    ("sunlife", "Sun Life"),
    ("DentaQuest", "DentaQuest"),
    ("GEHA", "GEHA"),
    ("spirit dental", "Spirit Dental"),
    ("physicians mutual", "Physicians Mutual"),
    ("medicaid", "Medicaid"),
    ("Medicare advantage", "Medicare Advantage"),
    ("chip insurance", "CHIP"),
    # Canada.
    ("manulife", "Manulife"),
    ("manu life", "Manulife"),
    ("great-west life", "Canada Life"),
    ("canada life", "Canada Life"),
    ("Green Shield", "Green Shield"),
    ("desjardin", "Desjardins"),
    ("beneva", "Beneva"),
    ("ssq", "Beneva"),
    ("medavie", "Medavie Blue Cross"),
    ("pacific blue cross", "Pacific Blue Cross"),
    ("alberta blue cross", "Alberta Blue Cross"),
    ("CDCP", "Canadian Dental Care Plan"),
    ("the canadian dental care plan", "Canadian Dental Care Plan"),
    ("i dont have aetna i have cigna", "Cigna"),
    # Ordinary words are not carriers.
    ("I have a plan", None),
    ("dental", None),
    ("guardian", None),
    ("sigma", None),
    ("can I talk to a human", None),
    ("i have medical", None),
    ("the principal called", None),
    ("I chipped my tooth", None),
    ("my united states", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), CARRIERS)
def test_carrier(text: str, expected: str | None) -> None:
    assert carrier(text) == expected


INSURANCE = [
    ("I have Delta Dental PPO", False, InsuranceStatus.HAS, "Delta Dental"),
    ("no insurance", False, InsuranceStatus.NONE, None),
    ("I'm paying cash", False, InsuranceStatus.NONE, None),
    ("self-pay", False, InsuranceStatus.NONE, None),
    ("i dont have insurance", False, InsuranceStatus.NONE, None),
    ("I don't think I have insurance", False, InsuranceStatus.NONE, None),
    ("I used to have cigna but not anymore", False, InsuranceStatus.NONE, None),
    ("not sure, I think it's Aetna", False, InsuranceStatus.UNSURE, "Aetna"),
    ("I'm not sure if my plan covers dental", False, InsuranceStatus.UNSURE, None),
    ("I have insurance but I dont know which one", False, InsuranceStatus.HAS, None),
    ("we have sun life through my employer", False, InsuranceStatus.HAS, "Sun Life"),
    ("yes", True, InsuranceStatus.HAS, None),
    ("yeah", True, InsuranceStatus.HAS, None),
    ("no", True, InsuranceStatus.NONE, None),
    ("nope, no coverage", True, InsuranceStatus.NONE, None),
    ("i dont have any", True, InsuranceStatus.NONE, None),
    ("i dont know", True, InsuranceStatus.UNSURE, None),
    ("yeah sigma", True, InsuranceStatus.HAS, "Cigna"),
    ("guardian", True, InsuranceStatus.HAS, "Guardian"),
    ("no i have cigna", True, InsuranceStatus.HAS, "Cigna"),
    ("through my work", True, InsuranceStatus.HAS, None),
    (
        "yeah its through my husbands work, blue cross",
        True,
        InsuranceStatus.HAS,
        "Blue Cross Blue Shield",
    ),
    ("canada life", True, InsuranceStatus.HAS, "Canada Life"),
    ("i dont have delta i have manulife", True, InsuranceStatus.HAS, "Manulife"),
    ("green shield through my wife", True, InsuranceStatus.HAS, "Green Shield"),
    ("I have dental insurance, is that ok?", False, InsuranceStatus.HAS, None),
    ("I have a plan", True, InsuranceStatus.HAS, None),
    ("do you take delta dental", False, InsuranceStatus.HAS, "Delta Dental"),
    ("we're on the CDCP now", False, InsuranceStatus.HAS, "Canadian Dental Care Plan"),
    (
        "pacific blue cross but I'm not sure it covers implants",
        False,
        InsuranceStatus.UNSURE,
        "Pacific Blue Cross",
    ),
]


@pytest.mark.parametrize(("text", "asked", "status", "name"), INSURANCE)
def test_insurance(text: str, asked: bool, status: InsuranceStatus, name: str | None) -> None:
    found = insurance(text, asked=asked)
    assert found is not None
    assert (found.status, found.carrier) == (status, name)
    assert found.raw == text.strip()


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("my tooth hurts", False),
        ("what?", True),
        ("hello", False),
        ("yes", False),
        ("", True),
        ("I have a plan to come in", False),
        ("does my insurance cover implants?", False),
        ("is it covered", True),
    ],
)
def test_no_insurance_talk(text: str, asked: bool) -> None:
    assert insurance(text, asked=asked) is None


def test_raw_is_stripped_and_capped() -> None:
    found = insurance("  I have aetna " + "x" * 300, asked=True)
    assert found is not None and found.raw is not None
    assert found.raw.startswith("I have aetna") and len(found.raw) == 200
