"""The YAML tables: present, versioned, and as broad as the agent needs."""

from __future__ import annotations

from dentalvoice.conversation.nlu._data import load_table
from dentalvoice.conversation.qualification import TreatmentInterest


def test_carriers_table() -> None:
    table = load_table("carriers.yaml")
    assert table["version"] and table["source"]
    names = [c["name"] for c in table["carriers"]]
    assert len(names) >= 30 and len(set(names)) == len(names)
    countries = {country for c in table["carriers"] for country in c["country"]}
    assert countries == {"US", "CA"}
    aliases = [a for c in table["carriers"] for a in c["aliases"] + c.get("ambiguous", [])]
    assert len(aliases) == len(set(aliases)), "an alias names two carriers"


def test_treatments_table() -> None:
    table = load_table("treatments.yaml")
    assert table["version"] and table["source"]
    assert set(table["synonyms"]) == {t.value for t in TreatmentInterest}
    assert set(table["priority"]) == {t.value for t in TreatmentInterest}
