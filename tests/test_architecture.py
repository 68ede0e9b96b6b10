"""Boundaries between packages, checked on the source so they cannot erode unnoticed."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "dentalvoice"


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(), str(p))) for p in sorted(SRC.rglob("*.py"))]


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_config_reads_the_environment() -> None:
    offenders = []
    for path, tree in _modules():
        if path.name == "config.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


# Modules that decide or parse without I/O: they must stay testable without a database.
PURE = (
    "conversation/",
    "compliance/policy.py",
    "compliance/zones.py",
    "compliance/rules_model.py",
    "compliance/consent.py",
    "leads/payloads.py",
    "leads/normalize.py",
    "leads/verification.py",
    "leads/regions.py",
)
# Edges that talk HTTP or to the operator go through services, never to the database directly.
EDGES = ("app.py", "cli.py", "router.py", "flows.py")


def test_sqlalchemy_stays_out_of_pure_modules_and_edges() -> None:
    offenders = []
    for path, tree in _modules():
        rel = path.relative_to(SRC).as_posix()
        restricted = rel.startswith(PURE) or path.name in EDGES
        if restricted and any(m.split(".")[0] == "sqlalchemy" for m in _imports(tree)):
            offenders.append(rel)
    assert offenders == []


def test_http_framework_stays_at_the_edges() -> None:
    offenders = []
    for path, tree in _modules():
        rel = path.relative_to(SRC)
        allowed = path.name in {"router.py", "app.py", "cli.py"}
        if not allowed and any(m.split(".")[0] in {"fastapi", "starlette"} for m in _imports(tree)):
            offenders.append(str(rel))
    assert offenders == []


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(path.relative_to(SRC))
        for path, tree in _modules()
        if "versions" not in path.parts and ast.get_docstring(tree) is None
    ]
    assert missing == []


def test_conversation_knows_nothing_of_audio_http_or_databases() -> None:
    forbidden = {"sqlalchemy", "fastapi", "starlette", "httpx", "pipecat", "twilio", "redis"}
    forbidden_own = ("dentalvoice.db", "dentalvoice.leads", "dentalvoice.locations",
                     "dentalvoice.app", "dentalvoice.cli", "dentalvoice.voice",
                     "dentalvoice.telephony", "dentalvoice.crm")  # fmt: skip
    offenders = []
    for path, tree in _modules():
        rel = path.relative_to(SRC)
        if rel.parts[0] != "conversation":
            continue
        for name in _imports(tree):
            if name.split(".")[0] in forbidden or name.startswith(forbidden_own):
                offenders.append(f"{rel}: {name}")
    assert offenders == []
