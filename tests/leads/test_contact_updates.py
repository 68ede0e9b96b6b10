"""GHL contact updates (ContactUpdate, ContactDndUpdate, ...) keep the lead, the clinic's DNC list
and the waiting calls in step — signed like GHL's own deliveries, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.app import create_app
from dentalvoice.compliance import dnc
from dentalvoice.compliance import service as compliance_service
from dentalvoice.compliance.flows import ScheduleFirstCall
from dentalvoice.compliance.models import (
    DecisionKind,
    DecisionPurpose,
    DncEntry,
    DncScope,
    DncSource,
)
from dentalvoice.config import Settings
from dentalvoice.db import Database
from dentalvoice.dialer import service as dialer_service
from dentalvoice.dialer.models import AttemptStatus, CallAttempt, CallJob, JobStatus
from dentalvoice.leads.events import LeadListener, LeadStored
from dentalvoice.leads.models import EventStatus, Lead, LeadRevision, WebhookEvent
from dentalvoice.locations.models import Location
from tests import factories as f
from tests.compliance.test_flows import MORNING
from tests.conftest import GhlKeys
from tests.dialer.test_claim import Clock
from tests.dialer.test_worker import FakeDialer, worker
from tests.leads.test_router import URL, add_location, count, event_of, stamp

CALL_DND_ON = {"Call": {"status": "active", "message": "", "code": "101"}}
CALL_DND_OFF = {"Call": {"status": "inactive", "message": "", "code": "101"}}
CONSENT = [{"id": "consent", "value": "yes"}]
NEW_PHONE_E164 = "+13055550188"


# -- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def heard() -> list[LeadStored]:
    """What the intake listener of `client` was told, in order."""
    return []


@pytest.fixture
def lead_listeners(heard: list[LeadStored]) -> list[LeadListener]:
    """`client` gets a listener that only records: intake alone must keep DNC and jobs right."""

    async def record(*, session: AsyncSession, event: LeadStored) -> None:
        heard.append(event)

    return [record]


@pytest.fixture
async def gated(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the product's listener: the compliance gate that schedules calls."""
    app = create_app(
        settings, lead_listeners=[ScheduleFirstCall(cipher=db.cipher, clock=Clock(MORNING))]
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        yield c


async def send(client: httpx.AsyncClient, keys: GhlKeys, body: dict[str, Any]) -> httpx.Response:
    """POST a body signed with GHL's current (Ed25519) signature, as GHL delivers it."""
    raw = f.dumps(body)
    return await client.post(URL, content=raw, headers=f.ed25519_headers(keys, raw))


def update(event_type: str, contact_id: str, **overrides: Any) -> dict[str, Any]:
    """A marketplace update for a contact made by `create_lead`: a fresh webhookId, sent now."""
    overrides.setdefault("customFields", CONSENT)
    return f.marketplace_body(event_type, id=contact_id, webhookId=str(uuid.uuid4()), **overrides)


async def create_lead(
    client: httpx.AsyncClient, keys: GhlKeys, **overrides: Any
) -> tuple[str, uuid.UUID]:
    """A consented lead made by ContactCreate; its GHL contact id and lead id."""
    body = f.marketplace_body(customFields=CONSENT, **overrides)
    response = await send(client, keys, body)
    assert response.status_code == 202, response.text
    return body["id"], uuid.UUID(response.json()["lead_id"])


async def lead_of(db: Database, lead_id: uuid.UUID) -> Lead:
    async with db.reader() as session:
        return await session.get_one(Lead, lead_id)


async def dnc_entries(db: Database) -> list[DncEntry]:
    async with db.reader() as session:
        return list(
            (await session.execute(select(DncEntry).order_by(DncEntry.created_at))).scalars()
        )


async def jobs_of(db: Database, lead_id: uuid.UUID) -> list[CallJob]:
    async with db.reader() as session:
        return await dialer_service.jobs_for(session=session, lead_id=lead_id)


async def add_job(
    db: Database, lead_id: uuid.UUID, location_id: uuid.UUID, status: JobStatus
) -> uuid.UUID:
    async with db.transaction() as session:
        job = await dialer_service.schedule_call(
            session=session, lead_id=lead_id, location_id=location_id, due_at=MORNING
        )
        job.status = status
        return job.id


async def blocked(db: Database, location_id: uuid.UUID, phone_e164: str = f.PHONE_E164) -> bool:
    async with db.reader() as session:
        return await dnc.is_blocked(
            session=session,
            phone_hash=dnc.phone_hash(cipher=db.cipher, phone_e164=phone_e164),
            location_id=location_id,
        )


async def opt_out_on_a_call(db: Database, lead_id: uuid.UUID, location_id: uuid.UUID) -> None:
    """What the voice pipeline does when the caller says "stop calling me"."""
    async with db.transaction() as session:
        await dnc.add(
            session=session,
            cipher=db.cipher,
            phone_e164=f.PHONE_E164,
            scope=DncScope.LOCATION,
            location_id=location_id,
            source=DncSource.CALL_OPT_OUT,
            note="asked during a call",
        )
        await dialer_service.cancel_calls(session=session, lead_id=lead_id, reason="opted_out")
        attempt_id = uuid.uuid4()
        session.add(
            CallAttempt(
                id=attempt_id,
                lead_id=lead_id,
                location_id=location_id,
                phone_hash=dnc.phone_hash(cipher=db.cipher, phone_e164=f.PHONE_E164),
                started_at=MORNING,
                status=AttemptStatus.COMPLETED,
                idempotency_key=attempt_id.hex,
                outcome="opted_out",
            )
        )


async def gate_at_dial_time(db: Database, lead_id: uuid.UUID) -> tuple[DecisionKind, list[str]]:
    async with db.transaction() as session:
        lead = await session.get_one(Lead, lead_id)
        location = await session.get_one(Location, lead.location_id)
        decision = await compliance_service.decide_for_lead(
            session=session,
            cipher=db.cipher,
            lead=lead,
            location=location,
            at=MORNING,
            purpose=DecisionPurpose.DIAL,
        )
    return decision.kind, list(decision.reasons)


# -- DND on ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "dnd", "note"),
    [
        ("ContactDndUpdate", {"dndSettings": CALL_DND_ON}, "GHL DND on (calls)"),
        ("ContactUpdate", {"dnd": True}, "GHL DND on (all channels)"),
    ],
    ids=["call-dnd", "global-dnd"],
)
async def test_dnd_in_ghl_puts_the_number_on_the_clinic_dnc_and_cancels_waiting_calls(
    client: httpx.AsyncClient,
    db: Database,
    ghl_keys: GhlKeys,
    heard: list[LeadStored],
    event_type: str,
    dnd: dict[str, Any],
    note: str,
) -> None:
    location_id = await add_location(db)
    contact, lead_id = await create_lead(client, ghl_keys)
    # Two other GHL contacts with the same number: one waiting, one on a call right now.
    _, twin_id = await create_lead(client, ghl_keys)
    _, live_id = await create_lead(client, ghl_keys)
    await add_job(db, lead_id, location_id, JobStatus.PENDING)
    await add_job(db, twin_id, location_id, JobStatus.PENDING)
    live_job = await add_job(db, live_id, location_id, JobStatus.CALLING)

    response = await send(client, ghl_keys, update(event_type, contact, **dnd))

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "updated"
    assert (response.json()["dnc"], response.json()["calls_cancelled"]) == ("added", "2")
    (entry,) = await dnc_entries(db)
    assert (entry.source, entry.scope, entry.location_id, entry.removed_at) == (
        DncSource.GHL_DND,
        DncScope.LOCATION,
        location_id,
        None,
    )
    assert entry.note == note and entry.phone_masked == "+1******0123"
    for waiting in (lead_id, twin_id):
        (job,) = await jobs_of(db, waiting)
        assert (job.status, job.reason, job.due_at) == (JobStatus.CANCELLED, "ghl_dnd", None)
    # A call in progress is not cut off by a CRM toggle.
    (job,) = await jobs_of(db, live_id)
    assert (job.id, job.status) == (live_job, JobStatus.CALLING)
    assert await blocked(db, location_id)
    assert heard[-1].do_not_call is True


