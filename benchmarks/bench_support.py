"""Pieces the benchmarks that run `serve`-like processes share: a port, a database, a percentile."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The value at quantile `q` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


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
