"""lead.ghl_field_times and webhook_event.ghl_contact_id: ordering and parking GHL updates

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        batch.add_column(sa.Column("ghl_field_times", sa.JSON(), nullable=True))
    with op.batch_alter_table("webhook_event") as batch:
        batch.add_column(sa.Column("ghl_contact_id", sa.String(length=64), nullable=True))
        batch.create_index(
            batch.f("ix_webhook_event_ghl_contact_id"), ["ghl_contact_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_event") as batch:
        batch.drop_index(batch.f("ix_webhook_event_ghl_contact_id"))
        batch.drop_column("ghl_contact_id")
    with op.batch_alter_table("lead") as batch:
        batch.drop_column("ghl_field_times")
