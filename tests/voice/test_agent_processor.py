"""The agent inside the pipeline, driven by frames alone (no audio, no models)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndWorkerFrame,
    InterruptionFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.tests.utils import SleepFrame, run_test

from dentalvoice.conversation.agent import (
    Action,
    Agent,
    CallContext,
    CallState,
    Do,
    EndCall,
    MarkDoNotCall,
    Say,
    Transfer,
    TransferReason,
    TurnEvent,
)
from dentalvoice.voice import agent_processor
from dentalvoice.voice.agent_processor import AgentProcessor
from dentalvoice.voice.playback import PausePlaybackFrame, ResumePlaybackFrame
from dentalvoice.voice.utterance import UtteranceStartFrame, UtteranceTranscriptionFrame


def a_context() -> CallContext:
    return CallContext(
        clinic_name="Test Dental", timezone="America/New_York", now=datetime.now(UTC)
    )


class ListAgent(Agent):
    """Says its opening, then answers every turn with `reply`, recording what it heard."""

    def __init__(self, *, opening: list[TurnEvent], reply: list[TurnEvent]) -> None:
        super().__init__(CallState(context=a_context()))
        self._opening = opening
        self._reply = reply
        self.heard: list[str | None] = []

    async def opening(self) -> AsyncIterator[TurnEvent]:  # type: ignore[override]
        for event in self._opening:
            yield event

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:  # type: ignore[override]
        self.heard.append(utterance)
        for event in self._reply:
            yield event


class Timeline(BaseObserver):
    """The order things happened in: frames the agent processor pushed, and actions."""

    def __init__(self, processor: list[AgentProcessor]) -> None:
        super().__init__()
        self._processor = processor
        self.events: list[str] = []

    async def on_push_frame(self, data: FramePushed) -> None:
        if not data.first_push:
            return
        if isinstance(data.frame, BotStoppedSpeakingFrame):  # sent in by the test
            self.events.append("played")
        if data.source is not self._processor[0]:
            return
        if isinstance(data.frame, TTSSpeakFrame):
            self.events.append(f"say:{data.frame.text}")
        elif isinstance(data.frame, EndWorkerFrame):
            self.events.append("end")
        elif isinstance(data.frame, PausePlaybackFrame):
            self.events.append("hold")
        elif isinstance(data.frame, ResumePlaybackFrame):
            self.events.append("resume")
        elif isinstance(data.frame, InterruptionFrame):
            self.events.append("cut")


def played(sentences: int) -> list[object]:
    """The output reporting `sentences` sentences played whole."""
    return [
        f() for _ in range(sentences) for f in (BotStartedSpeakingFrame, BotStoppedSpeakingFrame)
    ]


def caller_turn(text: str) -> list[object]:
    return [
        UserStartedSpeakingFrame(),
        TranscriptionFrame(text, "caller", "2026-12-02T10:00:00Z", finalized=True),
        SleepFrame(0.1),
        UserStoppedSpeakingFrame(),
    ]


async def run(agent: Agent, frames: list[object]) -> tuple[list[str], list[Action]]:
    done: list[Action] = []
    holder: list[AgentProcessor] = []
    timeline = Timeline(holder)

    async def sink(action: Action) -> None:
        done.append(action)
        timeline.events.append(f"do:{type(action).__name__}")

    processor = AgentProcessor(agent=agent, on_action=sink)
    holder.append(processor)
    await run_test(
        processor,
        frames_to_send=frames,  # type: ignore[arg-type]
        observers=[timeline],
        send_end_frame=True,
    )
    return timeline.events, done


async def test_the_opening_is_spoken_first_and_a_turn_reaches_the_agent_whole() -> None:
    agent = ListAgent(opening=[Say("Hi."), Say("Is now good?")], reply=[Say("Great.")])

    events, _ = await run(
        agent,
        [
            SleepFrame(0.05),
            *played(2),
            UserStartedSpeakingFrame(),
            TranscriptionFrame("yes it", "caller", "2026-12-02T10:00:00Z", finalized=True),
            TranscriptionFrame("is", "caller", "2026-12-02T10:00:01Z", finalized=True),
            # Turn frames are system frames and overtake queued transcripts; in the pipeline
            # the turn ends only once its transcript is in.
            SleepFrame(0.1),
            UserStoppedSpeakingFrame(),
            SleepFrame(0.2),
        ],
    )

    assert events == ["say:Hi.", "say:Is now good?", "played", "played", "say:Great."]
    assert agent.heard == ["yes it is"]


async def test_a_transfer_waits_until_its_message_has_played() -> None:
    agent = ListAgent(
        opening=[],
        reply=[
            Say("I'm connecting you with the team now."),
            Do(Transfer(reason=TransferReason.REQUESTED, summary="asked for a person")),
        ],
    )

    events, done = await run(
        agent,
        # The message's audio takes a while to play; the transfer must not cut it off.
        [*caller_turn("can I talk to a person"), SleepFrame(0.3), BotStoppedSpeakingFrame()],
    )

    assert events == ["say:I'm connecting you with the team now.", "played", "do:Transfer"]
    assert [type(a) for a in done] == [Transfer]


async def test_an_interruption_mutes_the_rest_of_the_reply_but_not_its_actions() -> None:
    agent = ListAgent(
        opening=[],
        reply=[Say("Understood."), Do(MarkDoNotCall()), Say("Goodbye."), Do(EndCall())],
    )

    events, done = await run(
        agent,
        [*caller_turn("stop calling me"), InterruptionFrame(), SleepFrame(0.2)],
    )

    # The do-not-call is carried out whatever the caller heard; the call still ends.
    assert [type(a) for a in done] == [MarkDoNotCall, EndCall]
    assert "do:MarkDoNotCall" in events and events[-1] == "end"


# -- the caller speaking over the agent ---------------------------------------------------


class TalkingAgent(Agent):
    """Keeps a transcript and counts turns as the real agents do; answers each turn with
    `replies[utterance]` (default: "Noted."), opening with `opening`."""

    def __init__(self, *, opening: list[str], replies: dict[str, list[TurnEvent]]) -> None:
        super().__init__(CallState(context=a_context()))
        self._opening = opening
        self._replies = replies
        self.heard: list[str | None] = []

    async def opening(self) -> AsyncIterator[TurnEvent]:  # type: ignore[override]
        self.state.transcript.append(("agent", " ".join(self._opening)))
        for sentence in self._opening:
            yield Say(sentence)

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:  # type: ignore[override]
        self.heard.append(utterance)
        self.state.caller_turns += 1
        self.state.transcript.append(("caller", utterance or ""))
        events = self._replies.get(utterance or "", [Say("Noted.")])
        said = [e.text for e in events if isinstance(e, Say)]
        self.state.transcript.append(("agent", " ".join(said)))
        for event in events:
            yield event


def speaks_over(text: str) -> list[object]:
    """The caller says `text` while the agent's audio is playing."""
    return [*caller_turn(text), SleepFrame(0.1)]


