"""What a caller's turn is doing besides answering: asking who we are, pushing back, and so on."""

from __future__ import annotations

import enum
import re

from dentalvoice.conversation.nlu._phrases import PhraseTable
from dentalvoice.conversation.nlu._text import mask_answer_particles, negated, normalize


class Intent(enum.StrEnum):
    """Conversational moves the script reacts to before reading answers."""

    WHO_IS_THIS = "who_is_this"
    IS_ROBOT = "is_robot"
    CALL_LATER = "call_later"
    WRONG_NUMBER = "wrong_number"
    NOT_INTERESTED = "not_interested"
    CLINICAL_QUESTION = "clinical_question"
    PRICE_QUESTION = "price_question"
    REPEAT = "repeat"
    HUMAN_REQUEST = "human_request"
    BUSY = "busy"


_DRUGS = (
    r"(?:ibuprofen|advil|motrin|tylenol|acetaminophen|paracetamol|aspirin|aleve|naproxen"
    r"|antibiotics?|amoxicillin|penicillin|painkillers?|pain killers?|pain meds|pain medication"
    r"|medicine|medication|meds|orajel|anbesol|clove oil|salt water|ice)"
)
_TREATMENTS = (
    r"(?:root canal|crown|filling|extraction|implant|bridge|denture|antibiotics?|surgery"
    r"|dentist|emergency room|er|hospital|tooth pulled|it pulled)"
)
_VOICE = r"(?:robot|bot|machine|computer|ai|a i|a\.i\.|artificial intelligence|recording|automated"
_VOICE += r"|real person|real human|human|person|a real person|a person|live person|recorded)"
_STAFF = (
    r"(?:a |an |the |some |your |a real |a live |an actual |real |live )?(?:person|human|someone"
    r"|somebody|receptionist|front desk|office|staff|manager|doctor|dentist|operator|agent"
    r"|representative|rep|people|being|assistant|hygienist|office manager|real person"
    r"|live person|actual person)"
)

_ASK_TO = (
    r"(?:(?:can|could|may|let) (?:i|me)(?: please| just)?|(?:want|need|like|have|wanna|prefer"
    r"|rather|able) to|i'?d (?:like|prefer|rather)(?: to)?|wanna|i want to|i need to)"
)

