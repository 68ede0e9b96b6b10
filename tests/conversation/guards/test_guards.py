"""Guards: red flags, opt-outs and clinical advice, phrased the many ways callers and LLMs do."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dentalvoice.conversation.guards import (
    SAFE_REPLACEMENT,
    GuardVerdict,
    check_utterance,
    clinical_advice,
    red_flags,
    wants_opt_out,
)
from dentalvoice.conversation.guards._text import normalise
from dentalvoice.conversation.guards.red_flags import _hits
from dentalvoice.conversation.qualification import RedFlag
from dentalvoice.conversation.script import load_script

SWELLING_WITH_FEVER = RedFlag.SWELLING_WITH_FEVER
SPREADING = RedFlag.SPREADING_SWELLING
BLEEDING = RedFlag.UNCONTROLLED_BLEEDING
TRAUMA = RedFlag.TRAUMA
BREATHING = RedFlag.BREATHING_OR_SWALLOWING
ALLERGIC = RedFlag.ALLERGIC_REACTION
SEVERE = RedFlag.SEVERE_PAIN


def flags(text: str) -> list[RedFlag]:
    return red_flags(text, pain=None)


def stt(text: str) -> str:
    """How a bare transcript may come in: lowercase, no punctuation."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


# ---------------------------------------------------------------------------------------------
# Red flags: each flag, said many ways, and its negated or benign lookalikes
# ---------------------------------------------------------------------------------------------

POSITIVE: dict[RedFlag, list[str]] = {
    SWELLING_WITH_FEVER: [
        "My face is swollen and I have a fever.",
        "I've got swelling and a fever of 101.",
        "my cheek is really puffy and i feel feverish",
        "swelling and fever",
        "There's a lump on my gum and I've been running a temperature.",
        "I have chills and my jaw is swollen.",
        "My gums are swollen and I'm burning up.",
        "I think I have an abscess, and I've had a fever since last night.",
        "uh yeah um swelling and like a fever too",
        "My jaw is big and I have a fever.",
        "The swelling is hot to the touch.",
        "My temp is 102 and my face is swollen.",
        "I don't have pain but I have swelling and a fever.",
        "Yes, swelling. And yes, a fever.",
    ],
    SPREADING: [
        "The swelling is spreading.",
        "My whole face is swollen.",
        "The swelling is going down my neck.",
        "My eye is swelling shut.",
        "It's swollen all the way up to my eye.",
        "There's swelling under my jaw.",
        "The swelling keeps getting bigger.",
        "My cheek is swollen and it's spreading to my ear.",
        "My neck is swollen.",
        "I can't even open my eye.",
        "There's a swollen lump under my chin.",
        "My face keeps getting bigger.",
        "The swelling has gotten bigger since this morning.",
        "My tongue is swelling up.",
        "My entire face is puffy.",
        "the swelling went down my neck and up to my eye",
        "The swelling's spreading to my eye.",
        "The infection is spreading.",
        "My whole jaw is swollen.",
    ],
    BLEEDING: [
        "It's bleeding and it won't stop.",
        "I can't stop the bleeding.",
        "There's a lot of blood.",
        "It's been bleeding for hours since the extraction.",
        "It keeps bleeding.",
        "It's bleeding really heavily.",
        "My mouth is full of blood.",
        "The bleeding won't stop.",
        "I've soaked through the gauze with blood.",
        "There's blood everywhere.",
        "It hasn't stopped bleeding since they pulled my tooth yesterday.",
        "It won't stop bleeding.",
        "It's bleeding like crazy.",
        "My gum keeps bleeding where the tooth was pulled.",
        "The gauze is soaked.",
        "no it won't stop bleeding",
        "I've been bleeding all night.",
        "I've gone through a whole pack of gauze.",
        "Blood keeps coming out.",
        "My mouth keeps filling up with blood.",
    ],
    TRAUMA: [
        "I knocked out my front tooth.",
        "My tooth got knocked out playing hockey.",
        "I got hit in the mouth with a baseball.",
        "I was in a car accident.",
        "I fell and broke my front teeth.",
        "I got punched.",
        "My jaw might be broken.",
        "I think I dislocated my jaw.",
        "Sports injury, I took an elbow to the face.",
        "My son fell off his bike and cracked his tooth.",
        "Someone hit me in the face last night.",
        "I tripped and hit my mouth on the counter.",
        "My tooth fell out after I got hit.",
        "I chipped my tooth playing basketball.",
        "A ball hit me in the teeth.",
        "I had an accident and my tooth is loose.",
        "I can't close my mouth.",
        "I got into a fight and my tooth is loose.",
    ],
    BREATHING: [
        "I'm having trouble breathing.",
        "It's hard to swallow.",
        "I can't swallow.",
        "My throat feels like it's closing.",
        "I can barely breathe.",
        "Difficulty swallowing.",
        "it's hard to breath",
        "I feel like I'm choking.",
        "I'm short of breath.",
        "It hurts to swallow.",
        "I can't breathe.",
        "Hard time swallowing since yesterday.",
        "My throat is swollen and tight.",
        "I'm having a hard time catching my breath.",
        "i cant eat or swallow",
    ],
    ALLERGIC: [
        "I'm having an allergic reaction.",
        "I broke out in hives.",
        "My tongue is swelling since I took the antibiotic.",
        "My lips swelled up after the amoxicillin.",
        "I think I'm having a reaction to the antibiotic.",
        "I think it's anaphylaxis.",
        "I had to use my EpiPen.",
        "I got a rash after taking the penicillin they gave me.",
        "I took the medicine and now my throat feels tight.",
        "I'm allergic to the antibiotic they gave me.",
        "Hives all over since the new medication.",
        "My face is itchy and swelling from the pills.",
    ],
}

