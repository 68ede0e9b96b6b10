"""Taking an agent's turn back: a checkpoint restores the state every agent shares."""

from __future__ import annotations

from dentalvoice.conversation.agent import CallState, collect
from dentalvoice.conversation.factory import build_agent
from dentalvoice.conversation.script import load_script
from tests.conversation.test_scripted import context


def _snapshot(state: CallState) -> tuple[object, ...]:
    return (
        state.qualification.model_dump(),
        list(state.transcript),
        list(state.actions),
        state.finished,
        state.caller_turns,
    )


async def test_a_restored_scripted_agent_answers_as_if_the_turn_never_happened() -> None:
    script = load_script(None)
    first = build_agent(context=context(), script=script)
    twin = build_agent(context=context(), script=script)
    for agent in (first, twin):
        await collect(agent.opening())
        await collect(agent.respond("Yes, this is her."))

    saved = first.checkpoint()
    before = _snapshot(first.state)
    half = await collect(first.respond("Sure,"))
    assert _snapshot(first.state) != before

    first.restore(saved)
    assert _snapshot(first.state) == before
    # The agent's own memory (what it asked, what is done) went back too: the whole utterance
    # is now answered exactly as by an agent that never heard the half.
    whole = await collect(first.respond("Sure, I have a toothache, it hurts a lot"))
    expected = await collect(twin.respond("Sure, I have a toothache, it hurts a lot"))
    assert whole == expected
    assert _snapshot(first.state) == _snapshot(twin.state)
    assert half != whole


def test_keep_heard_leaves_only_what_the_caller_heard_of_the_agents_lines() -> None:
    state = CallState(context=context())
    state.transcript[:] = [("agent", "Hi."), ("caller", "hello")]
    since = len(state.transcript)
    state.transcript += [("caller", "I have a toothache"), ("agent", "Sorry. How bad? 0 to 10?")]

    state.keep_heard(since=since, heard="Sorry.")
    assert state.transcript[since:] == [("caller", "I have a toothache"), ("agent", "Sorry.")]

    state.keep_heard(since=since, heard="")
    assert state.transcript == [
        ("agent", "Hi."),
        ("caller", "hello"),
        ("caller", "I have a toothache"),
    ]
