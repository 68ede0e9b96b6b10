"""The outbox of GHL writes: enqueued with what they record, claimed and settled by the sender.

Enqueueing happens inside the caller's transaction (the call's record, the attempt's final
status, the opt-out's DNC row), so a write exists exactly when what it records does. Each
write's idempotency key is unique: enqueueing a key again is a no-op, so an opt-out written
mid-call and the call's write-back never send Call DND twice. A commit that enqueued wakes
this process's senders (`on_enqueued`).

A call's writes go out in `seq` order: a row is claimable only when no earlier row of the same
attempt is still pending or being sent (failed rows do not hold the others back). Claims take
a lease; on PostgreSQL concurrent senders skip each other's locked rows, on SQLite the single
writer makes a claim atomic. A row whose lease ran out is claimed again, marked
`maybe_applied`, because its sender may have reached GHL before it died.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from loguru import logger
from pydantic import ValidationError
from sqlalchemy import and_, event, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from dentalvoice.conversation.qualification import Outcome, Qualification
from dentalvoice.crm.mapping import attempt_writes, call_writes, opt_out_writes, write_key
from dentalvoice.crm.models import CrmWrite, WriteStatus
from dentalvoice.crm.options import CrmConfigError, CrmOptions, clinic_crm, crm_options
from dentalvoice.crm.writes import (
    AttemptFacts,
    CallFacts,
    PlannedWrite,
    Replan,
    WriteOp,
    parse_op,
)
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.dialer.models import CallAttempt
from dentalvoice.errors import ConflictError, NotFoundError
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location

__all__ = [
    "ClaimedWrite",
    "ConcludedCall",
    "WriteView",
    "claim_due",
    "claim_next",
    "enqueue",
    "enqueue_attempt_result",
    "enqueue_call_result",
    "enqueue_opt_out",
    "hold_location",
    "list_writes",
    "next_due_at",
    "on_enqueued",
    "replan",
    "retry_writes",
    "settle",
]

# Unanswered dials (the dialer's outcomes) that GHL hears of.
UNANSWERED: Final = frozenset({"no_answer", "busy", "voicemail"})
# Attempt outcomes AMD set: the "conversation" stored for them was with a machine.
_MACHINE: Final = frozenset({"voicemail", "fax"})
_OPEN: Final = (WriteStatus.PENDING, WriteStatus.SENDING)
_ENQUEUED: Final = "dentalvoice.crm.outbox.enqueued"
_ERROR_LIMIT: Final = 500

# -- waking senders after a commit --------------------------------------------------------------

_listeners: list[Callable[[], None]] = []


def on_enqueued(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after each commit that enqueued writes in this process.

    It runs in the committing task, on the event loop's thread: it must only set an event.

    Returns:
        A function that removes the callback.
    """
    _listeners.append(callback)

    def remove() -> None:
        if callback in _listeners:
            _listeners.remove(callback)

    return remove


def _mark_enqueued(session: AsyncSession) -> None:
    session.info[_ENQUEUED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_ENQUEUED, False):
        return
    for callback in list(_listeners):
        try:
            callback()
        except Exception as exc:  # noqa: BLE001 - a wake-up must never fail a commit
            logger.warning("crm outbox wake-up failed: {}", type(exc).__name__)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


# -- enqueueing ---------------------------------------------------------------------------------