NEGATIVE: dict[RedFlag, list[str]] = {
    SWELLING_WITH_FEVER: [
        "swelling but no fever",
        "I have some swelling but I don't have a fever.",
        "No swelling and no fever.",
        "A fever but no swelling.",
        "My gums are a little swollen.",
        "The swelling went down and the fever broke.",
        "My tooth is sensitive to temperature and my gum is swollen.",
        "I have a fever blister and my lip is swollen.",
        "I'm not swollen and I don't have a fever.",
        "I had an abscess with a fever years ago.",
        "I don't think I have a fever, just some swelling.",
    ],
    SPREADING: [
        "The swelling isn't spreading.",
        "It's swollen but it's not getting bigger.",
        "No swelling in my neck.",
        "My gum is a little swollen near my tooth.",
        "The swelling went down.",
        "My face isn't swollen anymore.",
        "My neck hurts from sleeping wrong.",
        "I have an eye appointment and my gum is swollen.",
        "There's swelling on my gum near my eye tooth.",
        "The swelling is going down.",
    ],
    BLEEDING: [
        "A little bleeding when I floss.",
        "My gums bleed sometimes.",
        "My gums bleed when I brush.",
        "No bleeding.",
        "The bleeding stopped.",
        "It bled a bit but it stopped.",
        "There's not a lot of blood.",
        "My gums bleed a lot when I brush.",
        "It's not bleeding that much.",
        "It was bleeding a lot but it stopped.",
        "Some blood when I spit after brushing.",
        "My gums keep bleeding when I floss.",
        "It's still bleeding a little.",
    ],
    TRAUMA: [
        "I chipped a tooth on a popcorn kernel.",
        "I broke my tooth eating candy.",
        "My crown fell off.",
        "My filling fell out.",
        "No injury or accident.",
        "I didn't fall or hit anything, it just started hurting.",
        "The pain hit me last night.",
        "I fell behind on my cleanings and my teeth are a mess.",
        "Nobody hit me.",
        "I grind my teeth at night.",
        "My tooth cracked while I was eating.",
        "I knocked on your door last week.",
        "I was hit with a huge bill last time.",
        "It was hit or miss with my last dentist.",
        "I had a bike accident when I was a kid.",
        "I bit my cheek by accident.",
        "Years ago I knocked out a tooth playing football, now the implant hurts.",
        "No accidents, no injuries.",
    ],
    BREATHING: [
        "I breathe through my mouth.",
        "No trouble breathing.",
        "I have bad breath.",
        "Breathing is fine.",
        "Swallowing is okay.",
        "I'm not having any trouble swallowing.",
        "I can breathe fine.",
        "No problems with breathing or swallowing.",
        "I snore at night.",
        "My breath smells.",
        "My problem is I breathe through my mouth at night.",
    ],
    ALLERGIC: [
        "I'm allergic to penicillin.",
        "No allergic reaction.",
        "I'm allergic to latex, just so you know.",
        "I had an allergic reaction to penicillin as a kid.",
        "I don't have any allergies.",
        "No hives or rash.",
        "I'm taking antibiotics for the infection.",
        "I'm allergic to codeine and my tooth hurts.",
    ],
}

