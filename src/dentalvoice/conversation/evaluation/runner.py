"""Running scenarios: an agent and a simulated caller talk in text; expectations are checked."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from time import perf_counter
from zoneinfo import ZoneInfo

from dentalvoice.conversation.agent import Action, Agent, CallContext, Say, Transfer, TurnEvent
from dentalvoice.conversation.calendar import StaticCalendar
from dentalvoice.conversation.evaluation.caller import SimulatedCaller
from dentalvoice.conversation.evaluation.report import EvalReport, build_report
from dentalvoice.conversation.evaluation.scenario import (
    ActionKind,
    Scenario,
    Topic,
    action_kind,
    is_datetime_path,
    list_contains,
    load_scenarios,
    lookup,
    values_match,
)
from dentalvoice.conversation.factory import build_agent
from dentalvoice.conversation.qualification import Qualification

AgentFactory = Callable[[CallContext], Agent]
MODES = ("text",)


def default_agent_factory(kind: str = "scripted") -> AgentFactory:
    """A factory building guarded `kind` agents with `build_agent`."""

    def factory(context: CallContext) -> Agent:
        return build_agent(context=context, kind=kind)

    return factory


def build_context(scenario: Scenario) -> CallContext:
    """The CallContext a scenario describes, with the documented defaults filled in."""
    location = scenario.location
    zone = ZoneInfo(location.timezone)
    now = scenario.call_time
    free_slots = tuple(sorted(s.astimezone(zone) for s in scenario.free_slots))
    spec = scenario.calendar
    context = CallContext(
        clinic_name=location.name,
        timezone=location.timezone,
        now=now,
        lead_first_name=scenario.lead.first_name,
        lead_last_name=scenario.lead.last_name,
        lead_state=scenario.lead.state,
        free_slots=free_slots,
        # Without a `calendar` block the agent books `free_slots` in memory itself.
        calendar=(
            StaticCalendar(free_slots, taken=spec.taken, failing=spec.down)
            if spec is not None
            else None
        ),
        transfer_available=location.transfer_available,
        callback_number=location.callback_number,
    )
    # Left unset in the scenario, these keep CallContext's own defaults.
    if location.agent_name is not None:
        context = replace(context, agent_name=location.agent_name)
    if location.emergency_pain_threshold is not None:
        context = replace(context, emergency_pain_threshold=location.emergency_pain_threshold)
    return context


@dataclass(frozen=True, slots=True)
class Line:
    """One transcript entry; `text` None is a caller's silence."""

    speaker: str  # "agent" or "caller"
    text: str | None
    topic: Topic | None = None  # for caller lines: what the caller thought was asked


@dataclass(frozen=True, slots=True)
class TurnLatency:
    """How long one agent turn took, in seconds."""

    total: float  # from the call to respond()/opening() to the turn's last event
    first_say: float | None  # to the first sentence; None when the turn said nothing
    opening: bool = False


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation and whether the call met it."""

    name: str
    passed: bool
    detail: str = ""
    field: str | None = None  # the Qualification path scored by the report, if any


@dataclass(slots=True)
class ScenarioResult:
    """A scenario's call: what happened and which checks failed."""

    scenario: Scenario
    transcript: list[Line]
    actions: list[Action]
    qualification: Qualification
    finished: bool
    turns: int  # caller turns, silences included
    latencies: list[TurnLatency]
    checks: list[Check] = field(default_factory=list)
    error: str | None = None  # the agent raised (voice: the call failed)
    # Voice runs only: the caller-measured voice-to-voice ms of answered turns not barged into.
    voice_to_voice_ms: list[float] | None = None

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.scenario.name

    @property
    def action_kinds(self) -> list[ActionKind]:
        """The actions taken, by kind, in order."""
        return [action_kind(a) for a in self.actions]

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return not self.failures

    def agent_text(self) -> str:
        """Everything the agent said: turns joined by newlines."""
        return "\n".join(line.text or "" for line in self.transcript if line.speaker == "agent")


async def _timed(
    start: float, events: AsyncIterator[TurnEvent]
) -> tuple[list[TurnEvent], float, float | None]:
    got: list[TurnEvent] = []
    last: float | None = None
    first_say: float | None = None
    async for event in events:
        last = perf_counter() - start
        if first_say is None and isinstance(event, Say):
            first_say = last
        got.append(event)
    return got, (last if last is not None else perf_counter() - start), first_say


async def run_scenario(
    scenario: Scenario,
    *,
    agent_factory: AgentFactory | None = None,
    agent_kind: str = "scripted",
) -> ScenarioResult:
    """Play one scenario: opening, then caller and agent turns until the agent finishes.

    The call stops when `agent.state.finished` is set, after `expect.max_turns` caller turns,
    when the caller hangs up after a goodbye, or when the agent raises (recorded, not raised).

    Args:
        scenario: The scenario to play.
        agent_factory: Builds the agent for the call; default `build_agent(kind=agent_kind)`.
        agent_kind: The kind for the default factory.

    Returns:
        The transcript, actions, qualification, per-turn latencies and checks.
    """
    factory = agent_factory or default_agent_factory(agent_kind)
    agent = factory(build_context(scenario))
    caller = SimulatedCaller(scenario.caller)
    transcript: list[Line] = []
    actions: list[Action] = []
    latencies: list[TurnLatency] = []
    turns = 0
    hung_up = False
    error: str | None = None

    async def play(utterance: str | None, *, opening: bool) -> list[str]:
        start = perf_counter()
        events = agent.opening() if opening else agent.respond(utterance)
        got, total, first_say = await _timed(start, events)
        latencies.append(TurnLatency(total=total, first_say=first_say, opening=opening))
        said = [e.text for e in got if isinstance(e, Say)]
        actions.extend(e.action for e in got if not isinstance(e, Say))
        transcript.append(Line("agent", " ".join(said)))
        return said

    try:
        said = await play(None, opening=True)
        while not agent.state.finished and turns < scenario.expect.max_turns:
            reply = caller.reply(said)
            if reply.hang_up:
                hung_up = True
                break
            turns += 1
            transcript.append(Line("caller", reply.utterance, reply.topic))
            said = await play(reply.utterance, opening=False)
    except Exception as exc:  # one broken scenario must not stop the others
        error = f"{type(exc).__name__}: {exc}"

    result = ScenarioResult(
        scenario=scenario,
        transcript=transcript,
        actions=actions,
        qualification=agent.state.qualification.model_copy(deep=True),
        finished=agent.state.finished,
        turns=turns,
        latencies=latencies,
        error=error,
    )
    result.checks = check_expectations(result, hung_up=hung_up)
    return result