OPENING = ["Hi, this is Ava.", "I'm an AI assistant.", "Is now a good time?"]


async def test_a_backchannel_holds_the_agent_then_lets_it_play_on() -> None:
    agent = TalkingAgent(opening=OPENING, replies={})

    events, _ = await run(
        agent,
        [SleepFrame(0.05), BotStartedSpeakingFrame(), *speaks_over("Mm-hmm.")],
    )

    assert events == [*(f"say:{s}" for s in OPENING), "hold", "resume"]
    assert agent.heard == []  # a murmur is not a turn
    assert agent.state.transcript == [("agent", " ".join(OPENING))]


async def test_a_yes_over_the_last_sentence_answers_it() -> None:
    agent = TalkingAgent(opening=OPENING, replies={})

    events, _ = await run(
        agent,
        [SleepFrame(0.05), *[BotStartedSpeakingFrame() for _ in OPENING], *speaks_over("Yeah.")],
    )

    assert events == [*(f"say:{s}" for s in OPENING), "hold", "cut", "say:Noted."]
    assert agent.heard == ["Yeah."]


async def test_a_barge_in_drops_the_rest_and_the_transcript_keeps_what_was_heard() -> None:
    agent = TalkingAgent(opening=OPENING, replies={})

    events, _ = await run(
        agent,
        [SleepFrame(0.05), BotStartedSpeakingFrame(), *speaks_over("Wait, who is this?")],
    )

    assert events == [*(f"say:{s}" for s in OPENING), "hold", "cut", "say:Noted."]
    assert agent.state.transcript == [
        ("agent", "Hi, this is Ava."),  # the caller cut in during the first sentence
        ("caller", "Wait, who is this?"),
        ("agent", "Noted."),
    ]


