"""Intake: authenticate a GHL webhook, store it raw, then turn it into a lead — or say why not.

Persist, then answer: an authenticated request is committed as a `webhook_event` row before any
response, and processing runs inside a savepoint so a processing error never loses the event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy import select, update
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
from dentalvoice.locations import service as location_service
from dentalvoice.locations.models import Location
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


class IntakeService:
    """Receives webhooks and replays stored ones; one instance per process."""

    def __init__(
        self,
        *,
        db: Database,
        cipher: PhiCipher,
        config: IntakeConfig,
        listeners: Sequence[LeadListener] = (),
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.config = config
        self.listeners = list(listeners)

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
            ts = (
                parsed.timestamp
                if parsed.timestamp.tzinfo
                else parsed.timestamp.replace(tzinfo=now.tzinfo)
            )
            if abs(now - ts) > self.config.max_age:
                raise AuthenticationFailed("stale_timestamp")

        webhook_id = parsed.webhook_id if parsed else None
        if webhook_id:
            dedupe_key = self.cipher.blind_index(webhook_id, purpose="ghl-webhook-id")
        else:
            dedupe_key = self.cipher.blind_index(request.body, purpose="ghl-webhook-body")

        shape = (
            parsed.shape if parsed else (parse_error.shape if parse_error else PayloadShape.UNKNOWN)
        )
        try:
            return await self._store_and_process(
                dedupe_key=dedupe_key,
                request=request,
                shape=shape,
                parsed=parsed,
                parse_error=parse_error,
                verification=verification,
                location=location,
                ghl_location_id=(parsed.ghl_location_id if parsed else peek_location_id(document)),
            )
        except (OperationalError, DBAPIError, OSError) as exc:
            raise StorageUnavailable("database unavailable while storing") from exc

    async def _authenticate(
        self, request: WebhookRequest, document: object
    ) -> tuple[Verification, Location | None]:
        verification = verify_signature(
            keys=self.config.signature_keys,
            body=request.body,
            ghl_signature=request.ghl_signature,
            wh_signature=request.wh_signature,
        )
        ghl_location_id = peek_location_id(document)
        location: Location | None = None
        if ghl_location_id is not None:
            async with self.db.reader() as session:
                location = await location_service.get_by_ghl_id(
                    session=session, ghl_location_id=ghl_location_id
                )
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
            async with self.db.reader() as session:
                for candidate in await location_service.list_locations(session=session):
                    if candidate.webhook_secret and secret_matches(
                        request.secret, [candidate.webhook_secret]
                    ):
                        return Verification.SECRET, candidate
        if self.config.global_secret and secret_matches(
            request.secret, [self.config.global_secret]
        ):
            return Verification.SECRET, location
        raise AuthenticationFailed("bad_secret")

    async def _store_and_process(
        self,
        *,
        dedupe_key: str,
        request: WebhookRequest,
        shape: PayloadShape,
        parsed: ParsedWebhook | None,
        parse_error: PayloadError | None,
        verification: Verification,
        location: Location | None,
        ghl_location_id: str | None,
    ) -> IntakeResult:
        event_id = uuid.uuid4()
        async with self.db.transaction() as session:
            values: dict[str, Any] = {
                "id": event_id,
                "received_at": utcnow(),
                "dedupe_key": dedupe_key,
                "shape": shape,
                "event_type": parsed.event_type if parsed else None,
                "verification": verification,
                "ghl_location_id": ghl_location_id,
                "location_id": location.id if location else None,
                "raw_body": request.body,
                "status": EventStatus.RECEIVED,
                "attempts": 0,
            }
            insert = sqlite_insert if self.db.is_sqlite else pg_insert
            stmt = (
                insert(WebhookEvent)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(WebhookEvent.id)
            )
            inserted = (await session.execute(stmt)).scalar_one_or_none()
            if inserted is None:
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
            return await self._process(
                session=session,
                event_id=event_id,
                shape=shape,
                parsed=parsed,
                parse_error=parse_error,
                location=location,
            )

    # -- processing -----------------------------------------------------------------------

    async def _process(
        self,
        *,
        session: AsyncSession,
        event_id: uuid.UUID,
        shape: PayloadShape,
        parsed: ParsedWebhook | None,
        parse_error: PayloadError | None,
        location: Location | None,
    ) -> IntakeResult:
        """Apply one stored event; the event row stays whatever happens to the lead."""
        savepoint = await session.begin_nested()
        try:
            result = await self._apply(
                session=session,
                event_id=event_id,
                parsed=parsed,
                parse_error=parse_error,
                location=location,
            )
            await savepoint.commit()
        except (OperationalError, DBAPIError):
            raise
        except Exception as exc:
            # A bug must not lose the event: roll back the lead changes, keep the event as
            # `failed` and replayable, and answer as stored.
            await savepoint.rollback()
            logger.error(
                "webhook processing failed event_id={} error={}", event_id, describe_exception(exc)
            )
            result = IntakeResult(
                status="stored",
                http_status=202,
                errors=[FieldError("-", f"internal error ({type(exc).__name__})")],
            )
        values: dict[str, Any] = {
            "status": _STATUS_OF[result.status],
            "errors": [e.as_dict() for e in result.errors] or None,
            "lead_id": result.lead_id,
            "processed_at": utcnow(),
            "attempts": WebhookEvent.attempts + 1,
        }
        if location is not None:
            values["location_id"] = location.id
        await session.execute(
            update(WebhookEvent).where(WebhookEvent.id == event_id).values(**values)
        )
        result.event_id = event_id
        if result.status == "stored":
            result.errors = []  # internal detail stays in the event row, not the response
        logger.info(
            "webhook {} event_id={} lead_id={} shape={}",
            result.status,
            event_id,
            result.lead_id,
            shape,
        )
        return result

    async def _apply(
        self,
        *,
        session: AsyncSession,
        event_id: uuid.UUID,
        parsed: ParsedWebhook | None,
        parse_error: PayloadError | None,
        location: Location | None,
    ) -> IntakeResult:
        if parse_error is not None or parsed is None:
            errors = parse_error.errors if parse_error else [FieldError("body", "unreadable")]
            return IntakeResult(status="rejected", http_status=422, errors=errors)
        if parsed.contact is None:
            return IntakeResult(status="ignored", http_status=200)
        if location is None and parsed.ghl_location_id is not None:
            location = await location_service.get_by_ghl_id(
                session=session, ghl_location_id=parsed.ghl_location_id
            )
        if location is None:
            where = "locationId" if parsed.shape is not PayloadShape.WORKFLOW else "location.id"
            reason = (
                "no clinic has this GHL location id; add it, then replay the event"
                if parsed.ghl_location_id
                else "the body names no location and the secret is not a clinic's"
            )
            return IntakeResult(
                status="unroutable", http_status=422, errors=[FieldError(where, reason)]
            )

        existing = await self._locked_lead(
            session=session, location_id=location.id, contact_id=parsed.contact.contact_id
        )
        options = location_service.options_of(location)
        try:
            fields = normalize_contact(
                parsed.contact,
                default_country=location.country,
                consent_keys=options.consent_field_keys or self.config.consent_keys,
                require_phone=existing is None,
            )
        except PayloadError as exc:
            return IntakeResult(status="rejected", http_status=422, errors=exc.errors)

        upserted = await self._upsert_lead(
            session=session,
            location=location,
            fields=fields,
            existing=existing,
            event_id=event_id,
        )
        session.add(
            LeadRevision(
                lead_id=upserted.lead_id,
                event_id=event_id,
                changed_fields=sorted(upserted.changed),
                snapshot=upserted.snapshot,
            )
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
        return result

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

    def _incoming(self, fields: LeadFields) -> dict[str, Any]:
        """The lead columns this event gives a value for."""
        values = {name: getattr(fields, name) for name in _LEAD_FIELDS}
        if fields.phone is not None:
            values["phone_e164"] = fields.phone.e164
            values["phone_hash"] = self.cipher.blind_index(fields.phone.e164, purpose="phone")
            values["phone_masked"] = fields.phone.masked
        return {k: v for k, v in values.items() if v is not None}

    async def _upsert_lead(
        self,
        *,
        session: AsyncSession,
        location: Location,
        fields: LeadFields,
        existing: Lead | None,
        event_id: uuid.UUID,
    ) -> _Upserted:
        incoming = self._incoming(fields)
        if existing is None:
            # One INSERT … ON CONFLICT DO NOTHING: a rival delivery for the same contact
            # cannot abort this transaction, it only turns this create into an update.
            new_id = uuid.uuid4()
            now = utcnow()
            row = {"dnd": False, "dnd_call": False, **incoming}
            insert = sqlite_insert if self.db.is_sqlite else pg_insert
            stmt = (
                insert(Lead)
                .values(
                    id=new_id,
                    location_id=location.id,
                    ghl_contact_id=fields.ghl_contact_id,
                    created_at=now,
                    updated_at=now,
                    last_event_id=event_id,
                    **row,
                )
                .on_conflict_do_nothing(index_elements=["location_id", "ghl_contact_id"])
                .returning(Lead.id)
            )
            if (await session.execute(stmt)).scalar_one_or_none() is not None:
                return _Upserted(
                    lead_id=new_id,
                    created=True,
                    changed={_FIELD_OF.get(k, k) for k in incoming},
                    snapshot=_snapshot(row),
                )
            existing = await self._locked_lead(
                session=session, location_id=location.id, contact_id=fields.ghl_contact_id
            )
            if existing is None:  # pragma: no cover - the rival's insert committed the row
                raise NotFoundError("lead vanished during upsert")
        lead = existing
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
        async with self.db.transaction() as session:
            stmt = select(WebhookEvent).where(WebhookEvent.id == event_id).with_for_update()
            event = (await session.execute(stmt)).scalar_one_or_none()
            if event is None:
                raise NotFoundError(f"no webhook event {event_id}")
            if event.status is EventStatus.PROCESSED and not force:
                return IntakeResult(
                    status="already_processed",
                    http_status=200,
                    event_id=event.id,
                    lead_id=event.lead_id,
                )
            parsed: ParsedWebhook | None = None
            parse_error: PayloadError | None = None
            try:
                parsed = parse_webhook(load_json(event.raw_body))
            except PayloadError as exc:
                parse_error = exc
            location = None
            if event.location_id is not None:
                location = await session.get(Location, event.location_id)
            return await self._process(
                session=session,
                event_id=event.id,
                shape=event.shape,
                parsed=parsed,
                parse_error=parse_error,
                location=location,
            )

    async def replayable_event_ids(self) -> list[uuid.UUID]:
        """Events that did not produce a lead and may now: received, unroutable and failed."""
        async with self.db.reader() as session:
            rows = await session.execute(
                select(WebhookEvent.id)
                .where(
                    WebhookEvent.status.in_(
                        [EventStatus.RECEIVED, EventStatus.UNROUTABLE, EventStatus.FAILED]
                    )
                )
                .order_by(WebhookEvent.received_at)
            )
            return list(rows.scalars())


_STATUS_OF = {
    "stored": EventStatus.FAILED,
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
