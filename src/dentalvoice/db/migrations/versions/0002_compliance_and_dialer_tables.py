"""compliance and dialer tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 19:41:25.271195
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_import",
        sa.Column("registry_date", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("full", "changes", name="registryimportkind", native_enum=False),
            nullable=False,
        ),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("numbers_added", sa.Integer(), nullable=False),
        sa.Column("numbers_removed", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_import")),
    )
    op.create_table(
        "dnc_entry",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("phone_masked", sa.String(length=24), nullable=False),
        sa.Column(
            "scope",
            sa.Enum("location", "agency", name="dncscope", native_enum=False),
            nullable=False,
        ),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column(
            "source",
            sa.Enum("call_opt_out", "operator", "ghl_dnd", name="dncsource", native_enum=False),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_dnc_entry_location_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_entry")),
    )
    with op.batch_alter_table("dnc_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dnc_entry_phone_hash_removed_at", ["phone_hash", "removed_at"], unique=False
        )

    op.create_table(
        "registry_number",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("area_code", sa.String(length=3), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["registry_import.id"],
            name=op.f("fk_registry_number_import_id_registry_import"),
        ),
        sa.PrimaryKeyConstraint("phone_hash", name=op.f("pk_registry_number")),
    )
    with op.batch_alter_table("registry_number", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_number_area_code"), ["area_code"], unique=False
        )

    op.create_table(
        "call_job",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "claimed",
                "done",
                "blocked",
                "cancelled",
                name="jobstatus",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("attempts_made", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], name=op.f("fk_call_job_lead_id_lead")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_call_job_location_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_job")),
    )
    with op.batch_alter_table("call_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_job_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_call_job_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "compliance_decision",
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum("schedule", "dial", "operator", name="decisionpurpose", native_enum=False),
            nullable=False,
        ),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("allow", "defer", "block", name="decisionkind", native_enum=False),
            nullable=False,
        ),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_compliance_decision_lead_id_lead")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
            name=op.f("fk_compliance_decision_location_id_location"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_decision")),
    )
    with op.batch_alter_table("compliance_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compliance_decision_decided_at"), ["decided_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_compliance_decision_lead_id"), ["lead_id"], unique=False
        )

    op.create_table(
        "call_attempt",
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "ringing",
                "in_progress",
                "completed",
                "no_answer",
                "busy",
                "failed",
                "voicemail",
                "canceled",
                name="attemptstatus",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("twilio_call_sid", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["call_job.id"], name=op.f("fk_call_attempt_job_id_call_job")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_call_attempt_lead_id_lead")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_call_attempt_location_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempt")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_call_attempt_idempotency_key")),
        sa.UniqueConstraint("twilio_call_sid", name=op.f("uq_call_attempt_twilio_call_sid")),
    )
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_attempt_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            "ix_call_attempt_phone_hash_started_at", ["phone_hash", "started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_call_attempt_phone_hash_started_at")
        batch_op.drop_index(batch_op.f("ix_call_attempt_job_id"))

    op.drop_table("call_attempt")
    with op.batch_alter_table("compliance_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_decision_lead_id"))
        batch_op.drop_index(batch_op.f("ix_compliance_decision_decided_at"))

    op.drop_table("compliance_decision")
    with op.batch_alter_table("call_job", schema=None) as batch_op:
        batch_op.drop_index("ix_call_job_status_due_at")
        batch_op.drop_index(batch_op.f("ix_call_job_lead_id"))

    op.drop_table("call_job")
    with op.batch_alter_table("registry_number", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_number_area_code"))

    op.drop_table("registry_number")
    with op.batch_alter_table("dnc_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_dnc_entry_phone_hash_removed_at")

    op.drop_table("dnc_entry")
    op.drop_table("registry_import")
