"""Whether the caller has dental insurance, with which carrier, and how sure they are."""

from __future__ import annotations

import re

from dentalvoice.conversation.nlu._text import negated, normalize
from dentalvoice.conversation.nlu.carriers import best_carrier, find_carriers
from dentalvoice.conversation.nlu.yesno import yes_no
from dentalvoice.conversation.qualification import Insurance, InsuranceStatus

_RAW_LIMIT = 200
_TOPIC = re.compile(
    r"\b(?:insurance|insured|uninsured|insurer|coverage|covered|covers|dental plan"
    r"|insurance plan|ppo|hmo|benefits|policy|self[- ]?pay\w*|cash|out of pocket|pay(?:ing)?"
    r" (?:for it )?(?:myself|out of pocket|privately)|private pay|carrier)\b"
)
_HEDGE = re.compile(
    r"\b(?:not (?:really |totally |a hundred percent |100% )?sure|unsure|not certain"
    r"|(?:don'?t|do not|dont) (?:really )?know|no idea|dunno|i think|i believe|maybe|might"
    r"|probably|possibly|i guess|have to check|need to check|(?:let me|i'?ll|would have to) check"
    r"|can'?t remember|don'?t remember|not positive|i'?m not clear)\b"
)
# Doubt about which carrier, not about being insured: "I have insurance, not sure which one".
_WHICH = re.compile(
    r"\b(?:which|what) (?:one|company|carrier|insurance|insurer|plan|kind|type|provider)\b"
    r"|\bthe name\b"
)
# "I don't think I have insurance" is an answer, not doubt.
_HEDGE_THAT_IS_NO = re.compile(r"\b(?:i )?(?:don'?t|do not) think\b")
_NONE = re.compile(
    r"\b(?:uninsured|not insured|no (?:dental )?(?:insurance|coverage|plan|benefits)"
    r"|self[- ]?pay\w*|private pay|(?:pay|paying|pays) (?:in |with )?cash|cash pay\w*|cash"
    r"|out of pocket|pay(?:ing)? (?:for it )?(?:myself|privately)"
    r"|(?:lost|dropped|cancel+ed) (?:my |our |the )?(?:dental )?(?:insurance|coverage|plan)"
    r"|(?:insurance|coverage|plan) (?:ran out|expired|ended|lapsed)|used to have|not anymore"
    r"|no longer have|none)\b"
)
# Words whose negation means no insurance: "I don't have insurance", "not covered".
_HAS = re.compile(
    r"\b(?:insurance|insured|coverage|covered|dental plan|insurance plan|benefits|ppo|hmo"
    r"|through (?:my |our |the )?(?:work|job|employer|husband|wife|spouse|partner|union|school))\b"
)


# "Does my insurance cover implants?" asks; it does not say what the caller has.
_QUESTION = re.compile(r"^(?:so |and |but |um |uh )*(?:do|does|is|are|will|would|can|could)\b")


def _raw(text: str) -> str:
    return text.strip()[:_RAW_LIMIT]


def insurance(text: str, *, asked: bool) -> Insurance | None:
    """Read the caller's insurance situation from an utterance.

    Args:
        text: The caller's utterance.
        asked: Whether the agent has just asked about insurance, so that a bare "yes", "no" or
            carrier name is an answer.

    Returns:
        An `Insurance` with status, carrier and the raw utterance; None when the utterance says
        nothing about insurance.
    """
    norm = normalize(text)
    if not norm:
        return None
    on_topic = asked or _TOPIC.search(norm) is not None
    mentions = find_carriers(norm, context=asked)
    if not on_topic and not mentions:
        return None
    name = best_carrier(mentions)
    none_said = any(not negated(norm, m.start()) for m in _NONE.finditer(norm))
    has_said = False
    for m in _HAS.finditer(norm):
        if negated(norm, m.start()):
            none_said = True
        else:
            has_said = True
    if has_said and _QUESTION.search(norm):
        has_said = False
    hedged = _HEDGE.search(norm) is not None and not _HEDGE_THAT_IS_NO.search(norm)
    if hedged and not (has_said and not none_said and _WHICH.search(norm)):
        return Insurance(status=InsuranceStatus.UNSURE, carrier=name, raw=_raw(text))
    if name is not None and not none_said:
        return Insurance(status=InsuranceStatus.HAS, carrier=name, raw=_raw(text))
    if none_said:
        return Insurance(status=InsuranceStatus.NONE, carrier=None, raw=_raw(text))
    if name is not None or has_said:
        return Insurance(status=InsuranceStatus.HAS, carrier=name, raw=_raw(text))
    if asked:
        verdict = yes_no(norm)
        status = {
            "yes": InsuranceStatus.HAS,
            "no": InsuranceStatus.NONE,
            "unsure": InsuranceStatus.UNSURE,
        }.get(verdict or "")
        if status is not None:
            return Insurance(status=status, carrier=None, raw=_raw(text))
    return None
