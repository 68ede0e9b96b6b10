"""call attempt progress

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 15:21:37.238857
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("answered_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("duration_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("error_code", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stream_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("stream_started_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("stream_ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("voicemail_left_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_column("voicemail_left_at")
        batch_op.drop_column("stream_ended_at")
        batch_op.drop_column("stream_started_at")
        batch_op.drop_column("stream_sid")
        batch_op.drop_column("error_code")
        batch_op.drop_column("duration_s")
        batch_op.drop_column("answered_by")
        batch_op.drop_column("answered_at")
