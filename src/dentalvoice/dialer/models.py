"""Call jobs (what is due to be dialed) and call attempts (what each dial did)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dentalvoice.db.base import Base, IdMixin, TimestampMixin
from dentalvoice.db.types import UTCDateTime, str_enum


class JobStatus(enum.StrEnum):
    """Where a call job stands."""

    PENDING = "pending"  # waiting for due_at
    CLAIMED = "claimed"  # a worker holds it until lease_until
    CALLING = "calling"  # dialed; status callbacks decide what comes next (lease_until: give-up)
    DONE = "done"  # a terminal outcome was reached
    BLOCKED = "blocked"  # the gate said never (reason says why)
    CANCELLED = "cancelled"  # DND, opt-out or an operator stopped it


class CallJob(IdMixin, TimestampMixin, Base):
    """The intention to call one lead; the dialer claims it when it is due."""

    __tablename__ = "call_job"

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("location.id"))
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))
    attempts_made: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_call_job_status_due_at", "status", "due_at"),)


class AttemptStatus(enum.StrEnum):
    """A dial's life, following Twilio's call statuses plus our own outcomes."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"
    CANCELED = "canceled"


class CallAttempt(IdMixin, Base):
    """One dial. Attempt caps count these rows, per number (blind index), across leads."""

    __tablename__ = "call_attempt"

    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("call_job.id"), index=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("location.id"))
    phone_hash: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[AttemptStatus] = mapped_column(str_enum(AttemptStatus))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    twilio_call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    outcome: Mapped[str | None] = mapped_column(String(32))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(32))
    duration_s: Mapped[int | None] = mapped_column()
    error_code: Mapped[int | None] = mapped_column()
    stream_sid: Mapped[str | None] = mapped_column(String(64))
    stream_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stream_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voicemail_left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_call_attempt_phone_hash_started_at", "phone_hash", "started_at"),)
