"""Intake: authenticate a GHL webhook, store it raw, then turn it into a lead — or say why not.

Persist, then answer: every authenticated request is committed as a `webhook_event` row before
any response. The event and the lead it produces are written in one transaction; if writing the
lead fails, the event alone is committed in a second transaction as `failed`, to be replayed.
Everything that needs no database (parsing, validation, normalisation) happens before the
transaction, which keeps it short: on PostgreSQL a new lead takes five statements.

Updates (ContactUpdate, ContactDndUpdate, ContactTagUpdate, `contact.updated`) only change a
lead we have; one for a contact we never saw is stored, acknowledged and parked, and applied if
the contact's create arrives later (GHL does not promise the order). Each field keeps GHL's time
of the event that last set it, so an older event arriving late (a slow delivery, a replay)
cannot overwrite a newer value. A change of GHL's DND is mirrored onto the clinic's DNC list
and the lead's waiting calls (`dnd.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from loguru import logger
from sqlalchemy import Table, and_, bindparam, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.db import Database
from dentalvoice.db.base import utcnow
from dentalvoice.db.crypto import PhiCipher
from dentalvoice.errors import NotFoundError, StorageUnavailable
from dentalvoice.leads.dnd import DncChange, DndState, sync_dnd
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

    # accepted | updated | unchanged | stale | unknown_contact | duplicate | ignored | rejected
    # | unroutable | stored
    status: str
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
        self.adopt_event = (
            update(event)
            .where(event.c.id == bindparam("b_event_id"))
            .values(
                status=EventStatus.PROCESSED,
                errors=None,
                lead_id=bindparam("b_lead_id"),
                processed_at=bindparam("b_now"),
                attempts=event.c.attempts + 1,
            )
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
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        # The process clock stamps what intake stores: the gate reads the lead's `created_at`
        # as the inquiry time, on the same clock (a demo or test may shift it). A signed
        # webhook's age is checked against the real time, like GHL's timestamps.
        self._clock = clock
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
                ghl_contact_id=(
                    parsed.contact.contact_id if parsed and parsed.contact is not None else None
                ),
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
        received_at = self._clock()
        values: dict[str, Any] = {
            "id": event_id,
            "received_at": received_at,
            "dedupe_key": event.dedupe_key,
            "shape": event.shape,
            "event_type": event.event_type,
            "verification": event.verification,
            "ghl_location_id": event.ghl_location_id,
            "ghl_contact_id": event.ghl_contact_id,
            "location_id": plan.location.id if plan.location else None,
            "raw_body": event.raw_body,
            "attempts": 1,
            "processed_at": self._clock(),
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
                result = await self._write_lead(
                    session=session, event_id=event_id, plan=plan, received_at=received_at
                )
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
        self, *, session: AsyncSession, event_id: uuid.UUID, plan: _Plan, received_at: datetime
    ) -> IntakeResult:
        """Upsert the planned lead, record its revision, mirror DND, tell listeners, link."""
        if plan.fields is None or plan.location is None:
            return IntakeResult(
                status=plan.outcome, http_status=plan.http_status, errors=plan.errors
            )
        location, fields = plan.location, plan.fields
        upserted = await self._upsert_lead(
            session=session,
            location=location,
            fields=fields,
            event_id=event_id,
            event_time=_event_time(plan.event_time, received_at=received_at),
            may_create=plan.may_create,
        )
        if not isinstance(upserted, _Upserted):
            return await self._no_lead(
                session=session, event_id=event_id, fields=fields, reason=upserted
            )
        conn = await session.connection()
        if upserted.created or upserted.changed:
            await self._revision(session=session, event_id=event_id, upserted=upserted)
        changed, final = set(upserted.changed), upserted.snapshot
        if upserted.created:
            adopted = await self._adopt_parked(session=session, location=location, fields=fields)
            if adopted is not None:
                changed |= adopted.changed
                final = adopted.snapshot
        do_not_call = bool(final["dnd"] or final["dnd_call"])
        result = IntakeResult(
            status=_update_status(upserted),
            http_status=202,
            lead_id=upserted.lead_id,
            warnings=fields.warnings,
        )
        synced = await sync_dnd(
            session=session,
            cipher=self.cipher,
            lead_id=upserted.lead_id,
            location_id=location.id,
            phone_e164=final["phone_e164"],
            state=DndState(
                was_blocked=upserted.was_do_not_call,
                now_blocked=do_not_call,
                global_dnd=bool(final["dnd"]),
                phone_changed="phone" in changed,
                created=upserted.created,
            ),
        )
        if synced.dnc is not DncChange.NONE:
            result.extra["dnc"] = synced.dnc.value
        if synced.calls_cancelled:
            result.extra["calls_cancelled"] = str(synced.calls_cancelled)
        if upserted.created or changed:
            # An update that changed nothing (a repeat, the echo of our own write-back, a
            # stale event) gives the gate nothing new to decide on.
            stored = LeadStored(
                lead_id=upserted.lead_id,
                event_id=event_id,
                location_id=location.id,
                created=upserted.created,
                changed_fields=frozenset(changed),
                do_not_call=do_not_call,
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

    async def _no_lead(
        self, *, session: AsyncSession, event_id: uuid.UUID, fields: LeadFields, reason: str
    ) -> IntakeResult:
        """Record why an event made no lead: an update for an unknown contact, or no phone."""
        if reason == _UNKNOWN_CONTACT:
            # Acknowledged (GHL must not retry) and parked: the contact's create may still come.
            error = FieldError(
                _sibling(fields.phone_field, "id"),
                "no lead for this contact yet; kept, and applied if its create arrives",
            )
            status, http_status, event_status = _UNKNOWN_CONTACT, 200, EventStatus.IGNORED
        else:
            error = FieldError(fields.phone_field, "a phone number is required to call")
            status, http_status, event_status = "rejected", 422, EventStatus.REJECTED
        conn = await session.connection()
        await conn.execute(
            self._sql.reject_event,
            {"b_event_id": event_id, "b_status": event_status, "b_errors": [error.as_dict()]},
        )
        return IntakeResult(status=status, http_status=http_status, errors=[error])

    async def _revision(
        self, *, session: AsyncSession, event_id: uuid.UUID, upserted: _Upserted
    ) -> None:
        conn = await session.connection()
        await conn.execute(
            self._sql.insert_revision,
            {
                "id": uuid.uuid4(),
                "lead_id": upserted.lead_id,
                "event_id": event_id,
                "created_at": self._clock(),
                "changed_fields": sorted(upserted.changed),
                "snapshot": upserted.snapshot,
            },
        )

    async def _adopt_parked(
        self, *, session: AsyncSession, location: LocationInfo, fields: LeadFields
    ) -> _Upserted | None:
        """Apply the updates that arrived before this contact's create; None if there were none.

        GHL may deliver a contact's ContactUpdate or ContactDndUpdate before its ContactCreate.
        Those were stored as `ignored`; each now goes through the same per-field ordering as
        any update, so the lead ends as the newest of them says, whatever the arrival order.
        """
        parked = (
            await session.execute(
                select(WebhookEvent.id, WebhookEvent.raw_body, WebhookEvent.received_at)
                .where(
                    WebhookEvent.ghl_contact_id == fields.ghl_contact_id,
                    WebhookEvent.location_id == location.id,
                    WebhookEvent.status == EventStatus.IGNORED,
                    WebhookEvent.lead_id.is_(None),
                )
                .order_by(WebhookEvent.received_at)
                .with_for_update()
            )
        ).all()
        if not parked:
            return None
        lead = await self._locked_lead(
            session=session, location_id=location.id, contact_id=fields.ghl_contact_id
        )
        if lead is None:  # pragma: no cover - created in this very transaction
            return None
        conn = await session.connection()
        changed: set[str] = set()
        for row in parked:
            try:
                parsed = parse_webhook(load_json(row.raw_body))
            except PayloadError:  # pragma: no cover - it parsed when it was stored
                continue
            plan = _plan(
                parsed=parsed,
                parse_error=None,
                location=location,
                consent_keys=self.config.consent_keys,
            )
            if plan.fields is None or plan.fields.ghl_contact_id != lead.ghl_contact_id:
                continue
            upserted = self._apply(
                lead=lead,
                incoming=self._incoming(plan.fields),
                event_time=_event_time(plan.event_time, received_at=row.received_at),
                event_id=row.id,
            )
            await session.flush()
            if upserted.changed:
                await self._revision(session=session, event_id=row.id, upserted=upserted)
                changed |= upserted.changed
            await conn.execute(
                self._sql.adopt_event,
                {"b_event_id": row.id, "b_lead_id": lead.id, "b_now": self._clock()},
            )
        logger.info("lead {} adopted {} parked update(s)", lead.id, len(parked))
        return _Upserted(
            lead_id=lead.id,
            created=True,
            changed=changed,
            snapshot=_lead_snapshot(lead),
            was_do_not_call=False,
        )

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
        event_time: datetime,
        may_create: bool,
    ) -> _Upserted | str:
        """Create or update the lead; else why not (`_UNKNOWN_CONTACT` or `_NO_PHONE`)."""
        incoming = self._incoming(fields)
        if fields.phone is not None and may_create:
            # One INSERT … ON CONFLICT DO NOTHING: a rival delivery for the same contact
            # cannot abort this transaction, it only turns this create into an update.
            new_id = uuid.uuid4()
            now = self._clock()
            row = {"dnd": False, "dnd_call": False, **incoming}
            names = {_FIELD_OF.get(k, k) for k in incoming}
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
                    "ghl_field_times": dict.fromkeys(sorted(names), _stamp(event_time)),
                    **row,
                },
            )
            if inserted.scalar_one_or_none() is not None:
                return _Upserted(
                    lead_id=new_id,
                    created=True,
                    changed=names,
                    snapshot=_snapshot(row),
                    was_do_not_call=False,
                )
        lead = await self._locked_lead(
            session=session, location_id=location.id, contact_id=fields.ghl_contact_id
        )
        if lead is None:
            return _NO_PHONE if may_create else _UNKNOWN_CONTACT
        upserted = self._apply(
            lead=lead, incoming=incoming, event_time=event_time, event_id=event_id
        )
        await session.flush()
        return upserted

    @staticmethod
    def _apply(
        *, lead: Lead, incoming: dict[str, Any], event_time: datetime, event_id: uuid.UUID
    ) -> _Upserted:
        """Set each incoming value unless the lead holds a newer one for that field."""
        was_do_not_call = bool(lead.dnd or lead.dnd_call)
        times = dict(lead.ghl_field_times or {})
        changed: set[str] = set()
        stale: set[str] = set()
        current: set[str] = set()
        for column, value in incoming.items():
            name = _FIELD_OF.get(column, column)
            seen = times.get(name)
            if seen is not None and datetime.fromisoformat(seen) > event_time:
                if getattr(lead, column) != value:
                    stale.add(name)
                continue
            current.add(name)
            if getattr(lead, column) != value:
                setattr(lead, column, value)
                changed.add(name)
        # The time moves on even for a value that did not change: an older event carrying
        # some other value must still lose to this one.
        for name in current:
            times[name] = _stamp(event_time)
        if times != (lead.ghl_field_times or {}):
            lead.ghl_field_times = times
        if changed:
            lead.last_event_id = event_id
        return _Upserted(
            lead_id=lead.id,
            created=False,
            changed=changed,
            snapshot=_lead_snapshot(lead),
            was_do_not_call=was_do_not_call,
            stale=stale,
        )

    # -- replay ---------------------------------------------------------------------------

    async def replay(self, event_id: uuid.UUID, *, force: bool = False) -> IntakeResult:
        """Process a stored event again (after adding its location, or fixing a bug)."""
        async with self.db.reader() as session:
            event = await session.get(WebhookEvent, event_id)
            if event is None:
                raise NotFoundError(f"no webhook event {event_id}")
            raw_body, shape, location_id = event.raw_body, event.shape, event.location_id
            received_at = event.received_at
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
                        processed_at=self._clock(),
                        location_id=location.id if location else location_id,
                    )
                )
                result = await self._write_lead(
                    session=session, event_id=event_id, plan=plan, received_at=received_at
                )
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
                        processed_at=self._clock(),
                    )
                )
            result = IntakeResult(status="stored", http_status=202)
        result.event_id = event_id
        self._log(result, shape)
        return result

    async def replayable_event_ids(self) -> list[uuid.UUID]:
        """Events that did not produce a lead and may now.

        Unroutable and failed ones, and parked updates whose contact has a lead by now: an
        update committed while its contact's create was still in flight was not there for the
        create to adopt.
        """
        lead_now_exists = exists().where(
            Lead.location_id == WebhookEvent.location_id,
            Lead.ghl_contact_id == WebhookEvent.ghl_contact_id,
        )
        parked = and_(
            WebhookEvent.status == EventStatus.IGNORED,
            WebhookEvent.ghl_contact_id.is_not(None),
            WebhookEvent.lead_id.is_(None),
            lead_now_exists,
        )
        async with self.db.reader() as session:
            rows = await session.execute(
                select(WebhookEvent.id)
                .where(
                    or_(
                        WebhookEvent.status.in_([EventStatus.UNROUTABLE, EventStatus.FAILED]),
                        parked,
                    )
                )
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
    ghl_contact_id: str | None
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
    may_create: bool = True  # False: an update, applied only to a lead we already have
    event_time: datetime | None = None  # GHL's time of this state of the contact, if it says


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
    keys = location.consent_field_keys or consent_keys
    try:
        fields = normalize_contact(
            parsed.contact, default_country=location.country, consent_keys=keys
        )
    except PayloadError as exc:
        if parsed.creates_lead or parsed.contact.phone is None:
            return _Plan(parsed.shape, "rejected", 422, location, errors=exc.errors)
        # An update with an unusable number still carries everything else, DND included:
        # rejecting it would lose a DND over a typo. The lead keeps the number it has.
        try:
            fields = normalize_contact(
                replace(parsed.contact, phone=None),
                default_country=location.country,
                consent_keys=keys,
            )
        except PayloadError:  # pragma: no cover - only the phone can fail normalisation
            return _Plan(parsed.shape, "rejected", 422, location, errors=exc.errors)
        kept = [FieldError(e.field, f"{e.reason}; the lead keeps its number") for e in exc.errors]
        fields = replace(fields, warnings=[*kept, *fields.warnings])
    return _Plan(
        parsed.shape,
        "lead",
        202,
        location,
        fields=fields,
        may_create=parsed.creates_lead,
        event_time=parsed.source_time,
    )


def _event_time(source_time: datetime | None, *, received_at: datetime) -> datetime:
    """The time an event is ordered by: GHL's own, else when we received it.

    Never later than its receipt: a clock ahead of ours (or a bogus `dateUpdated`) must not
    make one event outrank every later one. A naive time is read as UTC.
    """
    if source_time is None:
        return received_at
    if source_time.tzinfo is None:
        source_time = source_time.replace(tzinfo=UTC)
    return min(source_time, received_at)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _sibling(path: str, name: str) -> str:
    """`data.phone` → `data.id`: a field's neighbour, for error paths."""
    parent, dot, _ = path.rpartition(".")
    return f"{parent}{dot}{name}"


def _internal_error(exc: BaseException) -> list[dict[str, str]]:
    return [{"field": "-", "reason": f"internal error ({type(exc).__name__})"}]


_UNKNOWN_CONTACT = "unknown_contact"
_NO_PHONE = "no_phone"

_STATUS_OF = {
    "accepted": EventStatus.PROCESSED,
    "updated": EventStatus.PROCESSED,
    "unchanged": EventStatus.PROCESSED,
    "stale": EventStatus.PROCESSED,
    _UNKNOWN_CONTACT: EventStatus.IGNORED,
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
    was_do_not_call: bool
    stale: set[str] = field(default_factory=set)  # fields left alone: the lead's are newer


def _update_status(upserted: _Upserted) -> str:
    if upserted.created:
        return "accepted"
    if upserted.changed:
        return "updated"
    return "stale" if upserted.stale else "unchanged"


def _lead_snapshot(lead: Lead) -> dict[str, Any]:
    return _snapshot({c: getattr(lead, c) for c in (*_LEAD_FIELDS, "phone_e164")})


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
