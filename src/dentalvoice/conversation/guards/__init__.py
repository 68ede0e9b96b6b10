"""Safety guards on every turn: red flags and opt-outs heard, clinical advice never spoken.

Transcripts arrive lowercase or not, with or without punctuation, with fillers and the odd
speech-to-text slip, so every pattern runs on a normalised copy whose offsets match the
original. Each mention is checked for negation on its own ("no swelling but a fever"), and a
negated list carries its negation along ("no swelling, fever or bleeding"). Everything here is
compiled once at import; a call only scans.
"""

from __future__ import annotations

from dataclasses import dataclass

from dentalvoice.conversation.guards.advice import SAFE_REPLACEMENT, clinical_advice
from dentalvoice.conversation.guards.opt_out import wants_opt_out
from dentalvoice.conversation.guards.red_flags import red_flags
from dentalvoice.conversation.qualification import RedFlag

__all__ = [
    "SAFE_REPLACEMENT",
    "GuardVerdict",
    "check_utterance",
    "clinical_advice",
    "red_flags",
    "wants_opt_out",
]


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    """What the guards make of one caller utterance."""

    red_flags: list[RedFlag]
    opt_out: bool


def check_utterance(text: str, *, pain: int | None, threshold: int = 8) -> GuardVerdict:
    """Run the red-flag and opt-out guards on one caller utterance.

    Args:
        text: What the caller said, as transcribed.
        pain: The pain level (0-10) the caller gave in this utterance or earlier, if known.
        threshold: The clinic's pain level from which pain alone is a red flag.

    Returns:
        The red flags found and whether the caller asked not to be called.
    """
    return GuardVerdict(
        red_flags=red_flags(text, pain=pain, threshold=threshold),
        opt_out=wants_opt_out(text),
    )