_POSITIVE_CASES = [(flag, text) for flag, texts in POSITIVE.items() for text in texts]
_NEGATIVE_CASES = [(flag, text) for flag, texts in NEGATIVE.items() for text in texts]


def test_tables_are_big_enough() -> None:
    assert set(POSITIVE) == set(RedFlag) - {SEVERE}
    assert all(len(texts) >= 8 for texts in POSITIVE.values())
    assert all(len(NEGATIVE[flag]) >= 5 for flag in POSITIVE)


@pytest.mark.parametrize(("flag", "text"), _POSITIVE_CASES)
def test_red_flag_heard(flag: RedFlag, text: str) -> None:
    assert flag in flags(text)


@pytest.mark.parametrize(("flag", "text"), _POSITIVE_CASES)
def test_red_flag_heard_in_bare_transcript(flag: RedFlag, text: str) -> None:
    assert flag in flags(stt(text))


@pytest.mark.parametrize(("flag", "text"), _POSITIVE_CASES)
def test_red_flag_heard_shouted_and_with_curly_apostrophes(flag: RedFlag, text: str) -> None:
    assert flag in flags(text.upper().replace("'", "\u2019"))


@pytest.mark.parametrize(("flag", "text"), _NEGATIVE_CASES)
def test_lookalike_is_not_that_red_flag(flag: RedFlag, text: str) -> None:
    assert flag not in flags(text)


@pytest.mark.parametrize(("flag", "text"), _NEGATIVE_CASES)
def test_lookalike_is_not_that_red_flag_in_bare_transcript(flag: RedFlag, text: str) -> None:
    assert flag not in flags(stt(text))


DENIALS = [
    "no",
    "No.",
    "nope",
    "nah",
    "none of those",
    "nope nothing like that",
    "no, nothing like that",
    "no none of that",
    "nothing like that",
    "none",
    "negative",
    "no I'm fine",
    "um no not really",
    "no swelling no fever no bleeding",
    "no swelling, fever or bleeding",
    "no swelling, fever, or trouble breathing",
    "nothing like that just a toothache",
    "I don't have any of those",
    "no to all of those",
    "no swelling or trouble breathing",
    "No. No fever, no swelling, nothing.",
    "I don't have a fever or any swelling.",
    "not swollen anymore",
    "I don't think I have a fever.",
    "no, no fever",
    "no bleeding or trouble breathing",
    "I haven't had any swelling, fever, bleeding that won't stop, or trouble breathing.",
    "I don't have any swelling, fever, bleeding that won't stop, an injury to my mouth, or "
    "trouble breathing or swallowing.",
    "no injuries no accidents",
    "no hives",
    "I don't have swelling and I'm not bleeding a lot.",
    "no fever. no swelling.",
    "I don't uh really have any fever or um swelling",
    "nope no heavy bleeding",
    "I'm not having trouble breathing or swallowing",
    "there's no blood everywhere or anything",
    "I haven't been in an accident",
    "no allergic reaction or hives",
]