class ConcludedCall(Protocol):
    """What the write-back reads from a stored call (`voice.records.CallRecord`)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def attempt_id(self) -> uuid.UUID: ...
    @property
    def lead_id(self) -> uuid.UUID: ...
    @property
    def location_id(self) -> uuid.UUID: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def qualification(self) -> dict[str, Any] | None: ...
    @property
    def booked_slot_at(self) -> datetime | None: ...
    @property
    def ghl_appointment_id(self) -> str | None: ...
    @property
    def callback_at(self) -> datetime | None: ...
    @property
    def transfer_reason(self) -> Any: ...
    @property
    def transfer_status(self) -> Any: ...

    def lines(self) -> list[tuple[str, str]]:
        """The transcript as (speaker, text) pairs."""
        ...


def _insert_for(session: AsyncSession) -> Any:
    # ON CONFLICT DO NOTHING on the idempotency key: a concurrent enqueue of the same key
    # waits for the other transaction and then inserts nothing, instead of failing ours.
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"the CRM outbox does not support {name}")


async def enqueue(
    *,
    session: AsyncSession,
    location_id: uuid.UUID,
    lead_id: uuid.UUID,
    attempt_id: uuid.UUID,
    writes: Sequence[PlannedWrite],
    record_id: uuid.UUID | None = None,
    status: WriteStatus = WriteStatus.PENDING,
    last_error: str | None = None,
) -> int:
    """Add writes in the caller's transaction; keys already in the outbox are skipped.

    Args:
        session: The transaction that stores what the writes record.
        location_id: The clinic.
        lead_id: The lead (the GHL contact).
        attempt_id: The dial the writes belong to (they are ordered among its writes).
        writes: What to write.
        record_id: The call record, when there is one.
        status: `pending`; `failed` for a write parked from the start.
        last_error: Why, for a parked write.

    Returns:
        How many rows were new.
    """
    if not writes:
        return 0
    now = utcnow()
    table = CrmWrite.__table__
    rows = [
        {
            "id": uuid.uuid4(),
            "location_id": location_id,
            "lead_id": lead_id,
            "attempt_id": attempt_id,
            "record_id": record_id,
            "kind": write.kind.value,
            "seq": write.seq,
            "idempotency_key": write.key,
            "payload": write.op.model_dump(mode="json"),
            "status": status,
            "attempts": 0,
            "next_attempt_at": None,
            "lease_until": None,
            "claimed_by": None,
            "maybe_applied": False,
            "last_error": last_error[:_ERROR_LIMIT] if last_error else None,
            "ghl_object_id": None,
            "delivered_at": None,
            "created_at": now,
            "updated_at": now,
        }
        for write in dict((w.key, w) for w in writes).values()
    ]
    stmt = (
        _insert_for(session)(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    )
    inserted = len((await session.execute(stmt)).all())
    if inserted and status is WriteStatus.PENDING:
        _mark_enqueued(session)
    return inserted


async def _replan_later(
    *,
    session: AsyncSession,
    error: CrmConfigError,
    location_id: uuid.UUID,
    lead_id: uuid.UUID,
    attempt_id: uuid.UUID,
    record_id: uuid.UUID | None,
    op: Replan,
) -> int:
    # The call must be stored whatever the clinic's options say: its writes are planned again
    # when an operator retries this row after fixing them.
    logger.error("crm write-back not planned: attempt={} {}", attempt_id, error)
    planned = PlannedWrite(write_key(attempt_id, "replan"), op)
    return await enqueue(
        session=session,
        location_id=location_id,
        lead_id=lead_id,
        attempt_id=attempt_id,
        record_id=record_id,
        writes=[planned],
        status=WriteStatus.FAILED,
        last_error=f"configuration: {error}",
    )


def _contact_name(lead: Lead) -> str | None:
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p).strip()
    return name or None


async def enqueue_call_result(*, session: AsyncSession, record: ConcludedCall) -> int:
    """Plan and enqueue the GHL writes of a stored call, in the transaction that stores it.

    A "conversation" with an answering machine (AMD said machine or fax, and the agent
    reached no outcome) writes nothing here: the attempt's final status writes the voicemail
    tag. Invalid clinic options park one `replan` write as failed instead of failing the call.

    Args:
        session: The transaction that completes the record.
        record: The completed call record.

    Returns:
        How many writes were new.
    """
    location = await session.get_one(Location, record.location_id)
    lead = await session.get_one(Lead, record.lead_id)
    attempt = await session.get(CallAttempt, record.attempt_id)
    qualification = Qualification.model_validate(record.qualification or {})
    if attempt is not None and attempt.outcome in _MACHINE and qualification.outcome is None:
        return 0
    base: dict[str, Any] = {
        "attempt_id": record.attempt_id,
        "record_id": record.id,
        "outcome": _outcome(record.outcome),
        "qualification": qualification,
        "booked_slot_at": record.booked_slot_at,
        "ghl_appointment_id": record.ghl_appointment_id,
        "callback_at": record.callback_at,
        "transfer_reason": _value(record.transfer_reason),
        "transfer_status": _value(record.transfer_status),
        "contact_name": _contact_name(lead),
    }
    try:
        options = crm_options(location)
        clinic = clinic_crm(location, options)
    except CrmConfigError as exc:
        return await _replan_later(
            session=session,
            error=exc,
            op=Replan(call=CallFacts(**base)),
            location_id=record.location_id,
            lead_id=record.lead_id,
            attempt_id=record.attempt_id,
            record_id=record.id,
        )
    transcript = record.lines() if options.note.include_transcript else None
    facts = CallFacts(**base, transcript=transcript)
    return await enqueue(
        session=session,
        writes=call_writes(facts, clinic),
        location_id=record.location_id,
        lead_id=record.lead_id,
        attempt_id=record.attempt_id,
        record_id=record.id,
    )


def _outcome(value: str | None) -> Outcome | None:
    # An outcome this code does not know (a newer version wrote it) must not fail the call's
    # transaction: it is written back as incomplete.
    try:
        return Outcome(value) if value else None
    except ValueError:
        return None


def _value(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


async def enqueue_opt_out(
    *,
    session: AsyncSession,
    attempt_id: uuid.UUID,
    lead_id: uuid.UUID,
    location_id: uuid.UUID,
) -> int:
    """Enqueue Call DND and the opted-out tags, in the transaction that adds our DNC row.

    Invalid clinic options do not hold the DND back: the default tags are used.

    Returns:
        How many writes were new (0 when the call's write-back already enqueued them).
    """
    location = await session.get_one(Location, location_id)
    try:
        options = crm_options(location)
    except CrmConfigError as exc:
        logger.error(
            "crm options invalid, default opt-out tags used: attempt={} {}", attempt_id, exc
        )
        options = CrmOptions()
    return await enqueue(
        session=session,
        location_id=location_id,
        lead_id=lead_id,
        attempt_id=attempt_id,
        writes=opt_out_writes(attempt_id, options),
    )


async def enqueue_attempt_result(
    *,
    session: AsyncSession,
    attempt_id: uuid.UUID,
    lead_id: uuid.UUID,
    location_id: uuid.UUID,
    outcome: str,
    voicemail_left: bool = False,
) -> int:
    """Enqueue an unanswered dial's tag and last-outcome field (other outcomes: nothing).

    Args:
        session: The transaction that settles the attempt.
        attempt_id: The dial.
        lead_id: Its lead.
        location_id: Its clinic.
        outcome: The dialer's outcome (`no_answer`, `busy`, `voicemail`, …).
        voicemail_left: Our message was left on the machine.

    Returns:
        How many writes were new.
    """
    if outcome not in UNANSWERED:
        return 0
    facts = AttemptFacts(attempt_id=attempt_id, outcome=outcome, voicemail_left=voicemail_left)
    location = await session.get_one(Location, location_id)
    try:
        options = crm_options(location)
    except CrmConfigError as exc:
        return await _replan_later(
            session=session,
            error=exc,
            op=Replan(attempt=facts),
            location_id=location_id,
            lead_id=lead_id,
            attempt_id=attempt_id,
            record_id=None,
        )
    return await enqueue(
        session=session,
        writes=attempt_writes(facts, options),
        location_id=location_id,
        lead_id=lead_id,
        attempt_id=attempt_id,
    )


async def replan(*, session: AsyncSession, write_id: uuid.UUID, op: Replan) -> int:
    """Plan a call's writes again from a `replan` row (the clinic's options now valid).

    Raises:
        CrmConfigError: The options are still invalid.
        NotFoundError: No such row.
    """
    row = await session.get(CrmWrite, write_id)
    if row is None:
        raise NotFoundError("no such write")
    location = await session.get_one(Location, row.location_id)
    options = crm_options(location)
    if op.call is not None:
        writes = call_writes(op.call, clinic_crm(location, options))
    elif op.attempt is not None:
        writes = attempt_writes(op.attempt, options)
    else:
        writes = []
    return await enqueue(
        session=session,
        writes=writes,
        location_id=row.location_id,
        lead_id=row.lead_id,
        attempt_id=row.attempt_id,
        record_id=row.record_id,
    )


# -- claiming and settling ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimedWrite:
    """A write a sender holds until its lease ends (the payload decrypted and parsed).

    Attributes:
        op: The write, or None when its payload is not one this version can read.
    """

    id: uuid.UUID
    key: str
    kind: str
    op: WriteOp | None
    attempts: int
    maybe_applied: bool
    location_id: uuid.UUID
    attempt_id: uuid.UUID
    ghl_location_id: str
    ghl_contact_id: str


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            CrmWrite.status == WriteStatus.PENDING,
            or_(CrmWrite.next_attempt_at.is_(None), CrmWrite.next_attempt_at <= now),
        ),
        # Its sender died or stalled: someone else takes it over.
        and_(CrmWrite.status == WriteStatus.SENDING, CrmWrite.lease_until < now),
    )


def _first_in_line() -> ColumnElement[bool]:
    earlier = aliased(CrmWrite)
    return ~exists().where(
        earlier.attempt_id == CrmWrite.attempt_id,
        earlier.seq < CrmWrite.seq,
        earlier.status.in_(_OPEN),
    )


async def _claim(
    session: AsyncSession,
    *,
    is_sqlite: bool,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    attempt_id: uuid.UUID | None = None,
) -> list[ClaimedWrite]:
    due = select(CrmWrite.id).where(_due(now), _first_in_line())
    if attempt_id is not None:
        due = due.where(CrmWrite.attempt_id == attempt_id)
    due = due.order_by(CrmWrite.created_at, CrmWrite.seq).limit(limit)
    if not is_sqlite:
        due = due.with_for_update(skip_locked=True)
    # One UPDATE … RETURNING: atomic on SQLite too, even with two processes on one file.
    stmt = (
        update(CrmWrite)
        .where(CrmWrite.id.in_(due.scalar_subquery()))
        .values(
            status=WriteStatus.SENDING,
            lease_until=now + lease,
            claimed_by=worker_id,
            maybe_applied=or_(CrmWrite.maybe_applied, CrmWrite.status == WriteStatus.SENDING),
            updated_at=utcnow(),
        )
        .returning(CrmWrite.id)
        .execution_options(synchronize_session=False)
    )
    ids = [row.id for row in (await session.execute(stmt)).all()]
    if not ids:
        return []
    rows = await session.execute(
        select(CrmWrite, Location.ghl_location_id, Lead.ghl_contact_id)
        .join(Location, Location.id == CrmWrite.location_id)
        .join(Lead, Lead.id == CrmWrite.lead_id)
        .where(CrmWrite.id.in_(ids))
        .order_by(CrmWrite.created_at, CrmWrite.seq)
        .execution_options(populate_existing=True)
    )
    return [_claimed(write, ghl_location_id, contact) for write, ghl_location_id, contact in rows]


def _claimed(write: CrmWrite, ghl_location_id: str, contact_id: str) -> ClaimedWrite:
    try:
        op: WriteOp | None = parse_op(write.payload)
    except ValidationError:
        op = None
    return ClaimedWrite(
        id=write.id,
        key=write.idempotency_key,
        kind=write.kind,
        op=op,
        attempts=write.attempts,
        maybe_applied=write.maybe_applied,
        location_id=write.location_id,
        attempt_id=write.attempt_id,
        ghl_location_id=ghl_location_id,
        ghl_contact_id=contact_id,
    )


async def claim_due(
    *, db: Database, worker_id: str, now: datetime, lease: timedelta, limit: int
) -> list[ClaimedWrite]:
    """Take up to `limit` due writes that are first in line for their call.

    Args:
        db: The database.
        worker_id: The sender holding the lease (`claimed_by`).
        now: The sender's clock; rows due at or before it are taken.
        lease: How long the claim holds.
        limit: The most rows to take.

    Returns:
        The claimed writes, oldest first.
    """
    if limit <= 0:
        return []
    async with db.transaction() as session:
        return await _claim(
            session, is_sqlite=db.is_sqlite, worker_id=worker_id, now=now, lease=lease, limit=limit
        )


async def claim_next(
    *,
    session: AsyncSession,
    is_sqlite: bool,
    attempt_id: uuid.UUID,
    worker_id: str,
    now: datetime,
    lease: timedelta,
) -> ClaimedWrite | None:
    """The call's next write, claimed in the transaction that settled the previous one.

    Settling and claiming together leaves no moment where another sender could take the
    call's next row while this one still works on the call.
    """
    claimed = await _claim(
        session,
        is_sqlite=is_sqlite,
        worker_id=worker_id,
        now=now,
        lease=lease,
        limit=1,
        attempt_id=attempt_id,
    )
    return claimed[0] if claimed else None


@dataclass(frozen=True, slots=True)
class Delivered:
    """GHL has the write."""

    ghl_object_id: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again at `at`.

    Attributes:
        counted: The try reached (or may have reached) GHL; False when it was held back
            before sending (our own rate limit), so it does not count as an attempt.
    """

    at: datetime
    error: str
    maybe_applied: bool = False
    counted: bool = True


