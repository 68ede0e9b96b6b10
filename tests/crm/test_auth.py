"""OAuth and private tokens from the database: renewal before expiry, on 401, once at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from dentalvoice.config import Settings
from dentalvoice.crm import (
    GhlAuthError,
    GhlClient,
    GhlCredential,
    GhlOAuth,
    GhlRetryable,
    GhlTransport,
    GhlUserType,
    StoredTokens,
    TokenGrant,
)
from dentalvoice.crm import credentials as store
from dentalvoice.db import Database, open_database
from dentalvoice.locations import service as locations_service
from tests import factories as f
from tests.crm.conftest import BASE_URL, LOCATION, FakeGhl, form_of, make_client

CONTACT = "ctTest00000000000001"
COMPANY = "CoTest00000000000001"
START = datetime(2025, 6, 1, 12, tzinfo=UTC)
CLIENT_ID, CLIENT_SECRET = "app-client-id", "app-client-secret"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    fake: FakeGhl
    clock: Clock
    tokens: StoredTokens
    ghl: GhlClient


def build(db: Database, fake: FakeGhl, clock: Clock) -> Rig:
    transport = GhlTransport(base_url=BASE_URL, transport=fake.transport())
    oauth = GhlOAuth(
        transport,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri="https://dv.test/cb",
    )
    tokens = StoredTokens(db, oauth=oauth, clock=clock, refresh_margin=timedelta(minutes=5))
    return Rig(fake, clock, tokens, make_client(fake, tokens=tokens, transport=transport))


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    rig = build(db, FakeGhl(), Clock())
    try:
        yield rig
    finally:
        await rig.ghl.aclose()


async def seed(
    db: Database,
    *,
    access: str = "access-1",
    refresh: str | None = "refresh-1",
    expires_in: float = 3600,
    user_type: GhlUserType = GhlUserType.LOCATION,
    ghl_id: str = LOCATION,
    company_id: str | None = None,
) -> None:
    grant = TokenGrant(access_token=access, refresh_token=refresh, expires_in=expires_in)
    async with db.transaction() as session:
        await store.save_grant(
            session=session,
            user_type=user_type,
            ghl_id=ghl_id,
            grant=grant,
            now=START,
            company_id=company_id,
        )


async def stored(
    db: Database, user_type: GhlUserType = GhlUserType.LOCATION, ghl_id: str = LOCATION
) -> GhlCredential | None:
    async with db.reader() as session:
        return await store.get_credential(session=session, user_type=user_type, ghl_id=ghl_id)


async def raw_columns(db: Database) -> list[bytes]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT access_token, refresh_token FROM ghl_credential"))
        return [bytes(v) for row in rows for v in row if v is not None]


def token_answer(
    access: str, refresh: str | None, expires_in: int = 86399, **extra: object
) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": "contacts.write",
        "userType": "Location",
        "locationId": LOCATION,
        "companyId": COMPANY,
        "userId": "u1",
        **extra,
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return body


def contact_route(fake: FakeGhl, *, good: str) -> None:
    """The contact answers 200 to `good` and 401 to any other token."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == f"Bearer {good}":
            return httpx.Response(200, json={"contact": {"id": CONTACT}})
        return httpx.Response(401, json={"statusCode": 401, "message": "Invalid JWT"})

    fake.on("GET", f"/contacts/{CONTACT}", handler=answer)


async def test_a_401_renews_once_retries_and_stores_the_rotated_refresh_token_encrypted(
    rig: Rig, db: Database
) -> None:
    await seed(db)  # fresh for an hour, but GHL has revoked it
    rig.fake.on("POST", "/oauth/token", json=token_answer("access-2", "refresh-2"))
    contact_route(rig.fake, good="access-2")

    contact = await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)

    assert contact.id == CONTACT
    first, token, retry = rig.fake.requests
    assert first.headers["Authorization"] == "Bearer access-1"
    assert retry.headers["Authorization"] == "Bearer access-2"
    assert "Version" not in token.headers and "Authorization" not in token.headers
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_of(token) == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": "refresh-1",
        "user_type": "Location",
        "redirect_uri": "https://dv.test/cb",
    }
    row = await stored(db)
    assert row is not None
    assert (row.access_token, row.refresh_token) == ("access-2", "refresh-2")
    assert row.access_expires_at == START + timedelta(seconds=86399)
    raw = await raw_columns(db)
    assert len(raw) == 2
    assert all(b"access-2" not in v and b"refresh-2" not in v for v in raw)


