"""Tables for intake: every authenticated webhook, the leads they produce, and lead history."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from dentalvoice.db.base import Base, IdMixin, TimestampMixin, utcnow
from dentalvoice.db.types import (
    EncryptedBytes,
    EncryptedJSON,
    EncryptedText,
    UTCDateTime,
    str_enum,
)


class PayloadShape(enum.StrEnum):
    """Which sender produced a webhook body."""

    WORKFLOW = "workflow"  # GHL workflow "Webhook" / "Custom Webhook" action
    MARKETPLACE = "marketplace"  # GHL marketplace app event (ContactCreate, ...)
    SIMPLE = "simple"  # {"event": "contact.created", "contact": {...}}
    UNKNOWN = "unknown"


class EventStatus(enum.StrEnum):
    """Where a stored webhook is in processing."""

    PROCESSED = "processed"
    IGNORED = "ignored"  # authenticated, but an event type intake does not act on
    REJECTED = "rejected"  # invalid payload or unusable phone (422)
    UNROUTABLE = "unroutable"  # no location matches; replay after adding it
    FAILED = "failed"  # an unexpected error while processing; replayable


class Verification(enum.StrEnum):
    """How a webhook proved where it came from."""

    ED25519 = "ed25519"
    RSA = "rsa"
    SECRET = "secret"  # noqa: S105 - a method name, not a password


class WebhookEvent(IdMixin, Base):
    """One authenticated delivery, kept raw (encrypted) so nothing GHL sent is ever lost."""

    __tablename__ = "webhook_event"

    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # HMAC of the webhookId, or of the raw body when the sender gives no id: identical
    # deliveries collide here and are answered as duplicates.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    shape: Mapped[PayloadShape] = mapped_column(str_enum(PayloadShape))
    event_type: Mapped[str | None] = mapped_column(String(64))
    verification: Mapped[Verification] = mapped_column(str_enum(Verification))
    ghl_location_id: Mapped[str | None] = mapped_column(String(64))
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("location.id"))
    # The contact a contact event is about, so that updates which arrived before the contact's
    # create (stored, not applied) can be found and applied once the lead exists.
    ghl_contact_id: Mapped[str | None] = mapped_column(String(64), index=True)
    raw_body: Mapped[bytes] = mapped_column(EncryptedBytes("webhook_event.raw_body"))
    # Written with the event: intake decides the outcome before it stores anything.
    status: Mapped[EventStatus] = mapped_column(str_enum(EventStatus))
    # Field-level errors: field paths and reasons only, never the offending values.
    errors: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("lead.id"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_webhook_event_status_received_at", "status", "received_at"),)


class Lead(IdMixin, TimestampMixin, Base):
    """A person to call for one clinic, keyed by (location, GHL contact id)."""

    __tablename__ = "lead"

    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("location.id"))
    ghl_contact_id: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(EncryptedText("lead.first_name"))
    last_name: Mapped[str | None] = mapped_column(EncryptedText("lead.last_name"))
    email: Mapped[str | None] = mapped_column(EncryptedText("lead.email"))
    phone_e164: Mapped[str | None] = mapped_column(EncryptedText("lead.phone_e164"))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # Last four digits' mask for operators, e.g. "+1******0123"
    phone_masked: Mapped[str | None] = mapped_column(String(24))
    address: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON("lead.address"))
    # State/province and country stay queryable for the compliance gate; they are not
    # identifying on their own (HIPAA Safe Harbor keeps states).
    state: Mapped[str | None] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(EncryptedText("lead.source"))
    tags: Mapped[list[str] | None] = mapped_column(EncryptedJSON("lead.tags"))
    custom_fields: Mapped[dict[str, Any] | None] = mapped_column(
        EncryptedJSON("lead.custom_fields")
    )
    consent_evidence: Mapped[dict[str, Any] | None] = mapped_column(
        EncryptedJSON("lead.consent_evidence")
    )
    dnd: Mapped[bool] = mapped_column(default=False)
    dnd_call: Mapped[bool] = mapped_column(default=False)
    # Per field (phone, state, dnd_call, ...): GHL's time of the newest event that set it, as
    # ISO-8601 UTC. An older event arriving late leaves a newer value alone. Per field, not
    # per lead, because events carry different fields: ContactUpdate has no `dndSettings`, so
    # a newer ContactUpdate says nothing about an older ContactDndUpdate's Call DND.
    ghl_field_times: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # The event that last changed this lead (no foreign key: webhook_event already points here).
    last_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (UniqueConstraint("location_id", "ghl_contact_id"),)


class LeadRevision(IdMixin, Base):
    """The lead as one event left it: history for audits and for undoing a bad update."""

    __tablename__ = "lead_revision"

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"), index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_event.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Names of the fields this event changed (no values), for a PHI-free history view.
    changed_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    snapshot: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("lead_revision.snapshot"))