@dataclass(frozen=True, slots=True)
class Parked:
    """Sending it again will not help: an operator must look (`dentalvoice outbox`)."""

    error: str


Settlement = Delivered | Retry | Parked


async def settle(
    *, session: AsyncSession, write_id: uuid.UUID, worker_id: str, result: Settlement, now: datetime
) -> bool:
    """Record how a claimed write went.

    Returns:
        False when the lease was lost (another sender took the row over): nothing changed.
    """
    values: dict[str, Any] = {"lease_until": None, "claimed_by": None, "updated_at": utcnow()}
    if isinstance(result, Delivered):
        values.update(
            status=WriteStatus.DELIVERED,
            attempts=CrmWrite.attempts + 1,
            ghl_object_id=result.ghl_object_id,
            delivered_at=now,
            next_attempt_at=None,
        )
    elif isinstance(result, Retry):
        values.update(
            status=WriteStatus.PENDING,
            attempts=CrmWrite.attempts + (1 if result.counted else 0),
            next_attempt_at=result.at,
            last_error=result.error[:_ERROR_LIMIT],
        )
        if result.maybe_applied:
            values["maybe_applied"] = True
    else:
        values.update(
            status=WriteStatus.FAILED,
            attempts=CrmWrite.attempts + 1,
            next_attempt_at=None,
            last_error=result.error[:_ERROR_LIMIT],
        )
    outcome = await session.execute(
        update(CrmWrite)
        .where(
            CrmWrite.id == write_id,
            CrmWrite.status == WriteStatus.SENDING,
            CrmWrite.claimed_by == worker_id,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(outcome.rowcount or 0) == 1  # type: ignore[attr-defined]


async def release(*, session: AsyncSession, write_id: uuid.UUID, worker_id: str) -> bool:
    """Hand a claimed write back unsent (its sender is stopping): due at once, attempts kept.

    Returns:
        False when the lease was lost meanwhile: nothing changed.
    """
    outcome = await session.execute(
        update(CrmWrite)
        .where(
            CrmWrite.id == write_id,
            CrmWrite.status == WriteStatus.SENDING,
            CrmWrite.claimed_by == worker_id,
        )
        .values(status=WriteStatus.PENDING, lease_until=None, claimed_by=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(outcome.rowcount or 0) == 1  # type: ignore[attr-defined]


async def hold_location(*, session: AsyncSession, location_id: uuid.UUID, until: datetime) -> int:
    """Push the clinic's pending writes to `until` (GHL rate-limited it); returns how many.

    Rows another transaction has locked are skipped, not waited for: two senders holding the
    same clinic at once would otherwise lock its rows in different orders and deadlock. A
    skipped row is being claimed (its send meets the client's closed bucket) or held by the
    other transaction already.
    """
    held = select(CrmWrite.id).where(
        CrmWrite.location_id == location_id,
        CrmWrite.status == WriteStatus.PENDING,
        or_(CrmWrite.next_attempt_at.is_(None), CrmWrite.next_attempt_at < until),
    )
    if session.get_bind().dialect.name != "sqlite":
        held = held.with_for_update(skip_locked=True)
    result = await session.execute(
        update(CrmWrite)
        .where(CrmWrite.id.in_(held.scalar_subquery()))
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def next_due_at(*, db: Database, now: datetime) -> datetime | None:
    """When a write next becomes claimable (`now` if one already is), or None.

    Only writes first in line for their call count: the ones behind them wait for those.
    """
    first = _first_in_line()
    async with db.reader() as session:
        asap = await session.scalar(
            select(CrmWrite.id)
            .where(
                CrmWrite.status == WriteStatus.PENDING,
                CrmWrite.next_attempt_at.is_(None),
                first,
            )
            .limit(1)
        )
        if asap is not None:
            return now
        pending = await session.scalar(
            select(func.min(CrmWrite.next_attempt_at)).where(
                CrmWrite.status == WriteStatus.PENDING, first
            )
        )
        leased = await session.scalar(
            select(func.min(CrmWrite.lease_until)).where(CrmWrite.status == WriteStatus.SENDING)
        )
    moments = [m for m in (pending, leased) if m is not None]
    return min(moments) if moments else None


# -- operators ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WriteView:
    """A write as an operator sees it: ids, states and errors, never the payload."""

    id: uuid.UUID
    ghl_location_id: str
    kind: str
    status: WriteStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime


async def list_writes(
    *,
    session: AsyncSession,
    status: WriteStatus | None = None,
    ghl_location_id: str | None = None,
    limit: int = 50,
) -> list[WriteView]:
    """Outbox rows, newest first (payloads are not read).

    Args:
        session: A session.
        status: Only rows in this state.
        ghl_location_id: Only this clinic's rows.
        limit: At most this many.
    """
    stmt = (
        select(
            CrmWrite.id,
            Location.ghl_location_id,
            CrmWrite.kind,
            CrmWrite.status,
            CrmWrite.attempts,
            CrmWrite.next_attempt_at,
            CrmWrite.last_error,
            CrmWrite.created_at,
        )
        .join(Location, Location.id == CrmWrite.location_id)
        .order_by(CrmWrite.created_at.desc(), CrmWrite.seq.desc())
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(CrmWrite.status == status)
    if ghl_location_id is not None:
        stmt = stmt.where(Location.ghl_location_id == ghl_location_id)
    return [WriteView(*row) for row in (await session.execute(stmt)).all()]


async def retry_writes(
    *,
    session: AsyncSession,
    write_id: uuid.UUID | None = None,
    all_failed: bool = False,
    ghl_location_id: str | None = None,
) -> int:
    """Put failed writes (or one pending write) back in line, due now; attempts are kept.

    Args:
        session: The operator's transaction.
        write_id: One write (failed, or pending in a backoff).
        all_failed: Every failed write (of `ghl_location_id`'s clinic, when given).
        ghl_location_id: Narrows `all_failed` to one clinic.

    Returns:
        How many rows were put back.

    Raises:
        ValueError: Neither or both of `write_id` and `all_failed`.
        NotFoundError: No write with that id.
        ConflictError: That write is delivered or being sent.
    """
    if (write_id is None) == (not all_failed):
        raise ValueError("give a write id or all_failed, not both")
    stmt = update(CrmWrite).values(
        status=WriteStatus.PENDING,
        next_attempt_at=None,
        lease_until=None,
        claimed_by=None,
        updated_at=utcnow(),
    )
    if write_id is not None:
        row = await session.get(CrmWrite, write_id)
        if row is None:
            raise NotFoundError(f"no outbox write {write_id}")
        if row.status not in (WriteStatus.FAILED, WriteStatus.PENDING):
            raise ConflictError(f"write {write_id} is {row.status.value}; nothing to retry")
        stmt = stmt.where(CrmWrite.id == write_id)
    else:
        stmt = stmt.where(CrmWrite.status == WriteStatus.FAILED)
        if ghl_location_id is not None:
            clinic = select(Location.id).where(Location.ghl_location_id == ghl_location_id)
            stmt = stmt.where(CrmWrite.location_id.in_(clinic.scalar_subquery()))
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        _mark_enqueued(session)
    return count