async def test_a_caller_going_on_after_a_pause_has_the_half_answer_taken_back() -> None:
    agent = TalkingAgent(opening=["Is now a good time?"], replies={"Sure,": [Say("Great.")]})

    events, _ = await run(
        agent,
        [
            SleepFrame(0.05),
            BotStartedSpeakingFrame(),
            BotStoppedSpeakingFrame(),
            *caller_turn("Sure,"),
            SleepFrame(0.05),
            # The caller goes on at once, while "Great." is still to be heard.
            *speaks_over("I have a minute."),
        ],
    )

    assert events[-4:] == ["say:Great.", "hold", "cut", "say:Noted."]
    assert agent.heard == ["Sure,", "Sure, I have a minute."]
    # The half answer left nothing behind: one caller turn, the whole utterance.
    assert agent.state.caller_turns == 1
    assert agent.state.transcript == [
        ("agent", "Is now a good time?"),
        ("caller", "Sure, I have a minute."),
        ("agent", "Noted."),
    ]


async def test_a_caller_answering_a_reply_they_heard_begin_is_not_going_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(agent_processor, "REACTION_S", 0.1)
    agent = TalkingAgent(opening=["Is now a good time?"], replies={"Sure,": [Say("Great.")]})

    events, _ = await run(
        agent,
        [
            SleepFrame(0.05),
            BotStartedSpeakingFrame(),
            BotStoppedSpeakingFrame(),
            *caller_turn("Sure,"),
            SleepFrame(0.05),
            # Still within the resume window, but "Great." has been playing for a while.
            BotStartedSpeakingFrame(),
            SleepFrame(0.2),
            *speaks_over("Sorry, what was that?"),
        ],
    )

    assert events[-4:] == ["say:Great.", "hold", "cut", "say:Noted."]
    assert agent.heard == ["Sure,", "Sorry, what was that?"]
    assert agent.state.caller_turns == 2


async def test_a_turn_is_answered_with_the_transcript_that_ended_it() -> None:
    agent = TalkingAgent(opening=[], replies={})

    await run(
        agent,
        [
            UserStartedSpeakingFrame(),
            TranscriptionFrame("No pain,", "caller", "2026-12-02T10:00:00Z", finalized=True),
            SleepFrame(0.1),
            # The last words end the turn: the turn's end is sent right behind them, and
            # overtakes them in the queue (a system frame).
            TranscriptionFrame("maybe a one.", "caller", "2026-12-02T10:00:01Z", finalized=True),
            UserStoppedSpeakingFrame(),
        ],
    )

    assert agent.heard == ["No pain, maybe a one."]


def whole_so_far(text: str) -> UtteranceTranscriptionFrame:
    """STT's transcript of the utterance so far, replacing the one before it."""
    return UtteranceTranscriptionFrame(
        text, "caller", "2026-12-02T10:00:02Z", finalized=True, replaces_previous=True
    )


async def test_a_transcript_of_the_utterance_so_far_replaces_the_one_before_it() -> None:
    agent = TalkingAgent(opening=[], replies={})

    await run(
        agent,
        [
            UserStartedSpeakingFrame(),
            TranscriptionFrame("Yes,", "caller", "2026-12-02T10:00:00Z", finalized=True),
            whole_so_far("Yes, I'd be new."),
            SleepFrame(0.1),
            UserStoppedSpeakingFrame(),
        ],
    )

    assert agent.heard == ["Yes, I'd be new."]


