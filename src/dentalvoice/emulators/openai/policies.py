"""Reply policies for the fake OpenAI server: what it "says" to a request. None is a model.

A policy is any callable `policy(request: ChatRequest) -> PolicyReply`. `EchoPolicy` and
`FixedPolicy` give unit tests exact replies; `ScriptFollowingPolicy` is a deterministic stand-in
for a model, good enough to drive `OpenAIAgent` through a whole qualification call with simple
keyword rules. It understands only the prompt `dentalvoice.conversation.llm.prompt` builds and
plain, cooperative answers; it is a test fixture, not a model, and proves nothing about how a
real model would behave.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dentalvoice.conversation import nlu
from dentalvoice.conversation.llm.prompt import RECORDED_PREFIX
from dentalvoice.conversation.negation import is_negated

# -- the request and the reply --------------------------------------------------------------


class ChatMessage(BaseModel):
    """One message of a chat completions request, loosely typed as the wire allows."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        """The message's text, with content parts joined."""
        if isinstance(self.content, str):
            return self.content
        if self.content is None:
            return ""
        return "".join(str(part.get("text", "")) for part in self.content)


class ChatRequest(BaseModel):
    """The body of `POST /v1/chat/completions`, the fields the fake uses; others are kept."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    stream_options: dict[str, Any] | None = None

    @property
    def system_prompt(self) -> str:
        """The first system (or developer) message's text, or an empty string."""
        first = next((m for m in self.messages if m.role in ("system", "developer")), None)
        return first.text if first is not None else ""

    @property
    def last_user_message(self) -> str | None:
        """The latest user message's text, if any."""
        last = next((m for m in reversed(self.messages) if m.role == "user"), None)
        return last.text if last is not None else None

    @property
    def tool_names(self) -> list[str]:
        """The names of the function tools offered."""
        return [str(t.get("function", {}).get("name", "")) for t in self.tools or []]


@dataclass(frozen=True, slots=True)
class PolicyReply:
    """What the fake answers: spoken content and tool calls as (name, arguments).

    Arguments are a dict (sent as JSON) or a string sent verbatim, to test malformed JSON.
    """

    content: str = ""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)


Policy = Callable[[ChatRequest], PolicyReply]


# -- unit-test policies ---------------------------------------------------------------------


class EchoPolicy:
    """Says back the last user message: "You said: ...". No tool calls."""

    def __call__(self, request: ChatRequest) -> PolicyReply:
        """Reply to one request."""
        heard = (request.last_user_message or "").strip().rstrip(".!?")
        return PolicyReply(content=f"You said: {heard}." if heard else "Hello.")


class FixedPolicy:
    """Gives the replies it was made with, in order, then repeats the last one."""

    def __init__(self, *replies: PolicyReply) -> None:
        if not replies:
            raise ValueError("FixedPolicy needs at least one reply")
        self.replies = list(replies)
        self.calls = 0

    def __call__(self, request: ChatRequest) -> PolicyReply:
        """Reply to one request."""
        reply = self.replies[min(self.calls, len(self.replies) - 1)]
        self.calls += 1
        return reply


# -- the script-following stand-in ----------------------------------------------------------

_CHECKLIST_ITEM = re.compile(r"^\d+\. \[(\w+)\] (.+)$")
_FREE_SLOT = re.compile(r"^- (.+) = (\d{4}-\d\d-\d\dT\S+)$")
_THRESHOLD = re.compile(r"Pain of (\d+) out of 10")
_TRANSFER_NO = "can take a transfer right now: no"
_OFFER_ASK = "Would either of those work?"
# The script's offer of one other slot, when the chosen one was just taken.
_REOFFER_ASK = "Would that time work?"
_CONFIRM_ASK = "Did I get that right?"