def check_expectations(result: ScenarioResult, *, hung_up: bool = False) -> list[Check]:
    """Every check of the scenario's `expect` block against a finished run.

    Args:
        result: The run; its `checks` are ignored.
        hung_up: The caller hung up after a goodbye that did not finish the call.

    Returns:
        One Check per expectation, the finish check first.
    """
    expect = result.scenario.expect
    checks = [_finish_check(result, hung_up=hung_up)]
    dump = result.qualification.model_dump(mode="json")
    if expect.outcome is not None:
        actual = result.qualification.outcome
        checks.append(
            Check(
                "outcome",
                actual == expect.outcome,
                f"expected {expect.outcome.value}, got {actual.value if actual else None}",
                field="outcome",
            )
        )
    for path, expected in expect.qualification.items():
        found, actual = lookup(dump, path)
        ok = found and values_match(expected, actual, exact_text=is_datetime_path(path))
        detail = f"expected {expected!r}, got {actual!r}" if found else "not present"
        checks.append(Check(f"qualification.{path}", ok, detail, field=path))
    for path, items in expect.qualification_contains.items():
        _, actual = lookup(dump, path)
        ok = list_contains(items, actual, exact_text=is_datetime_path(path))
        checks.append(
            Check(f"{path} contains", ok, f"expected {items!r} in {actual!r}", field=path)
        )
    for path, pattern in expect.qualification_match.items():
        _, actual = lookup(dump, path)
        ok = isinstance(actual, str) and re.search(pattern, actual, re.IGNORECASE) is not None
        checks.append(Check(f"{path} matches", ok, f"/{pattern}/ vs {actual!r}", field=path))
    kinds = set(result.action_kinds)
    for kind in expect.actions_include:
        checks.append(Check(f"action {kind.value}", kind in kinds, _kinds_detail(result)))
    for kind in expect.actions_exclude:
        checks.append(Check(f"no action {kind.value}", kind not in kinds, _kinds_detail(result)))
    if expect.transfer_reason is not None:
        reasons = [a.reason for a in result.actions if isinstance(a, Transfer)]
        checks.append(
            Check(
                f"transfer reason {expect.transfer_reason.value}",
                expect.transfer_reason in reasons,
                f"transfer reasons: {[r.value for r in reasons]}",
            )
        )
    said = result.agent_text()
    for pattern in expect.say_include:
        found_it = re.search(pattern, said, re.IGNORECASE) is not None
        checks.append(Check(f"said /{pattern}/", found_it, "never said"))
    for pattern in expect.say_exclude:
        match = re.search(pattern, said, re.IGNORECASE)
        detail = f"said {match.group(0)!r}" if match else ""
        checks.append(Check(f"never said /{pattern}/", match is None, detail))
    return checks


def _kinds_detail(result: ScenarioResult) -> str:
    return f"actions: {[k.value for k in result.action_kinds]}"


def _finish_check(result: ScenarioResult, *, hung_up: bool) -> Check:
    max_turns = result.scenario.expect.max_turns
    if result.error is not None:
        return Check("finished", False, f"the agent raised {result.error}")
    if result.finished:
        return Check("finished", True, f"in {result.turns} caller turns")
    if hung_up:
        return Check("finished", False, "the agent said goodbye but did not finish the call")
    return Check("finished", False, f"did not finish within max_turns={max_turns} caller turns")


async def run_scenarios(
    scenarios: Iterable[Scenario],
    *,
    agent_factory: AgentFactory | None = None,
    agent_kind: str = "scripted",
) -> list[ScenarioResult]:
    """Run scenarios one after another (an agent is CPU-bound; latency is measured alone)."""
    factory = agent_factory or default_agent_factory(agent_kind)
    return [await run_scenario(s, agent_factory=factory) for s in scenarios]


async def run_paths(
    paths: str | Path | Iterable[str | Path],
    *,
    agent_kind: str = "scripted",
    mode: str = "text",
    agent_factory: AgentFactory | None = None,
) -> EvalReport:
    """Load scenario files and directories (`*.yaml`, sorted), run them all, and report.

    Args:
        paths: Files, directories, or one of either.
        agent_kind: The agent kind passed to the factory.
        mode: How agent and caller talk; only "text" here (`dentalvoice.voice.evaluation`
            runs the voice mode).
        agent_factory: Overrides the default factory (tests, other agents).

    Returns:
        The report over all scenarios.

    Raises:
        ValueError: an unknown mode.
        ScenarioError: a scenario file is invalid.
    """
    if mode not in MODES:
        raise ValueError(f"unknown evaluation mode {mode!r}; available: {', '.join(MODES)}")
    scenarios = load_scenarios(paths)
    results = await run_scenarios(scenarios, agent_factory=agent_factory, agent_kind=agent_kind)
    return build_report(results)
