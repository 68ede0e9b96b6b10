"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 18:28:15.461080
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "location",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ghl_location_id", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("webhook_secret", sa.LargeBinary(), nullable=True),
        sa.Column("ghl_token", sa.LargeBinary(), nullable=True),
        sa.Column("twilio_from_number", sa.String(length=20), nullable=True),
        sa.Column("transfer_number", sa.String(length=20), nullable=True),
        sa.Column("calendar_id", sa.String(length=64), nullable=True),
        sa.Column("pipeline_id", sa.String(length=64), nullable=True),
        sa.Column("pipeline_stages", sa.JSON(), nullable=False),
        sa.Column("business_hours", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location")),
        sa.UniqueConstraint("ghl_location_id", name=op.f("uq_location_ghl_location_id")),
    )
    op.create_table(
        "lead",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("ghl_contact_id", sa.String(length=64), nullable=False),
        sa.Column("first_name", sa.LargeBinary(), nullable=True),
        sa.Column("last_name", sa.LargeBinary(), nullable=True),
        sa.Column("email", sa.LargeBinary(), nullable=True),
        sa.Column("phone_e164", sa.LargeBinary(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(length=24), nullable=True),
        sa.Column("address", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("source", sa.LargeBinary(), nullable=True),
        sa.Column("tags", sa.LargeBinary(), nullable=True),
        sa.Column("custom_fields", sa.LargeBinary(), nullable=True),
        sa.Column("consent_evidence", sa.LargeBinary(), nullable=True),
        sa.Column("dnd", sa.Boolean(), nullable=False),
        sa.Column("dnd_call", sa.Boolean(), nullable=False),
        sa.Column("last_event_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_lead_location_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead")),
        sa.UniqueConstraint(
            "location_id", "ghl_contact_id", name=op.f("uq_lead_location_id_ghl_contact_id")
        ),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_phone_hash"), ["phone_hash"], unique=False)

    op.create_table(
        "webhook_event",
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column(
            "shape",
            sa.Enum(
                "workflow",
                "marketplace",
                "simple",
                "unknown",
                name="payloadshape",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("event_type", sa.String(length=64), nullable=True),
        sa.Column(
            "verification",
            sa.Enum("ed25519", "rsa", "secret", name="verification", native_enum=False),
            nullable=False,
        ),
        sa.Column("ghl_location_id", sa.String(length=64), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("raw_body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "processed",
                "ignored",
                "rejected",
                "unroutable",
                "failed",
                name="eventstatus",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_webhook_event_lead_id_lead")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_webhook_event_location_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_webhook_event_dedupe_key")),
    )
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_event_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_event_status_received_at", ["status", "received_at"], unique=False
        )

    op.create_table(
        "lead_revision",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_fields", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["webhook_event.id"], name=op.f("fk_lead_revision_event_id_webhook_event")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_lead_revision_lead_id_lead")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_revision")),
    )
    with op.batch_alter_table("lead_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_revision_lead_id"), ["lead_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_revision_lead_id"))

    op.drop_table("lead_revision")
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_event_status_received_at")
        batch_op.drop_index(batch_op.f("ix_webhook_event_received_at"))

    op.drop_table("webhook_event")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_phone_hash"))

    op.drop_table("lead")
    op.drop_table("location")