@pytest.mark.parametrize("text", DENIALS)
def test_denials_raise_no_flag(text: str) -> None:
    assert flags(text) == []
    assert flags(stt(text)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("swelling but no fever", []),
        ("no fever but my face is swollen and it's spreading to my eye", [SPREADING]),
        ("no fever, but I can't breathe", [BREATHING]),
        ("no swelling and I can't stop the bleeding", [BLEEDING]),
        ("nothing like that just bleeding that won't stop", [BLEEDING]),
        ("no pain but I have swelling and a fever", [SWELLING_WITH_FEVER]),
        ("I have swelling, no pain, and a fever.", [SWELLING_WITH_FEVER]),
        ("I don't have a fever and I can't swallow", [BREATHING]),
        ("no fever yes swelling and trouble breathing", [BREATHING]),
        ("no swelling, fever or bleeding, but I did get punched", [TRAUMA]),
        ("I've never had swelling like this and I have a fever", [SWELLING_WITH_FEVER]),
        ("I don't have a fever, just swelling", []),
        ("no trouble breathing but my tongue is swelling", [SPREADING]),
        ("my tongue is swelling since I took the antibiotic", [ALLERGIC]),
        ("the swelling went down but now it's back and spreading to my neck", [SPREADING]),
        ("the swelling went down but now it's back and I have a fever", [SWELLING_WITH_FEVER]),
        ("fever's gone but the swelling is spreading", [SPREADING]),
        ("I had swelling and a fever but both are gone now", []),
        # Unsure is not a denial: the human on the line can sort it out.
        ("I'm not sure if it's an allergic reaction", [ALLERGIC]),
        ("I don't know if it's swollen, but I have a fever", [SWELLING_WITH_FEVER]),
        ("the infection isn't spreading", []),
        (
            "the swelling is not spreading but I have a fever and my face is swollen",
            [SWELLING_WITH_FEVER],
        ),
    ],
)
def test_negation_is_per_mention(text: str, expected: list[RedFlag]) -> None:
    assert flags(text) == expected


def test_flags_come_once_each_in_enum_order() -> None:
    text = (
        "I got punched, I can't breathe, my whole face is swollen and spreading, the swelling "
        "keeps getting bigger, I have a fever, and it won't stop bleeding, lots of blood"
    )
    assert red_flags(text, pain=9) == [
        SEVERE,
        SWELLING_WITH_FEVER,
        SPREADING,
        BLEEDING,
        TRAUMA,
        BREATHING,
    ]


@pytest.mark.parametrize(
    ("pain", "threshold", "severe"),
    [
        (None, 8, False),
        (0, 8, False),
        (7, 8, False),
        (8, 8, True),
        (9, 8, True),
        (10, 8, True),
        (6, 7, False),
        (7, 7, True),
        (8, 7, True),
        (9, 7, True),
        (9, 10, False),
        (10, 10, True),
    ],
)
def test_pain_threshold(pain: int | None, threshold: int, severe: bool) -> None:
    got = red_flags("it hurts a lot", pain=pain, threshold=threshold)
    assert got == ([SEVERE] if severe else [])


def test_pain_threshold_defaults_to_eight() -> None:
    assert red_flags("", pain=8) == [SEVERE]
    assert red_flags("", pain=7) == []


def test_severe_pain_comes_before_text_flags() -> None:
    assert red_flags("I can't breathe", pain=9, threshold=7) == [SEVERE, BREATHING]
    assert red_flags("no, nothing like that", pain=9) == [SEVERE]


# ---------------------------------------------------------------------------------------------
# Opt-out
# ---------------------------------------------------------------------------------------------

OPT_OUTS = [
    "stop calling me",
    "Stop.",
    "stop",
    "STOP!",
    "stop, stop",
    "stop stop stop",
    "please stop",
    "ok stop",
    "just stop",
    "stop please",
    "stop it",
    "I said stop.",
    "Can you stop?",
    "remove me from your list",
    "Please remove me from your calling list.",
    "take me off your list",
    "Take my number off your list.",
    "Take me out of your system.",
    "don't call me again",
    "do not call",
    "Do not call me.",
    "put me on your do not call list",
    "unsubscribe",
    "leave me alone",
    "quit calling",
    "Quit calling me!",
    "I want to opt out",
    "opt me out",
    "lose my number",
    "never call this number again",
    "Don't ever call me again.",
    "I don't want any more calls.",
    "I don't want you calling me.",
    "No more calls please.",
    "stop calling this number",
    "You can stop calling me now.",
    "If you don't stop calling me I'll report you.",
    "Why don't you stop calling me?",
    "I'm not interested, stop calling.",
    "i'm not interested stop calling me",
    "Please don't call me anymore.",
    "Delete my number.",
    "I want to be removed from your list.",
    "no stop calling me",
    "Stop bothering me.",
    "Stop harassing me.",
    "You guys won't stop calling me, it's ridiculous.",
    "Don't call me, I'll call you.",
    "Wrong number, don't call again.",
    "Stop the calls.",
    "Remove this number.",
    "How do I get off your list?",
    "Who is this? Stop calling me.",
    "don't call me back",
]

