"""Opt-outs: "stop calling me" in any wording, told apart from look-alikes."""

from __future__ import annotations

import re

from dentalvoice.conversation.guards._text import MAX_CHARS, PUNCT_TO_SPACE, rx

_STOP_PREFIX = (
    r"(?:please|pls|ok|okay|just|oh|um|uh|hey|yeah|yes|yep|so|alright|all\s+right|i\s+said"
    r"|no|nope|sir|ma'?am|thanks|thank\s+you|god|man|seriously|look|listen|hello|hi|dude"
    r"|lady|well|and|now|can\s+you|could\s+you|would\s+you|will\s+you|you\s+can|you\s+need\s+to"
    r"|you\s+have\s+to|you\s+gotta|you\s+should|i\s+want\s+you\s+to|i\s+need\s+you\s+to"
    r"|i'?d\s+like\s+you\s+to|i\s+would\s+like\s+you\s+to|come\s+on|enough|for\s+god'?s\s+sake)"
)
_STOP_SUFFIX = (
    r"(?:stop|please|pls|it|that|now|already|right\s+now|calling|thanks|thank\s+you|ok|okay"
    r"|man|sir|ma'?am|seriously|immediately|for\s+real|enough)"
)
# The whole utterance is "stop", maybe repeated or softened: "ok stop", "stop, stop please".
_BARE_STOP = re.compile(rf"^(?:{_STOP_PREFIX}\s+)*stop(?:\s+{_STOP_SUFFIX})*$")
# Words after "stop calling me" that make it a when/where restriction, not an opt-out.
_WHEN_WHERE = (
    r"before|after|until|till|til|between|around|during|earlier|so\s+early|so\s+late"
    r"|this\s+early|this\s+late|too\s+early|too\s+late|early|late|in\s+the\s+(?:morning"
    r"|afternoon|evening)|at\s+(?:work|night|\d|noon|dinner|lunch|this\s+time|the\s+office)"
    r"|on\s+(?:weekends?|weekdays?|(?:mon|tues|wednes|thurs|fri|satur|sun)days?"
    r"|my\s+(?:work|office|lunch))|while\s+i'?m|when\s+i'?m"
)
_STOP_RESTRICTION = re.compile(rf"\s*(?:{_WHEN_WHERE})\b")
# "Don't call me now / today / later" asks for another time, where "stop calling me now" does
# not.
_DONT_RESTRICTION = re.compile(
    rf"\s*(?:{_WHEN_WHERE}|later|right\s+now|now|today|tonight|tomorrow"
    r"|this\s+(?:week|morning|afternoon|evening)|while|when)\b"
)
_CALL_OBJECT = (
    r"(?:me|us|this\s+number|here|this\s+phone|this\s+line|my\s+(?:phone|number|cell|house))"
)
_ALWAYS = re.compile(r"\s*(?:ever\s+)?(?:again|anymore|any\s+more|ever|at\s+all|no\s+more)\b")
_DONT_CALL = re.compile(
    r"\b(?:please\s+)?(?:don'?t|do\s+not|dont|never)\s+(?:ever\s+|even\s+|you\s+)?"
    r"(?:call|calling|contact|contacting|ring|phone|text|dial|bother)"
    rf"(?:\s+(?:back|{_CALL_OBJECT}(?:\s+back)?)|(?=\s*$)|(?=\s+(?:again|anymore|any\s+more)\b))"
)
_STOP_CALLING = re.compile(
    r"\b(?:stop|quit|cease|end)\s+(?:\w+\s+)?(?:calling|contacting|ringing|phoning|dialing"
    r"|bugging|bothering|harassing|texting|messaging|spamming|pestering|hounding|robocalling)\b"
    rf"(?:\s+{_CALL_OBJECT})?"
)
_OPT_OUT = rx(
    r"(?:stop|quit|end)\s+(?:it\s+with\s+)?(?:the|these|those|your|all\s+(?:the|these|of\s+these"
    r"|of\s+the|your|this)|with\s+the|this)\s+(?:\w+\s+)?(?:calls|phone\s+calls|robocalls|texts"
    r"|messages|calling)\b",
    r"(?:remove|take|delete|erase|scratch|cross|strike|drop|get|pull)\s+(?:me|my\s+(?:number"
    r"|name|info|information|phone|phone\s+number|details|contact)|us|this\s+number)\s+"
    r"(?:\w+\s+)?(?:off|from|out\s+of)\s+(?:\w+\s+){0,3}?(?:list|lists|database|system"
    r"|records?|contacts|call\s+sheet|file|dialer|rotation)\b",
    r"(?:be|get|been|being)\s+(?:removed|taken|deleted|dropped|scratched)\s+(?:off|from"
    r"|out\s+of)\s+(?:\w+\s+){0,3}?(?:list|lists|database|system|records?|contacts)\b",
    r"remove\s+me\b|(?:remove|delete|erase)\s+(?:my|this)\s+(?:number|name|info|information"
    r"|contact|details|phone\s+number)\b",
    r"get\s+(?:me\s+)?off\s+(?:of\s+)?(?:your|the|this)\s+(?:\w+\s+){0,2}?list\b",
    r"do\s*not\s*call\s+list|don'?t\s+call\s+list|no\s+call\s+list|dnc\b",
    r"unsubscribe|opt(?:ing|ed)?\s*out\b|opt\s+(?:me|us)\s+out\b",
    r"leave\s+(?:me|us)\s+(?:alone|be)\b",
    r"(?:lose|forget|delete|trash|burn|toss)\s+(?:my|this)\s+(?:phone\s+)?number\b",
    r"no\s+more\s+(?:calls|phone\s+calls|calling)\b",
    r"(?:don'?t|do\s+not)\s+want\s+(?:any\s+)?(?:more\s+)?(?:calls|phone\s+calls"
    r"|to\s+be\s+called|to\s+be\s+contacted|to\s+get\s+(?:any\s+)?(?:more\s+)?calls"
    r"|to\s+hear\s+from\s+you)",
    r"(?:don'?t|do\s+not)\s+want\s+(?:you|y'all|anyone|anybody|people|your\s+office"
    r"|you\s+guys)\s+(?:to\s+)?(?:call|calling|contact|contacting|ringing)\b",
)
# A request denied: "I'm not saying stop calling", "I don't want to be removed", "the pain
# won't leave me alone". Only words that carry the negation through may stand between.
_OPT_DENIAL = re.compile(
    r"\b(?P<neg>not|never|didn'?t|did\s+not|don'?t|do\s+not|doesn'?t|wasn'?t|isn'?t|won'?t"
    r"|wont|will\s+not|no\s+need\s+to)"
    r"(?:\s+(?:saying|said|say|asking|asked|ask|telling|told|tell|want|wanting|wanted|trying"
    r"|going|gonna|mean|meant|need|needed|have|has|to|be|you|i|me|it|that|like|really|just"
    r"|even|gotta))*\s*$"
)
# "If you don't stop calling..." and "why don't you stop calling" still ask for it; so does
# "you won't stop calling me".
_RHETORICAL_BEFORE = re.compile(r"(?:\bif\s+(?:you|u|y'all|ya)|\bwhy)\s*$")
_COMPLAINT_BEFORE = re.compile(r"\b(?:you|u|y'all|ya|guys|they|people)\s*$")
_RHETORICAL_AFTER = re.compile(r"\s+(?:you|u|ya)\b")
OPT_OUT_WINDOW_WORDS = 6


