"""A clinic in the GHL emulator and in our database, a GHL client and an outbox sender on it.

Everything runs on the emulator's `ManualClock`: the sender decides due times by it, and the
client's rate-limit bucket waits by advancing it, so a test moves time instead of sleeping.
Requests reach the emulator in-process through `httpx.ASGITransport`, checked against GHL's
OpenAPI files.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update

from dentalvoice.compliance.dnc import phone_hash
from dentalvoice.conversation.qualification import (
    Insurance,
    InsuranceStatus,
    Outcome,
    Qualification,
    TreatmentInterest,
    Urgency,
)
from dentalvoice.crm.auth import StoredTokens, TokenProvider
from dentalvoice.crm.client import GhlClient
from dentalvoice.crm.models import CrmWrite, WriteStatus
from dentalvoice.crm.oauth import GhlOAuth
from dentalvoice.crm.outbox import next_due_at
from dentalvoice.crm.ratelimit import TokenBucket
from dentalvoice.crm.sender import OutboxSender, RetryPolicy
from dentalvoice.crm.transport import GhlTransport
from dentalvoice.db import Database
from dentalvoice.demo.clinic import FIELD_KEYS, FIELDS
from dentalvoice.dialer.models import AttemptStatus, CallAttempt
from dentalvoice.emulators.ghl import Calendar, CustomField, GhlEmulator, ManualClock, Pipeline
from dentalvoice.emulators.ghl import Location as GhlLocation
from dentalvoice.leads.models import Lead
from dentalvoice.leads.normalize import mask_phone
from dentalvoice.locations import service as location_service
from dentalvoice.locations.models import Location
from dentalvoice.voice import records
from dentalvoice.voice.records import ActionsTaken, CallRecord
from tests import factories as f

BASE_URL = "https://services.leadconnectorhq.com"
NY = ZoneInfo("America/New_York")
# Monday 07:00 in New York: the clinic's slots of the week are all still ahead.
START = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
# Tuesday 10:00 in New York: a free 30-minute slot of the emulated calendar.
SLOT = datetime(2030, 1, 8, 10, 0, tzinfo=NY)
TRANSCRIPT = [
    ("agent", "Hi, this is Ava, an AI assistant calling from Sunrise Dental."),
    ("caller", "Hi, yes, I'd like implants, my gum has hurt for a week."),
]
BOOKED_STAGE, CONTACTED_STAGE, LOST_STAGE = "Appointment Booked", "Contacted", "Lost"
_LOST = {"not_interested", "opted_out", "wrong_number"}
_BOOKED = {"booked", "booking_pending"}
_numbers = itertools.count(1)


def stage_name(outcome: Outcome) -> str:
    """The stage the rig's clinic maps an outcome to."""
    if outcome.value in _BOOKED:
        return BOOKED_STAGE
    return LOST_STAGE if outcome.value in _LOST else CONTACTED_STAGE


def qualification(outcome: Outcome | None, **overrides: Any) -> Qualification:
    """A qualification with every field the write-back maps."""
    values: dict[str, Any] = {
        "chief_complaint": "gum pain",
        "treatment_interest": TreatmentInterest.IMPLANTS,
        "pain_level": 4,
        "urgency": Urgency.SOON,
        "insurance": Insurance(status=InsuranceStatus.HAS, carrier="Delta Dental"),
        "new_patient": True,
        "outcome": outcome,
        "summary": "Wants implants; mild gum pain for a week.",
        "opted_out": outcome is Outcome.OPTED_OUT,
    }
    if outcome is not None and outcome.value in _BOOKED:
        values["preferred_slot"] = SLOT
    values.update(overrides)
    return Qualification(**values)


class Jitter:
    """The middle of every jitter range: retry times a test can predict."""

    def __call__(self) -> float:
        return 0.5


