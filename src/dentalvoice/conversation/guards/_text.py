"""Text handling shared by the guards: one normalised copy with offsets that match the original."""

from __future__ import annotations

import re

# Long monologues are rare on a phone line; capping keeps the worst case bounded.
MAX_CHARS = 2000

# One character in, one character out, so offsets found on the normalised text are valid on
# the original and negation sees the same positions.
_TRANSLATE = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "-": " ",
        "\u2013": " ",
        "\u2014": " ",
        "\n": " ",
        "\t": " ",
    }
)
# For opt-out phrases punctuation only separates words ("stop. stop!").
PUNCT_TO_SPACE = str.maketrans(
    {c: " " for c in '\u2013\u2014-.,;:!?"()[]{}/\\*&_~\u201c\u201d'}
    | {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"}
)


def normalise(text: str) -> str:
    return text[:MAX_CHARS].lower().translate(_TRANSLATE)


def gap(n: int, banned: str = "") -> str:
    """Up to `n` words between two phrases; `banned` words may not be among them."""
    word = rf"(?!(?:{banned})\b)[\w']+" if banned else r"[\w']+"
    return rf"(?:[\s,]+{word}){{0,{n}}}?[\s,]+"


def rx(*alternatives: str) -> re.Pattern[str]:
    # A lookbehind is cheaper than a leading \b for `re`; every alternative starts a word.
    return re.compile(r"(?<![\w'])(?:" + "|".join(alternatives) + r")")
