"""Prior express written consent: does a lead's stored evidence satisfy the clinic's setting?"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dentalvoice.compliance.facts import ConsentFacts

# Values a consent checkbox or yes/no field takes when the lead did NOT agree.
_REFUSALS = frozenset({"", "no", "n", "false", "0", "off", "unchecked", "none", "declined"})


def _affirmative(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, list | tuple):
        return any(_affirmative(v) for v in value)
    return str(value).strip().lower() not in _REFUSALS


def consent_facts(
    *, evidence: Mapping[str, Any] | None, required: Iterable[str], revoked: bool
) -> ConsentFacts:
    """Every `required` key must be present in the evidence with an affirmative value.

    Keys are the folded names intake stores (`consent`, `consent_text`, `consent_at`…); a
    checkbox answered "No" counts as missing evidence, not as consent.
    """
    evidence = evidence or {}
    missing = tuple(key for key in required if not _affirmative(evidence.get(key, "")))
    return ConsentFacts(has_evidence=not missing, revoked=revoked, missing=missing)