@dataclass
class Rig:
    """The emulated clinic, our clinic row, the client and the sender."""

    db: Database
    emulator: GhlEmulator
    clock: ManualClock
    location: GhlLocation
    pit: str
    pipeline: Pipeline
    calendar: Calendar
    fields: dict[str, CustomField]
    location_id: uuid.UUID
    ghl: GhlClient
    sender: OutboxSender
    contacts: dict[uuid.UUID, str] = field(default_factory=dict)  # attempt id → contact id

    def now(self) -> datetime:
        """The emulator's (and the sender's) now."""
        return datetime.fromtimestamp(self.clock.now, UTC)

    def stage_id(self, name: str) -> str:
        """A stage of the clinic's pipeline, by name."""
        return next(s.id for s in self.pipeline.stages if s.name == name)

    def state(self, attempt_id: uuid.UUID) -> dict[str, Any]:
        """The emulator's view of the call's contact."""
        return self.emulator.contact_state(self.contacts[attempt_id])

    def writes_to(self, attempt_id: uuid.UUID) -> list[tuple[str, str, int]]:
        """(method, path, status) of every write request about the call's contact."""
        contact = self.contacts[attempt_id]
        found = []
        for request in self.emulator.requests:
            if not request.is_write:
                continue
            if contact in request.path or request.path in (
                "/opportunities/",
                "/calendars/events/appointments",
            ):
                found.append((request.method, request.path, request.status))
        return found

    async def configure(self, **crm: Any) -> None:
        """Replace the clinic's `crm` options."""
        async with self.db.transaction() as session:
            await session.execute(
                update(Location).where(Location.id == self.location_id).values(options={"crm": crm})
            )

    async def new_call(self, *, phone_index: int | None = None) -> uuid.UUID:
        """A contact in GHL, its lead here, and an answered attempt; returns the attempt id."""
        n = phone_index if phone_index is not None else next(_numbers)
        phone = f"+1305555{n % 10_000:04d}"
        contact = self.emulator.seed_contact(
            location_id=self.location.id, first_name="Avery", last_name="Stone", phone=phone
        )
        async with self.db.transaction() as session:
            lead = Lead(
                location_id=self.location_id,
                ghl_contact_id=contact.id,
                first_name="Avery",
                last_name="Stone",
                phone_e164=phone,
                phone_hash=phone_hash(cipher=self.db.cipher, phone_e164=phone),
                phone_masked=mask_phone(phone),
                state="FL",
                country="US",
            )
            session.add(lead)
            await session.flush()
            attempt = CallAttempt(
                lead_id=lead.id,
                location_id=self.location_id,
                phone_hash=lead.phone_hash or "",
                started_at=self.now(),
                status=AttemptStatus.IN_PROGRESS,
                idempotency_key=uuid.uuid4().hex,
                twilio_call_sid=f"CA{uuid.uuid4().hex}",
                answered_at=self.now(),
            )
            session.add(attempt)
            await session.flush()
            self.contacts[attempt.id] = contact.id
            return attempt.id

    async def store(
        self,
        attempt_id: uuid.UUID,
        q: Qualification,
        actions: ActionsTaken | None = None,
    ) -> CallRecord:
        """Store the call as the voice handler does (which enqueues its GHL writes)."""
        if actions is None:
            actions = ActionsTaken(booked_slot=q.preferred_slot)
        async with self.db.transaction() as session:
            return await records.store_call(
                session=session,
                attempt_id=attempt_id,
                qualification=q,
                transcript=TRANSCRIPT,
                actions=actions,
                latency=[],
                ended_at=self.now(),
            )

    async def rows(self, attempt_id: uuid.UUID | None = None) -> list[CrmWrite]:
        """Outbox rows (of one call), in send order."""
        async with self.db.reader() as session:
            stmt = select(CrmWrite).order_by(CrmWrite.created_at, CrmWrite.seq)
            if attempt_id is not None:
                stmt = stmt.where(CrmWrite.attempt_id == attempt_id)
            return list((await session.execute(stmt)).scalars())

    async def deliver_all(self, *, max_steps: int = 200) -> int:
        """Run the sender, moving the clock to each next due time, until nothing is left.

        Returns:
            How many times the clock had to be moved.
        """
        moves = 0
        for _ in range(max_steps):
            await self.sender.drain()
            due = await next_due_at(db=self.db, now=self.now())
            if due is None:
                return moves
            if due > self.now():
                self.clock.set(due + timedelta(milliseconds=1))
                moves += 1
        raise AssertionError("the outbox did not empty")

    async def aclose(self) -> None:
        """Close the client."""
        await self.ghl.aclose()


