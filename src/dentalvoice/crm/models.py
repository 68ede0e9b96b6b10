"""CRM tables: OAuth tokens per GHL location or company, and the outbox of GHL writes.

`ghl_credential` keeps tokens encrypted at rest. `crm_write` holds one row per write to GHL
(a tag, the fields, the note, the stage, ...), inserted in the transaction that settles what
it records; the sender delivers the rows. Payloads can hold PHI (note bodies) and are
encrypted; every other column is ids, states and GHL's error text.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dentalvoice.db.base import Base, IdMixin, TimestampMixin
from dentalvoice.db.types import EncryptedJSON, EncryptedText, UTCDateTime, str_enum


class GhlUserType(enum.StrEnum):
    """Whom a token speaks for, in GHL's own words (`user_type` / `userType`)."""

    LOCATION = "Location"  # a sub-account (one clinic)
    COMPANY = "Company"  # an agency: mints location tokens through /oauth/locationToken


class GhlCredential(IdMixin, TimestampMixin, Base):
    """One OAuth grant. Rows are keyed by GHL ids, not by `location.id`.

    The OAuth install can complete before the clinic is set up here, so there is no foreign key
    to `location`. A location row without a refresh token was minted from its agency's token
    (`company_id`) and is renewed through that. Private integration tokens stay in
    `location.ghl_token`.
    """

    __tablename__ = "ghl_credential"

    user_type: Mapped[GhlUserType] = mapped_column(str_enum(GhlUserType))
    # The GHL location id (user_type Location) or company id (user_type Company).
    ghl_id: Mapped[str] = mapped_column(String(64))
    company_id: Mapped[str | None] = mapped_column(String(64))
    access_token: Mapped[str] = mapped_column(EncryptedText("ghl_credential.access_token"))
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText("ghl_credential.refresh_token"))
    scope: Mapped[str | None] = mapped_column(String(2000))
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_type", "ghl_id"),)

    def __repr__(self) -> str:
        return (
            f"GhlCredential(user_type={self.user_type.value!r}, ghl_id={self.ghl_id!r}, "
            f"access_expires_at={self.access_expires_at!r})"
        )


class WriteStatus(enum.StrEnum):
    """Where one GHL write is."""

    PENDING = "pending"  # waiting for `next_attempt_at` (None: as soon as possible)
    SENDING = "sending"  # a sender holds it until `lease_until`
    DELIVERED = "delivered"  # GHL has it (`ghl_object_id` names what it created)
    FAILED = "failed"  # parked for an operator: `last_error` says why


class CrmWrite(IdMixin, TimestampMixin, Base):
    """One write to GHL, delivered at most once (per `idempotency_key`) by the sender.

    A call's writes share its `attempt_id` and go out in `seq` order: a row is sent only once
    every earlier row of the call is delivered or failed.
    """

    __tablename__ = "crm_write"

    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("location.id"))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"))
    attempt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("call_attempt.id"))
    # The call record it comes from; None for an opt-out written mid-call or an unanswered dial.
    record_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("call_record.id"))
    kind: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("crm_write.payload"))
    status: Mapped[WriteStatus] = mapped_column(str_enum(WriteStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    # A try that failed may still have reached GHL: look before creating again.
    maybe_applied: Mapped[bool] = mapped_column(default=False)
    # GHL's status, message and traceId, or our own reason; never the data sent.
    last_error: Mapped[str | None] = mapped_column(String(500))
    # The note, opportunity or appointment id GHL returned (or that was found there).
    ghl_object_id: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_crm_write_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_crm_write_attempt_id_seq", "attempt_id", "seq"),
        Index("ix_crm_write_location_id_status", "location_id", "status"),
    )

    def __repr__(self) -> str:
        return (
            f"CrmWrite(id={self.id!s}, kind={self.kind!r}, status={self.status.value!r}, "
            f"attempts={self.attempts})"
        )
