"""Every request the client can send, checked against GHL's OpenAPI files.

The requests are recorded through `httpx.MockTransport` and validated with the GHL emulator's
spec checker (`dentalvoice.emulators.ghl.spec`); the module is skipped while that is absent.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from dentalvoice.crm import GhlClient, GhlOAuth, GhlTransport, GhlUserType
from tests.crm.conftest import BASE_URL, LOCATION, FakeGhl, make_client

spec_module = pytest.importorskip("dentalvoice.emulators.ghl.spec")

CONTACT = "ocQHyuzHvysMo5N5VsXc"
NY = ZoneInfo("America/New_York")


def answers(fake: FakeGhl) -> None:
    contact = {"id": CONTACT, "locationId": LOCATION}
    fake.on("GET", f"/contacts/{CONTACT}", json={"contact": contact})
    fake.on("PUT", f"/contacts/{CONTACT}", json={"succeded": True, "contact": contact})
    fake.on("POST", f"/contacts/{CONTACT}/tags", status=201, json={"tags": ["a"]})
    fake.on("POST", f"/contacts/{CONTACT}/notes", status=201, json={"note": {"id": "n1"}})
    fake.on("GET", f"/contacts/{CONTACT}/notes", json={"notes": []})
    fake.on("GET", f"/contacts/{CONTACT}/appointments", json={"events": []})
    fake.on("GET", "/opportunities/search", json={"opportunities": []})
    fake.on("POST", "/opportunities/", status=201, json={"opportunity": {"id": "op1"}})
    fake.on("PUT", "/opportunities/op1", json={"opportunity": {"id": "op1"}})
    fake.on("GET", "/calendars/cal1/free-slots", json={})
    fake.on("POST", "/calendars/events/appointments", json={"id": "ap1"})
    fake.on("GET", f"/locations/{LOCATION}/customFields", json={"customFields": []})
    token = {"access_token": "a", "refresh_token": "r", "expires_in": 86399, "userId": "u"}
    fake.on("POST", "/oauth/token", json={**token, "userType": "Location", "locationId": LOCATION})
    fake.on("POST", "/oauth/locationToken", json=token)


def calls(ghl: GhlClient) -> dict[str, Callable[[], Awaitable[object]]]:
    """One call of every public client method, with every optional argument it can send."""
    start = datetime(2025, 3, 4, 10, tzinfo=NY)
    return {
        "get_contact": lambda: ghl.get_contact(location_id=LOCATION, contact_id=CONTACT),
        "update_contact": lambda: ghl.update_contact(
            location_id=LOCATION,
            contact_id=CONTACT,
            custom_fields={"cfText": "implants", "cfNumber": 7, "cfOptions": ["a", "b"]},
            dnd=True,
            call_dnd=True,
        ),
        "add_tags": lambda: ghl.add_tags(location_id=LOCATION, contact_id=CONTACT, tags=["ai"]),
        "create_note": lambda: ghl.create_note(
            location_id=LOCATION, contact_id=CONTACT, body="b", user_id="u1", title="t"
        ),
        "list_notes": lambda: ghl.list_notes(location_id=LOCATION, contact_id=CONTACT),
        "list_contact_appointments": lambda: ghl.list_contact_appointments(
            location_id=LOCATION, contact_id=CONTACT
        ),
        "search_opportunities": lambda: ghl.search_opportunities(
            location_id=LOCATION,
            contact_id=CONTACT,
            pipeline_id="pl1",
            pipeline_stage_id="st1",
            status="open",
            limit=100,
        ),
        "create_opportunity": lambda: ghl.create_opportunity(
            location_id=LOCATION,
            pipeline_id="pl1",
            contact_id=CONTACT,
            name="n",
            pipeline_stage_id="st1",
            monetary_value=220,
            assigned_to="u1",
        ),
        "update_opportunity": lambda: ghl.update_opportunity(
            location_id=LOCATION,
            opportunity_id="op1",
            pipeline_id="pl1",
            pipeline_stage_id="st2",
            status="won",
            name="n",
            monetary_value=100.5,
        ),
        "get_free_slots": lambda: ghl.get_free_slots(
            location_id=LOCATION,
            calendar_id="cal1",
            start_day=date(2025, 3, 4),
            end_day=date(2025, 3, 10),
            timezone="America/New_York",
            user_id="u1",
        ),
        "create_appointment": lambda: ghl.create_appointment(
            location_id=LOCATION,
            calendar_id="cal1",
            contact_id=CONTACT,
            start=start,
            end=start + timedelta(minutes=30),
            title="t",
            assigned_user_id="u1",
            appointment_status="confirmed",
        ),
        "list_custom_fields": lambda: ghl.list_custom_fields(location_id=LOCATION, model="all"),
    }


def oauth_calls(oauth: GhlOAuth) -> list[Callable[[], Awaitable[object]]]:
    return [
        lambda: oauth.exchange_code(code="c"),
        lambda: oauth.refresh(refresh_token="r", user_type=GhlUserType.LOCATION),
        lambda: oauth.refresh(refresh_token="r", user_type=GhlUserType.COMPANY),
        lambda: oauth.location_token(agency_token="a", company_id="co1", location_id=LOCATION),
    ]


def problems_of(request: httpx.Request) -> list[str]:
    spec = spec_module.load_ghl_spec()
    found = spec.check(
        method=request.method,
        path=request.url.path,
        headers=dict(request.headers),
        query=request.url.query.decode(),
        body=request.content,
    )
    return [f"{request.method} {request.url.path}: {p}" for p in found]


def public_methods() -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(GhlClient, inspect.iscoroutinefunction)
        if not name.startswith("_") and name != "aclose"
    }


async def test_every_client_request_matches_the_spec(fake: FakeGhl) -> None:
    answers(fake)
    transport = GhlTransport(base_url=BASE_URL, transport=fake.transport())
    oauth = GhlOAuth(
        transport, client_id="cid", client_secret="secret", redirect_uri="https://dv.test/cb"
    )
    async with make_client(fake, transport=transport) as ghl:
        table = calls(ghl)
        assert set(table) == public_methods()  # a new method needs a line here
        for call in [*table.values(), *oauth_calls(oauth)]:
            await call()

    assert len(fake.requests) == len(table) + 4
    assert [p for request in fake.requests for p in problems_of(request)] == []


async def test_the_checker_catches_a_wrong_version(fake: FakeGhl) -> None:
    """The check above can fail: a calendar request with the contacts Version is refused."""
    request = httpx.Request(
        "GET",
        f"{BASE_URL}/calendars/cal1/free-slots?startDate=1&endDate=2",
        headers={"Version": "2021-07-28", "Authorization": "Bearer x"},
    )
    assert problems_of(request) != []