NOT_OPT_OUTS = [
    "don't stop",
    "stop by the office",
    "I can't stop the bleeding",
    "my toothache won't stop",
    "the pain doesn't stop",
    "I want to stop grinding my teeth",
    "call me later",
    "don't call me before 5",
    "I'm not saying stop calling",
    "Can you call me back tomorrow?",
    "Please don't call me at work.",
    "Don't call me right now, I'm driving.",
    "I'd like to stop by on Tuesday.",
    "I need to stop at the pharmacy first.",
    "When will the pain stop?",
    "It hurts nonstop.",
    "I don't want to opt out.",
    "Don't remove me from the list.",
    "You can keep calling me.",
    "The bleeding won't stop.",
    "The pain won't leave me alone.",
    "stop sign",
    "I stopped calling the other office.",
    "Don't call me so early.",
    "Don't call me in the morning.",
    "Stop calling me at work, call my cell after 6.",
    "I never said take me off the list.",
    "I didn't say stop.",
    "Don't call me back until next week.",
    "I don't want to be removed from your list.",
    "",
]


def test_opt_out_tables_are_big_enough() -> None:
    assert len(OPT_OUTS) >= 25
    assert len(NOT_OPT_OUTS) >= 15


@pytest.mark.parametrize("text", OPT_OUTS)
def test_opt_out(text: str) -> None:
    assert wants_opt_out(text)
    assert wants_opt_out(stt(text))
    assert wants_opt_out(text.upper().replace("'", "\u2019"))


@pytest.mark.parametrize("text", NOT_OPT_OUTS)
def test_not_opt_out(text: str) -> None:
    assert not wants_opt_out(text)
    assert not wants_opt_out(stt(text))


def test_bleeding_that_wont_stop_is_a_red_flag_not_an_opt_out() -> None:
    verdict = check_utterance("I can't stop the bleeding", pain=None)
    assert verdict == GuardVerdict(red_flags=[BLEEDING], opt_out=False)


# ---------------------------------------------------------------------------------------------
# Clinical advice in what the agent says
# ---------------------------------------------------------------------------------------------

ADVICE = [
    "Take ibuprofen.",
    "You can take 400 mg of ibuprofen every six hours.",
    "You can take 400 mg.",
    "Try some Tylenol for the pain.",
    "Use an antibiotic if you have one left over.",
    "Rinse with warm salt water.",
    "Apply a cold compress to your cheek.",
    "Put ice on it.",
    "Avoid chewing on that side.",
    "It sounds like an abscess.",
    "You probably have a cavity.",
    "That's likely an infection.",
    "You need a root canal.",
    "That's normal.",
    "It's nothing to worry about.",
    "I'd recommend alternating Advil and Tylenol.",
    "Some Orajel should help with the pain.",
    "Keep your head elevated tonight.",
    "Bite down on a piece of gauze.",
    "Put the tooth in milk and bring it with you.",
    "It should go away in a few days.",
    "That tooth is probably infected.",
    "You'll probably need to have it pulled.",
    "Sounds like you might have a cracked tooth.",
    "Don't use a straw for a few days.",
    "Stick to soft foods until your visit.",
    "You'll be fine.",
    "That's very common after an extraction.",
    "Gargle with salt water twice a day.",
    "The swelling is nothing serious.",
    "Why don't you take some ibuprofen?",
    "Have you considered taking Advil?",
    "I'm not a doctor, but you can take ibuprofen.",
    "It's probably just a sinus infection.",
    "That can wait until your appointment.",
    "An over the counter pain reliever should help.",
    "Ibuprofen usually works well for tooth pain.",
    "I'd suggest a warm salt water rinse.",
    "That sounds like a dry socket.",
    "Your nerve might be dying.",
    "You may need an extraction.",
    "Don't worry about the bleeding, that's normal after an extraction.",
    "The tooth probably needs to come out.",
]