def _opt_out_denied(plain: str, start: int) -> bool:
    window = " ".join(plain[:start].split()[-OPT_OUT_WINDOW_WORDS:])
    m = _OPT_DENIAL.search(window)
    if m is None:
        return False
    head = window[: m.start()]
    if _RHETORICAL_BEFORE.search(head) or _RHETORICAL_AFTER.match(window, m.end("neg")):
        return False
    return not (m.group("neg").startswith(("won", "will")) and _COMPLAINT_BEFORE.search(head))


def wants_opt_out(text: str) -> bool:
    """Whether the caller is asking not to be called again.

    Args:
        text: What the caller said, as transcribed.

    Returns:
        True for "stop calling me", "take me off your list", a bare "stop" and the like; False
        for other uses of "stop", callback requests and time restrictions ("don't call me
        before 5").
    """
    plain = text[:MAX_CHARS].lower().translate(PUNCT_TO_SPACE)
    if _BARE_STOP.match(" ".join(plain.split())):
        return True
    for m in _OPT_OUT.finditer(plain):
        if not _opt_out_denied(plain, m.start()):
            return True
    for pattern, restriction in (
        (_STOP_CALLING, _STOP_RESTRICTION),
        (_DONT_CALL, _DONT_RESTRICTION),
    ):
        for m in pattern.finditer(plain):
            if _opt_out_denied(plain, m.start()):
                continue
            if _ALWAYS.match(plain, m.end()) or not restriction.match(plain, m.end()):
                return True
    return False