async def test_a_token_about_to_expire_is_renewed_before_the_request(
    rig: Rig, db: Database
) -> None:
    await seed(db, expires_in=4 * 60)  # inside the 5-minute margin
    rig.fake.on("POST", "/oauth/token", json=token_answer("access-2", "refresh-2"))
    contact_route(rig.fake, good="access-2")

    await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)

    assert [r.url.path for r in rig.fake.requests] == ["/oauth/token", f"/contacts/{CONTACT}"]


async def test_a_token_outside_the_margin_is_used_then_renewed_once_time_passes(
    rig: Rig, db: Database
) -> None:
    await seed(db, expires_in=3600)
    rig.fake.on("POST", "/oauth/token", json=token_answer("access-2", "refresh-2"))
    contact_route(rig.fake, good="access-1")

    await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)
    await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)
    assert rig.fake.sent("POST", "/oauth/token") == []

    rig.clock.now = START + timedelta(minutes=56)
    assert await rig.tokens.token(LOCATION) == "access-2"
    assert len(rig.fake.sent("POST", "/oauth/token")) == 1


async def test_concurrent_requests_during_expiry_renew_once(rig: Rig, db: Database) -> None:
    await seed(db, expires_in=60)

    async def slow_token(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)  # every caller arrives while the renewal is in flight
        return httpx.Response(200, json=token_answer("access-2", "refresh-2"))

    rig.fake.on("POST", "/oauth/token", handler=slow_token)
    contact_route(rig.fake, good="access-2")

    results = await asyncio.gather(
        *(rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT) for _ in range(5))
    )

    assert len(results) == 5
    assert len(rig.fake.sent("POST", "/oauth/token")) == 1
    assert len(rig.fake.sent("GET", f"/contacts/{CONTACT}")) == 5


async def test_two_processes_renew_one_grant_once(
    backend: str, db: Database, settings: Settings
) -> None:
    """Two providers on separate engines (as two processes): the row lock lets one renew."""
    if backend == "sqlite":
        pytest.skip("SQLite has no row locks; one process per SQLite file")
    await seed(db, expires_in=60)
    other_db, _ = open_database(settings)
    fakes = [FakeGhl(), FakeGhl()]

    async def slow_token(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.2)
        return httpx.Response(200, json=token_answer("access-2", "refresh-2"))

    for fake in fakes:
        fake.on("POST", "/oauth/token", handler=slow_token)
    rigs = [build(db, fakes[0], Clock()), build(other_db, fakes[1], Clock())]
    try:
        tokens = await asyncio.gather(*(r.tokens.token(LOCATION) for r in rigs))
    finally:
        for r in rigs:
            await r.ghl.aclose()
        await other_db.dispose()

    assert tokens == ["access-2", "access-2"]
    assert sum(len(fake.sent("POST", "/oauth/token")) for fake in fakes) == 1


async def test_a_refused_refresh_is_an_auth_error_and_keeps_the_stored_grant(
    rig: Rig, db: Database
) -> None:
    await seed(db, expires_in=60)
    rig.fake.on(
        "POST",
        "/oauth/token",
        status=400,
        json={
            "error": "invalid_grant",
            "error_description": "Invalid grant: refresh token is invalid",
        },
    )

    with pytest.raises(GhlAuthError) as caught:
        await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)

    assert "refresh token is invalid" in str(caught.value)
    assert "refresh-1" not in str(caught.value)
    assert rig.fake.sent("GET", f"/contacts/{CONTACT}") == []
    row = await stored(db)
    assert row is not None and row.refresh_token == "refresh-1"


async def test_ghl_unreachable_during_renewal_is_retryable(rig: Rig, db: Database) -> None:
    await seed(db, expires_in=60)
    rig.fake.on("POST", "/oauth/token", status=503, json={"message": "unavailable"})
    with pytest.raises(GhlRetryable):
        await rig.tokens.token(LOCATION)


async def test_a_second_401_after_renewal_is_an_auth_error(rig: Rig, db: Database) -> None:
    await seed(db)
    rig.fake.on("POST", "/oauth/token", json=token_answer("access-2", "refresh-2"))
    contact_route(rig.fake, good="never")
    with pytest.raises(GhlAuthError):
        await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)
    assert len(rig.fake.sent("GET", f"/contacts/{CONTACT}")) == 2


async def test_the_clinics_private_token_is_used_without_oauth(rig: Rig, db: Database) -> None:
    async with db.transaction() as session:
        await locations_service.create_location(
            session=session, location_in=f.location_create(ghl_token="pit-clinic")
        )
    contact_route(rig.fake, good="pit-clinic")

    await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)

    assert rig.fake.requests[0].headers["Authorization"] == "Bearer pit-clinic"