def open_statuses(rows: list[CrmWrite]) -> list[WriteStatus]:
    """The states of rows that are not delivered."""
    return [r.status for r in rows if r.status is not WriteStatus.DELIVERED]


async def build_rig(
    db: Database,
    *,
    fields: bool = True,
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    oauth: bool = False,
    policy: RetryPolicy | None = None,
    seed: int = 11,
) -> Rig:
    """The emulator with one clinic, our row for it, and a client + sender wired to both.

    Args:
        db: Our database (migrated, empty).
        fields: Configure every custom field key (seeded in the emulator).
        wrap: Wraps the transport to the emulator (to lose answers, say).
        oauth: Credentials are an OAuth grant installed through the emulator, not a PIT.
        policy: The sender's retry policy.
        seed: The emulator's id seed.
    """
    clock = ManualClock(START)
    emulator = GhlEmulator(clock=clock, seed=seed)
    location = emulator.seed_location(name="Sunrise Dental", timezone="America/New_York")
    pit = emulator.seed_pit(location_id=location.id)
    seeded = {
        name: emulator.seed_custom_field(
            location_id=location.id, name=label, data_type=kind, field_key=key
        )
        for name, (label, key, kind) in FIELDS.items()
    }
    pipeline = emulator.seed_pipeline(
        location_id=location.id,
        stages=["New Lead", CONTACTED_STAGE, BOOKED_STAGE, LOST_STAGE],
    )
    calendar = emulator.seed_calendar(
        location_id=location.id,
        open_hours={day: [("09:00", "12:00"), ("13:00", "17:00")] for day in range(5)},
    )
    stages = {o.value: _stage(pipeline, stage_name(o)) for o in Outcome}
    crm: dict[str, Any] = {"fields": FIELD_KEYS} if fields else {}
    async with db.transaction() as session:
        ours = await location_service.create_location(
            session=session,
            location_in=f.location_create(
                name="Sunrise Dental",
                ghl_location_id=location.id,
                ghl_token=None if oauth else pit.token,
                calendar_id=calendar.id,
                pipeline_id=pipeline.id,
                pipeline_stages=stages,
            ),
        )
        ours.options = {**ours.options, "crm": crm}
        location_id = ours.id

    async def no_real_sleep(seconds: float) -> None:
        # The bucket "waits" by moving the shared clock: GHL's window sees the same time.
        clock.advance(seconds)

    inner: httpx.AsyncBaseTransport = httpx.ASGITransport(app=emulator)
    transport = GhlTransport(base_url=BASE_URL, transport=wrap(inner) if wrap else inner)
    tokens: TokenProvider
    if oauth:
        app = emulator.seed_oauth_client(company_id=location.company_id)
        stored = StoredTokens(
            db,
            oauth=GhlOAuth(transport, client_id=app.client_id, client_secret=app.client_secret),
            clock=lambda: datetime.fromtimestamp(clock.now, UTC),
        )
        code = emulator.issue_authorization_code(client_id=app.client_id, location_id=location.id)
        await stored.install(code=code)
        tokens = stored
    else:
        tokens = StoredTokens(db, clock=lambda: datetime.fromtimestamp(clock.now, UTC))
    ghl = GhlClient(
        tokens=tokens,
        transport=transport,
        limiter=TokenBucket(100, 10.0, clock=clock, sleep=no_real_sleep),
        jitter=Jitter(),
    )
    sender = OutboxSender(
        db=db,
        ghl=ghl,
        worker_id="test-sender",
        clock=lambda: datetime.fromtimestamp(clock.now, UTC),
        jitter=Jitter(),
        policy=policy,
    )
    return Rig(
        db=db,
        emulator=emulator,
        clock=clock,
        location=location,
        pit=pit.token,
        pipeline=pipeline,
        calendar=calendar,
        fields=seeded,
        location_id=location_id,
        ghl=ghl,
        sender=sender,
    )


def _stage(pipeline: Pipeline, name: str) -> str:
    return next(s.id for s in pipeline.stages if s.name == name)
