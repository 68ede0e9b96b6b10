"""The record of an answered call, and the event that tells the CRM step it is there.

One `call_record` row per answered attempt: when the call ran, how the conversation ended, what
its actions did (the slot booked, the callback, the transfer) and how fast each turn was
answered; the transcript, the qualification and the transfer's summary are encrypted. A
transfer opens the row while the call is still live, because Twilio asks for the summary it
whispers to the front desk before the call ends. `store_call` completes the row once and, in
the same transaction, writes a `call_concluded` row to `call_event`: an outbox the CRM
write-back consumes (`pending_events`, `mark_processed`). The event carries ids only.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from dentalvoice.conversation.agent import TransferReason
from dentalvoice.conversation.qualification import Qualification
from dentalvoice.crm import outbox as crm_outbox
from dentalvoice.db.base import Base, IdMixin, TimestampMixin, utcnow
from dentalvoice.db.engine import Database
from dentalvoice.db.types import EncryptedJSON, EncryptedText, UTCDateTime, str_enum
from dentalvoice.dialer.models import CallAttempt
from dentalvoice.dialer.progress import UnknownAttempt

__all__ = [
    "ActionsTaken",
    "CallEvent",
    "CallEventKind",
    "CallRecord",
    "MeasuredTurn",
    "TransferStatus",
    "TransferWhispers",
    "get_record",
    "mark_processed",
    "pending_events",
    "record_transfer",
    "store_call",
    "transfer_summary",
]


class MeasuredTurn(Protocol):
    """One caller turn's timings, as `voice.latency.TurnLatency` gives them.

    A protocol rather than that class: it lives beside Pipecat, which the models (and so every
    process that opens the database) must not import.
    """

    def as_ms(self) -> dict[str, int | None]:
        """Each moment in milliseconds after the caller's speech ended."""
        ...


class TransferStatus(enum.StrEnum):
    """What came of the agent's transfer."""

    TRANSFERRED = "transferred"  # Twilio took the call to the clinic's transfer number
    NO_NUMBER = "no_number"  # the clinic has no transfer number
    CALL_ENDED = "call_ended"  # the call ended before the redirect reached it
    FAILED = "failed"  # Twilio refused the redirect
    UNAVAILABLE = "unavailable"  # this process cannot steer calls (Twilio is not configured)


@dataclass(slots=True)
class ActionsTaken:
    """What the call's actions did, kept for the record (times timezone-aware)."""

    booked_slot: datetime | None = None
    # GHL's id for the booked slot when the call holds it; None leaves the booking to the outbox.
    appointment_id: str | None = None
    callback_at: datetime | None = None
    transfer_reason: TransferReason | None = None
    transfer_status: TransferStatus | None = None


class CallRecord(IdMixin, TimestampMixin, Base):
    """One answered call as it ended: the CRM step writes this back to GHL."""

    __tablename__ = "call_record"

    attempt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("call_attempt.id"), unique=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("location.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None while the call is live (a transfer opened the row); set once, by `store_call`.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The conversation's outcome (a `qualification.Outcome` value), as GHL will be told.
    outcome: Mapped[str | None] = mapped_column(String(32))
    # [[speaker, text], ...] with speaker "agent" or "caller".
    transcript: Mapped[list[list[str]]] = mapped_column(EncryptedJSON("call_record.transcript"))
    qualification: Mapped[dict[str, Any] | None] = mapped_column(
        EncryptedJSON("call_record.qualification")
    )
    booked_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # GHL's appointment id when the call booked the slot itself; a slot with no id here is
    # still to be booked by the CRM write-back.
    ghl_appointment_id: Mapped[str | None] = mapped_column(String(64))
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transfer_reason: Mapped[TransferReason | None] = mapped_column(str_enum(TransferReason))
    transfer_status: Mapped[TransferStatus | None] = mapped_column(str_enum(TransferStatus))
    transfer_summary: Mapped[str | None] = mapped_column(
        EncryptedText("call_record.transfer_summary")
    )
    # One `TurnLatency.as_ms()` per caller turn: timings only, no words.
    latency: Mapped[list[dict[str, int | None]]] = mapped_column(JSON, default=list)

    def qualified(self) -> Qualification | None:
        """The stored qualification, typed again (None until the call is stored)."""
        if self.qualification is None:
            return None
        return Qualification.model_validate(self.qualification)

    def lines(self) -> list[tuple[str, str]]:
        """The transcript as (speaker, text) pairs."""
        return [(speaker, text) for speaker, text in self.transcript]


class CallEventKind(enum.StrEnum):
    """What happened to a call that another step acts on."""

    CALL_CONCLUDED = "call_concluded"  # the record is complete: write it back to the CRM


class CallEvent(IdMixin, Base):
    """A durable domain event (outbox row); it names the record, the PHI stays there."""

    __tablename__ = "call_event"

    kind: Mapped[CallEventKind] = mapped_column(str_enum(CallEventKind))
    attempt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("call_attempt.id"))
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("call_record.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("record_id", "kind"),
        Index("ix_call_event_processed_at_created_at", "processed_at", "created_at"),
    )


async def _locked_attempt(session: AsyncSession, attempt_id: uuid.UUID) -> CallAttempt:
    # The attempt's row lock orders every writer of its record (transfer, store, a second
    # store from a retry), so two of them never both create it.
    attempt = await session.get(CallAttempt, attempt_id, with_for_update=True)
    if attempt is None:
        raise UnknownAttempt("no such attempt")
    return attempt