NOT_ADVICE = [
    "The dentist will look at that at your visit.",
    "I can't give medical advice.",
    "Please call 911 or go to the nearest emergency room now.",
    "I'm connecting you with our team.",
    "Do you have any swelling or fever?",
    "Are you taking any medication?",
    "The team will go over costs and insurance.",
    "I'm sorry you're in pain.",
    "That sounds urgent, so I'm connecting you with our team right now.",
    "That could be serious.",
    "I can't recommend any medication, but the dentist can go over options with you.",
    "I'm not able to say whether it's an infection.",
    "The dentist will check whether it's an abscess.",
    "You mentioned your tooth is cracked, is that right?",
    "Are you allergic to any medications?",
    "Is now a good time for a couple of quick questions?",
    "Would Tuesday at 3 PM work for you?",
    "You're booked for Monday at 9 AM.",
    "Have you been to our office before?",
    "I'll let the dentist know about the swelling.",
    "Do you have dental insurance?",
    "The dentist can go over treatment options with you.",
    "Is the pain constant, or does it come and go?",
    "On a scale from zero to ten, how bad is it?",
    "I understand, that sounds painful.",
    "No problem, we'll call you back tomorrow.",
    "If it gets worse, please call 911 or go to an emergency room.",
    "It's normal to feel nervous about a dental visit.",
    "That's a common question.",
    "Do you take any medications regularly?",
    "Have you taken anything for the pain?",
    "Don't worry, I'll get you on the schedule.",
    "That's fine, we can do Thursday instead.",
    "Please bring a list of your medications to your appointment.",
    "Our dentist can take a look and explain your options.",
    "I've noted that you have a cracked tooth.",
    "The team will call you first thing when they open.",
    "You mentioned you need a crown, is that right?",
    "It's common for new patients to have questions about cost.",
    "The dentist will decide whether you need a crown.",
    "An abscess can be serious, so I'm connecting you now.",
    "It sounds like you're in a lot of pain.",
    "It sounds like you'd like a cleaning.",
    "That's okay, we can find another time.",
    "It's fine if you don't know your insurance details.",
    "Your appointment should take about an hour.",
    "I can't tell you what medication to take, but the dentist can.",
]


def test_advice_tables_are_big_enough() -> None:
    assert len(ADVICE) >= 20
    assert len(NOT_ADVICE) >= 20


@pytest.mark.parametrize("sentence", ADVICE)
def test_clinical_advice_caught(sentence: str) -> None:
    assert clinical_advice(sentence)
    assert clinical_advice(stt(sentence))


@pytest.mark.parametrize("sentence", NOT_ADVICE)
def test_agent_line_passes(sentence: str) -> None:
    assert not clinical_advice(sentence)


def _script_lines() -> list[str]:
    script = load_script()
    lines = [script.opening, *script.lines.values()]
    for step in script.steps:
        lines += [step.ask, step.reask]
    return [sentence for line in lines for sentence in re.split(r"(?<=[.?!])\s+", line)]


@pytest.mark.parametrize("sentence", _script_lines())
def test_default_script_never_trips_the_advice_guard(sentence: str) -> None:
    assert not clinical_advice(sentence)


def test_safe_replacement_is_one_safe_sentence() -> None:
    assert not clinical_advice(SAFE_REPLACEMENT)
    assert "medical advice" in SAFE_REPLACEMENT
    assert SAFE_REPLACEMENT.count(".") == 1 and SAFE_REPLACEMENT.endswith(".")
    assert not wants_opt_out(SAFE_REPLACEMENT)


# ---------------------------------------------------------------------------------------------
# Both at once
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pain", "threshold", "expected"),
    [
        ("stop calling me", None, 8, GuardVerdict(red_flags=[], opt_out=True)),
        (
            "my face is swollen and I have a fever",
            None,
            8,
            GuardVerdict([SWELLING_WITH_FEVER], False),
        ),
        ("it's about a 7", 7, 7, GuardVerdict([SEVERE], False)),
        ("it's about a 7", 7, 8, GuardVerdict([], False)),
        ("I can't breathe, stop calling me", None, 8, GuardVerdict([BREATHING], True)),
        ("", None, 8, GuardVerdict([], False)),
    ],
)
def test_check_utterance(
    text: str, pain: int | None, threshold: int, expected: GuardVerdict
) -> None:
    assert check_utterance(text, pain=pain, threshold=threshold) == expected


def test_verdict_is_frozen() -> None:
    verdict = check_utterance("stop", pain=None)
    with pytest.raises(AttributeError):
        verdict.opt_out = False  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

