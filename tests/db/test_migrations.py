"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from dentalvoice.db import Database
from dentalvoice.db.migrate import current_revision, head_revision
from dentalvoice.db.registry import metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_upgraded_schema_matches_the_models(db: Database) -> None:
    assert await current_revision(db) == head_revision()
    async with db.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
