"""Spoken and written numbers as transcripts carry them: "seven", "twenty-five", "7", "3rd"."""

from __future__ import annotations

import re

from dentalvoice.conversation.nlu._text import words

_UNITS = words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70}
_TENS.update({"eighty": 80, "ninety": 90})
_ORDINAL_UNITS = words(
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
)
_ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}


def _build_cardinals() -> dict[str, int]:
    values = {word: value for value, word in enumerate(_UNITS)}
    for tens, base in _TENS.items():
        values[tens] = base
        for unit in range(1, 10):
            for joiner in (" ", "-", ""):
                values[f"{tens}{joiner}{_UNITS[unit]}"] = base + unit
    return values


def _build_ordinals() -> dict[str, int]:
    values = {word: value for value, word in enumerate(_ORDINAL_UNITS) if value}
    values.update(_ORDINAL_TENS)
    for tens, base in (("twenty", 20), ("thirty", 30)):
        for unit in range(1, 10):
            for joiner in (" ", "-"):
                values[f"{tens}{joiner}{_ORDINAL_UNITS[unit]}"] = base + unit
    return values


WORD_VALUES: dict[str, int] = _build_cardinals()
ORDINAL_VALUES: dict[str, int] = _build_ordinals()


def _alternation(options: list[str]) -> str:
    # Longest first so "seventeen" is tried before "seven" and "twenty five" before "twenty".
    ordered = sorted(options, key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", " ") for w in ordered)


WORD_NUMBER = rf"(?:{_alternation(list(WORD_VALUES))})"
"""Regex source for a spelled-out cardinal from zero to ninety-nine."""

NUMBER = rf"(?:[0-9]{{1,3}}(?![0-9])|{WORD_NUMBER}\b)"
"""Regex source for a cardinal in digits (up to three) or words."""

ORDINAL = rf"(?:[0-9]{{1,2}}(?:st|nd|rd|th)\b|(?:{_alternation(list(ORDINAL_VALUES))})\b)"
"""Regex source for a day-of-month ordinal: "3rd", "twenty-first"."""

_ORDINAL_SUFFIX = re.compile(r"^([0-9]{1,2})(?:st|nd|rd|th)$")


def to_int(token: str) -> int | None:
    """The value of a cardinal written in digits or words.

    Args:
        token: "7", "seven", "twenty five" or "twenty-five" (lowercase).

    Returns:
        The integer, or None when `token` is not a number this module knows.
    """
    token = token.strip()
    if token.isascii() and token.isdigit():
        return int(token)
    return WORD_VALUES.get(token)


def ordinal_to_int(token: str) -> int | None:
    """The value of an ordinal such as "3rd" or "twenty-first".

    Args:
        token: The ordinal, lowercase.

    Returns:
        The integer, or None when `token` is not an ordinal.
    """
    token = token.strip()
    found = _ORDINAL_SUFFIX.match(token)
    if found is not None:
        return int(found.group(1))
    return ORDINAL_VALUES.get(token)
