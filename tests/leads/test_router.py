"""POST /webhooks/ghl end to end through the ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.app import create_app
from dentalvoice.config import Settings
from dentalvoice.db import Database
from dentalvoice.leads.events import LeadListener, LeadStored, ListenerReply
from dentalvoice.leads.models import EventStatus, Lead, LeadRevision, PayloadShape, WebhookEvent
from dentalvoice.locations import service as location_service
from tests import factories as f
from tests.conftest import TEST_SECRET, GhlKeys

URL = "/webhooks/ghl"


async def add_location(db: Database, **overrides: Any) -> uuid.UUID:
    async with db.transaction() as session:
        location = await location_service.create_location(
            session=session, location_in=f.location_create(**overrides)
        )
        return location.id


async def count(db: Database, model: type[Any]) -> int:
    async with db.reader() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def only_lead(db: Database) -> Lead:
    async with db.reader() as session:
        return (await session.execute(select(Lead))).scalar_one()


def stamp(start: datetime, *, seconds: float = 0) -> str:
    """An ISO-8601 UTC time as GHL writes it, `seconds` after `start`."""
    return (start + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


async def event_of(db: Database, event_id: str) -> WebhookEvent:
    async with db.reader() as session:
        return await session.get_one(WebhookEvent, uuid.UUID(event_id))


# -- the three shapes ------------------------------------------------------------------------


async def test_workflow_webhook_with_token_creates_a_normalised_lead(
    client: httpx.AsyncClient, db: Database
) -> None:
    location_id = await add_location(db)
    body = f.workflow_body()

    response = await client.post(URL, params={"token": TEST_SECRET}, json=body)

    assert response.status_code == 202, response.text
    payload = response.json()
    assert payload["status"] == "accepted"
    lead = await only_lead(db)
    assert str(lead.id) == payload["lead_id"]
    assert lead.location_id == location_id
    assert lead.ghl_contact_id == body["contact_id"]
    assert (lead.first_name, lead.last_name) == (f.FIRST_NAME, f.LAST_NAME)
    assert lead.phone_e164 == f.PHONE_E164
    assert lead.phone_masked == "+1******0123"
    assert lead.email == f.EMAIL
    assert lead.tags == ["facebook-ad", "implants"]
    assert lead.state == "FL"
    assert lead.address == {"postal_code": "33101"}
    assert lead.source == "Facebook Lead Form"
    assert lead.consent_evidence == {"consent": "yes", "consent_text": "I agree to AI calls"}
    assert lead.custom_fields is not None
    assert lead.custom_fields["Treatment Interest"] == "Implants"
    event = await event_of(db, payload["event_id"])
    assert (event.shape, event.status, event.lead_id) == (
        PayloadShape.WORKFLOW,
        EventStatus.PROCESSED,
        lead.id,
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TEST_SECRET}"},
        {"X-Webhook-Secret": TEST_SECRET},
    ],
    ids=["bearer", "x-webhook-secret"],
)
async def test_custom_webhook_secret_headers_are_accepted(
    client: httpx.AsyncClient, db: Database, headers: dict[str, str]
) -> None:
    await add_location(db)
    response = await client.post(URL, headers=headers, json=f.workflow_body())
    assert response.status_code == 202, response.text


async def test_location_secret_replaces_the_global_one(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_location(db, webhook_secret="clinic-own-secret-abcdefgh")

    global_try = await client.post(URL, params={"token": TEST_SECRET}, json=f.workflow_body())
    own_try = await client.post(
        URL, params={"token": "clinic-own-secret-abcdefgh"}, json=f.workflow_body()
    )

    assert global_try.status_code == 401
    assert own_try.status_code == 202
    assert await count(db, WebhookEvent) == 1


async def test_simple_shape_without_location_is_routed_by_the_clinic_secret(
    client: httpx.AsyncClient, db: Database
) -> None:
    location_id = await add_location(db, webhook_secret="clinic-own-secret-abcdefgh")
    body = f.simple_body()
    del body["locationId"]

    response = await client.post(
        URL, headers={"Authorization": "Bearer clinic-own-secret-abcdefgh"}, json=body
    )

    assert response.status_code == 202, response.text
    assert (await only_lead(db)).location_id == location_id


async def test_simple_shape(client: httpx.AsyncClient, db: Database) -> None:
    await add_location(db)
    body = f.simple_body()
    response = await client.post(URL, headers={"X-Webhook-Secret": TEST_SECRET}, json=body)
    assert response.status_code == 202, response.text
    lead = await only_lead(db)
    assert lead.ghl_contact_id == body["contact"]["id"]
    assert lead.phone_e164 == f.PHONE_E164


@pytest.mark.parametrize("signer", ["ed25519", "rsa"])
@pytest.mark.parametrize("wrapped", [False, True], ids=["flat", "data-envelope"])
async def test_marketplace_contact_create_with_signature(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys, signer: str, wrapped: bool
) -> None:
    await add_location(db)
    body = f.marketplace_body()
    if wrapped:
        inner = dict(body)
        body = {
            "type": inner.pop("type"),
            "timestamp": inner.pop("timestamp"),
            "webhookId": inner.pop("webhookId"),
            "data": inner,
        }
    raw = f.dumps(body)
    headers = (f.ed25519_headers if signer == "ed25519" else f.rsa_headers)(ghl_keys, raw)

    response = await client.post(URL, content=raw, headers=headers)

    assert response.status_code == 202, response.text
    event = await event_of(db, response.json()["event_id"])
    assert event.shape is PayloadShape.MARKETPLACE
    assert event.verification.value == signer
    assert event.event_type == "ContactCreate"
    lead = await only_lead(db)
    assert lead.phone_e164 == f.PHONE_E164
    assert lead.custom_fields == {"cfConsent01": "yes"}


async def test_contact_update_and_dnd_update_change_the_lead_and_keep_history(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    created = f.marketplace_body()
    updated = f.marketplace_body(
        "ContactUpdate", id=created["id"], state="GA", webhookId=str(uuid.uuid4())
    )
    dnd = f.marketplace_body(
        "ContactDndUpdate",
        id=created["id"],
        state="GA",
        webhookId=str(uuid.uuid4()),
        dndSettings={"Call": {"status": "active", "message": "", "code": "101"}},
    )
    responses = []
    for body in (created, updated, dnd):
        raw = f.dumps(body)
        responses.append(
            await client.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw))
        )

    assert [r.status_code for r in responses] == [202, 202, 202]
    assert [r.json()["status"] for r in responses] == ["accepted", "updated", "updated"]
    assert len({r.json()["lead_id"] for r in responses}) == 1
    lead = await only_lead(db)
    assert lead.state == "GA"
    assert lead.dnd_call is True
    async with db.reader() as session:
        history = (
            (await session.execute(select(LeadRevision).order_by(LeadRevision.created_at)))
            .scalars()
            .all()
        )
    assert [sorted(h.changed_fields) for h in history][1:] == [["state"], ["dnd_call"]]
    assert history[0].snapshot["state"] == "FL"


async def test_other_marketplace_events_are_stored_and_ignored(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    body = {"type": "OpportunityStageUpdate", "locationId": f.GHL_LOCATION_ID, "id": "op1"}
    raw = f.dumps(body)
    response = await client.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert (await event_of(db, response.json()["event_id"])).status is EventStatus.IGNORED
    assert await count(db, Lead) == 0


# -- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({}, {}),
        ({"token": "wrong-secret"}, {}),
        ({}, {"Authorization": "Bearer wrong"}),
        ({}, {"Authorization": f"Basic {TEST_SECRET}"}),
        ({}, {"X-Webhook-Secret": TEST_SECRET[:-1]}),
    ],
    ids=["none", "bad-token", "bad-bearer", "not-bearer", "bad-header"],
)
async def test_missing_or_wrong_secret_is_401_and_stores_nothing(
    client: httpx.AsyncClient, db: Database, params: dict[str, str], headers: dict[str, str]
) -> None:
    await add_location(db)
    response = await client.post(URL, params=params, headers=headers, json=f.workflow_body())
    assert response.status_code == 401
    assert response.json()["detail"][0]["field"] == "authentication"
    assert await count(db, WebhookEvent) == 0


async def test_bad_signatures_are_401(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    raw = f.dumps(f.marketplace_body())
    tampered = raw.replace(b"Testina", b"Mallory")
    cases = [
        (tampered, f.ed25519_headers(ghl_keys, raw)),
        (tampered, f.rsa_headers(ghl_keys, raw)),
        (raw, {"x-ghl-signature": "not base64!"}),
        (raw, {"x-ghl-signature": "c2hvcnQ="}),
        # A valid legacy signature does not rescue a bad current one.
        (raw, {**f.rsa_headers(ghl_keys, raw), "x-ghl-signature": "c2hvcnQ="}),
        # A right secret does not rescue a bad signature either.
        (tampered, {**f.ed25519_headers(ghl_keys, raw), "X-Webhook-Secret": TEST_SECRET}),
    ]
    for body, headers in cases:
        response = await client.post(URL, content=body, headers=headers)
        assert response.status_code == 401, headers
    assert await count(db, WebhookEvent) == 0


async def test_stale_or_future_timestamp_is_401(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    for delta in (timedelta(minutes=-6), timedelta(minutes=6)):
        stamp = (datetime.now(UTC) + delta).isoformat()
        raw = f.dumps(f.marketplace_body(timestamp=stamp))
        response = await client.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw))
        assert response.status_code == 401
        assert response.json()["detail"][0]["reason"] == "stale_timestamp"
    assert await count(db, WebhookEvent) == 0


# -- bad input: 422, stored, never a 5xx -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "reason_part"),
    [
        (f.workflow_body(phone="12"), "phone", "not a valid phone number"),
        (f.workflow_body(phone="call me maybe"), "phone", "not a phone number"),
        (f.workflow_body(phone=None), "phone", "required"),
        (f.workflow_body(contact_id=""), "contact_id", "at least 1 character"),
        (f.workflow_body(tags={"a": 1}), "tags", "valid list"),
        (f.simple_body(contact={"phone": "+1 305 555"}), "contact.phone", "not a valid phone"),
        ({"hello": "world"}, "body", "not a GHL"),
        ([1, 2, 3], "body", "not a GHL"),
    ],
    ids=[
        "short-phone",
        "words-phone",
        "no-phone",
        "empty-contact-id",
        "tags-object",
        "simple-bad-phone",
        "unknown-shape",
        "array",
    ],
)
async def test_invalid_payload_is_422_with_field_errors_and_stored(
    client: httpx.AsyncClient, db: Database, body: Any, field: str, reason_part: str
) -> None:
    await add_location(db)
    response = await client.post(URL, params={"token": TEST_SECRET}, json=body)

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(d["field"] == field and reason_part in d["reason"] for d in detail), detail
    event = await event_of(db, response.json()["event_id"])
    assert event.status is EventStatus.REJECTED
    assert event.raw_body == f.dumps(body)
    # Errors name fields, never the values that were wrong.
    assert "call me maybe" not in response.text


async def test_invalid_json_is_422_and_stored(client: httpx.AsyncClient, db: Database) -> None:
    response = await client.post(URL, params={"token": TEST_SECRET}, content=b"{not json")
    assert response.status_code == 422
    assert response.json()["detail"] == [{"field": "body", "reason": "not valid JSON"}]
    assert (await event_of(db, response.json()["event_id"])).raw_body == b"{not json"


async def test_bad_email_and_timezone_are_dropped_with_warnings_not_the_lead(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_location(db)
    body = f.workflow_body(email="not-an-email", timezone="Mars/Olympus")
    response = await client.post(URL, params={"token": TEST_SECRET}, json=body)
    assert response.status_code == 202
    assert {w["field"] for w in response.json()["warnings"]} == {"email", "timezone"}
    lead = await only_lead(db)
    assert (lead.email, lead.timezone, lead.phone_e164) == (None, None, f.PHONE_E164)


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, db: Database) -> None:
    response = await client.post(
        URL, params={"token": TEST_SECRET}, content=b"x" * (1024 * 1024 + 1)
    )
    assert response.status_code == 413
    assert await count(db, WebhookEvent) == 0


# -- routing and replay ----------------------------------------------------------------------


async def test_unknown_location_is_422_unroutable_and_replays_after_adding_it(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    response = await client.post(URL, params={"token": TEST_SECRET}, json=f.workflow_body())

    assert response.status_code == 422
    assert response.json()["status"] == "unroutable"
    assert response.json()["detail"][0]["field"] == "location.id"
    event_id = uuid.UUID(response.json()["event_id"])
    assert (await event_of(db, str(event_id))).status is EventStatus.UNROUTABLE
    assert await count(db, Lead) == 0

    await add_location(db)
    intake = client._transport.app.state.intake  # type: ignore[attr-defined]
    assert await intake.replayable_event_ids() == [event_id]
    result = await intake.replay(event_id)

    assert (result.status, result.http_status) == ("accepted", 202)
    assert (await event_of(db, str(event_id))).status is EventStatus.PROCESSED
    assert (await only_lead(db)).phone_e164 == f.PHONE_E164
    assert await intake.replayable_event_ids() == []
    again = await intake.replay(event_id)
    assert again.status == "already_processed"


# -- duplicates ------------------------------------------------------------------------------


async def test_a_repeated_delivery_is_200_with_the_same_ids(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    raw = f.dumps(f.marketplace_body())
    headers = f.ed25519_headers(ghl_keys, raw)
    first = await client.post(URL, content=raw, headers=headers)
    second = await client.post(URL, content=raw, headers=headers)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["status"] == "duplicate"
    assert (second.json()["event_id"], second.json()["lead_id"]) == (
        first.json()["event_id"],
        first.json()["lead_id"],
    )


async def test_same_webhook_id_with_a_different_body_is_a_duplicate(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    first_body = f.marketplace_body()
    second_body = dict(first_body, firstName="Other")
    statuses = []
    for body in (first_body, second_body):
        raw = f.dumps(body)
        statuses.append(
            (
                await client.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw))
            ).status_code
        )
    assert statuses == [202, 200]
    assert (await only_lead(db)).first_name == f.FIRST_NAME


@pytest.mark.parametrize("shape", ["workflow", "marketplace"])
async def test_fifty_concurrent_identical_deliveries_make_one_lead_and_one_event(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys, shape: str
) -> None:
    await add_location(db)
    if shape == "workflow":
        raw = f.dumps(f.workflow_body())
        headers = {"X-Webhook-Secret": TEST_SECRET, "content-type": "application/json"}
    else:
        raw = f.dumps(f.marketplace_body())
        headers = f.ed25519_headers(ghl_keys, raw)

    responses = await asyncio.gather(
        *(client.post(URL, content=raw, headers=headers) for _ in range(50))
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 49 + [202]
    assert len({r.json()["event_id"] for r in responses}) == 1
    assert len({r.json()["lead_id"] for r in responses}) == 1
    assert await count(db, WebhookEvent) == 1
    assert await count(db, Lead) == 1


async def test_concurrent_different_events_for_one_contact_make_one_lead(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    contact = f.contact_id()
    start = datetime.now(UTC) - timedelta(seconds=30)
    bodies = [
        f.marketplace_body(id=contact, source=f"s{i}", timestamp=stamp(start, seconds=i))
        for i in range(20)
    ]
    raws = [f.dumps(b) for b in bodies]

    responses = await asyncio.gather(
        *(client.post(URL, content=r, headers=f.ed25519_headers(ghl_keys, r)) for r in raws)
    )

    assert [r.status_code for r in responses] == [202] * 20
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses[0] == "accepted" and set(statuses[1:]) <= {"updated", "stale"}
    assert await count(db, Lead) == 1
    assert await count(db, WebhookEvent) == 20
    # Whatever the arrival order, the newest event's value stands.
    assert (await only_lead(db)).source == "s19"


# -- the seam for the compliance gate and the dialer -----------------------------------------


async def test_listeners_run_in_the_intake_transaction_and_extend_the_response(
    settings: Settings, db: Database
) -> None:
    heard: list[LeadStored] = []
    broken_mode: list[bool] = []

    async def listener(*, session: AsyncSession, event: LeadStored) -> ListenerReply:
        if broken_mode:
            raise RuntimeError("listener bug")
        heard.append(event)
        # The lead is visible inside the same transaction.
        assert await session.get(Lead, event.lead_id) is not None
        return ListenerReply(key="next_call_at", value="2026-11-24T15:00:00Z")

    await add_location(db)
    listeners: list[LeadListener] = [listener]
    app = create_app(settings, lead_listeners=listeners)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        ok = await c.post(URL, params={"token": TEST_SECRET}, json=f.workflow_body())
        broken_mode.append(True)
        broken = await c.post(URL, params={"token": TEST_SECRET}, json=f.workflow_body())

    assert ok.status_code == 202
    assert ok.json()["next_call_at"] == "2026-11-24T15:00:00Z"
    assert heard[0].created is True and heard[0].do_not_call is False
    assert "phone" in heard[0].changed_fields
    # A failing listener rolls the lead back but keeps the event, replayable.
    assert broken.status_code == 202
    assert broken.json()["status"] == "stored"
    assert (await event_of(db, broken.json()["event_id"])).status is EventStatus.FAILED
    assert await count(db, Lead) == 1


async def test_the_lead_is_stamped_by_the_apps_clock_and_signatures_aged_by_real_time(
    settings: Settings, db: Database, ghl_keys: GhlKeys
) -> None:
    # The gate reads `created_at` as the inquiry time on the app's clock; a demo runs it at a
    # scenario's time, days away from now. A signed webhook's timestamp is GHL's real time.
    shifted = datetime(2026, 11, 24, 15, 15, tzinfo=UTC)
    await add_location(db)
    app = create_app(settings, lead_listeners=[], clock=lambda: shifted)
    raw = f.dumps(f.marketplace_body(timestamp=datetime.now(UTC).isoformat()))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        response = await c.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw))

    assert response.status_code == 202, response.text
    lead = await only_lead(db)
    assert lead.created_at == shifted
    assert (await event_of(db, response.json()["event_id"])).received_at == shifted


# -- health and storage failures -------------------------------------------------------------


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


async def test_readyz_checks_redis_when_configured(settings: Settings, db: Database) -> None:
    for url, code in (("redis://127.0.0.1:6379/0", 200), ("redis://127.0.0.1:1/0", 503)):
        app = create_app(settings.model_copy(update={"redis_url": url}))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            response = await c.get("/readyz")
        assert response.status_code == code, url


async def test_database_down_answers_429_so_ghl_retries(settings: Settings, tmp_path: Any) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/none"}
    )
    app = create_app(down)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        response = await c.post(URL, params={"token": TEST_SECRET}, json=f.workflow_body())
        ready = await c.get("/readyz")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    assert ready.status_code == 503
