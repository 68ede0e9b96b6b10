"""call record and call event

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 19:55:08.769278
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_record",
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("transcript", sa.LargeBinary(), nullable=False),
        sa.Column("qualification", sa.LargeBinary(), nullable=True),
        sa.Column("booked_slot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "transfer_reason",
            sa.Enum(
                "emergency", "technical", "requested", name="transferreason", native_enum=False
            ),
            nullable=True,
        ),
        sa.Column(
            "transfer_status",
            sa.Enum(
                "transferred",
                "no_number",
                "call_ended",
                "failed",
                "unavailable",
                name="transferstatus",
                native_enum=False,
            ),
            nullable=True,
        ),
        sa.Column("transfer_summary", sa.LargeBinary(), nullable=True),
        sa.Column("latency", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["call_attempt.id"], name=op.f("fk_call_record_attempt_id_call_attempt")
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], name=op.f("fk_call_record_lead_id_lead")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_call_record_location_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_record")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_call_record_attempt_id")),
    )
    op.create_index(op.f("ix_call_record_lead_id"), "call_record", ["lead_id"], unique=False)
    op.create_table(
        "call_event",
        sa.Column(
            "kind",
            sa.Enum("call_concluded", name="calleventkind", native_enum=False),
            nullable=False,
        ),
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["call_attempt.id"], name=op.f("fk_call_event_attempt_id_call_attempt")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["call_record.id"], name=op.f("fk_call_event_record_id_call_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_event")),
        sa.UniqueConstraint("record_id", "kind", name=op.f("uq_call_event_record_id_kind")),
    )
    op.create_index(
        "ix_call_event_processed_at_created_at",
        "call_event",
        ["processed_at", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_call_event_processed_at_created_at", table_name="call_event")
    op.drop_table("call_event")
    op.drop_index(op.f("ix_call_record_lead_id"), table_name="call_record")
    op.drop_table("call_record")
