"""Pieces the benchmarks share: a port, a database, a percentile, a turn's orchestration time."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import asyncpg

if TYPE_CHECKING:  # the benchmarks that only need a port or a database do not load Pipecat
    from dentalvoice.voice.latency import TurnLatency


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    """The value at quantile `q` (nearest rank) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def orchestration_ms(turn: TurnLatency) -> tuple[float, float | None] | None:
    """What the pipeline added to an answered turn, in ms: from the turn's decision to its
    first audio sent, and to the agent's first sentence (None if it has none).

    From the raw moments (`TurnLatency.as_ms` rounds each to a whole ms). None: no answer.
    """
    decided, sent = turn.turn_decided, turn.first_audio_sent
    if decided is None or sent is None:
        return None
    ready = None if turn.reply_ready is None else (turn.reply_ready - decided) * 1000
    return (sent - decided) * 1000, ready


@asynccontextmanager
async def database(kind: str, admin_url: str, data_dir: str, *, prefix: str) -> AsyncIterator[str]:
    """A fresh database URL: a PostgreSQL database named `prefix_…` (dropped after) or SQLite."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{data_dir}/bench.db"
        return
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