async def _open_record(session: AsyncSession, attempt: CallAttempt, at: datetime) -> CallRecord:
    record = await session.scalar(select(CallRecord).where(CallRecord.attempt_id == attempt.id))
    if record is not None:
        return record
    record = CallRecord(
        id=uuid.uuid4(),
        attempt_id=attempt.id,
        lead_id=attempt.lead_id,
        location_id=attempt.location_id,
        started_at=attempt.stream_started_at or attempt.answered_at or at,
        transcript=[],
        latency=[],
    )
    session.add(record)
    return record


async def record_transfer(
    *,
    session: AsyncSession,
    attempt_id: uuid.UUID,
    reason: TransferReason,
    summary: str,
    at: datetime,
) -> CallRecord:
    """Keep a transfer's summary (encrypted) where the whisper route will read it.

    Args:
        session: The caller's transaction.
        attempt_id: The live call's attempt.
        reason: Why the call goes to a person.
        summary: What the person taking the call hears first (PHI).
        at: Now (the record's start when the stream's start is not known).

    Returns:
        The call's record, opened if this is its first write.

    Raises:
        UnknownAttempt: There is no such attempt.
    """
    attempt = await _locked_attempt(session, attempt_id)
    record = await _open_record(session, attempt, at)
    record.transfer_reason = reason
    record.transfer_summary = summary
    await session.flush()
    return record


async def transfer_summary(*, session: AsyncSession, attempt_id: uuid.UUID) -> str | None:
    """The summary a transfer of this attempt whispers, or None when none was made."""
    summary: str | None = await session.scalar(
        select(CallRecord.transfer_summary).where(CallRecord.attempt_id == attempt_id)
    )
    return summary


@dataclass(frozen=True, slots=True)
class TransferWhispers:
    """The whisper route's source of summaries (a `telephony.callbacks.WhisperSource`)."""

    db: Database

    async def __call__(self, attempt_id: uuid.UUID) -> str | None:
        """The summary for the attempt's transfer, or None."""
        async with self.db.reader() as session:
            return await transfer_summary(session=session, attempt_id=attempt_id)


async def store_call(
    *,
    session: AsyncSession,
    attempt_id: uuid.UUID,
    qualification: Qualification,
    transcript: Sequence[tuple[str, str]],
    actions: ActionsTaken,
    latency: Sequence[MeasuredTurn],
    ended_at: datetime,
) -> CallRecord:
    """Store an answered call and its `call_concluded` event, in the caller's transaction.

    Idempotent per attempt: once a call is stored, storing it again returns the stored record
    unchanged and writes no second event.

    Args:
        session: The caller's transaction.
        attempt_id: The call's attempt.
        qualification: What the call established.
        transcript: (speaker, text) pairs, in order.
        actions: What the call's actions did.
        latency: One entry per caller turn.
        ended_at: When the call ended (timezone-aware).

    Returns:
        The call's record.

    Raises:
        UnknownAttempt: There is no such attempt.
    """
    attempt = await _locked_attempt(session, attempt_id)
    record = await _open_record(session, attempt, ended_at)
    if record.ended_at is not None:
        return record
    record.ended_at = ended_at
    record.outcome = qualification.outcome.value if qualification.outcome else None
    record.transcript = [[speaker, text] for speaker, text in transcript]
    record.qualification = qualification.model_dump(mode="json")
    record.booked_slot_at = actions.booked_slot
    record.ghl_appointment_id = actions.appointment_id
    record.callback_at = actions.callback_at
    record.transfer_reason = actions.transfer_reason or record.transfer_reason
    record.transfer_status = actions.transfer_status or record.transfer_status
    record.latency = [turn.as_ms() for turn in latency]
    # No ORM relationship orders the two inserts: the record goes first, for the foreign key.
    await session.flush()
    session.add(
        CallEvent(
            kind=CallEventKind.CALL_CONCLUDED,
            attempt_id=attempt_id,
            record_id=record.id,
            created_at=utcnow(),
        )
    )
    await session.flush()
    # The GHL writes (fields, tags, note, stage, booking) commit with the record, or not at all.
    await crm_outbox.enqueue_call_result(session=session, record=record)
    return record


async def get_record(*, session: AsyncSession, record_id: uuid.UUID) -> CallRecord | None:
    """A call record by id (what a `CallEvent` names)."""
    return await session.get(CallRecord, record_id)


async def pending_events(*, session: AsyncSession, limit: int = 100) -> list[CallEvent]:
    """Unprocessed events, oldest first, locked for this transaction.

    Rows another consumer holds are skipped (PostgreSQL; SQLite has one writer anyway), so
    several workers can drain the outbox side by side.

    Args:
        session: The consumer's transaction; commit it after `mark_processed`.
        limit: At most this many.

    Returns:
        The events.
    """
    stmt = (
        select(CallEvent)
        .where(CallEvent.processed_at.is_(None))
        .order_by(CallEvent.created_at, CallEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def mark_processed(*, session: AsyncSession, event_id: uuid.UUID, at: datetime) -> bool:
    """Note that an event was handled.

    Args:
        session: The consumer's transaction.
        event_id: The event.
        at: When (timezone-aware).

    Returns:
        False when there is no such event or it was already processed.
    """
    result = await session.execute(
        update(CallEvent)
        .where(CallEvent.id == event_id, CallEvent.processed_at.is_(None))
        .values(processed_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
