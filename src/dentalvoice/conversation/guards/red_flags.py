"""Red flags in a caller utterance: symptoms that hand the call to a human at once."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from dentalvoice.conversation.guards._text import gap, normalise, rx
from dentalvoice.conversation.negation import is_negated
from dentalvoice.conversation.qualification import RedFlag


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
    return ((kind, _heads(keys), rx(*alternatives)),)


def _each(kind: _Kind, keys: tuple[str, ...], *alternatives: str) -> tuple[_Detector, ...]:
    """One detector per alternative, for alternatives that each name a `tail` group."""
    heads = _heads(keys)
    return tuple((kind, heads, rx(a)) for a in alternatives)


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
        rf"{_SWELL_CORE}{gap(6, _OTHER_TOPIC)}(?P<tail>{_SPREAD_VERB}|{_LOCATION})",
    ),
    *_each(
        _Kind.SPREAD,
        (*_SWELL_KEYS, "blown"),
        rf"(?:{_LOCATION}|half\s+(?:of\s+)?my\s+face|face\s+is\s+all)"
        rf"{gap(3, _OTHER_TOPIC)}(?P<tail>{_SWELL_CORE}|blown\s+up|puffed)",
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
        rf"tongue{gap(3, _OTHER_TOPIC)}(?P<tail>{_SWELL_CORE})",
        r"(?:swollen|swelling\s+(?:of|in|under)\s+(?:my|the))\s+tongue",
    ),
    *_one(
        _Kind.BLEED,
        ("blee", "bled", "blood", "hemorrhag", "haemorrhag", "gauze", "soaked"),
        rf"(?:bleed\w*|bled|blood){gap(6, _OTHER_TOPIC)}"
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
    live, named = _live_kinds(normalise(text))
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