async def test_a_dnd_update_through_the_gate_stops_the_call_and_the_dialer_refuses(
    gated: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    contact, lead_id = await create_lead(gated, ghl_keys)
    (job,) = await jobs_of(db, lead_id)
    assert job.status is JobStatus.PENDING

    response = await send(
        gated, ghl_keys, update("ContactDndUpdate", contact, dndSettings=CALL_DND_ON)
    )

    assert response.status_code == 202, response.text
    assert "ghl_dnd" in response.json()["blocked"].split(",")
    (job,) = await jobs_of(db, lead_id)
    assert (job.status, job.reason) == (JobStatus.CANCELLED, "ghl_dnd")
    kind, reasons = await gate_at_dial_time(db, lead_id)
    assert kind is DecisionKind.BLOCK and {"ghl_dnd", "internal_dnc"} <= set(reasons)

    # A job intake could not stop (say a worker held it at that moment) is refused at dial time.
    async with db.transaction() as session:
        held = await session.get_one(CallJob, job.id)
        held.status, held.due_at = JobStatus.PENDING, MORNING
    dialer = FakeDialer()
    assert await worker(db, dialer, Clock(MORNING)).run_once() == 1
    assert dialer.calls == []
    (job,) = await jobs_of(db, lead_id)
    assert job.status is JobStatus.BLOCKED and job.reason is not None
    assert "internal_dnc" in job.reason.split(",")


# -- DND off ---------------------------------------------------------------------------------


async def test_dnd_lifted_in_ghl_after_the_callers_own_opt_out_stays_on_the_dnc(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    location_id = await add_location(db)
    contact, lead_id = await create_lead(client, ghl_keys)
    await opt_out_on_a_call(db, lead_id, location_id)
    # Our write-back sets Call DND in GHL; GHL echoes it; later the front desk switches it off.
    echo = await send(
        client, ghl_keys, update("ContactDndUpdate", contact, dndSettings=CALL_DND_ON)
    )
    lifted = await send(
        client, ghl_keys, update("ContactDndUpdate", contact, dndSettings=CALL_DND_OFF)
    )

    assert (echo.json()["dnc"], lifted.json()["dnc"]) == ("present", "kept")
    (entry,) = await dnc_entries(db)
    assert (entry.source, entry.removed_at) == (DncSource.CALL_OPT_OUT, None)
    assert (await lead_of(db, lead_id)).dnd_call is False
    assert await blocked(db, location_id)
    kind, reasons = await gate_at_dial_time(db, lead_id)
    assert kind is DecisionKind.BLOCK and "internal_dnc" in reasons


async def test_dnd_lifted_in_ghl_lifts_an_entry_only_ghl_made_but_does_not_call_again(
    gated: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    location_id = await add_location(db)
    contact, lead_id = await create_lead(gated, ghl_keys)
    await send(gated, ghl_keys, update("ContactDndUpdate", contact, dndSettings=CALL_DND_ON))

    response = await send(
        gated, ghl_keys, update("ContactDndUpdate", contact, dndSettings=CALL_DND_OFF)
    )

    assert response.json()["dnc"] == "lifted"
    # The row stays for the audit trail, stamped removed.
    (entry,) = await dnc_entries(db)
    assert entry.source is DncSource.GHL_DND and entry.removed_at is not None
    assert not await blocked(db, location_id)
    # The DND cancelled the call; lifting it does not start calling again.
    assert "next_call_at" not in response.json()
    (job,) = await jobs_of(db, lead_id)
    assert (job.status, job.reason) == (JobStatus.CANCELLED, "ghl_dnd")


async def test_an_opt_out_on_a_call_during_a_ghl_dnd_is_not_lifted_with_it(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    location_id = await add_location(db)
    contact, lead_id = await create_lead(client, ghl_keys)
    await send(client, ghl_keys, update("ContactDndUpdate", contact, dndSettings=CALL_DND_ON))
    # The caller, on a call placed before the DND, says "stop": the list keeps one entry per
    # number and clinic, so theirs is folded into GHL's — the call's outcome remembers it.
    await opt_out_on_a_call(db, lead_id, location_id)

    response = await send(
        client, ghl_keys, update("ContactDndUpdate", contact, dndSettings=CALL_DND_OFF)
    )

    assert response.json()["dnc"] == "kept"
    assert await blocked(db, location_id)


# -- echoes of our own write-back --------------------------------------------------------------


async def test_the_echo_of_our_own_dnd_write_back_is_a_no_op(
    gated: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    location_id = await add_location(db)
    contact, lead_id = await create_lead(gated, ghl_keys)
    await opt_out_on_a_call(db, lead_id, location_id)
    revisions = await count(db, LeadRevision)

    # Our CRM step sets Call DND and tags the contact; GHL reports both back, maybe twice.
    first = await send(
        gated, ghl_keys, update("ContactDndUpdate", contact, dndSettings=CALL_DND_ON)
    )
    tags = await send(
        gated,
        ghl_keys,
        update("ContactTagUpdate", contact, tags=["facebook-ad", "ai-opted-out"]),
    )
    again = await send(
        gated,
        ghl_keys,
        update(
            "ContactDndUpdate",
            contact,
            dndSettings=CALL_DND_ON,
            tags=["facebook-ad", "ai-opted-out"],
        ),
    )

    assert [r.status_code for r in (first, tags, again)] == [202, 202, 202]
    assert first.json()["dnc"] == "present" and "calls_cancelled" not in first.json()
    assert tags.json()["status"] == "updated" and "dnc" not in tags.json()
    assert again.json()["status"] == "unchanged" and "dnc" not in again.json()
    # Still the caller's own entry, alone; the job still says why it stopped; no new job.
    (entry,) = await dnc_entries(db)
    assert entry.source is DncSource.CALL_OPT_OUT
    (job,) = await jobs_of(db, lead_id)
    assert (job.status, job.reason) == (JobStatus.CANCELLED, "opted_out")
    # The repeat left no history: only the DND flag and the tags changed.
    assert await count(db, LeadRevision) == revisions + 2


# -- field changes ---------------------------------------------------------------------------


async def test_a_contact_update_with_a_new_phone_name_and_time_zone_updates_the_lead(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys, heard: list[LeadStored]
) -> None:
    await add_location(db)
    contact, lead_id = await create_lead(client, ghl_keys)

    response = await send(
        client,
        ghl_keys,
        update(
            "ContactUpdate",
            contact,
            phone="(305) 555-0188",  # as typed in GHL: re-normalised to E.164
            firstName="Testa",
            name="Testa Fakeperson",
            timezone="America/Chicago",
            state="Texas",
        ),
    )

    assert response.status_code == 202, response.text
    assert (response.json()["status"], response.json()["lead_id"]) == ("updated", str(lead_id))
    lead = await lead_of(db, lead_id)
    assert (lead.phone_e164, lead.phone_masked) == (NEW_PHONE_E164, "+1******0188")
    assert lead.phone_hash == dnc.phone_hash(cipher=db.cipher, phone_e164=NEW_PHONE_E164)
    assert (lead.first_name, lead.last_name) == ("Testa", f.LAST_NAME)
    assert (lead.timezone, lead.state) == ("America/Chicago", "TX")
    assert heard[-1].changed_fields == {"phone", "first_name", "timezone", "state"}
    assert await count(db, Lead) == 1


async def test_a_time_zone_change_re_decides_the_waiting_call(
    gated: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    contact, lead_id = await create_lead(gated, ghl_keys)
    (job,) = await jobs_of(db, lead_id)
    assert job.due_at == MORNING  # 10:00 in Miami

    # The lead is in fact in Los Angeles, where it is 07:00.
    response = await send(
        gated, ghl_keys, update("ContactUpdate", contact, timezone="America/Los_Angeles")
    )

    (job,) = await jobs_of(db, lead_id)
    assert job.status is JobStatus.PENDING
    assert job.due_at is not None and job.due_at > MORNING
    assert response.json()["next_call_at"] == job.due_at.isoformat()


async def test_a_dnd_update_with_an_unusable_phone_still_applies_its_dnd(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    location_id = await add_location(db)
    contact, lead_id = await create_lead(client, ghl_keys)

    response = await send(
        client,
        ghl_keys,
        update("ContactDndUpdate", contact, phone="12", dndSettings=CALL_DND_ON),
    )

    assert response.status_code == 202, response.text
    assert [w["field"] for w in response.json()["warnings"]] == ["phone"]
    assert "12" not in response.json()["warnings"][0]["reason"]
    lead = await lead_of(db, lead_id)
    assert (lead.phone_e164, lead.dnd_call) == (f.PHONE_E164, True)
    assert await blocked(db, location_id)


# -- idempotency and order -------------------------------------------------------------------


async def test_the_same_webhook_id_twice_is_processed_once(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys, heard: list[LeadStored]
) -> None:
    location_id = await add_location(db)
    contact, lead_id = await create_lead(client, ghl_keys)
    await add_job(db, lead_id, location_id, JobStatus.PENDING)
    body = update("ContactDndUpdate", contact, dndSettings=CALL_DND_ON)
    retry = dict(body, firstName="Retried")  # GHL's id decides, not the bytes

    first = await send(client, ghl_keys, body)
    second = await send(client, ghl_keys, body)
    third = await send(client, ghl_keys, retry)

    assert (first.status_code, second.status_code, third.status_code) == (202, 200, 200)
    assert second.json()["status"] == third.json()["status"] == "duplicate"
    assert second.json()["event_id"] == first.json()["event_id"]
    assert len(await dnc_entries(db)) == 1
    assert await count(db, WebhookEvent) == 2  # the create and this update
    assert await count(db, LeadRevision) == 2
    assert len(heard) == 2
    assert (await lead_of(db, lead_id)).first_name == f.FIRST_NAME


@pytest.mark.parametrize("clock_key", ["timestamp", "dateUpdated"])
async def test_an_older_update_arriving_late_does_not_overwrite_a_newer_one(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys, clock_key: str
) -> None:
    await add_location(db)
    start = datetime.now(UTC) - timedelta(minutes=2)
    contact, lead_id = await create_lead(client, ghl_keys, timestamp=stamp(start))
    newer = update(
        "ContactUpdate", contact, firstName="Newer", **{clock_key: stamp(start, seconds=20)}
    )
    older = update(
        "ContactUpdate", contact, firstName="Older", **{clock_key: stamp(start, seconds=10)}
    )

    responses = [await send(client, ghl_keys, body) for body in (newer, older)]

    assert [r.json()["status"] for r in responses] == ["updated", "stale"]
    assert (await lead_of(db, lead_id)).first_name == "Newer"
    assert await count(db, LeadRevision) == 2
    # The stale event is kept and linked, like any other.
    late = await event_of(db, responses[1].json()["event_id"])
    assert (late.status, late.lead_id) == (EventStatus.PROCESSED, lead_id)


async def test_a_late_dnd_update_still_applies_after_a_newer_contact_update(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    location_id = await add_location(db)
    start = datetime.now(UTC) - timedelta(minutes=2)
    contact, lead_id = await create_lead(client, ghl_keys, timestamp=stamp(start))
    # ContactUpdate carries no `dndSettings`: it says nothing about the Call channel.
    newer = update("ContactUpdate", contact, firstName="Newer", timestamp=stamp(start, seconds=20))
    older_dnd = update(
        "ContactDndUpdate",
        contact,
        firstName="Older",
        dndSettings=CALL_DND_ON,
        timestamp=stamp(start, seconds=10),
    )

    responses = [await send(client, ghl_keys, body) for body in (newer, older_dnd)]

    assert [r.json()["status"] for r in responses] == ["updated", "updated"]
    lead = await lead_of(db, lead_id)
    assert (lead.first_name, lead.dnd_call) == ("Newer", True)
    assert await blocked(db, location_id)


# -- contacts we never saw -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        f.marketplace_body("ContactUpdate"),
        f.marketplace_body("ContactDndUpdate", dndSettings=CALL_DND_ON),
        f.marketplace_body("ContactTagUpdate", dnd=True),
        f.simple_body(event="contact.updated"),
    ],
    ids=["contact-update", "dnd-update", "tag-update", "simple-updated"],
)
async def test_an_update_for_an_unknown_contact_is_acknowledged_and_creates_nothing(
    client: httpx.AsyncClient,
    db: Database,
    ghl_keys: GhlKeys,
    heard: list[LeadStored],
    body: dict[str, Any],
) -> None:
    await add_location(db)
    body = dict(body, timestamp=stamp(datetime.now(UTC))) if "type" in body else body

    response = await send(client, ghl_keys, body)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "unknown_contact"
    assert response.json()["lead_id"] is None
    event = await event_of(db, response.json()["event_id"])
    assert (event.status, event.lead_id) == (EventStatus.IGNORED, None)
    assert event.raw_body == f.dumps(body)
    for model in (Lead, DncEntry, CallJob, LeadRevision):
        assert await count(db, model) == 0, model.__name__
    assert heard == []
    assert f.PHONE_E164 not in response.text


async def test_an_update_that_came_before_the_create_is_applied_when_the_lead_is_made(
    gated: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    location_id = await add_location(db)
    start = datetime.now(UTC) - timedelta(minutes=1)
    create = f.marketplace_body(customFields=CONSENT, timestamp=stamp(start))
    dnd = update(
        "ContactDndUpdate", create["id"], dndSettings=CALL_DND_ON, timestamp=stamp(start, seconds=5)
    )

    early = await send(gated, ghl_keys, dnd)
    created = await send(gated, ghl_keys, create)

    assert early.json()["status"] == "unknown_contact"
    assert created.status_code == 202, created.text
    assert created.json()["status"] == "accepted" and created.json()["dnc"] == "added"
    assert "ghl_dnd" in created.json()["blocked"].split(",")
    lead_id = uuid.UUID(created.json()["lead_id"])
    assert (await lead_of(db, lead_id)).dnd_call is True
    assert await blocked(db, location_id)
    assert all(job.status is not JobStatus.PENDING for job in await jobs_of(db, lead_id))
    adopted = await event_of(db, early.json()["event_id"])
    assert (adopted.status, adopted.lead_id) == (EventStatus.PROCESSED, lead_id)
    async with db.reader() as session:
        history = await session.scalar(
            select(func.count()).select_from(LeadRevision).where(LeadRevision.lead_id == lead_id)
        )
    assert history == 2


async def test_an_update_parked_while_its_create_was_in_flight_is_offered_for_replay(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    contact, lead_id = await create_lead(client, ghl_keys)
    # Delivered concurrently with the create, the update found no lead and was parked after
    # the create had looked for parked updates: stand that in by un-linking a parked update.
    response = await send(client, ghl_keys, update("ContactUpdate", contact, firstName="Later"))
    event_id = uuid.UUID(response.json()["event_id"])
    async with db.transaction() as session:
        event = await session.get_one(WebhookEvent, event_id)
        event.status, event.lead_id = EventStatus.IGNORED, None
        (await session.get_one(Lead, lead_id)).first_name = f.FIRST_NAME
    intake = client._transport.app.state.intake  # type: ignore[attr-defined]

    assert await intake.replayable_event_ids() == [event_id]
    result = await intake.replay(event_id)

    assert (result.status, result.lead_id) == ("updated", lead_id)
    assert (await lead_of(db, lead_id)).first_name == "Later"
    assert await intake.replayable_event_ids() == []