async def test_a_rotated_private_token_is_picked_up_after_a_401(rig: Rig, db: Database) -> None:
    async with db.transaction() as session:
        location = await locations_service.create_location(
            session=session, location_in=f.location_create(ghl_token="pit-old")
        )
        location_id = location.id
    contact_route(rig.fake, good="pit-old")
    await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)

    async with db.transaction() as session:
        row = await locations_service.get_location(session=session, location_id=location_id)
        assert row is not None
        row.ghl_token = "pit-new"
    rig.fake.routes.clear()
    contact_route(rig.fake, good="pit-new")
    await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)

    assert [r.headers["Authorization"] for r in rig.fake.requests[1:]] == [
        "Bearer pit-old",
        "Bearer pit-new",
    ]


async def test_no_credentials_at_all_is_an_auth_error(rig: Rig) -> None:
    with pytest.raises(GhlAuthError) as caught:
        await rig.ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)
    assert caught.value.location_id == LOCATION
    assert rig.fake.requests == []


async def test_without_an_oauth_app_a_grant_cannot_be_renewed(db: Database) -> None:
    await seed(db, expires_in=60)
    with pytest.raises(GhlAuthError, match="GHL_CLIENT_ID"):
        await StoredTokens(db, clock=Clock()).token(LOCATION)


async def test_install_exchanges_the_code_and_stores_the_grant(rig: Rig, db: Database) -> None:
    rig.fake.on("POST", "/oauth/token", json=token_answer("access-1", "refresh-1"))

    connection = await rig.tokens.install(code="the-code")

    assert form_of(rig.fake.requests[0]) == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "authorization_code",
        "code": "the-code",
        "user_type": "Location",
        "redirect_uri": "https://dv.test/cb",
    }
    assert (connection.user_type, connection.ghl_id, connection.company_id) == (
        GhlUserType.LOCATION,
        LOCATION,
        COMPANY,
    )
    assert "access-1" not in repr(connection)
    assert await rig.tokens.token(LOCATION) == "access-1"


async def test_an_agency_grant_mints_and_renews_location_tokens(rig: Rig, db: Database) -> None:
    await seed(
        db,
        access="agency-1",
        refresh="agency-refresh-1",
        user_type=GhlUserType.COMPANY,
        ghl_id=COMPANY,
    )
    minted = iter(["location-1", "location-2"])

    def location_token(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "access_token": next(minted),
                "token_type": "Bearer",
                "expires_in": 86399,
                "locationId": LOCATION,
                "userId": "u1",
            },
        )

    rig.fake.on("POST", "/oauth/locationToken", handler=location_token)
    rig.fake.on(
        "POST",
        "/oauth/token",
        json=token_answer("agency-2", "agency-refresh-2", userType="Company"),
    )

    connection = await rig.tokens.connect_location(company_id=COMPANY, location_id=LOCATION)
    assert connection.company_id == COMPANY
    mint = rig.fake.requests[0]
    assert mint.headers["Authorization"] == "Bearer agency-1"
    assert mint.headers["Version"] == "2021-07-28"
    assert form_of(mint) == {"companyId": COMPANY, "locationId": LOCATION}
    assert await rig.tokens.token(LOCATION) == "location-1"

    # A day later both have expired: the agency grant is refreshed, then a location token minted.
    rig.clock.now = START + timedelta(days=1)
    assert await rig.tokens.token(LOCATION) == "location-2"
    refresh = rig.fake.sent("POST", "/oauth/token")[0]
    assert form_of(refresh)["refresh_token"] == "agency-refresh-1"
    assert form_of(refresh)["user_type"] == "Company"
    agency = await stored(db, GhlUserType.COMPANY, COMPANY)
    assert agency is not None and agency.refresh_token == "agency-refresh-2"
    location = await stored(db)
    assert location is not None and location.refresh_token is None


async def test_disconnect_forgets_the_grant(rig: Rig, db: Database) -> None:
    await seed(db)
    assert await rig.tokens.token(LOCATION) == "access-1"
    assert await rig.tokens.disconnect(user_type=GhlUserType.LOCATION, ghl_id=LOCATION)
    assert await stored(db) is None
    with pytest.raises(GhlAuthError):
        await rig.tokens.token(LOCATION)


def test_the_authorization_url() -> None:
    oauth = GhlOAuth(
        GhlTransport(base_url=BASE_URL),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri="https://dv.test/cb",
    )
    url = oauth.authorization_url(scopes=["contacts.readonly", "contacts.write"], state="s1")
    assert url == (
        "https://marketplace.gohighlevel.com/v2/oauth/chooselocation?response_type=code"
        "&client_id=app-client-id&scope=contacts.readonly+contacts.write"
        "&redirect_uri=https%3A%2F%2Fdv.test%2Fcb&state=s1"
    )