_YES = re.compile(r"\b(yes|yeah|yep|yup|sure|correct|right|absolutely|of course|ok|okay|fine)\b")
_NO = re.compile(r"\b(no|nope|nah|not|never|none|don'?t|haven'?t|nothing)\b")
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_NUMBER = re.compile(r"\b(10|[0-9]|" + "|".join(_NUMBER_WORDS) + r")\b")
_CARRIERS = {
    r"delta dental": "Delta Dental",
    r"cigna": "Cigna",
    r"aetna": "Aetna",
    r"met ?life": "MetLife",
    r"guardian": "Guardian",
    r"humana": "Humana",
    r"united ?healthcare|uhc": "UnitedHealthcare",
    r"united concordia": "United Concordia",
    r"blue cross|blue shield|bcbs": "Blue Cross Blue Shield",
    r"anthem": "Anthem",
    r"ameritas": "Ameritas",
    r"medicaid": "Medicaid",
}
_TREATMENTS = {
    r"clean|check ?-?up|exam": "cleaning_checkup",
    r"implant": "implants",
    r"whiten": "whitening",
    r"veneer": "veneers",
    r"crown|bridge": "crowns_bridges",
    r"root canal": "root_canal",
    r"extract|pull|wisdom": "extraction",
    r"denture": "dentures",
    r"aligner|invisalign|braces|straighten": "aligners",
    r"pain|hurt|ache": "emergency_pain",
    r"\b(kid|child|son|daughter)": "pediatric",
}
_RED_FLAGS = {
    r"bleed": "uncontrolled_bleeding",
    r"breath|swallow": "breathing_or_swallowing",
    r"fever": "swelling_with_fever",
    r"swell": "spreading_swelling",
    r"injur|accident|knocked|broke": "trauma",
}
# Slots whose answer is kept in the qualification, so a recorded value means "already asked".
_RECORDED_BY = {
    "identity": ("identity_confirmed",),
    "reason": ("chief_complaint", "treatment_interest"),
    "pain": ("pain_level",),
    "last_visit": ("last_visit",),
    "new_patient": ("new_patient",),
    "availability": ("availability",),
    "offer": ("preferred_slot",),
}


@dataclass(slots=True)
class _Heard:
    """What one answer told the policy."""

    facts: dict[str, Any] = field(default_factory=dict)  # record_qualification arguments
    booked: str | None = None  # the ISO start of the slot the caller chose
    final: PolicyReply | None = None  # a reply that ends the call (goodbye or transfer)


@dataclass(slots=True)
class _Prompt:
    checklist: list[tuple[str, str]]
    free_slots: list[tuple[str, str]]  # (spoken, ISO)
    recorded: dict[str, Any]
    threshold: int
    transfer_available: bool


def _read_prompt(text: str) -> _Prompt:
    checklist: list[tuple[str, str]] = []
    slots: list[tuple[str, str]] = []
    recorded: dict[str, Any] = {}
    for line in text.splitlines():
        if item := _CHECKLIST_ITEM.match(line):
            checklist.append((item[1], item[2]))
        elif slot := _FREE_SLOT.match(line):
            slots.append((slot[1], slot[2]))
        elif line.startswith(RECORDED_PREFIX):
            recorded = json.loads(line.removeprefix(RECORDED_PREFIX))
    threshold = _THRESHOLD.search(text)
    return _Prompt(
        checklist=checklist,
        free_slots=slots,
        recorded=recorded,
        threshold=int(threshold[1]) if threshold else 8,
        transfer_available=_TRANSFER_NO not in text,
    )


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def yes_no(text: str) -> str | None:
    """ "yes", "no" or None, by whichever word comes first."""
    lowered = text.lower()
    yes, no = _YES.search(lowered), _NO.search(lowered)
    if yes and (not no or yes.start() < no.start()):
        return "yes"
    return "no" if no else None


def pain_number(text: str) -> int | None:
    """A 0-10 pain score from digits or number words; "no pain" is 0."""
    lowered = text.lower()
    if found := _NUMBER.search(lowered):
        word = found[1]
        return _NUMBER_WORDS[word] if word in _NUMBER_WORDS else int(word)
    return 0 if yes_no(lowered) == "no" else None


def carrier(text: str) -> str | None:
    """A known insurance carrier named in the text, normalised."""
    lowered = text.lower()
    return next((name for pat, name in _CARRIERS.items() if re.search(pat, lowered)), None)


