"""The treatment a caller is interested in, from synonyms in the treatments table."""

from __future__ import annotations

from functools import lru_cache

from dentalvoice.conversation.nlu._data import load_table
from dentalvoice.conversation.nlu._phrases import PhraseTable
from dentalvoice.conversation.nlu._text import negated, normalize
from dentalvoice.conversation.qualification import TreatmentInterest


def _table(synonyms: dict[str, list[str]]) -> PhraseTable[TreatmentInterest]:
    entries = [(str(p), TreatmentInterest(name)) for name, ps in synonyms.items() for p in ps]
    return PhraseTable(entries, head=r"\b", tail=r"(?:s|es)?\b")


_TABLE = load_table("treatments.yaml")
PRIORITY: tuple[TreatmentInterest, ...] = tuple(TreatmentInterest(p) for p in _TABLE["priority"])
_STRONG = _table(_TABLE["synonyms"])
_WEAK = _table(_TABLE.get("weak", {}))
_RANK = {interest: i for i, interest in enumerate(PRIORITY)}


@lru_cache(maxsize=256)
def _mentions(norm: str) -> tuple[tuple[TreatmentInterest, int, int], ...]:
    # Cached: the agent reads the treatment and the complaint from the same turn.
    for table in (_STRONG, _WEAK):
        found = tuple(f for f in table.find(norm) if not negated(norm, f[1]))
        if found:
            return found
    return ()


def mentions(text: str) -> list[tuple[TreatmentInterest, int, int]]:
    """Every non-negated treatment mention in `text`, as (interest, start, end) in order.

    Args:
        text: The caller's utterance.

    Returns:
        Mentions with offsets into `normalize(text)`; weak synonyms only when no strong one.
    """
    return list(_mentions(normalize(text)))


def treatment(text: str) -> TreatmentInterest | None:
    """The treatment the caller asks about, by the table's priority when several are named.

    Args:
        text: The caller's utterance, e.g. "I don't need a cleaning, I want implants".

    Returns:
        The interest, or None when no treatment is named (negated mentions do not count).
    """
    found = mentions(text)
    if not found:
        return None
    return min((interest for interest, _, _ in found), key=lambda i: _RANK.get(i, len(_RANK)))
