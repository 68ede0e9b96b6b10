"""What `dentalvoice outbox` does: list GHL writes and put failed ones back in line.

Service functions over a `Database`, so the command-line edge needs no sessions or SQL. Rows
are shown by id, clinic, kind, state and error: never their payloads (note bodies are PHI).
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from dentalvoice.crm import outbox
from dentalvoice.crm.models import WriteStatus
from dentalvoice.crm.outbox import WriteView
from dentalvoice.crm.sender import wake_senders
from dentalvoice.db.engine import Database

__all__ = ["list_outbox", "retry_outbox"]


async def list_outbox(
    *,
    db: Database,
    status: WriteStatus | None = None,
    ghl_location_id: str | None = None,
    limit: int = 50,
) -> list[WriteView]:
    """Outbox rows, newest first.

    Args:
        db: The database.
        status: Only rows in this state.
        ghl_location_id: Only this clinic's rows.
        limit: At most this many.
    """
    async with db.reader() as session:
        return await outbox.list_writes(
            session=session, status=status, ghl_location_id=ghl_location_id, limit=limit
        )


async def retry_outbox(
    *,
    db: Database,
    write_id: uuid.UUID | None = None,
    all_failed: bool = False,
    ghl_location_id: str | None = None,
    redis_url: str | None = None,
) -> int:
    """Put one write, or every failed one, back in line (attempts kept) and wake the senders.

    Args:
        db: The database.
        write_id: One write (failed, or pending in a backoff).
        all_failed: Every failed write.
        ghl_location_id: With `all_failed`, one clinic's only.
        redis_url: Where running senders listen for a wake-up (they also find the rows on
            their next idle check without it).

    Returns:
        How many writes are due again.

    Raises:
        ValueError: Neither or both of `write_id` and `all_failed`.
        NotFoundError: No write with that id.
        ConflictError: The write is delivered or being sent.
    """
    async with db.transaction() as session:
        count = await outbox.retry_writes(
            session=session,
            write_id=write_id,
            all_failed=all_failed,
            ghl_location_id=ghl_location_id,
        )
    if count and redis_url:
        redis = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            await wake_senders(redis)
        finally:
            await redis.aclose()
    return count