async def test_a_caller_going_on_is_answered_with_the_whole_utterance_transcribed_again() -> None:
    agent = TalkingAgent(opening=["Are you new to us?"], replies={"Yes,": [Say("Great.")]})

    await run(
        agent,
        [
            SleepFrame(0.05),
            BotStartedSpeakingFrame(),
            BotStoppedSpeakingFrame(),
            *caller_turn("Yes,"),
            SleepFrame(0.05),
            UserStartedSpeakingFrame(),
            whole_so_far("Yes, I'd be new."),
            SleepFrame(0.1),
            UserStoppedSpeakingFrame(),
            SleepFrame(0.1),
        ],
    )

    assert agent.heard == ["Yes,", "Yes, I'd be new."]  # not "Yes, Yes, I'd be new."
    assert agent.state.caller_turns == 1


async def test_stt_is_told_where_each_utterance_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_processor, "RESUME_WINDOW_S", 0.3)
    agent = TalkingAgent(opening=["Is now a good time?"], replies={"Sure,": [Say("Great.")]})

    _, up = await run_test(
        AgentProcessor(agent=agent),
        frames_to_send=[  # type: ignore[arg-type]
            SleepFrame(0.05),
            BotStartedSpeakingFrame(),
            BotStoppedSpeakingFrame(),
            *caller_turn("Sure,"),  # starts an utterance
            SleepFrame(0.05),
            *speaks_over("I have a minute."),  # goes on with it
            *played(1),
            SleepFrame(0.4),
            *caller_turn("Who is this?"),  # starts another
            SleepFrame(0.1),
        ],
    )

    assert agent.heard == ["Sure,", "Sure, I have a minute.", "Who is this?"]
    # Each with the agent's last sentences the caller heard begin ("Great." never began).
    assert [f.context for f in up if isinstance(f, UtteranceStartFrame)] == [
        "Is now a good time?",
        "Is now a good time? Noted.",
    ]


async def test_a_turn_that_acted_is_never_taken_back() -> None:
    agent = TalkingAgent(
        opening=[],
        replies={"stop calling": [Say("Understood."), Do(MarkDoNotCall())]},
    )

    events, done = await run(
        agent, [*caller_turn("stop calling"), SleepFrame(0.05), *speaks_over("me please.")]
    )

    assert agent.heard == ["stop calling", "me please."]
    assert [type(a) for a in done] == [MarkDoNotCall]
    assert "do:MarkDoNotCall" in events


async def test_speaking_again_after_the_window_is_a_new_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(agent_processor, "RESUME_WINDOW_S", 0.2)
    agent = TalkingAgent(opening=[], replies={"I have a toothache.": [Say("Sorry.")]})

    await run(
        agent,
        [
            *caller_turn("I have a toothache."),
            *played(1),
            SleepFrame(0.4),
            *caller_turn("It's on the left."),
        ],
    )

    assert agent.heard == ["I have a toothache.", "It's on the left."]
    assert agent.state.caller_turns == 2


async def test_talking_over_the_agent_long_enough_cuts_it_off_before_the_words_are_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(agent_processor, "CUT_IN_S", 0.1)
    agent = TalkingAgent(opening=OPENING, replies={})

    events, _ = await run(
        agent,
        [
            SleepFrame(0.05),
            BotStartedSpeakingFrame(),
            UserStartedSpeakingFrame(),
            SleepFrame(0.3),
            TranscriptionFrame("Yeah.", "caller", "2026-12-02T10:00:00Z", finalized=True),
            SleepFrame(0.1),
            UserStoppedSpeakingFrame(),
            SleepFrame(0.1),
        ],
    )

    # Cut off once, at the deadline; then even "yeah" is the caller's turn.
    assert events[-3:] == ["hold", "cut", "say:Noted."]
    assert agent.heard == ["Yeah."]


async def test_noise_without_words_over_the_agent_lets_it_play_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(agent_processor, "TRANSCRIPT_GRACE_S", 0.1)
    agent = TalkingAgent(opening=OPENING, replies={})

    events, _ = await run(
        agent,
        [
            SleepFrame(0.05),
            BotStartedSpeakingFrame(),
            UserStartedSpeakingFrame(),
            SleepFrame(0.1),
            UserStoppedSpeakingFrame(),
            SleepFrame(0.3),
        ],
    )

    assert events[-2:] == ["hold", "resume"]
    assert agent.heard == []


