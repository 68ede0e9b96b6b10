"""Intake: authenticate a GHL webhook, store it raw, then turn it into a lead — or say why not.

Persist, then answer: every authenticated request is committed as a `webhook_event` row before
any response. The event and the lead it produces are written in one transaction; if writing the
lead fails, the event alone is committed in a second transaction as `failed`, to be replayed.
Everything that needs no database (parsing, validation, normalisation) happens before the
transaction, which keeps it short: on PostgreSQL a new lead takes four statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from loguru import logger
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.db import Database
from dentalvoice.db.base import utcnow
from dentalvoice.db.crypto import PhiCipher
from dentalvoice.errors import NotFoundError, StorageUnavailable
from dentalvoice.leads.events import LeadListener, LeadStored
from dentalvoice.leads.models import (
    EventStatus,
    Lead,
    LeadRevision,
    PayloadShape,
    Verification,
    WebhookEvent,
)
from dentalvoice.leads.normalize import LeadFields, normalize_contact
from dentalvoice.leads.payloads import (
    FieldError,
    ParsedWebhook,
    PayloadError,
    load_json,
    parse_webhook,
    peek_location_id,
)
from dentalvoice.leads.verification import (
    AuthenticationFailed,
    SignatureKeys,
    secret_matches,
    verify_signature,
)
from dentalvoice.locations.directory import LocationDirectory, LocationInfo
from dentalvoice.logging import describe_exception


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """The parts of an HTTP request intake looks at."""

    body: bytes
    ghl_signature: str | None = None
    wh_signature: str | None = None
    secret: str | None = None


@dataclass(slots=True)
class IntakeResult:
    """The outcome of one delivery, as the HTTP layer reports it."""

    status: str  # accepted | updated | duplicate | ignored | rejected | unroutable | stored
    http_status: int
    event_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IntakeConfig:
    """Process-wide intake settings."""

    signature_keys: SignatureKeys
    global_secret: str | None
    max_age: timedelta
    consent_keys: tuple[str, ...]


_LEAD_FIELDS = (
    "first_name", "last_name", "email", "address", "state", "country", "timezone", "source",
    "tags", "custom_fields", "consent_evidence", "dnd", "dnd_call",
)  # fmt: skip


class _Statements:
    """The hot path's statements, built once per dialect and run on the Core connection."""

    def __init__(self, *, is_sqlite: bool) -> None:
        insert = sqlite_insert if is_sqlite else pg_insert
        event = cast(Table, WebhookEvent.__table__)
        lead = cast(Table, Lead.__table__)
        self.insert_event = insert(event).on_conflict_do_nothing(
            index_elements=[event.c.dedupe_key]
        )
        self.insert_event_returning = self.insert_event.returning(event.c.id)
        self.insert_lead = (
            insert(lead)
            .on_conflict_do_nothing(index_elements=[lead.c.location_id, lead.c.ghl_contact_id])
            .returning(lead.c.id)
        )
        self.insert_revision = insert(cast(Table, LeadRevision.__table__))
        self.link_event = (
            update(event)
            .where(event.c.id == bindparam("b_event_id"))
            .values(lead_id=bindparam("b_lead_id"), location_id=bindparam("b_location_id"))
        )
        self.reject_event = (
            update(event)
            .where(event.c.id == bindparam("b_event_id"))
            .values(status=bindparam("b_status"), errors=bindparam("b_errors"))
        )


