"""Dental insurance carriers named in an utterance, matched exactly or fuzzily against a table."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from dentalvoice.conversation.nlu._data import load_table
from dentalvoice.conversation.nlu._text import negated, normalize, words

# Clause punctuation stays (negation stops at a comma); dots of initials ("b.c.b.s.") go.
_INITIAL_DOTS = re.compile(r"(?<=\b[a-z])\.")
_PUNCT = re.compile(r"[^a-z0-9' ,;.!?]+")
_SPACES = re.compile(r" {2,}")
# Talk about insurance: makes ambiguous aliases ("guardian", "delta") count as carriers.
CONTEXT = re.compile(
    r"\b(?:insurance|insured|insurer|coverage|covered|covers|cover|plan|policy|policies|provider"
    r"|carrier|benefits?|ppo|hmo|dmo|dental|through (?:my |our )?(?:work|job|employer))\b"
)
# Words that never start or end a fuzzy candidate, and everyday words that must never be
# read as a misheard carrier ("human" is one letter from "humana").
_FUNCTION_WORDS = frozenset(
    words(
        "a an the i i'm im i've my me mine our we you your it it's its is are was were be been"
        " have has had do does did and or but so of to in on at by for with from through via"
        " that this these those there here they them he she his her not no yes yeah um uh like"
        " just think guess maybe sure well okay ok is"
    )
)
_GENERIC_WORDS = frozenset(
    words(
        "dental insurance plan plans life blue care health healthcare medical group financial"
        " program benefit benefits coverage company work job employer national family"
        " mutual advantage cross shield vision dentist dentistry ppo hmo premier"
    )
)
_COMMON_WORDS = frozenset(
    words(
        "human humans humane humor delta deltas united unity unite signal single sigma medical"
        " medicine media metal meta mental dental dentist rental central capital principle"
        " principals prince guardians guard garden spirits spirited anthems anthem athena"
        " etna aetna kaiser raiser geisha cigar cigars amerit america american americans"
        " carrying caring carrington aflac flak unum venom equitable equal manual manually"
        " medic medics medicare medicaid medication chips chipped chipping ship tricky tricare"
        " desert dessert jardin gardens empire employee beneva geneva benevolent"
    )
)
_MAX_NGRAM = 3
_MIN_FUZZY_LEN = 5


@dataclass(frozen=True, slots=True)
class CarrierMention:
    """A carrier found in an utterance: its display name and where the alias started."""

    name: str
    start: int
    end: int


def carrier_key(text: str) -> str:
    """Reduce text to the form aliases are stored in: lowercase words, hyphens as spaces.

    Args:
        text: Any text.

    Returns:
        The text with hyphens, initials' dots and symbols turned into single spaces.
    """
    text = _PUNCT.sub(" ", _INITIAL_DOTS.sub(" ", normalize(text)))
    return _SPACES.sub(" ", text).strip(" ,;.!?")


def _load() -> tuple[dict[str, str], dict[str, str], list[str]]:
    table = load_table("carriers.yaml")
    plain: dict[str, str] = {}
    ambiguous: dict[str, str] = {}
    names: list[str] = []
    for entry in table["carriers"]:
        name = str(entry["name"])
        names.append(name)
        for alias in entry.get("aliases", []):
            plain[carrier_key(str(alias))] = name
        for alias in entry.get("ambiguous", []):
            ambiguous[carrier_key(str(alias))] = name
    return plain, ambiguous, names


_PLAIN, _AMBIGUOUS, CARRIER_NAMES = _load()


def _alias_regex(aliases: dict[str, str]) -> re.Pattern[str]:
    ordered = sorted(aliases, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(a) for a in ordered) + r")\b")


_PLAIN_RE = _alias_regex(_PLAIN)
_AMBIGUOUS_RE = _alias_regex(_AMBIGUOUS)


def _fuzzy_buckets() -> dict[str, tuple[list[str], list[str]]]:
    # Misheard names keep their first sound, so comparing only keys that share the first letter
    # keeps the fuzzy pass to a few dozen comparisons per utterance.
    buckets: dict[str, tuple[list[str], list[str]]] = {}
    for alias, name in _PLAIN.items():
        compact = alias.replace(" ", "")
        if len(compact) < _MIN_FUZZY_LEN + 1 or not compact.isalpha():
            continue
        keys, names = buckets.setdefault(compact[0], ([], []))
        keys.append(compact)
        names.append(name)
    return buckets


_BUCKETS = _fuzzy_buckets()


def _allowed_distance(length: int) -> int:
    return 1 if length < 10 else 2


def _fuzzy(key: str) -> CarrierMention | None:
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(r"[a-z0-9']+", key)]
    best: tuple[int, int, CarrierMention] | None = None
    for i in range(len(words)):
        if words[i][0] in _FUNCTION_WORDS:
            continue
        for n in range(1, _MAX_NGRAM + 1):
            gram = words[i : i + n]
            if len(gram) < n or gram[-1][0] in _FUNCTION_WORDS:
                continue
            tokens = [w for w, _, _ in gram]
            if all(t in _GENERIC_WORDS or t in _FUNCTION_WORDS for t in tokens):
                continue
            if n == 1 and tokens[0] in _COMMON_WORDS:
                continue
            compact = "".join(tokens)
            bucket = _BUCKETS.get(compact[0])
            if bucket is None or len(compact) < _MIN_FUZZY_LEN:
                continue
            limit = _allowed_distance(len(compact))
            hit = process.extractOne(
                compact, bucket[0], scorer=Levenshtein.distance, score_cutoff=limit
            )
            if hit is None:
                continue
            _, distance, index = hit
            mention = CarrierMention(bucket[1][index], gram[0][1], gram[-1][2])
            # Prefer the closest match, then the one covering more of the utterance.
            rank = (int(distance), -len(compact))
            if best is None or rank < best[:2]:
                best = (rank[0], rank[1], mention)
    return best[2] if best else None


def find_carriers(text: str, *, context: bool) -> list[CarrierMention]:
    """Every carrier named in `text`, in order, with negated mentions left out.

    Args:
        text: The caller's utterance.
        context: Whether the utterance is known to be about insurance (the question asked it);
            when False, talk of insurance in `text` itself supplies the context.

    Returns:
        Mentions in the order heard; offsets refer to `carrier_key(text)`.
    """
    key = carrier_key(text)
    if not key:
        return []
    context = context or CONTEXT.search(key) is not None
    found = [CarrierMention(_PLAIN[m.group()], m.start(), m.end()) for m in _PLAIN_RE.finditer(key)]
    if context:
        taken = [(f.start, f.end) for f in found]
        for m in _AMBIGUOUS_RE.finditer(key):
            if not any(s <= m.start() < e for s, e in taken):
                found.append(CarrierMention(_AMBIGUOUS[m.group()], m.start(), m.end()))
        found.sort(key=lambda f: f.start)
    if not found:
        fuzzy = _fuzzy(key)
        if fuzzy is not None:
            found = [fuzzy]
    return [f for f in found if not negated(key, f.start)]


# Public programs name how a plan is funded; the company that runs it is the carrier
# ("Humana through my Medicare Advantage plan" is Humana).
PROGRAMS = frozenset({"Medicare", "Medicare Advantage", "Medicaid", "CHIP"})


def best_carrier(mentions: list[CarrierMention]) -> str | None:
    """The carrier meant: the last company named (a correction wins), else the last program."""
    companies = [m for m in mentions if m.name not in PROGRAMS]
    chosen = (companies or mentions)[-1:]
    return chosen[0].name if chosen else None


def carrier(text: str) -> str | None:
    """The carrier a caller names, as the carriers table displays it.

    Args:
        text: The caller's utterance, e.g. "yeah I've got delta dentist through work".

    Returns:
        The canonical carrier name ("Delta Dental"), or None when no carrier is named.
    """
    return best_carrier(find_carriers(text, context=False))
