"""crm_write: the outbox of GHL writes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_write",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "sending", "delivered", "failed", name="writestatus", native_enum=False
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("maybe_applied", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("ghl_object_id", sa.String(length=64), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["call_attempt.id"], name=op.f("fk_crm_write_attempt_id_call_attempt")
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], name=op.f("fk_crm_write_lead_id_lead")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_crm_write_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["call_record.id"], name=op.f("fk_crm_write_record_id_call_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_write")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_crm_write_idempotency_key")),
    )
    op.create_index(
        "ix_crm_write_status_next_attempt_at", "crm_write", ["status", "next_attempt_at"]
    )
    op.create_index("ix_crm_write_attempt_id_seq", "crm_write", ["attempt_id", "seq"])
    op.create_index("ix_crm_write_location_id_status", "crm_write", ["location_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_crm_write_location_id_status", table_name="crm_write")
    op.drop_index("ix_crm_write_attempt_id_seq", table_name="crm_write")
    op.drop_index("ix_crm_write_status_next_attempt_at", table_name="crm_write")
    op.drop_table("crm_write")
