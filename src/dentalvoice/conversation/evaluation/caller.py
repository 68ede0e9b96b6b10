"""A simulated caller that hears only the agent's words and answers from a scenario's facts."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from dentalvoice.conversation.evaluation.scenario import CallerSpec, Topic

# The topic table. An agent question is matched against each row in order and takes the topic
# of the first row with a pattern found in it, so a row must come before any row whose words it
# shares:
# - callback before good_time: "when would be a better time to call you back?";
# - identity before good_time: "is this Maria?" against "is this still a good time?";
# - confirm early, since a read-back quotes other topics: "so Delta Dental, is that right?";
# - offer before availability: both speak of days and times, but an offer names a day and an
#   hour, says "either of those", or "I have an opening";
# - red flags before pain: "any swelling along with the pain?";
# - new patient before last visit: "have you been to us before?".
# Patterns cover the phrasing in scripts/default.yaml and the paraphrases a language model is
# likely to use; tests/conversation/evaluation/test_caller.py holds the sentences they must sort.
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_HOUR = r"\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'?clock)?"
_TOPIC_PATTERNS: tuple[tuple[Topic, tuple[str, ...]], ...] = (
    (
        Topic.CALLBACK,
        (
            r"\bcall(?:ing)? you back\b",
            r"\bwhen (?:would|is|will) (?:be )?a better time\b",
            r"\b(?:better|good|best|convenient) time (?:to|for us to|for me to|that we could) "
            r"(?:call|reach|ring|try|talk|chat)\b",
            r"\b(?:when|what time) (?:should|can|could|shall|may) (?:we|i) (?:call|reach|try)\b",
            r"\bcall you (?:again|later|another time)\b",
        ),
    ),
    (
        Topic.IDENTITY,
        (
            r"\b(?:am i|are we|i'?m) (?:speaking|talking) (?:with|to)\b",
            r"\b(?:can|could|may) i (?:speak|talk) (?:with|to)\b",
            r"\bwho (?:am i|i'?m) (?:speaking|talking)\b",
            r"\bis (?:that|this) you\b",
            r"^(?:and |so |just to check, )?is this (?!(?:still|a|an|the|okay|ok|alright|right|"
            r"correct|good|about|for|something|going)\b)[a-z'-]+(?: [a-z'-]+)?\s*\?",
            r"^is [a-z'-]+ (?:available|there|home|around)\b",
            r"\b(?:right|correct) person\b",
            r"\bconfirm (?:your|who i'?m) (?:name|identity|speaking)\b",
        ),
    ),
    (
        Topic.GOOD_TIME,
        (
            r"\b(?:good|bad|convenient|ok|okay|fine) time\b",
            r"\b(?:a|one|two|2|few|couple(?: of)?) (?:quick )?minutes?\b",
            r"\bdo you have a (?:moment|sec|second|minute)\b",
            r"\b(?:free|able|okay|ok) to (?:talk|chat)\b",
            r"\bcan you (?:talk|chat)\b",
            r"\b(?:talk|chat) (?:right )?now\b",
            r"\bcaught you at\b",
        ),
    ),
    (
        Topic.CONFIRM,
        (
            r"\b(?:did|have) i (?:get|got) (?:that|this|it|everything|all)(?: of (?:that|it))? "
            r"(?:right|correct)\b",
            r"\bis (?:that|this|everything|all (?:of )?that) (?:right|correct|accurate)\b",
            r"\b(?:does|did) (?:that|this|everything|it)(?: all)? (?:sound|look) "
            r"(?:right|correct|good|accurate)\b",
            r"\bis (?:that|the|my) summary (?:right|correct|accurate)\b",
            r"\banything (?:i|that i) (?:missed|got wrong)\b",
            r"\b(?:am i|have i got (?:that|it)) right\b",
        ),
    ),
    (
        Topic.OFFER,
        (
            r"\beither (?:of )?(?:those|these|them|one|time|slot)\b",
            r"\b(?:one|any|which) of (?:those|these|them)\b",
            r"\b(?:which|what) (?:one|slot|time slot|option)\b.*\b(?:prefer|work|better|suit)",
            r"\b(?:shall|should|can|may|could) i (?:book|reserve|hold|grab|pencil|schedule) "
            r"(?:you|that|it|one|this)\b",
            r"\b(?:want|like) me to (?:book|reserve|hold|grab|schedule|pencil)\b",
            r"\b(?:does|would|will) (?:that|this) (?:time|slot|appointment) (?:work|suit)\b",
            rf"\b{_WEEKDAY}\b.*\b{_HOUR}.*\b(?:work|suit|good|okay|ok|prefer|do)\b",
            rf"\b(?:tomorrow|today)\b.*\bat {_HOUR}",
            rf"\b(?:how|what) about (?:{_WEEKDAY}|tomorrow|today)\b",
            r"\b(?:i|we) have (?:an? )?(?:opening|slot|spot|appointment)s?\b",
            rf"\b(?:i|we) (?:have|can do|could do|can offer) (?:you )?"
            rf"(?:{_WEEKDAY}|tomorrow|today)\b",
        ),
    ),
    (
        Topic.RED_FLAGS,
        (
            r"\bswell(?:ing|ed|en)?\b",
            r"\bfever\b",
            r"\bbleed(?:ing)?\b",
            r"\b(?:breath(?:e|ing)?|swallow(?:ing)?)\b",
            r"\binjur(?:y|ies|ed)\b",
            r"\b(?:trauma|accident|knocked)\b",
            r"\ballergic\b",
            r"\b(?:red flags?|warning signs?)\b",
            r"\b(?:other|any) symptoms?\b",
        ),
    ),
    (
        Topic.PAIN,
        (
            r"\bpain(?:ful)?\b",
            r"\bhurt(?:s|ing)?\b",
            r"\bach(?:e|es|ing|y)\b",
            r"\bsore\b",
            r"\bdiscomfort\b",
            r"\bscale\b",
            r"\b(?:zero|0|one|1) (?:to|and|through) (?:ten|10)\b",
            r"\bout of (?:ten|10)\b",
            r"\bhow bad\b",
            r"\bwhat number would you\b",
            r"\brate (?:it|that|the)\b",
        ),
    ),
    (
        Topic.NEW_PATIENT,
        (
            r"\bnew patient\b",
            r"\b(?:existing|current|returning) patient\b",
            r"\b(?:been|come) (?:to|in to|into) (?:see )?(?:us|our (?:office|clinic|practice))\b",
            r"\bbeen (?:to|with) (?!(?:a|the|your) dentist)[\w' ]+ before\b",
            r"\b(?:visited|seen) us\b",
            r"\bpatient (?:with|of|at) (?:us|our)\b",
            r"\bfirst (?:time|visit) (?:with|at) (?:us|our)\b",
        ),
    ),
    (
        Topic.LAST_VISIT,
        (
            r"\blast (?:saw|see|seen|visit(?:ed)?|went|checkup|check-up|cleaning|appointment|"
            r"exam|dental|time you)\b",
            r"\bsince (?:your|you) last\b",
            r"\bhow long (?:has it been|since|ago)\b",
            r"\bwhen (?:was|did) (?:the|your) last\b",
            r"\b(?:seen|been to|visited|gone to) (?:a|the|your) dentist\b",
        ),
    ),
    (
        Topic.INSURANCE,
        (
            r"\binsur(?:ance|ed|er)\b",
            r"\bcoverage\b",
            r"\bcovered\b",
            r"\bdental (?:plan|benefits)\b",
            r"\b(?:which|what) (?:company|carrier|provider|plan|insurer)\b",
            r"\bself[- ]pay\b",
            r"\bpay(?:ing)? (?:out of pocket|yourself|cash)\b",
        ),
    ),
    (
        Topic.AVAILABILITY,
        (
            r"\b(?:what|which) (?:days?|times?)\b",
            r"\b(?:days?|times?) (?:and|or) (?:times?|days?)\b",
            r"\bmornings? or (?:afternoons?|evenings?)\b",
            r"\b(?:afternoons?|evenings?) or mornings?\b",
            r"\bweekdays? or weekends?\b",
            r"\b(?:mornings|afternoons|evenings|weekdays|weekends)\b",
            r"\bwhen (?:works|is|would be) (?:best|good|better|convenient)\b",
            r"\b(?:work|works|suit|suits) (?:you )?best\b",
            r"\bavailab(?:le|ility)\b",
            r"\byour schedule\b",
            r"\b(?:when|what time|which day)\b.*\bcome in\b",
            r"\bcome in (?:on|at|during)\b",
            r"\bbest (?:days?|times?) (?:for you )?to come\b",
            r"\bwhen (?:are|would) you (?:be )?(?:free|available|able)\b",
        ),
    ),
    (
        Topic.REASON,
        (
            r"\b(?:what|how) can (?:we|i) help\b",
            r"\bwhat (?:made|prompted|led) you\b",
            r"\breach(?:ed)? out\b",
            r"\bwhat brings you\b",
            r"\breason (?:for|you|why)\b",
            r"\bwhat(?:'s| is) (?:going on|bothering you|the (?:problem|issue|concern))\b",
            r"\bwhat (?:are|were) you (?:looking|hoping|interested|wanting)\b",
            r"\bwhat (?:kind|type|sort) of (?:treatment|care|dental|work|help|service|"
            r"appointment|visit)\b",
            r"\bis it (?:about|for) (?:a|an|some)\b",
            r"\b(?:what|which) (?:treatment|service|procedure)\b",
            r"\binterested in\b",
            r"\bwhat (?:did|do) you (?:need|want)\b",
            r"\b(?:come in|be seen|see us|see the dentist) for\b",
        ),
    ),
    (
        Topic.ANYTHING_ELSE,
        (
            r"\banything else\b",
            r"\b(?:anything|something) (?:more|further)\b",
            r"\bany (?:other )?questions\b",
            r"\b(?:else|other) (?:you'?d like|you want) (?:the team|us|me) to know\b",
        ),
    ),
)

TOPIC_RULES: tuple[tuple[Topic, tuple[re.Pattern[str], ...]], ...] = tuple(
    (topic, tuple(re.compile(p, re.IGNORECASE) for p in patterns))
    for topic, patterns in _TOPIC_PATTERNS
)
"""(topic, patterns) in priority order; see the comment above `_TOPIC_PATTERNS`."""

# Words that end a call. Only consulted for turns without a question: a goodbye or a hand-over
# gets no reply, because a person would hang up or wait for the transfer.
_ENDING = re.compile(
    r"\bgood-?\s?bye\b|\bbye(?: now)?\b|\btake care\b|\bstay on the line\b"
    r"|\bhave a (?:good|great|nice|wonderful|lovely) (?:day|one|evening|night|afternoon|weekend)\b"
    r"|\btalk to you (?:then|soon|later)\b|\bwon'?t (?:call|contact) (?:you )?again\b"
    r"|\b(?:connect|connecting|transfer|transferring|put) you (?:through|with|to|now)\b"
    r"|\bcall 911\b|\bemergency room\b|\bwill be in touch\b",
    re.IGNORECASE,
)
# A statement that asks for an answer all the same.
_REQUEST = re.compile(
    r"^(?:\w+,\s*)?(?:please |so |now |and |just )?(?:tell|let me know|say|describe|give|share)\b",
    re.IGNORECASE,
)
# Sentence ends: ". ", "? " or "! " before a capital, digit or quote, except after a title.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])")
_TITLE = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|St|Prof)\.$")


def split_sentences(text: str) -> list[str]:
    """Split agent text into sentences, keeping "2 p.m. or" and "Dr. Lee" whole."""
    pieces: list[str] = []
    for piece in _BOUNDARY.split(text.strip()):
        if pieces and _TITLE.search(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        elif piece:
            pieces.append(piece)
    return pieces


def classify(sentence: str) -> Topic | None:
    """The topic an agent sentence asks about, by the first matching row of `TOPIC_RULES`."""
    for topic, patterns in TOPIC_RULES:
        if any(p.search(sentence) for p in patterns):
            return topic
    return None


def focus_sentence(sentences: Sequence[str]) -> tuple[str | None, bool]:
    """The sentence a caller answers: the last question, else the last sentence.

    Returns:
        (sentence or None for an empty turn, whether it is a question).
    """
    split = [s for text in sentences for s in split_sentences(text)]
    for sentence in reversed(split):
        if sentence.rstrip("\"') ").endswith("?"):
            return sentence, True
    return (split[-1] if split else None), False


def classify_turn(sentences: Sequence[str]) -> Topic | None:
    """The topic an agent turn asks about, or None when the caller should not answer a fact.

    The focus sentence (see `focus_sentence`) decides. A question that names no topic of its
    own ("Would either of those work?") takes the topic of the turn's earlier sentences, latest
    first, since they carry its context. A turn without a question is answered from the facts
    only when it ends in a request ("Tell me which insurance you have."); a plain statement
    ("Pricing depends on your insurance.") asks nothing.
    """
    focus, is_question = focus_sentence(sentences)
    if focus is None:
        return None
    if not is_question:
        return classify(focus) if _REQUEST.search(focus) else None
    topic = classify(focus)
    if topic is not None:
        return topic
    split = [s for text in sentences for s in split_sentences(text)]
    index = len(split) - 1 - split[::-1].index(focus)
    for sentence in reversed(split[:index]):
        topic = classify(sentence)
        if topic is not None:
            return topic
    return None


def is_goodbye(sentences: Sequence[str]) -> bool:
    """Whether a turn reads as the end of the call: no question, and closing words."""
    focus, is_question = focus_sentence(sentences)
    return focus is not None and not is_question and _ENDING.search(" ".join(sentences)) is not None


@dataclass(frozen=True, slots=True)
class CallerReply:
    """What the caller does after an agent turn."""

    utterance: str | None  # None: silence until the turn times out
    topic: Topic | None = None  # what the caller took the agent to be asking
    hang_up: bool = False  # the agent said goodbye or handed over: nothing more is said


class SimulatedCaller:
    """Answers each agent turn from a `CallerSpec`, seeing only what the agent said."""

    def __init__(self, spec: CallerSpec) -> None:
        self.spec = spec
        self._script: deque[str | None] = deque(spec.script)
        self._replies = 0

    def reply(self, sentences: Sequence[str]) -> CallerReply:
        """The caller's answer to one agent turn (the opening included).

        Args:
            sentences: What the agent said this turn, in order.

        Returns:
            The utterance (None for silence), the topic heard, or a hang-up after a goodbye.
        """
        if is_goodbye(sentences):
            return CallerReply(None, hang_up=True)
        topic = classify_turn(sentences)
        first = self._replies == 0
        self._replies += 1
        if first and self.spec.opening is not None:
            return CallerReply(self.spec.opening, topic)
        if self._script:
            return CallerReply(self._script.popleft(), topic)
        if topic is not None and topic in self.spec.facts:
            # The same fact again on a re-ask: the agent, not the caller, must cope.
            return CallerReply(self.spec.facts[topic], topic)
        return CallerReply(self.spec.default, topic)