async def test_without_hold_the_agent_never_holds() -> None:
    agent = TalkingAgent(opening=OPENING, replies={})
    holder: list[AgentProcessor] = []
    timeline = Timeline(holder)
    processor = AgentProcessor(agent=agent, hold=False)
    holder.append(processor)

    await run_test(
        processor,
        frames_to_send=[SleepFrame(0.05), BotStartedSpeakingFrame(), *speaks_over("Mm-hmm.")],  # type: ignore[list-item]
        observers=[timeline],
        send_end_frame=True,
    )

    assert "hold" not in timeline.events
    assert agent.heard == ["Mm-hmm."]  # Pipecat's own interruption decides; every turn counts


async def test_a_pause_inside_speech_over_the_agent_is_one_overlap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(agent_processor, "TRANSCRIPT_GRACE_S", 0.1)
    agent = TalkingAgent(opening=OPENING, replies={})

    events, _ = await run(
        agent,
        [
            SleepFrame(0.05),
            BotStartedSpeakingFrame(),
            # Silero hears a pause with no words yet, then the caller goes on.
            UserStartedSpeakingFrame(),
            SleepFrame(0.05),
            UserStoppedSpeakingFrame(),
            SleepFrame(0.05),
            UserStartedSpeakingFrame(),
            SleepFrame(0.3),  # longer than the grace for the first part's words
            TranscriptionFrame("Wait, who is this?", "caller", "2026-12-02T10:00:00Z"),
            SleepFrame(0.05),
            UserStoppedSpeakingFrame(),
            SleepFrame(0.1),
        ],
    )

    # Held once and never let go in the pause (no words yet is not noise while they talk).
    assert events[-4:] == [f"say:{OPENING[-1]}", "hold", "cut", "say:Noted."]
    assert "resume" not in events
    assert agent.heard == ["Wait, who is this?"]


class Heard:
    """A `SpeechListener` that writes down what it is told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def started(self, sentence: str) -> None:
        self.lines.append(sentence)

    def cut(self) -> None:
        self.lines.append("(cut)")


async def listen(agent: Agent, frames: list[object], *, hold: bool = True) -> list[str]:
    heard = Heard()
    await run_test(
        AgentProcessor(agent=agent, listener=heard, hold=hold),
        frames_to_send=frames,  # type: ignore[arg-type]
        send_end_frame=True,
    )
    return heard.lines


async def test_the_listener_hears_each_sentence_as_its_audio_starts_and_no_other() -> None:
    agent = TalkingAgent(opening=OPENING, replies={})

    # All three sentences are pushed at once; only the first two begin playing.
    lines = await listen(agent, [SleepFrame(0.05), *played(2), SleepFrame(0.05)])

    assert lines == OPENING[:2]


async def test_the_listener_hears_a_barge_in_cut_the_reply_off() -> None:
    agent = TalkingAgent(opening=OPENING, replies={})

    lines = await listen(
        agent,
        [
            SleepFrame(0.05),
            BotStartedSpeakingFrame(),
            *speaks_over("Wait, who is this?"),
            BotStartedSpeakingFrame(),  # the answer's audio
            SleepFrame(0.05),
        ],
    )

    assert lines == [OPENING[0], "(cut)", "Noted."]


async def test_a_reply_dropped_before_its_audio_began_was_not_cut_off() -> None:
    agent = TalkingAgent(opening=OPENING, replies={})

    lines = await listen(
        agent,
        [SleepFrame(0.05), *speaks_over("Wait, who is this?"), BotStartedSpeakingFrame()],
    )

    assert lines == ["Noted."]


async def test_an_interruption_after_the_reply_played_out_cuts_nothing() -> None:
    agent = TalkingAgent(opening=OPENING, replies={})

    # Without hold, Pipecat interrupts whenever the caller speaks, the agent silent or not.
    lines = await listen(
        agent,
        [
            SleepFrame(0.05),
            *played(3),
            InterruptionFrame(),
            *speaks_over("Sure."),
            BotStartedSpeakingFrame(),
        ],
        hold=False,
    )

    assert lines == [*OPENING, "Noted."]