class IntakeService:
    """Receives webhooks and replays stored ones; one instance per process."""

    def __init__(
        self,
        *,
        db: Database,
        cipher: PhiCipher,
        config: IntakeConfig,
        listeners: Sequence[LeadListener] = (),
        on_committed: Callable[[IntakeResult], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.config = config
        self.listeners = list(listeners)
        # Runs after the lead's transaction committed (e.g. to wake the dialer): what it
        # reacts to is then visible to every other connection.
        self.on_committed = on_committed
        self.locations = LocationDirectory(db)
        self._sql = _Statements(is_sqlite=db.is_sqlite)

    # -- receiving ------------------------------------------------------------------------

    async def receive(
        self, request: WebhookRequest, *, now: datetime | None = None
    ) -> IntakeResult:
        """Authenticate, store and process one delivery.

        Raises `AuthenticationFailed` (nothing stored) or `StorageUnavailable` (nothing stored;
        the caller answers 429 so that GHL delivers again).
        """
        now = now or utcnow()
        document: object = None
        parse_error: PayloadError | None = None
        try:
            document = load_json(request.body)
        except PayloadError as exc:
            parse_error = exc

        try:
            verification, location = await self._authenticate(request, document)
        except (OperationalError, DBAPIError, OSError) as exc:
            raise StorageUnavailable("database unavailable while authenticating") from exc

        parsed: ParsedWebhook | None = None
        if parse_error is None:
            try:
                parsed = parse_webhook(document)
            except PayloadError as exc:
                parse_error = exc
        if parsed is not None and parsed.timestamp is not None:
            ts = parsed.timestamp
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=now.tzinfo)
            if abs(now - ts) > self.config.max_age:
                raise AuthenticationFailed("stale_timestamp")

        if parsed is not None and parsed.webhook_id:
            dedupe_key = self.cipher.blind_index(parsed.webhook_id, purpose="ghl-webhook-id")
        else:
            dedupe_key = self.cipher.blind_index(request.body, purpose="ghl-webhook-body")

        try:
            if location is None and parsed is not None and parsed.ghl_location_id is not None:
                location = await self.locations.by_ghl_id(parsed.ghl_location_id)
            plan = _plan(
                parsed=parsed,
                parse_error=parse_error,
                location=location,
                consent_keys=self.config.consent_keys,
            )
            event = _NewEvent(
                dedupe_key=dedupe_key,
                shape=plan.shape,
                event_type=parsed.event_type if parsed else None,
                verification=verification,
                ghl_location_id=(parsed.ghl_location_id if parsed else peek_location_id(document)),
                raw_body=request.body,
            )
            return await self._store(event=event, plan=plan)
        except (OperationalError, DBAPIError, OSError) as exc:
            raise StorageUnavailable("database unavailable while storing") from exc

    async def _authenticate(
        self, request: WebhookRequest, document: object
    ) -> tuple[Verification, LocationInfo | None]:
        verification = verify_signature(
            keys=self.config.signature_keys,
            body=request.body,
            ghl_signature=request.ghl_signature,
            wh_signature=request.wh_signature,
        )
        ghl_location_id = peek_location_id(document)
        location = await self.locations.by_ghl_id(ghl_location_id) if ghl_location_id else None
        if verification is not None:
            return verification, location
        if request.secret is None:
            raise AuthenticationFailed("missing_credentials")
        if location is not None and location.webhook_secret:
            if secret_matches(request.secret, [location.webhook_secret]):
                return Verification.SECRET, location
            raise AuthenticationFailed("bad_secret")
        if ghl_location_id is None:
            # A body that names no location (the seed's shape may not) is routed by whose
            # secret it carries.
            for candidate in await self.locations.all():
                if candidate.webhook_secret and secret_matches(
                    request.secret, [candidate.webhook_secret]
                ):
                    return Verification.SECRET, candidate
        if self.config.global_secret and secret_matches(
            request.secret, [self.config.global_secret]
        ):
            return Verification.SECRET, location
        raise AuthenticationFailed("bad_secret")

    async def _store(self, *, event: _NewEvent, plan: _Plan) -> IntakeResult:
        event_id = uuid.uuid4()
        values: dict[str, Any] = {
            "id": event_id,
            "received_at": utcnow(),
            "dedupe_key": event.dedupe_key,
            "shape": event.shape,
            "event_type": event.event_type,
            "verification": event.verification,
            "ghl_location_id": event.ghl_location_id,
            "location_id": plan.location.id if plan.location else None,
            "raw_body": event.raw_body,
            "attempts": 1,
            "processed_at": utcnow(),
        }
        try:
            async with self.db.transaction() as session:
                # Known outcomes are written with the event; a lead's id is added after it.
                final = plan.outcome if plan.fields is None else "accepted"
                conn = await session.connection()
                inserted = await conn.execute(
                    self._sql.insert_event_returning,
                    {
                        **values,
                        "status": _STATUS_OF[final],
                        "errors": [e.as_dict() for e in plan.errors] or None,
                    },
                )
                if inserted.scalar_one_or_none() is None:
                    return await self._duplicate(session=session, dedupe_key=event.dedupe_key)
                result = await self._write_lead(session=session, event_id=event_id, plan=plan)
            if self.on_committed is not None:
                try:
                    await self.on_committed(result)
                except Exception as exc:  # noqa: BLE001 - the lead is stored; say so anyway
                    logger.error("intake on_committed failed: {}", describe_exception(exc))
        except (OperationalError, DBAPIError, OSError):
            raise
        except Exception as exc:
            # A bug or a listener's failure must not lose the event: keep it, `failed`.
            logger.error(
                "webhook processing failed event_id={} error={}", event_id, describe_exception(exc)
            )
            async with self.db.transaction() as session:
                conn = await session.connection()
                await conn.execute(
                    self._sql.insert_event,
                    {**values, "status": EventStatus.FAILED, "errors": _internal_error(exc)},
                )
            result = IntakeResult(status="stored", http_status=202)
        result.event_id = event_id
        self._log(result, event.shape)
        return result

    async def _duplicate(self, *, session: AsyncSession, dedupe_key: str) -> IntakeResult:
        existing = (
            await session.execute(
                select(WebhookEvent.id, WebhookEvent.lead_id, WebhookEvent.status).where(
                    WebhookEvent.dedupe_key == dedupe_key
                )
            )
        ).one()
        logger.info("webhook duplicate event_id={}", existing.id)
        return IntakeResult(
            status="duplicate",
            http_status=200,
            event_id=existing.id,
            lead_id=existing.lead_id,
            extra={"event_status": str(existing.status)},
        )

    @staticmethod
    def _log(result: IntakeResult, shape: PayloadShape) -> None:
        logger.info(
            "webhook {} event_id={} lead_id={} shape={}",
            result.status,
            result.event_id,
            result.lead_id,
            shape,
        )

    # -- writing the lead -----------------------------------------------------------------

    async def _write_lead(
        self, *, session: AsyncSession, event_id: uuid.UUID, plan: _Plan
    ) -> IntakeResult:
        """Upsert the planned lead, record its revision, tell listeners, link the event."""
        if plan.fields is None or plan.location is None:
            return IntakeResult(
                status=plan.outcome, http_status=plan.http_status, errors=plan.errors
            )
        location, fields = plan.location, plan.fields
        upserted = await self._upsert_lead(
            session=session, location=location, fields=fields, event_id=event_id
        )
        if upserted is None:
            error = FieldError(fields.phone_field, "a phone number is required to call")
            conn = await session.connection()
            await conn.execute(
                self._sql.reject_event,
                {
                    "b_event_id": event_id,
                    "b_status": EventStatus.REJECTED,
                    "b_errors": [error.as_dict()],
                },
            )
            return IntakeResult(status="rejected", http_status=422, errors=[error])
        conn = await session.connection()
        await conn.execute(
            self._sql.insert_revision,
            {
                "id": uuid.uuid4(),
                "lead_id": upserted.lead_id,
                "event_id": event_id,
                "created_at": utcnow(),
                "changed_fields": sorted(upserted.changed),
                "snapshot": upserted.snapshot,
            },
        )
        result = IntakeResult(
            status="accepted" if upserted.created else "updated",
            http_status=202,
            lead_id=upserted.lead_id,
            warnings=fields.warnings,
        )
        stored = LeadStored(
            lead_id=upserted.lead_id,
            event_id=event_id,
            location_id=location.id,
            created=upserted.created,
            changed_fields=frozenset(upserted.changed),
            do_not_call=bool(upserted.snapshot["dnd"] or upserted.snapshot["dnd_call"]),
        )
        for listener in self.listeners:
            reply = await listener(session=session, event=stored)
            if reply is not None:
                result.extra[reply.key] = reply.value
        await conn.execute(
            self._sql.link_event,
            {"b_event_id": event_id, "b_lead_id": upserted.lead_id, "b_location_id": location.id},
        )
        return result

    def _incoming(self, fields: LeadFields) -> dict[str, Any]:
        """The lead columns this event gives a value for."""
        values = {name: getattr(fields, name) for name in _LEAD_FIELDS}
        if fields.phone is not None:
            values["phone_e164"] = fields.phone.e164
            values["phone_hash"] = self.cipher.blind_index(fields.phone.e164, purpose="phone")
            values["phone_masked"] = fields.phone.masked
        return {k: v for k, v in values.items() if v is not None}

    async def _locked_lead(
        self, *, session: AsyncSession, location_id: uuid.UUID, contact_id: str
    ) -> Lead | None:
        # FOR UPDATE serialises deliveries for one contact on PostgreSQL; SQLite ignores it
        # (its writers are already serialised).
        stmt = (
            select(Lead)
            .where(Lead.location_id == location_id, Lead.ghl_contact_id == contact_id)
            .with_for_update()
        )
        return (await session.execute(stmt)).scalar_one_or_none()

    async def _upsert_lead(
        self,
        *,
        session: AsyncSession,
        location: LocationInfo,
        fields: LeadFields,
        event_id: uuid.UUID,
    ) -> _Upserted | None:
        """Create or update the lead; None when it is new and the event has no phone."""
        incoming = self._incoming(fields)
        if fields.phone is not None:
            # One INSERT … ON CONFLICT DO NOTHING: a rival delivery for the same contact
            # cannot abort this transaction, it only turns this create into an update.
            new_id = uuid.uuid4()
            now = utcnow()
            row = {"dnd": False, "dnd_call": False, **incoming}
            conn = await session.connection()
            inserted = await conn.execute(
                self._sql.insert_lead,
                {
                    "id": new_id,
                    "location_id": location.id,
                    "ghl_contact_id": fields.ghl_contact_id,
                    "created_at": now,
                    "updated_at": now,
                    "last_event_id": event_id,
                    **row,
                },
            )
            if inserted.scalar_one_or_none() is not None:
                return _Upserted(
                    lead_id=new_id,
                    created=True,
                    changed={_FIELD_OF.get(k, k) for k in incoming},
                    snapshot=_snapshot(row),
                )
        lead = await self._locked_lead(
            session=session, location_id=location.id, contact_id=fields.ghl_contact_id
        )
        if lead is None:
            return None
        changed: set[str] = set()
        for column, value in incoming.items():
            if getattr(lead, column) != value:
                setattr(lead, column, value)
                changed.add(_FIELD_OF.get(column, column))
        lead.last_event_id = event_id
        await session.flush()
        return _Upserted(
            lead_id=lead.id,
            created=False,
            changed=changed,
            snapshot=_snapshot({c: getattr(lead, c) for c in (*_LEAD_FIELDS, "phone_e164")}),
        )

    # -- replay ---------------------------------------------------------------------------

    async def replay(self, event_id: uuid.UUID, *, force: bool = False) -> IntakeResult:
        """Process a stored event again (after adding its location, or fixing a bug)."""
        async with self.db.reader() as session:
            event = await session.get(WebhookEvent, event_id)
            if event is None:
                raise NotFoundError(f"no webhook event {event_id}")
            raw_body, shape, location_id = event.raw_body, event.shape, event.location_id
        parsed: ParsedWebhook | None = None
        parse_error: PayloadError | None = None
        try:
            parsed = parse_webhook(load_json(raw_body))
        except PayloadError as exc:
            parse_error = exc
        location: LocationInfo | None = None
        if parsed is not None and parsed.ghl_location_id is not None:
            location = await self.locations.by_ghl_id(parsed.ghl_location_id)
        elif location_id is not None:
            location = await self.locations.by_id(location_id)
        plan = _plan(
            parsed=parsed,
            parse_error=parse_error,
            location=location,
            consent_keys=self.config.consent_keys,
        )
        final = plan.outcome if plan.fields is None else "accepted"
        try:
            async with self.db.transaction() as session:
                locked = (
                    await session.execute(
                        select(WebhookEvent.status, WebhookEvent.lead_id)
                        .where(WebhookEvent.id == event_id)
                        .with_for_update()
                    )
                ).one()
                if locked.status is EventStatus.PROCESSED and not force:
                    return IntakeResult(
                        status="already_processed",
                        http_status=200,
                        event_id=event_id,
                        lead_id=locked.lead_id,
                    )
                await session.execute(
                    update(WebhookEvent)
                    .where(WebhookEvent.id == event_id)
                    .values(
                        status=_STATUS_OF[final],
                        errors=[e.as_dict() for e in plan.errors] or None,
                        attempts=WebhookEvent.attempts + 1,
                        processed_at=utcnow(),
                        location_id=location.id if location else location_id,
                    )
                )
                result = await self._write_lead(session=session, event_id=event_id, plan=plan)
            if self.on_committed is not None:
                try:
                    await self.on_committed(result)
                except Exception as exc:  # noqa: BLE001 - the lead is stored; say so anyway
                    logger.error("intake on_committed failed: {}", describe_exception(exc))
        except (OperationalError, DBAPIError, OSError):
            raise
        except Exception as exc:
            logger.error(
                "webhook replay failed event_id={} error={}", event_id, describe_exception(exc)
            )
            async with self.db.transaction() as session:
                await session.execute(
                    update(WebhookEvent)
                    .where(WebhookEvent.id == event_id)
                    .values(
                        status=EventStatus.FAILED,
                        errors=_internal_error(exc),
                        attempts=WebhookEvent.attempts + 1,
                        processed_at=utcnow(),
                    )
                )
            result = IntakeResult(status="stored", http_status=202)
        result.event_id = event_id
        self._log(result, shape)
        return result

    async def replayable_event_ids(self) -> list[uuid.UUID]:
        """Events that did not produce a lead and may now: unroutable and failed ones."""
        async with self.db.reader() as session:
            rows = await session.execute(
                select(WebhookEvent.id)
                .where(WebhookEvent.status.in_([EventStatus.UNROUTABLE, EventStatus.FAILED]))
                .order_by(WebhookEvent.received_at)
            )
            return list(rows.scalars())


@dataclass(frozen=True, slots=True)
class _NewEvent:
    """A delivery about to be stored."""

    dedupe_key: str
    shape: PayloadShape
    event_type: str | None
    verification: Verification
    ghl_location_id: str | None
    raw_body: bytes


@dataclass(frozen=True, slots=True)
class _Plan:
    """What an event will do, decided before the database is touched."""

    shape: PayloadShape
    outcome: str  # "lead" when `fields` are to be written, else the event's final status
    http_status: int
    location: LocationInfo | None
    fields: LeadFields | None = None
    errors: list[FieldError] = field(default_factory=list)


def _plan(
    *,
    parsed: ParsedWebhook | None,
    parse_error: PayloadError | None,
    location: LocationInfo | None,
    consent_keys: tuple[str, ...],
) -> _Plan:
    if parse_error is not None or parsed is None:
        errors = parse_error.errors if parse_error else [FieldError("body", "unreadable")]
        shape = parse_error.shape if parse_error else PayloadShape.UNKNOWN
        return _Plan(shape, "rejected", 422, location, errors=errors)
    if parsed.contact is None:
        return _Plan(parsed.shape, "ignored", 200, location)
    if location is None:
        where = "location.id" if parsed.shape is PayloadShape.WORKFLOW else "locationId"
        reason = (
            "no clinic has this GHL location id; add it, then replay the event"
            if parsed.ghl_location_id
            else "the body names no location and the secret is not a clinic's"
        )
        return _Plan(parsed.shape, "unroutable", 422, None, errors=[FieldError(where, reason)])
    try:
        fields = normalize_contact(
            parsed.contact,
            default_country=location.country,
            consent_keys=location.consent_field_keys or consent_keys,
        )
    except PayloadError as exc:
        return _Plan(parsed.shape, "rejected", 422, location, errors=exc.errors)
    return _Plan(parsed.shape, "lead", 202, location, fields=fields)


def _internal_error(exc: BaseException) -> list[dict[str, str]]:
    return [{"field": "-", "reason": f"internal error ({type(exc).__name__})"}]


_STATUS_OF = {
    "accepted": EventStatus.PROCESSED,
    "updated": EventStatus.PROCESSED,
    "ignored": EventStatus.IGNORED,
    "rejected": EventStatus.REJECTED,
    "unroutable": EventStatus.UNROUTABLE,
}


# Columns reported under one field name in `changed_fields`.
_FIELD_OF = {"phone_e164": "phone", "phone_hash": "phone", "phone_masked": "phone"}


@dataclass(frozen=True, slots=True)
class _Upserted:
    lead_id: uuid.UUID
    created: bool
    changed: set[str]
    snapshot: dict[str, Any]


def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """The lead as stored after an event (PHI: kept only in an encrypted column)."""
    snap = {name: values.get(name) for name in (*_LEAD_FIELDS, "phone_e164")}
    snap["dnd"] = bool(snap["dnd"])
    snap["dnd_call"] = bool(snap["dnd_call"])
    return snap


async def list_events(
    *, session: AsyncSession, status: EventStatus | None = None, limit: int = 100
) -> Sequence[WebhookEvent]:
    """The newest stored webhooks, optionally of one status."""
    stmt = select(WebhookEvent).order_by(WebhookEvent.received_at.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(WebhookEvent.status == status)
    return (await session.execute(stmt)).scalars().all()


async def get_lead(*, session: AsyncSession, lead_id: uuid.UUID) -> Lead | None:
    """A lead by id."""
    return await session.get(Lead, lead_id)


__all__ = [
    "IntakeConfig",
    "IntakeResult",
    "IntakeService",
    "WebhookRequest",
    "get_lead",
    "list_events",
]
