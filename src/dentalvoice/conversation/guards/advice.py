"""The outgoing check: clinical advice or diagnoses never leave the agent."""

from __future__ import annotations

import re

from dentalvoice.conversation.guards._text import normalise, rx

SAFE_REPLACEMENT = (
    "I'm not able to give medical advice, but the dentist and our team will go over that with you."
)


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

_MED_ADVICE = rx(
    rf"(?:take|taking|try(?!\s+to\b)|trying(?!\s+to\b)|use|using|pop|popping|apply|applying"
    rf"|rub|put|putting|keep\s+taking|switch\s+to|alternate|alternating|swish|gargle"
    rf"|stick\s+with|grab|get\s+some|pick\s+up|stop\s+taking)\s+(?:{_W}){{0,3}}?{_ADVICE_MED}\b",
    rf"(?:recommend|suggest|advise|prescribe)\w*\s+(?:{_W}){{0,4}}?{_ADVICE_MED}\b",
    rf"{_ADVICE_MED}\s+(?:(?:should|will|would|can|could|might|may|usually|often|really|also"
    rf"|generally|typically)\s+)*(?:helps?|works?|eases?|relieves?|takes?\s+the\s+edge"
    rf"|does\s+the\s+trick|do\s+the\s+trick|(?:is|are)\s+(?:\w+\s+)?(?:good|great|best"
    rf"|safe|fine)\s+for)\b",
)
_DOSE = rx(
    r"\d+\s*(?:mg|milligrams?|mcg|ml|milliliters?|millilitres?|cc)\b|milligrams?\b",
    r"(?:one|two|three|four|\d+)\s+(?:tablets?|pills?|capsules?|caplets?|advil|tylenol)\b",
    r"every\s+(?:\d+|two|three|four|six|eight|twelve|few)\s+(?:to\s+\w+\s+)?hours\b",
    r"(?:once|twice|three\s+times|four\s+times)\s+(?:a|per)\s+day\b",
)
_REMEDY = rx(
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
_DIAGNOSIS = rx(
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
_REASSURANCE = rx(
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
    norm = normalise(sentence)
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
