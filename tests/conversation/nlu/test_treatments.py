"""treatment and chief_complaint: synonyms, priority, negation and note-ready summaries."""

from __future__ import annotations

import pytest

from dentalvoice.conversation.nlu import chief_complaint, treatment
from dentalvoice.conversation.qualification import TreatmentInterest as T

TREATMENTS = [
    ("I lost a tooth", T.IMPLANTS),
    ("missing tooth", T.IMPLANTS),
    ("I want to replace a tooth", T.IMPLANTS),
    ("dental implants", T.IMPLANTS),
    ("invisalign", T.ALIGNERS),
    ("clear aligners", T.ALIGNERS),
    ("I want to straighten my teeth", T.ALIGNERS),
    ("braces for me", T.ALIGNERS),
    ("cleaning", T.CLEANING_CHECKUP),
    ("just a checkup", T.CLEANING_CHECKUP),
    ("check-up", T.CLEANING_CHECKUP),
    ("an exam", T.CLEANING_CHECKUP),
    ("hygiene appointment", T.CLEANING_CHECKUP),
    ("teeth whitening", T.WHITENING),
    ("veneers", T.VENEERS),
    ("a crown", T.CROWNS_BRIDGES),
    ("a bridge", T.CROWNS_BRIDGES),
    ("my cap fell off", T.CROWNS_BRIDGES),
    ("root canal", T.ROOT_CANAL),
    ("I need to pull a tooth", T.EXTRACTION),
    ("wisdom teeth", T.EXTRACTION),
    ("remove a tooth", T.EXTRACTION),
    ("dentures", T.DENTURES),
    ("I need a partial", T.DENTURES),
    ("false teeth", T.DENTURES),
    ("toothache", T.EMERGENCY_PAIN),
    ("tooth pain", T.EMERGENCY_PAIN),
    ("it hurts", T.EMERGENCY_PAIN),
    ("broken tooth", T.EMERGENCY_PAIN),
    ("cracked tooth", T.EMERGENCY_PAIN),
    ("I chipped my tooth", T.EMERGENCY_PAIN),
    ("my tooth really hurts", T.EMERGENCY_PAIN),
    ("smile makeover", T.COSMETIC_CONSULT),
    ("something cosmetic", T.COSMETIC_CONSULT),
    ("it's for my son", T.PEDIATRIC),
    ("my daughter", T.PEDIATRIC),
    ("my kid", T.PEDIATRIC),
    ("for my children", T.PEDIATRIC),
    ("a filling", T.OTHER),
    ("I think I have a cavity", T.OTHER),
    # Negation and priority.
    ("I don't need a cleaning, I want implants", T.IMPLANTS),
    ("i dont want braces i want veneers", T.VENEERS),
    ("does it hurt to get implants", T.IMPLANTS),
    ("my son has a toothache", T.EMERGENCY_PAIN),
    ("my kid needs a cleaning", T.PEDIATRIC),
    ("partial coverage", None),
    ("no swelling no fever", None),
    ("it doesn't hurt", None),
    ("hello", None),
    ("yes", None),
    ("I have delta dental", None),
    ("Tuesday afternoons", None),
]


@pytest.mark.parametrize(("text", "expected"), TREATMENTS)
def test_treatment(text: str, expected: T | None) -> None:
    assert treatment(text) == expected


COMPLAINTS = [
    ("Um, I lost a tooth and I'm interested in implants", "lost a tooth, interested in implants"),
    ("I have pain in my back molar for a week", "pain in back molar for a week"),
    ("so basically I just need a routine cleaning", "routine cleaning"),
    (
        "well my back molar has been hurting for about a week",
        "back molar has been hurting for about a week",
    ),
    ("I don't need a cleaning, I want implants", "interested in implants"),
    ("I'd like to get my teeth whitened", "wants teeth whitened"),
    ("my tooth hurts when i drink cold stuff", "tooth hurts when I drink cold stuff"),
    ("uh I chipped my front tooth", "chipped front tooth"),
    ("i need a root canal i think my dentist said", "root canal"),
    (
        "I'm missing two teeth on the bottom and I'd like to get implants",
        "missing two teeth on the bottom, wants implants",
    ),
]


@pytest.mark.parametrize(("text", "expected"), COMPLAINTS)
def test_chief_complaint(text: str, expected: str) -> None:
    assert chief_complaint(text) == expected


@pytest.mark.parametrize(
    "text",
    ["hello", "yes", "yeah that's right", "I have Delta Dental", "Tuesday afternoons", "",
     "it doesn't hurt", "who is this?"],
)  # fmt: skip
def test_no_complaint(text: str) -> None:
    assert chief_complaint(text) is None


def test_long_complaint_is_cut_at_a_clause() -> None:
    text = (
        "I chipped my front tooth yesterday eating popcorn and it's really sensitive to cold now,"
        " also my gums bleed when I brush which is a bit worrying to be honest"
    )
    summary = chief_complaint(text)
    assert summary is not None and len(summary) <= 80
    assert summary.startswith("chipped front tooth")
