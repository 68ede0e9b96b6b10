"""Live per-call state shared between processes: the embedded store or Redis."""

from __future__ import annotations

from dentalvoice.sessions.schemas import CallSession, hash_stream_token
from dentalvoice.sessions.store import (
    InProcessSessionStore,
    RedisSessionStore,
    SessionStore,
    SessionStoreError,
    build_session_store,
)

__all__ = [
    "CallSession",
    "InProcessSessionStore",
    "RedisSessionStore",
    "SessionStore",
    "SessionStoreError",
    "build_session_store",
    "hash_stream_token",
]
