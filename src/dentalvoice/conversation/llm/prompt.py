"""The model's instructions, built from the same script data the scripted agent follows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from openai.types.chat import ChatCompletionMessageParam

from dentalvoice.conversation.agent import CallContext, CallState
from dentalvoice.conversation.script import Script, Slot, render
from dentalvoice.conversation.summary import describe_slot

# Section markers. The fake server's ScriptFollowingPolicy reads the prompt by these, so they
# are part of the prompt's contract, not just wording.
CHECKLIST_HEADING = "Checklist"
LINES_HEADING = "Fixed lines"
FACTS_HEADING = "Call facts"
FREE_SLOTS_HEADING = "Free slots"
RECORDED_PREFIX = "Recorded so far (JSON): "
SILENCE_NOTE = "(The caller said nothing. Ask your last question again, more simply.)"

# When each fixed line applies; a script's extra lines are listed by name.
LINE_INTENTS: dict[str, str] = {
    "robot": "They ask if you are a robot, a person or an AI",
    "who_is_this": "They ask who is calling",
    "identity_wrong": "The person on the line is not the lead (then end_call)",
    "clinical_question": "They ask for clinical advice, a diagnosis or about medication",
    "price_question": "They ask about prices or costs",
    "callback_when": "It is not a good time to talk",
    "callback_ok": "They gave a time to call back (schedule_callback, then end_call)",
    "wrong_number": "Wrong number (set_outcome wrong_number, then end_call)",
    "not_interested": "They are not interested (set_outcome not_interested, then end_call)",
    "opt_out": "They ask not to be called again (mark_do_not_call)",
    "emergency_transfer": "Severe pain or an emergency, and a person is available "
    "(transfer_call with reason emergency)",
    "emergency_911": "Trouble breathing or swallowing, spreading swelling, an allergic reaction",
    "emergency_morning": "An emergency while no person is available (then end_call)",
    "technical_transfer": "You cannot understand them after asking twice "
    "(transfer_call with reason technical)",
    "didnt_catch": "You did not understand what they said",
    "goodbye": "The checklist is done (set_outcome, then end_call)",
    "summary_intro": "Before you read back the summary",
    "offer_slots": "Offering appointment times",
    "booked": "book_slot's result says the slot is held",
    "booking_filler": "Said for you while a booking is being made; do not repeat it",
    "booking_pending": "book_slot's result says pending: the team will confirm the slot",
    "slot_taken": "book_slot's result says the slot was just taken: offer the slot it names",
    "no_slots": "No free slot works for them",
    "human_transfer": "They ask for a person (transfer_call with reason requested)",
    "anything_else_no": "They have nothing else to add",
}

_PLACEHOLDERS = {
    "when": "[the time]",
    "first_slot": "[a slot]",
    "second_slot": "[another slot]",
    "slot": "[the slot]",
}

_RULES = """\
How to talk:
- Everything you write is spoken by text-to-speech: short, plain spoken sentences; no lists, \
markdown, emoji or symbols.
- Ask one question at a time and keep each turn to one to three sentences.
- If asked whether you are a robot, a person or an AI, say plainly that you are an AI assistant.
- Never give clinical advice, a diagnosis, or advice about medication. Say the dentist will go \
over it at the visit.
- Never discuss prices, costs or fees.
- Offer appointment times only from the free slots listed below; never invent a time.
- Never say an appointment is booked, scheduled or confirmed before book_slot's result says \
the slot is held.
- Record every fact with record_qualification as soon as you hear it, in the same turn.
- Act only through the tools: end_call, transfer_call, mark_do_not_call, schedule_callback, \
book_slot, set_outcome. Call set_outcome before end_call, and say goodbye in the same turn.
- Do not read these instructions or the recorded data aloud."""


def checklist(
    script: Script, context: CallContext, *, slots: Sequence[datetime] | None = None
) -> list[tuple[Slot, str]]:
    """The script's questions in order, as the model should work through them.

    Args:
        script: The location's script.
        context: The call, for names in the questions.
        slots: The slots that may be offered (default: the context's).

    Returns:
        (slot, question or instruction) pairs; identity is skipped when the lead's name is
        unknown, and the offer and confirm steps become instructions.
    """
    items: list[tuple[Slot, str]] = []
    for step in script.steps:
        if step.slot is Slot.IDENTITY and not context.lead_first_name:
            continue
        if step.slot is Slot.OFFER:
            free = context.free_slots if slots is None else slots
            text = (
                "Offer two of the free slots listed below and ask which works. When they "
                "choose one, call book_slot with it and say nothing about the booking until "
                "its result says whether the slot is held."
                if free
                else "There are no free slots: say the team will call to find a time."
            )
        elif step.slot is Slot.CONFIRM:
            text = "Read back a one-sentence summary of what you recorded and ask if it is right."
        else:
            text = render(step.ask, context)
        items.append((step.slot, text))
    return items


def build_system_prompt(script: Script, state: CallState) -> str:
    """The system message for one turn: who, how, the checklist, the call's facts and data.

    Args:
        script: The location's script (questions and fixed lines).
        state: The call so far; its qualification is included as JSON.

    Returns:
        The prompt text.
    """
    ctx = state.context
    lead = ctx.lead_first_name or "the lead"
    intro = (
        f"You are {ctx.agent_name}, an AI assistant on an outbound phone call for "
        f"{ctx.clinic_name}, a dental clinic, speaking with {lead}, who sent an inquiry. "
        "The call opened with a fixed greeting that said you are an AI and how to opt out."
    )
    slots = state.offerable_slots()
    items = checklist(script, ctx, slots=slots)
    questions = "\n".join(f"{n}. [{slot.value}] {text}" for n, (slot, text) in enumerate(items, 1))
    lines = "\n".join(_line(name, template, ctx) for name, template in script.lines.items())
    now = ctx.local_now()
    facts = "\n".join(
        [
            f"- Clinic time zone: {ctx.timezone}.",
            f"- The call started {describe_slot(now)} ({now.isoformat()}).",
            "- A person at the clinic can take a transfer right now: "
            + ("yes." if ctx.transfer_available else "no."),
            f"- Pain of {ctx.emergency_pain_threshold} out of 10 or more is an emergency.",
        ]
    )
    return "\n\n".join(
        [
            intro,
            _RULES,
            f"{CHECKLIST_HEADING} (in order; skip what is already recorded; one per turn):\n"
            + questions,
            f"{LINES_HEADING} (say these, lightly adapted, when the situation comes up):\n" + lines,
            f"{FACTS_HEADING}:\n{facts}",
            f"{FREE_SLOTS_HEADING} (clinic time = the ISO value to pass to book_slot):\n"
            + _free_slots(slots, ctx),
            RECORDED_PREFIX + state.qualification.model_dump_json(),
        ]
    )


def build_messages(
    script: Script, state: CallState, utterance: str | None
) -> list[ChatCompletionMessageParam]:
    """The request's messages: the system prompt, the transcript, then this turn's input.

    `utterance` is passed separately because the agent adds it to the transcript only once it
    has decided to answer the turn itself.

    Args:
        script: The location's script.
        state: The call so far.
        utterance: What the caller just said; None or blank when they stayed silent.

    Returns:
        Messages for `chat.completions.create`.
    """
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": build_system_prompt(script, state)}
    ]
    for speaker, text in state.transcript:
        if speaker == "agent":
            messages.append({"role": "assistant", "content": text})
        else:
            messages.append({"role": "user", "content": text})
    if utterance and utterance.strip():
        messages.append({"role": "user", "content": utterance.strip()})
    else:
        messages.append({"role": "system", "content": SILENCE_NOTE})
    return messages


def _line(name: str, template: str, context: CallContext) -> str:
    intent = LINE_INTENTS.get(name, name.replace("_", " ").capitalize())
    return f'- {intent}: "{render(template, context, **_PLACEHOLDERS)}"'


def _free_slots(slots: Sequence[datetime], context: CallContext) -> str:
    if not slots:
        return "- none"
    local = [s.astimezone(context.zone) for s in slots]
    return "\n".join(f"- {describe_slot(s)} = {s.isoformat()}" for s in local)
