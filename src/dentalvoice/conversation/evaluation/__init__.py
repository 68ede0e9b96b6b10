"""Scenario evaluation of conversation agents: a simulated caller, a runner and a report."""

from dentalvoice.conversation.evaluation.caller import (
    TOPIC_RULES,
    CallerReply,
    SimulatedCaller,
    classify,
    classify_turn,
)
from dentalvoice.conversation.evaluation.report import (
    EvalReport,
    LatencyStats,
    Score,
    build_report,
    percentile,
    print_report,
)
from dentalvoice.conversation.evaluation.runner import (
    AgentFactory,
    Check,
    Line,
    ScenarioResult,
    TurnLatency,
    build_context,
    default_agent_factory,
    run_paths,
    run_scenario,
    run_scenarios,
)
from dentalvoice.conversation.evaluation.scenario import (
    ActionKind,
    Scenario,
    ScenarioError,
    Topic,
    load_scenario,
    load_scenarios,
    parse_scenario,
)

__all__ = [
    "TOPIC_RULES",
    "ActionKind",
    "AgentFactory",
    "CallerReply",
    "Check",
    "EvalReport",
    "LatencyStats",
    "Line",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Score",
    "SimulatedCaller",
    "Topic",
    "TurnLatency",
    "build_context",
    "build_report",
    "classify",
    "classify_turn",
    "default_agent_factory",
    "load_scenario",
    "load_scenarios",
    "parse_scenario",
    "percentile",
    "print_report",
    "run_paths",
    "run_scenario",
    "run_scenarios",
]