SINGLE_SYMPTOMS: list[tuple[str, RedFlag]] = [
    ("fever and swelling", SWELLING_WITH_FEVER),
    ("swelling and fever", SWELLING_WITH_FEVER),
    ("swelling with a fever", SWELLING_WITH_FEVER),
    ("fever or swelling", SWELLING_WITH_FEVER),
    ("swelling spreading to my neck", SPREADING),
    ("swelling that keeps getting bigger", SPREADING),
    ("bleeding that won't stop", BLEEDING),
    ("heavy bleeding", BLEEDING),
    ("trouble breathing", BREATHING),
    ("difficulty swallowing", BREATHING),
    ("trouble breathing or swallowing", BREATHING),
    ("allergic reaction", ALLERGIC),
    ("hives", ALLERGIC),
    ("car accident", TRAUMA),
    ("knocked out tooth", TRAUMA),
    ("injury to my mouth", TRAUMA),
]
_LEAD_INS = st.sampled_from(["", "um ", "uh ", "well ", "honestly ", "no, ", "yeah so "])
_TAILS = st.sampled_from(["", ".", " at all", " right now", " or anything", " thankfully"])


@given(st.sampled_from(SINGLE_SYMPTOMS), _LEAD_INS, _TAILS, st.booleans())
def test_prefixing_no_removes_the_flag(
    case: tuple[str, RedFlag], lead_in: str, tail: str, bare: bool
) -> None:
    phrase, flag = case
    said = f"{lead_in}{phrase}{tail}"
    denied = f"{lead_in}no {phrase}{tail}"
    if bare:
        said, denied = stt(said), stt(denied)
    if not lead_in.startswith("no"):
        assert flag in flags(said)
    assert flag not in flags(denied)


@settings(max_examples=300)
@given(st.text(max_size=400), st.one_of(st.none(), st.integers()), st.integers())
def test_guards_never_raise(text: str, pain: int | None, threshold: int) -> None:
    found = red_flags(text, pain=pain, threshold=threshold)
    assert found == [f for f in RedFlag if f in found]
    assert isinstance(wants_opt_out(text), bool)
    assert isinstance(clinical_advice(text), bool)
    assert check_utterance(text, pain=pain, threshold=threshold).red_flags == found


_WORDS = st.sampled_from(
    [
        "no",
        "not",
        "swelling",
        "swollen",
        "fever",
        "bleeding",
        "blood",
        "stop",
        "calling",
        "won't",
        "can't",
        "breathe",
        "swallow",
        "hit",
        "fell",
        "accident",
        "hives",
        "reaction",
        "my",
        "face",
        "neck",
        "eye",
        "spreading",
        "and",
        "or",
        "but",
        ",",
        ".",
        "the",
        "a",
        "i",
        "take",
        "ibuprofen",
        "rinse",
        "salt",
        "water",
        "it's",
        "normal",
        "you",
        "need",
        "root",
        "canal",
        "don't",
        "call",
        "me",
        "again",
        "um",
        "uh",
        "just",
        "like",
        "that's",
        "tooth",
        "gums",
    ]
)


@settings(max_examples=300)
@given(st.lists(_WORDS, max_size=40))
def test_word_soup_never_raises_and_flags_stay_ordered(words: list[str]) -> None:
    text = " ".join(words)
    found = red_flags(text, pain=None)
    assert found == [f for f in RedFlag if f in found]
    assert len(found) == len(set(found))
    wants_opt_out(text)
    clinical_advice(text)


_EVERY_PHRASE = [
    *(text for _, text in _POSITIVE_CASES),
    *(text for _, text in _NEGATIVE_CASES),
    *DENIALS,
    *(text for text, _ in SINGLE_SYMPTOMS),
    *OPT_OUTS,
    *NOT_OPT_OUTS,
]


@pytest.mark.parametrize("text", _EVERY_PHRASE)
def test_the_word_gate_never_hides_a_match(text: str) -> None:
    # The gate is only a speed-up: gated and ungated scans must find the same mentions.
    for variant in (text, stt(text), text.upper()):
        norm = normalise(variant)
        assert _hits(norm) == _hits(norm, gated=False)


@settings(max_examples=300)
@given(st.lists(_WORDS, max_size=40))
def test_the_word_gate_never_hides_a_match_in_word_soup(words: list[str]) -> None:
    norm = normalise(" ".join(words))
    assert _hits(norm) == _hits(norm, gated=False)
