"""Safety guards on every turn: red flags and opt-outs heard, clinical advice never spoken.

Transcripts arrive lowercase or not, with or without punctuation, with fillers and the odd
speech-to-text slip, so every pattern runs on a normalised copy whose offsets match the
original. Each mention is checked for negation on its own ("no swelling but a fever"), and a
negated list carries its negation along ("no swelling, fever or bleeding"). Everything here is
compiled once at import; a call only scans.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from dentalvoice.conversation.negation import is_negated
from dentalvoice.conversation.qualification import RedFlag

__all__ = [
    "SAFE_REPLACEMENT",
    "GuardVerdict",
    "check_utterance",
    "clinical_advice",
    "red_flags",
    "wants_opt_out",
]

SAFE_REPLACEMENT = (
    "I'm not able to give medical advice, but the dentist and our team will go over that with you."
)

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
_PUNCT_TO_SPACE = str.maketrans(
    {c: " " for c in '\u2013\u2014-.,;:!?"()[]{}/\\*&_~\u201c\u201d'}
    | {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"}
)


def _normalise(text: str) -> str:
    return text[:MAX_CHARS].lower().translate(_TRANSLATE)


def _gap(n: int, banned: str = "") -> str:
    """Up to `n` words between two phrases; `banned` words may not be among them."""
    word = rf"(?!(?:{banned})\b)[\w']+" if banned else r"[\w']+"
    return rf"(?:[\s,]+{word}){{0,{n}}}?[\s,]+"


def _rx(*alternatives: str) -> re.Pattern[str]:
    # A lookbehind is cheaper than a leading \b for `re`; every alternative starts a word.
    return re.compile(r"(?<![\w'])(?:" + "|".join(alternatives) + r")")


# --------------------------------------------------------------------------------------------
# Red flags
# --------------------------------------------------------------------------------------------


class _Kind(enum.Enum):
    """What one mention in an utterance is evidence of."""

    SWELL = enum.auto()
    FEVER = enum.auto()
    SPREAD = enum.auto()
    SPREAD_IT = enum.auto()  # "it's spreading": spreading swelling when a swelling was named
    TONGUE = enum.auto()  # spreading swelling, unless it is an allergic reaction
    BLEED = enum.auto()
    BLEED_SOFT = enum.auto()  # volume or duration words that gum talk also uses
    TRAUMA = enum.auto()
    SPORT = enum.auto()
    DAMAGE = enum.auto()
    BREATH = enum.auto()
    ALLERGY = enum.auto()
    ALLERGY_SIGN = enum.auto()
    MED_CAUSE = enum.auto()


_Detector = tuple[_Kind, frozenset[str], re.Pattern[str]]
HEAD = 4
# The first letters of every word: which detectors can possibly match is read from these.
_WORD_HEADS = re.compile(rf"\b[a-z']{{1,{HEAD}}}")


def _heads(keys: tuple[str, ...]) -> frozenset[str]:
    # A short key ("hit") must match the start of longer words too ("hitting"), so heads
    # are kept at both lengths; see `_word_heads`.
    return frozenset(k[:HEAD] for k in keys)


def _word_heads(norm: str) -> set[str]:
    found = set(_WORD_HEADS.findall(norm))
    return found | {h[: HEAD - 1] for h in found if len(h) == HEAD}


def _one(kind: _Kind, keys: tuple[str, ...], *alternatives: str) -> tuple[_Detector]:
    """A detector whose pattern only runs when a word starts like one of `keys`.

    Every match of the pattern must contain a word beginning with one of `keys` (keys of
    three letters or more). Python's `re` tries every alternative at every position; looking
    at word beginnings first skips almost all of that on the typical utterance, which names
    no symptom at all.
    """
    return ((kind, _heads(keys), _rx(*alternatives)),)


def _each(kind: _Kind, keys: tuple[str, ...], *alternatives: str) -> tuple[_Detector, ...]:
    """One detector per alternative, for alternatives that each name a `tail` group."""
    heads = _heads(keys)
    return tuple((kind, heads, _rx(a)) for a in alternatives)


# Kinds that are symptoms a caller lists; only these share a list's negation.
_LISTED = frozenset(
    {
        _Kind.SWELL,
        _Kind.FEVER,
        _Kind.SPREAD,
        _Kind.SPREAD_IT,
        _Kind.TONGUE,
        _Kind.BLEED,
        _Kind.BLEED_SOFT,
        _Kind.TRAUMA,
        _Kind.BREATH,
        _Kind.ALLERGY,
        _Kind.ALLERGY_SIGN,
    }
)
# Kinds a later "but it went down" / "it stopped" takes back. Breathing, trauma and allergy
# stay flagged even when the caller says they eased: a human should still hear about them.
_RESOLVABLE = frozenset({_Kind.SWELL, _Kind.FEVER, _Kind.BLEED_SOFT})

_SWELL_CORE = (
    r"(?:swell[\w']*|swollen|swolen|swallen|puff(?:y|ed up|iness|ing up)|lumps?\b(?!\s+sum)"
    r"|abscess\w*)"
)
# Words that, between a swelling and a "getting worse", mean the worse thing is something else.
_OTHER_TOPIC = (
    r"pain|ache|aches|aching|hurts?|hurting|tooth|teeth|toothache|throb\w*|sensitiv\w*|but"
    r"|though|although|except"
)
_LOCATION = (
    r"(?:eyes?(?!\s+(?:tooth|teeth))|eyelids?|neck|throat|ears?|temple|jawline|jaw line"
    r"|under\s+(?:my|the|his|her)\s+(?:jaw|chin|tongue)|below\s+(?:my|the)\s+jaw"
    r"|floor\s+of\s+(?:my|the)\s+mouth"
    r"|(?:whole|entire)\s+(?:face|jaw|cheek|side\s+of\s+(?:my|the|his|her)\s+face))"
)
_SPREAD_VERB = (
    r"(?:spread\w*|growing|grown|grew|expanding|bigger|larger|getting\s+(?:bigger|larger|worse)"
    r"|gotten\s+(?:bigger|larger|worse)|got\s+(?:bigger|larger|worse)"
    r"|(?:going|gone|moving|went|moved|travell?ing|creeping|coming|spreading)\s+"
    r"(?:up|down|into|to|toward|towards)\s+(?:my|the|his|her|to|into)\b)"
)
_MED = (
    r"(?:antibiotics?|amoxicillin|amox|penicillin|clindamycin|azithromycin|augmentin|cephalexin"
    r"|keflex|metronidazole|medications?|medicines?|meds|pills?|tablets?|drugs?|prescriptions?"
    r"|ibuprofen|advil|motrin|aspirin|tylenol|acetaminophen|paracetamol|naproxen|aleve"
    r"|codeine|hydrocodone|vicodin|percocet|oxycodone|tramadol|novocaine|lidocaine"
    r"|anesthetic|anaesthetic|anesthesia|numbing(?:\s+(?:shot|gel|stuff|medicine))?|shot"
    r"|injection|latex|mouthwash|orajel|benzocaine)"
)
_BODY = r"(?:face|mouth|jaw|teeth|tooth|chin|lips?|nose|head|cheek|gums?)"
# Substrings of which every match of the patterns above contains at least one.
_SWELL_KEYS = ("swel", "swol", "swal", "puff", "lump", "absces")
_MED_KEYS = (
    ("antibiotic", "amox", "penicillin", "clindamycin", "azithromycin", "augmentin", "cephalexin")
    + ("keflex", "metronidazole", "medic", "meds", "pill", "tablet", "drug", "prescription")
    + ("ibuprofen", "advil", "motrin", "aspirin", "tylenol", "acetaminophen", "paracetamol")
    + ("naproxen", "aleve", "codeine", "hydrocodone", "vicodin", "percocet", "oxycodone")
    + ("tramadol", "novocaine", "lidocaine", "anesthe", "anaesthe", "numbing", "shot")
    + ("injection", "latex", "mouthwash", "orajel", "benzocaine")
)

_DETECTORS: tuple[_Detector, ...] = (
    *_one(
        _Kind.SWELL,
        (*_SWELL_KEYS, "blown", "balloon", "blew", "big", "huge", "fat", "enormous"),
        _SWELL_CORE,
        r"blown\s+up|ballooned",
        r"(?:face|cheek|jaw|lips?|gums?)\s+(?:\w+\s+)?(?:blew|puffed|swelled)\s+up",
        r"(?:face|jaw|cheek|chin|gums?|lips?|neck)\s+(?:is|are|'s|looks|got|getting|gotten"
        r"|has\s+gotten|is\s+getting|feels|keeps\s+getting)\s+(?:\w+\s+)?"
        r"(?:big|bigger|huge|fat|enormous|puffed)\b",
    ),
    *_one(
        _Kind.FEVER,
        ("fever", "febrile", "chill", "sweats", "burning", "hot", "temp"),
        r"fevers?\b(?!\s+blisters?)",
        r"feverish|febrile|chills|night\s+sweats|burning\s+up|hot\s+to\s+the\s+touch",
        r"(?<!to )(?<!room )(?<!cold )(?<!hot )(?<!water )"
        r"(?:temperature|temp)\b(?!\s+(?:changes?|sensitiv\w*))",
    ),
    *_each(
        _Kind.SPREAD,
        _SWELL_KEYS,
        rf"{_SWELL_CORE}{_gap(6, _OTHER_TOPIC)}(?P<tail>{_SPREAD_VERB}|{_LOCATION})",
    ),
    *_each(
        _Kind.SPREAD,
        (*_SWELL_KEYS, "blown"),
        rf"(?:{_LOCATION}|half\s+(?:of\s+)?my\s+face|face\s+is\s+all)"
        rf"{_gap(3, _OTHER_TOPIC)}(?P<tail>{_SWELL_CORE}|blown\s+up|puffed)",
    ),
    *_each(
        _Kind.SPREAD,
        ("bigger", "larger", "worse"),
        r"(?:face|cheek|jaw|neck|lump|bump|swelling)\s+(?:\w+\s+){0,2}?(?:keeps|is|has\s+been"
        r"|was|started|starting)\s+(?P<tail>(?:getting|growing)\s+(?:bigger|larger|worse))",
    ),
    *_one(
        _Kind.SPREAD,
        ("open", "shut"),
        r"(?:can'?t|cannot|can\s+not|barely|hardly)\s+(?:\w+\s+)?open\s+(?:my|his|her)\s+eyes?",
        r"eyes?\s+(?:is\s+|are\s+)?(?:swollen|swelling|puffed)\s+shut",
    ),
    *_each(
        _Kind.SPREAD,
        ("infection",),
        r"infection\s+(?:\w+\s+){0,2}?(?P<tail>spread\w*|(?:going|moving|gone)\s+(?:up|down|into"
        r"|to)\s+(?:my|the)\b)",
    ),
    *_each(
        _Kind.SPREAD_IT,
        ("spread", "grow", "bigger", "larger"),
        r"(?:it|it's|its|it\s+is|it\s+has|it\s+keeps|and)\s+(?:\w+\s+){0,3}?"
        r"(?P<tail>spreading|spread|growing|getting\s+(?:bigger|larger))\b",
    ),
    *_each(
        _Kind.TONGUE,
        ("tongue",),
        rf"tongue{_gap(3, _OTHER_TOPIC)}(?P<tail>{_SWELL_CORE})",
        r"(?:swollen|swelling\s+(?:of|in|under)\s+(?:my|the))\s+tongue",
    ),
    *_one(
        _Kind.BLEED,
        ("blee", "bled", "blood", "hemorrhag", "haemorrhag", "gauze", "soaked"),
        rf"(?:bleed\w*|bled|blood){_gap(6, _OTHER_TOPIC)}"
        r"(?:won'?t|will\s+not|wont|doesn'?t|does\s+not|isn'?t|is\s+not|hasn'?t|has\s+not"
        r"|haven'?t|didn'?t|did\s+not|can'?t|cannot|never|not)\s+(?:\w+\s+)?"
        r"(?:stop\w*|quit|let\s+up|slow\w*(?:\s+down)?|clot\w*)\b",
        r"(?:can'?t|cannot|can\s+not|couldn'?t|could\s+not|unable\s+to|won'?t|will\s+not|wont"
        r"|doesn'?t|does\s+not|hasn'?t|has\s+not|isn'?t|is\s+not|never)\s+(?:\w+\s+){0,3}?"
        r"(?:stop\w*|quit)\s+(?:the\s+|it\s+|from\s+|my\s+\w+\s+from\s+)?(?:bleed\w*|blood)",
        r"hemorrhag\w*|haemorrhag\w*",
        r"(?:gone|went|going|been\s+going)\s+through\s+(?:\w+\s+){0,4}?gauze",
        r"blood\s+(?:keeps|kept|is\s+still|still)\s+(?:coming|pouring|filling|running"
        r"|dripping|oozing|gushing)",
        r"(?:keeps|kept|keep)\s+filling\s+(?:up\s+)?with\s+blood",
        r"blood\s+(?:\w+\s+)?(?:everywhere|all\s+over|pouring|gushing|spurting|pooling)",
        r"(?:pouring|gushing|spurting|squirting)\s+(?:out\s+)?blood",
        r"(?:soak\w*|filled|filling)\s+(?:through\s+)?(?:\w+\s+){0,2}?(?:gauze|pillow|towels?"
        r"|shirt|napkins?)\s+(?:with\s+|in\s+)?blood",
        r"(?:gauze|pillow|towels?|shirt|napkins?)\s+(?:is|are|keeps?|was|were|got|gets)\s+"
        r"(?:\w+\s+)?(?:soaked|full\s+of\s+blood|bloody)",
    ),
    *_one(
        _Kind.BLEED_SOFT,
        ("blee", "bled", "blood"),
        r"(?:keeps?|kept|keeping|still|continues|continued|constantly|nonstop|non\s+stop)\s+"
        r"(?:on\s+)?(?:bleed\w*)",
        r"(?:bleed\w*|bled)\s+(?:\w+\s+){0,2}?(?:for|since|all)\s+(?:(?:over|about|like"
        r"|almost|nearly|more\s+than|the|last|a|an|past|few|couple|of|\d+|two|three|four"
        r"|five|six|several|many|whole|entire)\s+)*(?:hours?|hrs?|days?|night|yesterday"
        r"|last\s+night|this\s+morning|the\s+surgery|the\s+extraction|it\s+was\s+pulled)\b",
        r"(?:a\s+lot\s+of|lots\s+of|so\s+much|too\s+much|tons\s+of|a\s+ton\s+of"
        r"|a\s+bunch\s+of|a\s+whole\s+lot\s+of|really\s+heavy|heavy|heavily|a\s+pool\s+of"
        r"|mouthful\s+of|mouth\s+full\s+of|full\s+of|covered\s+in|pints?\s+of|cups?\s+of)\s+"
        r"(?:\w+\s+)?(?:blood|bleeding)\b",
        r"(?:bleed\w*|bled)\s+(?:\w+\s+)?(?:a\s+lot|heavily|badly|really\s+bad|so\s+bad"
        r"|so\s+much|like\s+crazy|like\s+a\s+faucet|everywhere|profusely|nonstop|non\s+stop"
        r"|constantly|uncontrollably|excessively|too\s+much|a\s+ton|really\s+heavy)\b",
    ),
    *_one(
        _Kind.TRAUMA,
        ("knock", "push", "shove", "jam", "driven", "avuls"),
        r"knock(?:ed|s|ing)?(?:\s+[\w']+){0,3}?\s+(?:out|loose)\b",
        r"knock(?:ed|s|ing)?\s+(?:\w+\s+){0,2}?(?:tooth|teeth|jaw|mouth|lips?)\b",
        r"(?:tooth|teeth)\s+(?:\w+\s+)?(?:got|was|were|been|is|are)\s+(?:\w+\s+)?"
        r"(?:knocked|pushed|shoved|jammed|driven)\b",
        r"pushed\s+(?:my\s+)?(?:tooth|teeth)\s+(?:back|in|up)\b",
        r"avuls\w+",
    ),
    *_one(
        _Kind.TRAUMA,
        ("hit", "punch", "elbow", "kick", "knee", "head", "smack", "slap", "whack", "struck")
        + ("assault", "jump", "mugg", "beat", "attack", "clock", "deck", "sock", "tackl"),
        r"(?:got|get|was|been|getting)\s+(?:\w+\s+)?(?:hit|punched|elbowed|kicked|kneed"
        r"|head\s*butted|smacked|slapped|whacked|struck|assaulted|jumped|mugged|beat\s+up"
        r"|beaten\s+up|attacked|clocked|decked|socked|tackled)\b(?!\s+or\s+miss)"
        r"(?!\s+(?:with|by)\s+(?:a|an|the|this|that)\s+(?:\w+\s+)?(?:bill|fee|charge|cold|flu"
        r"|virus|bug|covid|fine|ticket|invoice|traffic))",
    ),
    *_one(
        _Kind.TRAUMA,
        ("hit", "smack", "smash", "bang", "bump", "slam", "whack", "bash", "bust", "split", "cut")
        + ("ball", "baseball", "softball", "puck", "bat", "stick", "racket", "elbow", "fist")
        + ("helmet", "club")
        + ("door", "swing", "bottle", "rock", "knee", "frisbee", "dog", "punch", "kick", "head")
        + ("blow",),
        rf"hit\s+(?:me\s+|him\s+|her\s+|them\s+|us\s+)?(?:[\w']+\s+){{0,2}}?(?:in|on|to"
        rf"|across)\s+(?:the|my|his|her|their)\s+(?:\w+\s+)?{_BODY}\b",
        rf"(?:hit|smacked|smashed|banged|bumped|slammed|whacked|bashed)\s+(?:my|his|her"
        rf"|their)\s+(?:\w+\s+)?{_BODY}\b",
        r"(?:busted|split|cut)\s+(?:my|his|her)\s+(?:lip|lips|chin|head|nose)\b",
        r"(?:ball|baseball|softball|puck|bat|stick|racket|racquet|elbow|fist|helmet|club"
        r"|door|swing|bottle|rock|knee|frisbee|dog)\s+(?:\w+\s+){0,2}?(?:hit|smacked|struck"
        r"|slammed|caught|smashed|bashed|whacked|got)\s+(?:me|him|her|my|his)\b",
        rf"(?:elbow|fist|punch|kick|knee|headbutt|head\s+butt|ball|puck|bat|hit|blow)\s+"
        rf"(?:to|in|into)\s+(?:the|my|his|her)\s+(?:\w+\s+)?{_BODY}\b",
        r"punched\b(?!\s+(?:in|out)\s+(?:at|for|early|late))",
        r"hit\s+the\s+(?:ground|floor|pavement|concrete|sidewalk|dashboard|steering\s+wheel"
        r"|windshield|deck|ice|curb)\b",
    ),
    *_one(
        _Kind.TRAUMA,
        ("fight", "fist", "assault", "beat"),
        r"fist\s*fight|bar\s+fight|assault\w*|beat\s+up|beaten\b",
        r"(?:got|get|was|been|getting)\s+(?:in|into)\s+a\s+(?:\w+\s+)?fight",
    ),
    *_one(
        _Kind.TRAUMA,
        ("accident", "crash", "wreck", "collision", "injur"),
        r"(?:car|auto|bike|bicycle|motorcycle|motorbike|dirt\s+bike|skateboard\w*|scooter"
        r"|ski|skiing|snowboard\w*|sports?|sporting|work|workplace|atv|boating|cycling|biking"
        r"|trampoline|playground|hockey|football|soccer|baseball|basketball|softball|lacrosse"
        r"|rugby)\s+(?:accident|crash|wreck|collision|injur(?:y|ies))\b",
        r"(?:in|had|have|got\s+into|been\s+in|was\s+in)\s+(?:a|an)\s+(?:\w+\s+){0,2}?"
        r"(?:accident|crash|wreck|collision)\b",
        r"crashed\s+(?:my|his|her|into|on)\b",
    ),
    *_one(
        _Kind.TRAUMA,
        ("handlebar", "plant", "first", "whiplash"),
        r"went\s+(?:over|off)\s+(?:the|my|his|her)\s+handlebars|face\s+plant\w*|face\s+first"
        r"|whiplash",
    ),
    *_one(
        _Kind.TRAUMA,
        ("faceplant",),
        r"faceplant\w*",
    ),
    *_one(
        _Kind.TRAUMA,
        ("jaw", "close"),
        r"jaw\s+(?:[\w']+\s+){0,3}?(?:broken|broke|fractured|dislocated|out\s+of\s+place"
        r"|popped\s+out|locked\s+open|out\s+of\s+(?:its\s+)?socket)\b",
        r"(?:broke|broken|fractured|fracture|dislocated|dislocation|busted)\s+(?:of\s+)?"
        r"(?:my\s+|his\s+|her\s+|the\s+|a\s+)?jaw\b",
        r"(?:can'?t|cannot|can\s+not)\s+close\s+my\s+(?:mouth|jaw)\b",
    ),
    *_one(
        _Kind.TRAUMA,
        ("injur", "trauma"),
        r"(?:facial|face|mouth|dental|tooth|teeth|jaw|head|lip|oral)\s+(?:injur(?:y|ies)"
        r"|trauma)\b",
        rf"injur(?:y|ies|ed)\s+(?:[\w']+\s+){{0,2}}?(?:to\s+)?(?:my|the|his|her|our)\s+"
        rf"(?:\w+\s+)?{_BODY}\b",
        r"trauma\s+to\b",
    ),
    # A fall, then what it did within a few words; negated at the fall ("I didn't fall").
    *_each(
        _Kind.TRAUMA,
        ("fell", "fall", "trip", "slip", "wiped", "tumble", "spill", "header"),
        r"(?:i|he|she|they|we|son|daughter|kid|child|boy|girl|baby|toddler)\s+(?:\w+\s+)?"
        r"(?P<tail>fell|fall|falls|tripped|slipped|wiped\s+out|took\s+a\s+(?:fall|tumble|spill"
        r"|header)|had\s+a\s+(?:\w+\s+)?fall)\b(?!\s+(?:asleep|behind|apart|in\s+love"
        r"|out\s+of|through|for|short|ill|sick))(?:[\s,]+[\w']+){0,8}?[\s,]+(?:broke|broken"
        r"|cracked|chipped|knocked|hit|smashed|busted|split|loose|bleeding|bled|face|mouth"
        r"|teeth|tooth|jaw|chin|lips?|nose|head)\b",
    ),
    *_one(
        _Kind.SPORT,
        ("basketball", "football", "soccer", "hockey", "baseball", "softball", "lacrosse")
        + ("rugby", "boxing", "mma", "wrestling", "volleyball", "martial", "karate", "jitsu")
        + ("jujitsu", "kickboxing", "sparring", "practice", "tackle"),
        r"(?:playing|during|at|in|from|while)\s+(?:a\s+|my\s+|the\s+|his\s+|her\s+)?"
        r"(?:basketball|football|soccer|hockey|baseball|softball|lacrosse|rugby|boxing|mma"
        r"|wrestling|volleyball|martial\s+arts|karate|jiu\s+jitsu|jujitsu|kickboxing"
        r"|sparring|practice|tackle)\b",
        r"sparring\b",
    ),
    *_one(
        _Kind.DAMAGE,
        ("broke", "cracked", "chipped", "knocked", "smashed", "busted", "loose", "bleeding")
        + ("bled", "split", "elbow", "fat"),
        r"(?:broke|broken|cracked|chipped|knocked|smashed|busted|loose|bleeding|bled|split"
        r"|elbow\w*|fat\s+lip)\b",
    ),
    *_one(
        _Kind.BREATH,
        ("breath", "swallow", "air", "throat", "chok", "wheez", "gasping", "suffocat"),
        r"(?:trouble|difficulty|difficult|difficulties|hard|harder|hard\s+time|tough\s+time"
        r"|struggl\w*|problems?|issues?|pain|painful|hurts?|hurting|labou?red)"
        r"(?:\s+(?:to|with|when|while|i|for|me|it|its|it's|my|really|a|bit|little|lot|of"
        r"|some|any|um|uh|like|even|getting|just|the|in|time|being|able|kind|sort|starting"
        r"|started|having)){0,5}?\s+(?:breath(?:e|es|ing)|(?<=to )breath\b|swallow\w*"
        r"|catch(?:ing)?\s+my\s+breath|get(?:ting)?\s+(?:enough\s+)?air)\b",
        r"(?:can'?t|cannot|can\s+not|couldn'?t|could\s+not|unable\s+to|not\s+able\s+to"
        r"|can\s+barely|can\s+hardly|could\s+barely|could\s+hardly|barely|hardly"
        r"|struggling\s+to|struggle\s+to|haven'?t\s+been\s+able\s+to)\s+(?:\w+\s+){0,2}?"
        r"(?:breath(?:e|es|ing)?|swallow\w*"
        r"|catch\s+my\s+breath|get\s+(?:enough\s+)?air)\b",
        r"throat\s+(?:[\w']+\s+){0,3}?(?:closing|closed|tight\w*|swell\w*|swollen"
        r"|constrict\w*)\b",
        r"(?:closing|swelling|swollen|tight)\s+(?:of\s+)?(?:up\s+)?(?:my\s+|the\s+)?throat\b",
        r"chok(?:e|ed|es|ing)\b(?!\s+up)",
        r"short(?:ness)?\s+of\s+breath|wheez\w*|gasping|suffocat\w*",
        r"breathing\s+(?:is|has\s+been|got|gets|feels|was|seems)\s+(?:\w+\s+)?(?:hard"
        r"|difficult|labou?red|shallow|weird|funny|tight|wheezy|noisy|raspy|bad|off)\b",
    ),
    *_one(
        _Kind.ALLERGY,
        ("allergic", "anaphyla", "epi", "hives", "welts", "react"),
        r"allergic\s+reactions?",
        r"anaphyla\w*|epi\s*pens?|hives|welts",
        r"(?:having|had|have|got|getting|it's|is|a|an|bad|severe|some)\s+(?:an?\s+)?(?:\w+\s+)?"
        r"reaction\b",
        rf"react\w*\s+to\s+(?:the\s+|my\s+|that\s+|this\s+|an?\s+|some\s+|what\s+)?"
        rf"(?:\w+\s+)?(?:{_MED}|something|stuff|food|it|they|he|she)\b",
        rf"allergic\s+to\s+(?:the|this|that|these|those|my\s+new|what|whatever)\s+"
        rf"(?:\w+\s+){{0,2}}?(?:{_MED}|stuff|they|he|she|you|the\s+dentist)\b",
    ),
    *_one(
        _Kind.ALLERGY_SIGN,
        ("rash", "itch", "break", "broke", "lip", "tongue", "throat", "mouth", "eye", "swel")
        + ("swol", "puff"),
        r"rash\w*|itch\w*|break(?:ing)?\s+out|broke\s+out",
        r"(?:lips?|tongue|throat|mouth|eyes?)\s+(?:\w+\s+){0,2}?(?:swell\w*|swollen|puff\w*"
        r"|itch\w*|tight\w*|clos\w*)",
        r"(?:swell\w*|swollen|puffy)\s+(?:\w+\s+)?(?:lips?|tongue|throat)\b",
    ),
    *_one(
        _Kind.MED_CAUSE,
        _MED_KEYS,
        rf"(?:after|since|from|because\s+of)\s+(?:[\w']+\s+){{0,4}}?{_MED}\b",
        rf"(?:took|taking|started|take|taken|got|had|gave\s+me|given)\s+(?:[\w']+\s+){{0,3}}?"
        rf"{_MED}\b(?:\s+[\w']+){{0,3}}?\s+(?:and|then|now)\b",
    ),
)

# Context kinds matter only beside these (and their detectors come after them above).
_ONLY_WITH = {
    _Kind.DAMAGE: frozenset({_Kind.SPORT}),
    _Kind.MED_CAUSE: frozenset({_Kind.ALLERGY_SIGN, _Kind.BREATH}),
}

# Separators that keep a list together, so one negator covers every item in it.
_LIST_GLUE = re.compile(
    r"[\s,]*(?:(?:or|nor|and|any|no|even|like|um|uh|a|an|some|other|also|really|nothing|none"
    r"|and/or)[\s,]+)*"
)
# What ends a clause for the history and resolution checks.
_CLAUSE_END = re.compile(r"[.;!?]|\b(?:but|now|today|this\s+time|right\s+now)\b")
_HISTORY = re.compile(
    r"\b(?:years?\s+ago|(?:as|when\s+i\s+was)\s+an?\s+(?:kid|child|teen|teenager|baby|boy|girl)"
    r"|when\s+i\s+was\s+(?:young|younger|little|small)|in\s+the\s+past|long\s+time\s+ago"
    r"|last\s+year|in\s+(?:high\s+school|college)|childhood|history\s+of|previously"
    r"|(?:once\s+)?before(?=\s*(?:[.;!?]|$)))"
)
_RESOLVED = re.compile(
    r"\b(?:(?:went|gone|going|come|coming|came)\s+(?:away|down)(?!\s+(?:my|to|into|the"
    r"|towards?|under|in)\b)|(?:is|are|'s|has|have)\s+(?:\w+\s+)?(?:gone|better|resolved"
    r"|stopped)|(?:it|that|which|they|bleeding|blood)\s+(?:\w+\s+)?stopped|cleared(?:\s+up)?"
    r"|broke\b(?!\s+(?:my|a|his|her|the|off|out|it))"
    r"|subsided|settled(?:\s+down)?|not\s+(?:anymore|any\s+more|really)|no\s+longer)"
)
# Any word `is_negated` may treat as a negator (a superset is fine: it only gates the check).
_NEGATOR_HINT = re.compile(
    r"\b(?:no|not|never|none|nobody|nothing|without|nor|neither|cannot|zero)\b|n'?t\b"
)
_RETURNED = re.compile(r"\b(?:back|again|returned)\b")
# "Still bleeding a little" after an extraction is expected, not uncontrolled.
_MINOR_AFTER = re.compile(
    r"[\s,]+(?:just\s+|only\s+)?(?:a\s+(?:little|bit|tiny\s+bit)|slightly|barely|lightly"
    r"|some|a\s+touch)\b"
)
# Unsure is not a denial: "I'm not sure if it's an allergic reaction".
_UNSURE_BEFORE = re.compile(
    r"(?:\bnot|n't|\bno)\s+(?:really\s+|totally\s+|quite\s+|even\s+)?(?:sure|certain|know"
    r"|positive|idea)\s+(?:if|whether|what|whether\s+or\s+not)\s+(?:[\w']+\s+){0,4}$"
)
UNSURE_REACH = 80
_SENTENCE_END = re.compile(r"[.;!?]")
RESOLUTION_REACH = 60  # characters after a mention in which "it went down" still refers to it
# Gum talk: "my gums bleed a lot when I brush" is not a haemorrhage.
_GUM_ROUTINE = re.compile(
    r"\b(?:when|while|if|after|whenever|every\s+time|each\s+time)\s+(?:i\s+|i'm\s+)?"
    r"(?:brush|floss|eat|bite|chew|clean)\w*"
)
_GUM_SUBJECT = re.compile(r"\bgums?\b")
_AFTER_PROCEDURE = re.compile(
    r"\b(?:extract\w*|pulled|surgery|removed|implant|socket|procedure|oral\s+surgeon)\b"
)


@dataclass(frozen=True, slots=True)
class _Hit:
    kind: _Kind
    start: int
    end: int
    tail: int  # a second place the mention can be negated at ("swelling is not spreading")


def _hits(norm: str, *, gated: bool = True) -> list[_Hit]:
    found: list[_Hit] = []
    kinds: set[_Kind] = set()
    heads = _word_heads(norm)
    for kind, keys, pattern in _DETECTORS:
        if (gated and keys.isdisjoint(heads)) or (
            kind in _ONLY_WITH and kinds.isdisjoint(_ONLY_WITH[kind])
        ):
            continue
        for m in pattern.finditer(norm):
            tail = m.start("tail") if "tail" in pattern.groupindex else -1
            found.append(_Hit(kind, m.start(), m.end(), tail))
            kinds.add(kind)
    found.sort(key=lambda h: (h.start, h.end))
    return found


def _clause(norm: str, start: int, end: int) -> tuple[int, int]:
    lo = 0
    for m in _CLAUSE_END.finditer(norm, 0, start):
        lo = m.end()
    nxt = _CLAUSE_END.search(norm, end)
    return lo, (nxt.start() if nxt else len(norm))


def _resolved(norm: str, hit: _Hit) -> bool:
    stop = _SENTENCE_END.search(norm, hit.end)
    limit = min(hit.end + RESOLUTION_REACH, stop.start() if stop else len(norm))
    for m in _RESOLVED.finditer(norm, hit.end, limit):
        if not is_negated(norm, m.start()) and not _RETURNED.search(norm, m.end(), limit):
            return True
    return False


def _routine_gum_bleeding(norm: str, hit: _Hit) -> bool:
    lo, hi = _clause(norm, hit.start, hit.end)
    sentence = norm[lo:hi]
    if _AFTER_PROCEDURE.search(sentence):
        return False
    return bool(_GUM_ROUTINE.search(sentence) or _GUM_SUBJECT.search(sentence))


def _live_kinds(norm: str) -> tuple[set[_Kind], set[_Kind]]:
    """The kinds of mention asserted now, and those merely named without negation.

    "It's spreading" needs a swelling to refer to, even one said to have gone down before
    it came back, hence the second set.
    """
    live: set[_Kind] = set()
    named: set[_Kind] = set()
    hits = _hits(norm)
    if not hits:
        return live, named
    # Most utterances lack any negator, history or resolution word; skip those checks then.
    may_negate = _NEGATOR_HINT.search(norm) is not None
    may_be_history = _HISTORY.search(norm) is not None
    may_resolve = _RESOLVED.search(norm) is not None
    negated_at: dict[int, bool] = {}

    def negated(pos: int) -> bool:
        # Several mentions often start at one word ("swelling" and "swelling spreading").
        if pos not in negated_at:
            negated_at[pos] = is_negated(norm, pos) and not _UNSURE_BEFORE.search(
                norm, max(0, pos - UNSURE_REACH), pos
            )
        return negated_at[pos]

    group_end = -1
    group_negated = False
    for hit in hits:
        own = may_negate and (negated(hit.start) or (hit.tail >= 0 and negated(hit.tail)))
        by_list = False
        if hit.kind in _LISTED:
            if hit.start < group_end:
                # Overlapping mentions ("swelling spreading to my neck") are one list item.
                by_list = group_negated
            else:
                by_list = group_negated and bool(_LIST_GLUE.fullmatch(norm, group_end, hit.start))
                group_negated = own or by_list
            group_end = max(group_end, hit.end)
        if own or by_list:
            continue
        named.add(hit.kind)
        if may_be_history and _HISTORY.search(norm, *_clause(norm, hit.start, hit.end)):
            continue
        if may_resolve and hit.kind in _RESOLVABLE and _resolved(norm, hit):
            continue
        if hit.kind is _Kind.BLEED_SOFT and (
            _routine_gum_bleeding(norm, hit) or _MINOR_AFTER.match(norm, hit.end)
        ):
            continue
        live.add(hit.kind)
    return live, named


def red_flags(text: str, *, pain: int | None, threshold: int = 8) -> list[RedFlag]:
    """The red flags present in one caller utterance.

    Args:
        text: What the caller said, as transcribed.
        pain: The pain level (0-10) the caller gave in this utterance or earlier, if known.
        threshold: The clinic's pain level from which pain alone is a red flag.

    Returns:
        The flags found, each once, in the order `RedFlag` declares them.
    """
    found: set[RedFlag] = set()
    if pain is not None and pain >= threshold:
        found.add(RedFlag.SEVERE_PAIN)
    live, named = _live_kinds(_normalise(text))
    if live:
        allergic = _Kind.ALLERGY in live or (
            _Kind.MED_CAUSE in live and bool(live & {_Kind.ALLERGY_SIGN, _Kind.BREATH})
        )
        if _Kind.SWELL in live and _Kind.FEVER in live:
            found.add(RedFlag.SWELLING_WITH_FEVER)
        if (
            _Kind.SPREAD in live
            or (_Kind.SPREAD_IT in live and _Kind.SWELL in named)
            or (_Kind.TONGUE in live and not allergic)
        ):
            found.add(RedFlag.SPREADING_SWELLING)
        if live & {_Kind.BLEED, _Kind.BLEED_SOFT}:
            found.add(RedFlag.UNCONTROLLED_BLEEDING)
        if _Kind.TRAUMA in live or {_Kind.SPORT, _Kind.DAMAGE} <= live:
            found.add(RedFlag.TRAUMA)
        if _Kind.BREATH in live:
            found.add(RedFlag.BREATHING_OR_SWALLOWING)
        if allergic:
            found.add(RedFlag.ALLERGIC_REACTION)
    return [flag for flag in RedFlag if flag in found]


# --------------------------------------------------------------------------------------------
# Opt-out
# --------------------------------------------------------------------------------------------

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
_OPT_OUT = _rx(
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
    plain = text[:MAX_CHARS].lower().translate(_PUNCT_TO_SPACE)
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


# --------------------------------------------------------------------------------------------
# Clinical advice in what the agent says
# --------------------------------------------------------------------------------------------

_ADVICE_MED = (
    r"(?:ibuprofen|advil|motrin|tylenol|acetaminophen|paracetamol|aspirin|aleve|naproxen"
    r"|excedrin|ora\s*[gj]el|anbesol|benzocaine|lidocaine|numbing\s+gel|clove\s+oil|antibiotics?"
    r"|amoxicillin|amox|penicillin|clindamycin|azithromycin|augmentin|cephalexin|keflex"
    r"|metronidazole|pain\s*killers?|pain\s+relievers?|pain\s+medications?|pain\s+meds?"
    r"|pain\s+pills?|anti\s*inflammator(?:y|ies)|nsaids?|medications?|medicines?|meds|pills?"
    r"|tablets?|capsules?|prescriptions?|drugs?|benadryl|antihistamines?|steroids?|prednisone"
    r"|hydrocodone|vicodin|codeine|oxycodone|percocet|tramadol|opioids?|narcotics?"
    r"|hydrogen\s+peroxide|peroxide|chlorhexidine|peridex|mouthwash|mouth\s+rinse|listerine"
    r"|sensodyne|desensitizing\s+toothpaste|fluoride|over\s+the\s+counter)"
)
_CONDITION = (
    r"(?:abscess(?:ed)?|infection|infected|cavity|cavities|decay|decayed|rotten|rotting"
    r"|gum\s+disease|gingivitis|periodont\w+|dry\s+socket|pulpitis|cracked\s+(?:tooth|root)"
    r"|fractured\s+tooth|split\s+tooth|broken\s+tooth|nerve\s+damage|(?:dead|dying|damaged"
    r"|inflamed|irritated|exposed)\s+(?:nerve|tooth|pulp|root)|nerve\s+is\s+(?:dying|dead"
    r"|damaged|inflamed|exposed)|impacted|wisdom\s+tooth|tmj|tmd|bruxism|grinding|clenching"
    r"|sinus\s+(?:infection|issue|problem|pressure)|sinusitis|exposed\s+(?:root|nerve|dentin)"
    r"|gum\s+recession|receding\s+gums|enamel\s+erosion|erosion|cyst|tumou?r|cancer|thrush"
    r"|canker\s+sore|cold\s+sore|ulcer|pericoronitis|cellulitis|sensitivity|sensitive\s+teeth"
    r"|allergic\s+reaction|allergy|fracture|loose\s+filling|failed\s+filling"
    r"|failing\s+(?:filling|crown)|bone\s+loss|(?:gum|tooth|dental)\s+infection|bad\s+tooth)"
)
_TREATMENT = (
    r"(?:root\s+canals?|fillings?|crowns?|extractions?|implants?|bridge|dentures?|night\s+guard"
    r"|mouth\s*guard|deep\s+cleaning|scaling|gum\s+surgery|oral\s+surgery|surgery"
    r"|antibiotics?|braces|veneers?|(?:the\s+|that\s+|your\s+)?tooth\s+(?:pulled|extracted"
    r"|removed|out)|it\s+(?:pulled|extracted|removed|out)|pulled|extracted)"
)
_W = r"[\w']+\s+"

_MED_ADVICE = _rx(
    rf"(?:take|taking|try(?!\s+to\b)|trying(?!\s+to\b)|use|using|pop|popping|apply|applying"
    rf"|rub|put|putting|keep\s+taking|switch\s+to|alternate|alternating|swish|gargle"
    rf"|stick\s+with|grab|get\s+some|pick\s+up|stop\s+taking)\s+(?:{_W}){{0,3}}?{_ADVICE_MED}\b",
    rf"(?:recommend|suggest|advise|prescribe)\w*\s+(?:{_W}){{0,4}}?{_ADVICE_MED}\b",
    rf"{_ADVICE_MED}\s+(?:(?:should|will|would|can|could|might|may|usually|often|really|also"
    rf"|generally|typically)\s+)*(?:helps?|works?|eases?|relieves?|takes?\s+the\s+edge"
    rf"|does\s+the\s+trick|do\s+the\s+trick|(?:is|are)\s+(?:\w+\s+)?(?:good|great|best"
    rf"|safe|fine)\s+for)\b",
)
_DOSE = _rx(
    r"\d+\s*(?:mg|milligrams?|mcg|ml|milliliters?|millilitres?|cc)\b|milligrams?\b",
    r"(?:one|two|three|four|\d+)\s+(?:tablets?|pills?|capsules?|caplets?|advil|tylenol)\b",
    r"every\s+(?:\d+|two|three|four|six|eight|twelve|few)\s+(?:to\s+\w+\s+)?hours\b",
    r"(?:once|twice|three\s+times|four\s+times)\s+(?:a|per)\s+day\b",
)
_REMEDY = _rx(
    r"salt\s*water|saltwater|warm\s+water\s+rinse|rinse\s+(?:your\s+mouth|with|gently|out|it)"
    r"|gargl\w+|swish\w*",
    r"(?:cold|warm|hot)\s+compress|ice\s+packs?|cold\s+packs?|heating\s+pad|heat\s+packs?"
    r"|ice\s+(?:on|it|to|your|the)\b|(?:put|apply|use|hold)\s+(?:some\s+)?(?:ice|heat)\b"
    r"|bag\s+of\s+(?:frozen|ice)|frozen\s+peas",
    r"tea\s+bag|gauze|clove\s+oil|oil\s+pulling|baking\s+soda|hydrogen\s+peroxide",
    r"soft\s+(?:foods?|diet)|soft\s+(?:bristled\s+)?toothbrush|chew\s+on\s+the\s+other\s+side"
    r"|on\s+the\s+other\s+side\s+of\s+your\s+mouth",
    r"(?:your|the)\s+head\s+elevated|elevate\s+your\s+head|prop(?:ped)?\s+(?:yourself|your\s+head)"
    r"\s+up",
    r"apply\s+(?:firm\s+|gentle\s+|some\s+)?pressure|(?:bite|biting)\s+(?:down\s+)?on\s+(?:a|some"
    r"|the)\b",
    r"in\s+(?:a\s+glass\s+of\s+)?milk|back\s+in(?:to)?\s+(?:the|its)\s+socket",
    r"use\s+a\s+straw|(?:avoid|no)\s+(?:using\s+)?straws?|stay\s+hydrated|drink\s+plenty\s+of",
    r"keep\s+(?:the\s+area|it)\s+clean|brush\s+(?:gently|softly|carefully|around)"
    r"|floss\s+(?:gently|around)",
    r"avoid(?:ing)?\s+(?:\w+\s+){0,2}?(?:chewing|eating|drinking|biting|hot|cold|sweets?|sugary"
    r"|sugar|hard|crunchy|sticky|spicy|acidic|alcohol|smoking|that\s+side|the\s+area|touching"
    r"|brushing|flossing|caffeine|coffee|exercise|strenuous|lying|spitting|rinsing)\b",
    r"(?:don'?t|do\s+not|try\s+not\s+to|never)\s+(?:\w+\s+)?(?:chew|eat|drink|bite|smoke|touch"
    r"|poke|brush|floss|spit|rinse|lie\s+flat)\b",
    r"stop\s+(?:eating|chewing|smoking|drinking|brushing|flossing)\b",
)
_DIAGNOSIS = _rx(
    rf"(?:sounds?|seems?|looks?|feels?)\s+like\s+(?:{_W}){{0,4}}?{_CONDITION}\b",
    rf"(?:that's|that\s+is|it's|it\s+is|this\s+is|that'd\s+be|that\s+would\s+be|could\s+be"
    rf"|might\s+be|may\s+be|must\s+be|probably|likely|possibly|most\s+likely|definitely"
    rf"|almost\s+certainly|i\s+think|i\s+suspect|i\s+bet|my\s+guess\s+is|chances\s+are"
    rf"|you\s+have|you've\s+got|you\s+got|you've|you\s+probably\s+have|you\s+may\s+have"
    rf"|you\s+might\s+have|you\s+could\s+have|you\s+likely\s+have)\s+(?:{_W}){{0,3}}?"
    rf"{_CONDITION}\b",
    r"(?:tooth|teeth|gums?|nerve|jaw|it|that)\s+(?:is|are|'s|sounds|seems|looks|might\s+be"
    r"|could\s+be|may\s+be|must\s+be)\s+(?:probably\s+|likely\s+|definitely\s+)?(?:infected"
    r"|abscessed|cracked|fractured|dead|dying|decayed|rotten|impacted|inflamed)\b",
    rf"you(?:'ll|'d|\s+will|\s+would)?\s+(?:\w+\s+){{0,2}}?(?:need|needs|require|have\s+to\s+get"
    rf"|have\s+to\s+have|should\s+get|should\s+have)\s+(?:{_W}){{0,2}}?{_TREATMENT}\b",
    rf"(?:you're|you\s+are)\s+(?:\w+\s+)?going\s+to\s+need\s+(?:{_W}){{0,2}}?{_TREATMENT}\b",
    r"(?:tooth|it)\s+(?:probably\s+|will\s+|might\s+|may\s+)?(?:needs?|has)\s+to\s+(?:come\s+out"
    r"|be\s+(?:pulled|extracted|removed))\b",
)
_REASSURANCE = _rx(
    r"(?:that's|that\s+is|it's|it\s+is|this\s+is|which\s+is|sounds|seems|that\s+sounds"
    r"|that\s+seems|it\s+sounds|it\s+seems)\s+(?:\w+\s+){0,2}?(?:normal\b(?!\s+(?:hours"
    r"|business|schedule|price|process|to\s+(?:feel|be)\s+(?:nervous|anxious|worried|scared"
    r"|afraid)))|common\b(?!\s+(?:question|request|concern|thing\s+to\s+ask|for\s+(?:new\s+)?"
    r"(?:patients|people|callers|folks)\s+to\s+(?:ask|have|wonder|want|call)))|nothing\s+serious"
    r"|not\s+serious|nothing\s+to\s+worry\s+about|no\s+big\s+deal|not\s+a\s+big\s+deal|harmless"
    r"|not\s+an\s+emergency|not\s+urgent|not\s+dangerous|nothing\s+major|not\s+a\s+concern"
    r"|to\s+be\s+expected|typical|a\s+minor\s+(?:issue|problem|thing))",
    r"(?:nothing|not\s+something|no\s+need)\s+to\s+worry\s+about|no\s+need\s+to\s+(?:worry|panic"
    r"|be\s+(?:worried|concerned|alarmed))|(?:i\s+)?wouldn'?t\s+worry",
    r"don'?t\s+worry\s+about\s+(?:the|that|it|your|this)\s+(?:\w+\s+)?(?:pain|swelling|bleeding"
    r"|symptoms?|tooth|gums?|fever|sensitivity)",
    r"(?:should|will|it'll|usually|often|typically|probably|may|might)\s+(?:\w+\s+)?(?:go\s+away"
    r"|clear\s+up|heal|settle\s+down|calm\s+down|get\s+better|resolve|subside)\b",
    r"you(?:'ll|\s+will|\s+should)\s+be\s+(?:fine|okay|ok|alright|all\s+right)\b",
    r"(?:pain|swelling|bleeding|sensitivity|tooth|gums?|jaw)\s+(?:is|'s|should\s+be|will\s+be"
    r"|sounds|seems|looks)\s+(?:probably\s+|totally\s+|perfectly\s+|completely\s+|likely\s+)?"
    r"(?:fine|okay|ok|normal|harmless|nothing)\b",
    r"(?:it|that|this)\s+can\s+(?:probably\s+)?wait\b",
)
# The agent declining: "I can't recommend any medication".
_DECLINE = re.compile(
    r"\b(?:i|we)\b[^.,;!?]*?\b(?:can'?t|cannot|can\s+not|not\s+able|unable|not\s+allowed"
    r"|not\s+qualified|shouldn'?t|won'?t\s+be\s+able)\b"
)
# Diagnoses only asked about or left to the dentist: "the dentist will check if it's an abscess".
_OPEN_QUESTION = re.compile(
    r"\b(?:if|whether|in\s+case|rule\s+out|check\s+for|look\s+for|determine|confirm|see\s+if)"
    r"(?:\s+[\w']+){0,3}\s*$"
)
# The caller's own words, read back: "you mentioned your tooth is cracked".
_REPORTED = re.compile(
    r"\b(?:you\s+(?:said|mentioned|told|described|noted|reported)|(?:your|another)\s+(?:dentist"
    r"|doctor)\s+(?:said|told|mentioned)|noted|let\s+the\s+(?:team|dentist)\s+know"
    r"|tell\s+the\s+(?:team|dentist))\b"
)
# Questions about the caller's situation, not suggestions: "are you taking any medication?".
_STATUS_QUESTION = re.compile(
    r"^\W*(?:(?:so|and|also|okay|ok|great|thanks|alright|now|just|quick\s+question)\W+)*"
    r"(?:are|were|is|was|do|does|did|have|has|had)\s+(?:you|they|he|she|it|there|your)\b"
    r"(?!\s+(?:considered|thought|want|wanna|like))"
)
_CLAUSE_START = re.compile(r"[.,;!?]|\b(?:but|however|though|although)\b")


def _clause_before(norm: str, start: int) -> str:
    lo = 0
    for m in _CLAUSE_START.finditer(norm, 0, start):
        lo = m.end()
    return norm[lo:start]


def clinical_advice(sentence: str) -> bool:
    """Whether a sentence the agent is about to say gives clinical advice or a diagnosis.

    Args:
        sentence: One sentence of the agent's reply.

    Returns:
        True when it recommends or doses a medication, gives a home remedy or care
        instruction, names a diagnosis or treatment need, or says a symptom is nothing to worry
        about; questions about the caller's situation and safety instructions pass.
    """
    norm = _normalise(sentence)
    question = bool(_STATUS_QUESTION.match(norm))
    for pattern, askable, hedgeable in (
        (_MED_ADVICE, True, False),
        (_DOSE, True, False),
        (_REMEDY, False, False),
        (_DIAGNOSIS, True, True),
        (_REASSURANCE, False, True),
    ):
        for m in pattern.finditer(norm):
            before = _clause_before(norm, m.start())
            if _DECLINE.search(before):
                continue
            if askable and question:
                continue
            if hedgeable and (
                _OPEN_QUESTION.search(before) or _REPORTED.search(before + m.group())
            ):
                continue
            return True
    return False


# --------------------------------------------------------------------------------------------
# Both at once
# --------------------------------------------------------------------------------------------


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