# Each intent: the phrases that signal it, and whether a negator in front cancels it
# ("I'm not busy"). Phrases are regular expressions on normalised text.
_PATTERNS: list[tuple[Intent, tuple[str, ...], bool]] = [
    (
        Intent.WHO_IS_THIS,
        (
            r"who(?: is|'?s| are) (?:this|calling|you|it|that|speaking|on the (?:line|phone))\b",
            r"who am i (?:talking|speaking) (?:to|with)",
            r"who are you(?: guys)?",
            r"what(?: is|'?s) this (?:about|regarding|for|call about|in regards to)",
            r"what(?: are| is|'?re) you calling (?:about|for)",
            r"why are you calling|why (?:did|do) you call",
            r"where are you calling from|what company|who do you (?:work|call) for",
            r"how did you get (?:my|this) number|who gave you (?:my|this) number",
            r"what(?: is|'?s) this\??$",
            r"(?:what|which) (?:office|clinic|practice) (?:is this|are you)",
        ),
        False,
    ),
    (
        Intent.IS_ROBOT,
        (
            r"(?:is (?:this|that|it)|are you|am i (?:talking|speaking) (?:to|with)|you'?re"
            rf"|you are|this is|is this just) (?:a |an |just a |an actual |some kind of |like a )?"
            rf"{_VOICE}\b",
            r"(?:sound|sounds) like a (?:robot|machine|computer|recording)",
            r"are you (?:real|alive)",
            r"is (?:this|it) (?:a )?(?:real|live) (?:person|call)",
        ),
        False,
    ),
    (
        Intent.HUMAN_REQUEST,
        (
            rf"{_ASK_TO} (?:talk|speak|chat) (?:to|with) {_STAFF}",
            rf"^(?:please )?(?:talk|speak) (?:to|with) {_STAFF}",
            r"transfer me|connect me (?:to|with)|put me (?:through|on with)",
            rf"get me {_STAFF}|can i get {_STAFF}",
            r"(?:real|live|actual) (?:person|human) please",
            r"^(?:a |the )?(?:representative|operator|receptionist|agent|human|person)"
            r"(?: please)?$",
            rf"is there {_STAFF} i can (?:talk|speak) to",
        ),
        True,
    ),
    (
        Intent.CALL_LATER,
        (
            r"call (?:me |us )?(?:back|later|another time|again|tomorrow|tonight|next|after"
            r"|around|some ?other time|in (?:a|an|the|\w+)|at \w+|on \w+|this \w+)",
            r"(?:not|isn'?t) (?:a |the )?(?:good|great|best|convenient) time|bad time",
            r"can'?t talk|cannot talk|can'?t (?:really )?(?:speak|chat)(?: right)? now",
            r"(?:do|try) this (?:later|another time)|try (?:me )?(?:again )?later",
            r"another time|some other time",
            r"later (?:today|tonight|this (?:week|afternoon|evening))",
            r"reach (?:me|out) later|give me a call (?:back|later)",
            r"now'?s not (?:good|great|a good time)",
        ),
        True,
    ),
    (
        Intent.BUSY,
        (
            r"(?:i'?m|i am|im) (?:a (?:little|bit) |kind of |really |so |pretty |very |super )?"
            r"(?:busy|driving|at work|working|in a meeting|in class|on the road|behind the wheel"
            r"|in the middle of (?:something|\w+)|on (?:the )?(?:other line|another call)"
            r"|at the (?:doctor|store)|with (?:a |my )?(?:patient|client|customer|kids|boss))",
            r"busy right now|driving right now|in a meeting|can'?t talk|cannot talk",
        ),
        True,
    ),
    (
        Intent.WRONG_NUMBER,
        (
            r"wrong (?:number|person|guy|lady|house)",
            r"(?:there'?s|there is|there are) no(?:body| one)? (?:\w+ )?(?:named|called"
            r"|by that name|here)",
            r"no (?:\w+ )?(?:here|lives here)|(?:doesn'?t|does not|don'?t) live here",
            r"you (?:have|got|'ve got|'ve) the wrong",
            r"no one by that name|nobody by that name",
            r"never heard of (?:her|him|them|that person|\w+)",
            r"(?:didn'?t|did not|never) (?:fill|filled) (?:out|in) (?:any|a|the|that)",
            r"(?:didn'?t|did not|never) (?:sign|signed) up|(?:didn'?t|did not|never) request",
            r"(?:this|that) (?:isn'?t|is not) (?:him|her|them|\w+'?s? (?:phone|number))",
            r"not (?:the )?(?:person|one) you(?:'re| are) looking for",
            r"who(?:'?s| is) (?!this|that|it|calling|speaking)\w+\?$",
        ),
        True,
    ),
    (
        Intent.NOT_INTERESTED,
        (
            r"not interested(?! in (?!(?:it|that|this|anything|any|your|you|dental"
            r"|the offer)\b))",
            r"no longer interested|(?:i'?m|i am) not (?:looking|in the market)",
            r"already (?:have|found|got|picked|chose|booked|see|go to|using|have got)"
            r" (?:a |my |an |another |with )?(?:new )?(?:dentist|dental office|clinic|office|one"
            r"|someone|somebody)",
            r"(?:i )?(?:have|got) (?:a|my (?:own )?) dentist",
            r"(?:don'?t|do not|dont) need (?:anything|it|that|your (?:services|help)|a dentist"
            r"|any (?:dental )?(?:work|help|services))",
            r"(?:don'?t|do not|dont) want (?:anything|it|that|to (?:book|schedule|come in))",
            r"changed my mind|i'?m all set|(?:i'?ll|i will) pass|not for me",
            r"(?:i'?m|i am) (?:good|fine),? thanks?(?: you)?|no thank you,? i'?m good",
        ),
        True,
    ),
    (
        Intent.CLINICAL_QUESTION,
        (
            r"(?:should|can|could|may|do) i (?:take|use|put|rinse|try|apply|keep taking"
            rf"|be taking)(?: (?:some|any|an?|more))? {_DRUGS}",
            r"what (?:should|can|could) i (?:do|take|use|try)",
            r"(?:is|could) (?:it|this|that) (?:be )?(?:infected|an infection|an abscess"
            r"|abscessed|serious|normal|bad|dangerous|broken|cracked|cavity|a cavity"
            r"|an emergency|life threatening)",
            rf"(?:do|will|would) i (?:need|have to (?:get|have)) (?:a |an )?{_TREATMENTS}",
            r"(?:is it|is that|would it be) (?:safe|okay|ok|alright) to",
            r"should i (?:be worried|worry|go to|see|get|call|wait|ice|avoid|eat|brush)",
            r"how long (?:will|does|should) (?:it|the pain|this|the swelling|recovery|healing)",
            r"will it (?:heal|go away|get better|get worse)",
            r"what (?:do you think|could) (?:it|this) (?:is|be)|what(?:'s| is) (?:causing|wrong)",
            r"(?:is|are) (?:antibiotics|ibuprofen|advil|tylenol) (?:okay|ok|safe|enough)",
            rf"how much {_DRUGS} (?:should|can)",
            r"(?:is|was) (?:it|this) (?:my )?wisdom tooth",
        ),
        False,
    ),
    (
        Intent.PRICE_QUESTION,
        (
            r"how much(?: (?:does|is|would|will|do|are|'?s|for|money|it|that|they|those))?",
            r"what(?:'s| is| are| does| would)? (?:the |your )?(?:price|prices|cost|costs|fee"
            r"|fees|rate|rates|charge)",
            r"(?:price|cost|pricing) (?:of|for|on)",
            r"do you (?:take|accept|have|offer|do) (?:payment plans?|financing|payments"
            r"|care ?credit|credit cards?|insurance|cash|my insurance|\w+ insurance"
            r"|installments|monthly payments|a payment plan|sherpa|affirm)",
            r"payment plans?|financing|afford|expensive|cheap|out of pocket cost",
            r"is it (?:covered|free)|(?:is|are) (?:the )?(?:consultation|consult|exam|x-?rays?)"
            r" free|free consult\w*",
            r"(?:does|will) (?:my )?insurance (?:cover|pay)",
        ),
        False,
    ),
    (
        Intent.REPEAT,
        (
            r"^(?:(?:sorry|pardon|excuse me|wait|what|huh|um|uh|hmm)[ ,?.!]*)+$",
            # "I'd say it's a six" is an answer, not a request to repeat.
            r"(?<!i'd )(?<!i would )(?:say|repeat) (?:that|it|this|the question|what you said)"
            r"(?!['’]s)(?: again)?",
            r"come again|say again|one more time|pardon me|repeat (?:yourself|please)",
            r"(?:didn'?t|did not|couldn'?t|could not|can'?t|cannot) (?:catch|hear|understand|get)"
            r" (?:that|you|what you said|it|the question)",
            r"what did you (?:just )?say|what was (?:that|the question)",
            r"you'?re breaking up|can you repeat|could you repeat",
        ),
        True,
    ),
]
_TABLE: PhraseTable[Intent] = PhraseTable(
    [(phrase, intent) for intent, phrases, _ in _PATTERNS for phrase in phrases],
    head=r"(?:\b|^)",
    tail=r"(?:\b|$|(?<=\W))",
)
_CANCELABLE = frozenset(intent for intent, _, cancelable in _PATTERNS if cancelable)
# "it's not the wrong number": the negation belongs to the phrase, so the intent is off.
_NEGATED_PHRASE = re.compile(r"\b(?:not|isn'?t|ain'?t|never|no)\s+(?:the |a |an )?$")


def intents(text: str) -> set[Intent]:
    """Every conversational move in the caller's turn.

    Args:
        text: The caller's utterance.

    Returns:
        The intents heard (possibly several: "I'm driving, call me later" is BUSY and
        CALL_LATER); empty when there are none. Opt-out and red flags are not read here.
    """
    norm = normalize(text).strip(" .!")
    if not norm:
        return set()
    found: set[Intent] = set()
    masked = mask_answer_particles(norm)
    for intent, start, _ in _TABLE.find(norm, overlapping=True):
        if intent in found:
            continue
        if intent in _CANCELABLE and (
            negated(norm, start, answer=True) or _NEGATED_PHRASE.search(masked, 0, start)
        ):
            continue
        found.add(intent)
    if Intent.BUSY in found:
        found.add(Intent.CALL_LATER)
    return found
