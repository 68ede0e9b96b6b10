"""Text helpers shared by the NLU modules: normalisation and answer-aware negation."""

from __future__ import annotations

import re
from functools import lru_cache

from dentalvoice.conversation.negation import is_negated

# Transcripts are short; capping their length bounds every regex scan, whatever arrives.
MAX_CHARS = 1000

_TRANSLATE = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u201c": '"',
        "\u201d": '"',
    }
)
_SPACES = re.compile(r"\s+")
# A bare "no"/"nope" that opens an answer is not negating what follows: "no, wrong number".
_ANSWER_PARTICLES = re.compile(r"^(?:(?:no|nope|nah|oh|well|um+|uh+|hmm+)\b[\s,.!]*)+")


@lru_cache(maxsize=1024)
def normalize(text: str) -> str:
    """Lowercase `text`, unify quotes and dashes, and collapse whitespace.

    Args:
        text: A raw transcript.

    Returns:
        The normalised text; every module matches on this form so offsets agree.
    """
    lowered = text[:MAX_CHARS].translate(_TRANSLATE).lower()
    return _SPACES.sub(" ", lowered).strip()


@lru_cache(maxsize=1024)
def mask_answer_particles(norm: str) -> str:
    """Blank out a leading "no", "nope", "well"... that opens an answer.

    Args:
        norm: Text from `normalize`.

    Returns:
        The same text with those particles replaced by spaces, so offsets stay valid.
    """
    found = _ANSWER_PARTICLES.match(norm)
    if found is None:
        return norm
    return " " * found.end() + norm[found.end() :]


def negated(norm: str, start: int, *, answer: bool = False) -> bool:
    """Whether the phrase at `start` of normalised text is negated.

    Args:
        norm: Text from `normalize`.
        start: Offset of the phrase.
        answer: Read an opening "no" as an answer, not a determiner: "no, wrong number" is a
            wrong number, while "no swelling" denies the swelling.

    Returns:
        True when a negator governs the phrase.
    """
    return is_negated(mask_answer_particles(norm) if answer else norm, start)


def clip(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, at a word boundary when there is one.

    Args:
        text: The text to shorten.
        limit: The maximum length.

    Returns:
        `text` itself when short enough, else its longest word-aligned prefix.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0]
    if not cut or len(cut) > limit:
        cut = text[:limit]
    return cut.rstrip(" ,;:-")


def words(text: str) -> tuple[str, ...]:
    """Split a space-separated word list written as one string.

    Args:
        text: Words separated by whitespace.

    Returns:
        The words, in order.
    """
    return tuple(text.split())