class ScriptFollowingPolicy:
    """A deterministic stand-in for a model that follows the agent's checklist. NOT a model.

    From the system prompt it reads the checklist, the free slots and the recorded JSON; from
    the messages, which checklist question the agent asked last and what the caller answered.
    It records what it understood with `record_qualification`, transfers on pain at or above
    the prompt's threshold or a red flag, books a slot the caller picks, and ends the call with
    `set_outcome` + `end_call` once every question has an answer. Otherwise it asks the next
    open question.
    """

    def __call__(self, request: ChatRequest) -> PolicyReply:
        """Reply to one request."""
        prompt = _read_prompt(request.system_prompt)
        asked, answer = self._last_exchange(request, prompt)
        answered = self._answered(request, prompt)
        if answer is None:
            return self._next(prompt, answered, _Heard(), "Sorry, I didn't catch that.", asked)
        heard = self._understand(asked, answer, prompt)
        if heard.final is not None:
            return heard.final
        if asked is not None:
            answered.add(asked)
        preface = "Thanks." if heard.facts or heard.booked else "Okay."
        if nlu.Intent.CLINICAL_QUESTION in nlu.intents(answer):
            preface = "That's a good question for the dentist at your visit. " + preface
        return self._next(prompt, answered, heard, preface, None)

    # -- reading the conversation -----------------------------------------------------------

    def _asked_in(self, text: str, prompt: _Prompt) -> str | None:
        said = _squash(text)
        asked = None
        for slot, question in prompt.checklist:
            marker = {"offer": _OFFER_ASK, "confirm": _CONFIRM_ASK}.get(slot, question)
            if _squash(marker) in said or (slot == "offer" and _squash(_REOFFER_ASK) in said):
                asked = slot
        return asked

    def _spoken(self, request: ChatRequest) -> list[tuple[str, str]]:
        """(role, text) of the conversation: spoken turns and silence notes, no tool traffic."""
        turns: list[tuple[str, str]] = []
        for message in request.messages[1:]:
            if message.role in ("user", "assistant", "system") and message.text:
                turns.append((message.role, message.text))
        return turns

    def _last_exchange(
        self, request: ChatRequest, prompt: _Prompt
    ) -> tuple[str | None, str | None]:
        turns = self._spoken(request)
        answer = turns[-1][1] if turns and turns[-1][0] == "user" else None
        asked = next(
            (self._asked_in(t, prompt) for role, t in reversed(turns) if role == "assistant"),
            None,
        )
        return asked, answer

    def _answered(self, request: ChatRequest, prompt: _Prompt) -> set[str]:
        answered: set[str] = set()
        pending: str | None = None
        turns = self._spoken(request)
        for role, text in turns[:-1]:  # the last turn is the one being answered now
            if role == "assistant":
                pending = self._asked_in(text, prompt)
            elif role == "user" and pending is not None:
                answered.add(pending)
                pending = None
        return answered

    # -- understanding one answer -----------------------------------------------------------

    def _understand(self, asked: str | None, answer: str, prompt: _Prompt) -> _Heard:
        text = answer.lower()
        heard = _Heard()
        facts = heard.facts
        if asked == "good_time" and yes_no(text) == "no":
            heard.final = _goodbye("No problem, we'll try you another time.", "incomplete")
            return heard
        if asked == "identity":
            facts["identity_confirmed"] = yes_no(text) != "no"
            if not facts["identity_confirmed"]:
                heard.final = _goodbye("Sorry to bother you.", "incomplete", facts)
                return heard
        elif asked == "reason":
            facts["chief_complaint"] = answer.strip().rstrip(".!")[:120]
            treatment = next((t for p, t in _TREATMENTS.items() if re.search(p, text)), "other")
            facts["treatment_interest"] = treatment
        elif asked == "pain":
            pain = pain_number(text)
            if pain is not None:
                facts["pain_level"] = pain
                if pain >= prompt.threshold:
                    heard.final = self._emergency(prompt, facts, f"Pain {pain}/10.")
        elif asked == "red_flags":
            flags = [
                flag
                for pat, flag in _RED_FLAGS.items()
                if (m := re.search(pat, text)) and not is_negated(text, m.start())
            ]
            if flags:
                facts["red_flags"] = sorted(set(flags))
                heard.final = self._emergency(prompt, facts, "Red flags reported.")
        elif asked == "last_visit":
            facts["last_visit"] = answer.strip().rstrip(".!")[:100]
        elif asked == "new_patient":
            if re.search(r"\b(new|never)\b", text):
                facts["new_patient"] = True
            elif re.search(r"\b(before|existing|returning|already)\b", text):
                facts["new_patient"] = False
            elif (said := yes_no(text)) is not None:
                facts["new_patient"] = said == "no"
        elif asked == "insurance":
            name = carrier(text)
            if name is not None:
                facts["insurance"] = {"status": "has", "carrier": name}
            elif "not sure" in text or "don't know" in text:
                facts["insurance"] = {"status": "unsure"}
            elif yes_no(text) is not None:
                facts["insurance"] = {"status": "has" if yes_no(text) == "yes" else "none"}
        elif asked == "availability":
            # A model reads "I work weekdays, so Saturday mornings" as Saturday mornings; the
            # project's NLU does too, so the stand-in borrows it here.
            found = nlu.availability(answer, now=datetime.now(UTC))
            if found is not None:
                facts["availability"] = found.model_dump(mode="json")
        elif asked == "offer":
            heard.booked = self._chosen_slot(text, prompt)
        # A carrier named out of turn is still a fact worth recording.
        if asked != "insurance" and (name := carrier(text)) is not None:
            facts["insurance"] = {"status": "has", "carrier": name}
        return heard

    def _chosen_slot(self, text: str, prompt: _Prompt) -> str | None:
        offered = prompt.free_slots[:2]
        if not offered:
            return None
        if re.search(r"\b(second|later|last|other)\b", text) and len(offered) > 1:
            return offered[1][1]
        if re.search(r"\b(first|earlier|yes|sure|either|that works)\b", text):
            return offered[0][1]
        return None

    def _emergency(self, prompt: _Prompt, facts: dict[str, Any], summary: str) -> PolicyReply:
        record: tuple[str, dict[str, Any] | str] = ("record_qualification", dict(facts))
        if not prompt.transfer_available:
            return PolicyReply(
                content="That sounds urgent. I've flagged it for the team, and they will call you "
                "first thing. If it gets worse, please call 911.",
                tool_calls=[
                    record,
                    ("set_outcome", {"outcome": "emergency_after_hours"}),
                    ("end_call", {}),
                ],
            )
        return PolicyReply(
            content="That sounds urgent, so I'm connecting you with our team right now. "
            "Please stay on the line.",
            tool_calls=[record, ("transfer_call", {"reason": "emergency", "summary": summary})],
        )

    # -- what to say next -------------------------------------------------------------------

    def _next(
        self,
        prompt: _Prompt,
        answered: set[str],
        heard: _Heard,
        preface: str,
        repeat: str | None,
    ) -> PolicyReply:
        calls: list[tuple[str, dict[str, Any] | str]] = []
        if heard.facts:
            calls.append(("record_qualification", dict(heard.facts)))
        known = {**prompt.recorded, **heard.facts}
        if heard.booked is not None:
            calls.append(("book_slot", {"start": heard.booked}))
            known["preferred_slot"] = heard.booked
            spoken = next(s for s, iso in prompt.free_slots if iso == heard.booked)
            preface = f"{preface} You're booked for {spoken}."
        slot = repeat or self._open_slot(prompt, answered, known)
        if slot is None:
            outcome = "booked" if known.get("preferred_slot") else "qualified"
            return PolicyReply(
                content=f"{preface} That's everything I need. The team will be in touch soon. "
                "Have a great day!",
                tool_calls=[*calls, ("set_outcome", {"outcome": outcome}), ("end_call", {})],
            )
        return PolicyReply(
            content=f"{preface} {self._question(slot, prompt, known)}", tool_calls=calls
        )

    def _open_slot(self, prompt: _Prompt, answered: set[str], known: dict[str, Any]) -> str | None:
        for slot, _ in prompt.checklist:
            if slot in answered:
                continue
            if slot == "offer" and not prompt.free_slots:
                continue
            if any(_has(known.get(name)) for name in _RECORDED_BY.get(slot, ())):
                continue
            if slot == "insurance" and _has((known.get("insurance") or {}).get("status")):
                continue
            return slot
        return None

    def _question(self, slot: str, prompt: _Prompt, known: dict[str, Any]) -> str:
        if slot == "offer":
            first, second = (prompt.free_slots * 2)[:2]
            if first == second:
                return f"I have {first[0]}. {_OFFER_ASK}"
            return f"I have {first[0]} or {second[0]}. {_OFFER_ASK}"
        if slot == "confirm":
            return f"Here's what I have: {_summary(known)} {_CONFIRM_ASK}"
        return dict(prompt.checklist)[slot]


def _has(value: object) -> bool:
    return value is not None and value != [] and value != {}


def _goodbye(line: str, outcome: str, facts: dict[str, Any] | None = None) -> PolicyReply:
    calls: list[tuple[str, dict[str, Any] | str]] = []
    if facts:
        calls.append(("record_qualification", dict(facts)))
    calls += [("set_outcome", {"outcome": outcome}), ("end_call", {})]
    return PolicyReply(content=f"{line} Goodbye.", tool_calls=calls)


def _summary(known: dict[str, Any]) -> str:
    parts: list[str] = []
    if known.get("chief_complaint"):
        parts.append(f"you called about {known['chief_complaint'].rstrip('.!?')}")
    if known.get("pain_level") is not None:
        parts.append(f"pain at {known['pain_level']} out of 10")
    insurance = known.get("insurance") or {}
    if insurance.get("carrier"):
        parts.append(f"insurance with {insurance['carrier']}")
    elif insurance.get("status") == "none":
        parts.append("no insurance")
    if known.get("new_patient") is not None:
        parts.append(
            "you'd be a new patient" if known["new_patient"] else "you've been here before"
        )
    return ("So " + ", ".join(parts) + ".") if parts else "I have your details."
