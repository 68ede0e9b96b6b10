"""The live state of one call attempt, as kept in the session store (identifiers only, no PHI)."""

from __future__ import annotations

import hashlib
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


def hash_stream_token(token: str) -> str:
    """Hash a one-time media-stream token for storage.

    Args:
        token: The token as handed to Twilio in the stream URL.

    Returns:
        The hex SHA-256 digest; the token itself is never stored.
    """
    # A plain digest suffices: tokens are 32 random bytes, so there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class CallSession(BaseModel):
    """What any process needs to know about a call in flight.

    Holds ids and call progress only: names, numbers and transcripts stay in the database,
    where they are encrypted.
    """

    # Frozen so a session read from the store is a snapshot; changes go through the store.
    model_config = ConfigDict(frozen=True, extra="forbid")

    call_sid: str | None = None
    attempt_id: UUID
    lead_id: UUID
    location_id: UUID
    stream_token_hash: str | None = None
    status: str
    # Twilio numbers status callbacks from 0, so -1 means "none seen yet".
    last_sequence: int = -1
    created_at: AwareDatetime
    updated_at: AwareDatetime
    data: dict[str, str] = Field(default_factory=dict)
