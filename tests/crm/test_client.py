"""The client's requests, exactly as GHL must receive them, and how it reads the answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from dentalvoice.crm import (
    CALENDARS_VERSION,
    VERSION,
    GhlAuthError,
    GhlClient,
    GhlRateLimited,
    GhlRejected,
    GhlRetryable,
    StaticTokens,
    TokenBucket,
    open_ghl_client,
)
from tests.conftest import make_settings
from tests.crm.conftest import (
    BASE_URL,
    LOCATION,
    PIT,
    FakeGhl,
    body_of,
    make_client,
    query_of,
)

CONTACT = "ctTest00000000000001"
NAME, PHONE = "Testina Fakeperson", "+13055550123"
NY = ZoneInfo("America/New_York")


def contact_json(**extra: object) -> dict[str, object]:
    return {
        "id": CONTACT,
        "locationId": LOCATION,
        "firstName": "Testina",
        "name": NAME,
        "phone": PHONE,
        "dnd": False,
        "tags": ["lead"],
        "customFields": [{"id": "cf1", "value": "7"}],
        "attributionSource": {"utmSource": "fb"},
        **extra,
    }


async def test_get_contact_sends_bearer_version_and_accept(fake: FakeGhl, ghl: GhlClient) -> None:
    fake.on("GET", f"/contacts/{CONTACT}", json={"contact": contact_json(), "traceId": "t1"})

    contact = await ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)

    (request,) = fake.requests
    assert str(request.url) == f"{BASE_URL}/contacts/{CONTACT}"
    assert request.headers["Authorization"] == f"Bearer {PIT}"
    assert request.headers["Version"] == VERSION
    assert request.headers["Accept"] == "application/json"
    assert contact.id == CONTACT and contact.phone == PHONE and contact.tags == ["lead"]
    assert contact.custom_value("cf1") == "7"
    # PHI stays out of repr, so a logged model shows ids only.
    assert NAME not in repr(contact) and PHONE not in repr(contact)


async def test_update_contact_writes_custom_fields_by_id_and_call_dnd(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    fake.on("PUT", f"/contacts/{CONTACT}", json={"succeded": True, "contact": contact_json()})

    contact = await ghl.update_contact(
        location_id=LOCATION,
        contact_id=CONTACT,
        custom_fields={"cfPain": 7, "cfTreatments": ("implants", "whitening"), "cfNote": "x"},
        dnd=True,
        call_dnd=True,
    )

    (request,) = fake.requests
    assert request.headers["Version"] == VERSION
    assert request.headers["Content-Type"] == "application/json"
    assert body_of(request) == {
        "customFields": [
            {"id": "cfPain", "field_value": 7},
            {"id": "cfTreatments", "field_value": ["implants", "whitening"]},
            {"id": "cfNote", "field_value": "x"},
        ],
        "dnd": True,
        "dndSettings": {"Call": {"status": "active"}},
    }
    assert "tags" not in body_of(request)
    assert contact is not None and contact.id == CONTACT


async def test_the_custom_field_value_key_is_configurable(fake: FakeGhl) -> None:
    fake.on("PUT", f"/contacts/{CONTACT}", json={"succeded": True})
    async with make_client(fake, custom_field_value_key="fieldValue") as ghl:
        result = await ghl.update_contact(
            location_id=LOCATION, contact_id=CONTACT, custom_fields={"cf1": "a"}, call_dnd=False
        )
    assert body_of(fake.requests[0]) == {
        "customFields": [{"id": "cf1", "fieldValue": "a"}],
        "dndSettings": {"Call": {"status": "inactive"}},
    }
    assert result is None  # GHL's answer had no contact


async def test_update_contact_without_changes_is_refused_before_sending(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    with pytest.raises(ValueError):
        await ghl.update_contact(location_id=LOCATION, contact_id=CONTACT)
    assert fake.requests == []


async def test_add_tags_posts_to_the_tags_endpoint(fake: FakeGhl, ghl: GhlClient) -> None:
    fake.on("POST", f"/contacts/{CONTACT}/tags", status=201, json={"tags": ["lead", "ai-called"]})

    tags = await ghl.add_tags(location_id=LOCATION, contact_id=CONTACT, tags=["ai-called", " "])

    (request,) = fake.requests
    assert request.method == "POST" and request.headers["Version"] == VERSION
    assert body_of(request) == {"tags": ["ai-called"]}
    assert tags == ["lead", "ai-called"]


async def test_notes_are_created_and_listed(fake: FakeGhl, ghl: GhlClient) -> None:
    note = {
        "id": "n1",
        "body": "Pain 7/10",
        "contactId": CONTACT,
        "dateAdded": "2025-01-02T03:04:05.000Z",
    }
    fake.on("POST", f"/contacts/{CONTACT}/notes", status=201, json={"note": note})
    fake.on(
        "GET",
        f"/contacts/{CONTACT}/notes",
        json={"notes": [note, {**note, "id": "n2", "dateAdded": "garbage"}]},
    )

    created = await ghl.create_note(
        location_id=LOCATION, contact_id=CONTACT, body="Pain 7/10", title="AI call"
    )
    listed = await ghl.list_notes(location_id=LOCATION, contact_id=CONTACT)

    post, get = fake.requests
    assert body_of(post) == {"body": "Pain 7/10", "title": "AI call"}
    assert post.headers["Version"] == VERSION and get.headers["Version"] == VERSION
    assert created.id == "n1" and created.date_added == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [n.id for n in listed] == ["n1", "n2"]
    assert listed[1].date_added is None  # one bad timestamp does not sink the list
    assert "Pain" not in repr(created)


async def test_opportunity_search_uses_snake_case_query(fake: FakeGhl, ghl: GhlClient) -> None:
    fake.on(
        "GET",
        "/opportunities/search",
        json={
            "opportunities": [
                {
                    "id": "op1",
                    "pipelineId": "pl1",
                    "pipelineStageId": "st1",
                    "status": "open",
                    "contactId": CONTACT,
                    "monetaryValue": 220,
                    "customFields": [],
                }
            ],
            "meta": {"total": 1},
        },
    )

    found = await ghl.search_opportunities(
        location_id=LOCATION, contact_id=CONTACT, pipeline_id="pl1", status="open"
    )

    (request,) = fake.requests
    assert query_of(request) == {
        "location_id": LOCATION,
        "contact_id": CONTACT,
        "pipeline_id": "pl1",
        "status": "open",
        "limit": "20",
    }
    assert [(o.id, o.pipeline_stage_id, o.monetary_value) for o in found] == [("op1", "st1", 220)]


async def test_opportunities_are_created_and_moved_with_their_pipeline(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    fake.on("POST", "/opportunities/", status=201, json={"opportunity": {"id": "op1"}})
    fake.on(
        "PUT", "/opportunities/op1", json={"opportunity": {"id": "op1", "pipelineStageId": "st2"}}
    )

    created = await ghl.create_opportunity(
        location_id=LOCATION,
        pipeline_id="pl1",
        pipeline_stage_id="st1",
        contact_id=CONTACT,
        name="New lead",
    )
    moved = await ghl.update_opportunity(
        location_id=LOCATION, opportunity_id="op1", pipeline_id="pl1", pipeline_stage_id="st2"
    )

    post, put = fake.requests
    assert body_of(post) == {
        "pipelineId": "pl1",
        "locationId": LOCATION,
        "name": "New lead",
        "status": "open",
        "contactId": CONTACT,
        "pipelineStageId": "st1",
    }
    assert body_of(put) == {"pipelineId": "pl1", "pipelineStageId": "st2"}
    assert created.id == "op1" and moved.pipeline_stage_id == "st2"


async def test_free_slots_use_local_day_bounds_in_epoch_ms_and_read_only_date_keys(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    fake.on(
        "GET",
        "/calendars/cal1/free-slots",
        json={
            "2024-11-04": {"slots": ["2024-11-04T10:00:00-05:00", "2024-11-04T09:30:00"]},
            "2024-11-03": {"slots": ["2024-11-03T14:00:00-05:00", "not a time"]},
            "_dates_": {"slots": ["2024-11-05T10:00:00-05:00"]},
            "traceId": "abc",
        },
    )

    slots = await ghl.get_free_slots(
        location_id=LOCATION,
        calendar_id="cal1",
        start_day=date(2024, 11, 3),  # the day New York leaves daylight time
        end_day=date(2024, 11, 4),
        timezone="America/New_York",
    )

    (request,) = fake.requests
    assert request.headers["Version"] == CALENDARS_VERSION
    # 2024-11-03 00:00 EDT (UTC-4) to the last millisecond of 2024-11-04 EST (UTC-5).
    assert query_of(request) == {
        "startDate": "1730606400000",
        "endDate": "1730782799999",
        "timezone": "America/New_York",
    }
    assert slots == [
        datetime(2024, 11, 3, 14, tzinfo=NY),
        datetime(2024, 11, 4, 9, 30, tzinfo=NY),  # an offset-less slot is read in the zone
        datetime(2024, 11, 4, 10, tzinfo=NY),
    ]
    assert all(s.utcoffset() == timedelta(hours=-5) for s in slots)


@pytest.mark.parametrize(
    ("start", "end", "zone"),
    [
        (date(2025, 1, 1), date(2025, 2, 1), "America/New_York"),  # 32 days
        (date(2025, 1, 2), date(2025, 1, 1), "America/New_York"),
        (date(2025, 1, 1), date(2025, 1, 2), "Mars/Olympus_Mons"),
    ],
)
async def test_free_slot_ranges_are_checked_before_sending(
    fake: FakeGhl, ghl: GhlClient, start: date, end: date, zone: str
) -> None:
    with pytest.raises(ValueError):
        await ghl.get_free_slots(
            location_id=LOCATION, calendar_id="c", start_day=start, end_day=end, timezone=zone
        )
    assert fake.requests == []


async def test_a_31_day_range_is_allowed(fake: FakeGhl, ghl: GhlClient) -> None:
    fake.on("GET", "/calendars/c/free-slots", json={})
    assert (
        await ghl.get_free_slots(
            location_id=LOCATION,
            calendar_id="c",
            start_day=date(2025, 1, 1),
            end_day=date(2025, 1, 31),
            timezone="UTC",
        )
        == []
    )


async def test_create_appointment_sends_the_offset_and_reads_the_flat_answer(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    fake.on(
        "POST",
        "/calendars/events/appointments",
        json={
            "id": "ap1",
            "calendarId": "cal1",
            "contactId": CONTACT,
            "startTime": "2025-03-04T10:00:00-05:00",
            "appointmentStatus": "confirmed",
        },
    )
    start = datetime(2025, 3, 4, 10, tzinfo=NY)

    appointment = await ghl.create_appointment(
        location_id=LOCATION,
        calendar_id="cal1",
        contact_id=CONTACT,
        start=start,
        end=start + timedelta(minutes=30),
        title="Consultation",
        assigned_user_id="u1",
    )

    (request,) = fake.requests
    assert request.headers["Version"] == CALENDARS_VERSION
    assert body_of(request) == {
        "calendarId": "cal1",
        "locationId": LOCATION,
        "contactId": CONTACT,
        "startTime": "2025-03-04T10:00:00-05:00",
        "endTime": "2025-03-04T10:30:00-05:00",
        "title": "Consultation",
        "assignedUserId": "u1",
    }
    assert appointment.id == "ap1" and appointment.starts_at() == start


async def test_a_naive_appointment_time_is_refused(fake: FakeGhl, ghl: GhlClient) -> None:
    with pytest.raises(ValueError):
        await ghl.create_appointment(
            location_id=LOCATION,
            calendar_id="c",
            contact_id=CONTACT,
            start=datetime(2025, 3, 4, 10),
        )
    assert fake.requests == []


async def test_contact_appointments_accept_times_without_offset(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    fake.on(
        "GET",
        f"/contacts/{CONTACT}/appointments",
        json={
            "events": [
                {
                    "id": "ev1",
                    "calendarId": "cal1",
                    "startTime": "2025-03-04 10:00:00",
                    "appointmentStatus": "booked",
                    "users": ["u1"],
                }
            ]
        },
    )

    (event,) = await ghl.list_contact_appointments(location_id=LOCATION, contact_id=CONTACT)

    assert fake.requests[0].headers["Version"] == VERSION
    assert event.starts_at() is None
    assert event.starts_at("America/New_York") == datetime(2025, 3, 4, 10, tzinfo=NY)


async def test_list_custom_fields(fake: FakeGhl, ghl: GhlClient) -> None:
    fake.on(
        "GET",
        f"/locations/{LOCATION}/customFields",
        json={
            "customFields": [
                {
                    "id": "f1",
                    "fieldKey": "contact.pain_level",
                    "dataType": "NUMERICAL",
                    "model": "contact",
                    "position": 0,
                }
            ]
        },
    )

    (field,) = await ghl.list_custom_fields(location_id=LOCATION, model="contact")

    assert query_of(fake.requests[0]) == {"model": "contact"}
    assert (field.id, field.field_key) == ("f1", "contact.pain_level")


async def test_ids_are_quoted_into_the_path(fake: FakeGhl, ghl: GhlClient) -> None:
    with pytest.raises(GhlRejected):
        await ghl.get_contact(location_id=LOCATION, contact_id="../locations/x")
    assert fake.requests[0].url.raw_path == b"/contacts/..%2Flocations%2Fx"


# -- errors ---------------------------------------------------------------------------------


async def test_422_is_rejected_with_ghl_messages_joined_and_trace_id(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    fake.on(
        "POST",
        f"/contacts/{CONTACT}/notes",
        status=422,
        json={
            "statusCode": 422,
            "message": ["body must be a string", "userId is invalid"],
            "error": "Unprocessable Entity",
            "traceId": "tr-422",
        },
    )

    with pytest.raises(GhlRejected) as caught:
        await ghl.create_note(location_id=LOCATION, contact_id=CONTACT, body=f"{NAME} {PHONE}")

    error = caught.value
    assert error.status == 422 and error.trace_id == "tr-422"
    assert error.ghl_message == "body must be a string; userId is invalid"
    assert error.operation == "create_note"
    assert NAME not in str(error) and PHONE not in str(error)
    assert "tr-422" in str(error)


async def test_400_with_a_string_message_is_rejected(fake: FakeGhl, ghl: GhlClient) -> None:
    fake.on(
        "PUT", "/opportunities/op1", status=400, json={"statusCode": 400, "message": "Bad Request"}
    )
    with pytest.raises(GhlRejected) as caught:
        await ghl.update_opportunity(
            location_id=LOCATION, opportunity_id="op1", pipeline_id="p", pipeline_stage_id="s"
        )
    assert (caught.value.status, caught.value.ghl_message) == (400, "Bad Request")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_retryable_and_a_write_is_sent_once(
    fake: FakeGhl, ghl: GhlClient, status: int
) -> None:
    fake.on("POST", f"/contacts/{CONTACT}/tags", status=status, json={"message": "oops"})
    with pytest.raises(GhlRetryable) as caught:
        await ghl.add_tags(location_id=LOCATION, contact_id=CONTACT, tags=["t"])
    assert caught.value.status == status and caught.value.maybe_applied
    assert not isinstance(caught.value, GhlRateLimited)
    assert len(fake.requests) == 1


async def test_a_read_timeout_is_retryable_and_maybe_applied(fake: FakeGhl, ghl: GhlClient) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake.on("POST", f"/contacts/{CONTACT}/notes", handler=timeout)
    with pytest.raises(GhlRetryable) as caught:
        await ghl.create_note(location_id=LOCATION, contact_id=CONTACT, body="b")
    assert caught.value.maybe_applied and caught.value.status is None
    assert len(fake.requests) == 1  # a write is never repeated by the client


async def test_a_get_that_could_not_connect_is_tried_once_more(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"notes": []})

    fake.on("GET", f"/contacts/{CONTACT}/notes", handler=flaky)
    assert await ghl.list_notes(location_id=LOCATION, contact_id=CONTACT) == []
    assert calls == 2


async def test_a_write_that_could_not_connect_is_not_repeated(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake.on("POST", f"/contacts/{CONTACT}/notes", handler=refuse)
    with pytest.raises(GhlRetryable) as caught:
        await ghl.create_note(location_id=LOCATION, contact_id=CONTACT, body="b")
    assert not caught.value.maybe_applied  # never reached GHL: safe to send again
    assert len(fake.requests) == 1


async def test_a_get_failing_to_connect_twice_is_retryable(fake: FakeGhl, ghl: GhlClient) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake.on("GET", f"/contacts/{CONTACT}", handler=refuse)
    with pytest.raises(GhlRetryable):
        await ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)
    assert len(fake.requests) == 2


async def test_an_unreadable_success_body_is_retryable(fake: FakeGhl, ghl: GhlClient) -> None:
    fake.on("GET", f"/contacts/{CONTACT}", handler=lambda r: httpx.Response(200, content=b"<html>"))
    with pytest.raises(GhlRetryable):
        await ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)


async def test_an_unexpected_shape_is_reported_without_the_data(
    fake: FakeGhl, ghl: GhlClient
) -> None:
    fake.on("GET", f"/contacts/{CONTACT}", json={"contact": {"name": NAME}})  # no id
    with pytest.raises(GhlRetryable) as caught:
        await ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)
    assert NAME not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_a_pit_refused_with_401_is_an_auth_error(fake: FakeGhl, ghl: GhlClient) -> None:
    fake.on(
        "GET",
        f"/contacts/{CONTACT}",
        status=401,
        json={"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"},
    )
    with pytest.raises(GhlAuthError):
        await ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)
    assert len(fake.requests) == 1


async def test_a_location_without_credentials_is_an_auth_error_before_sending(
    fake: FakeGhl,
) -> None:
    async with make_client(fake, tokens=StaticTokens({})) as ghl:
        with pytest.raises(GhlAuthError):
            await ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)
    assert fake.requests == []


# -- rate limits ----------------------------------------------------------------------------


async def test_burst_429_is_rate_limited_with_the_interval_plus_jitter(fake: FakeGhl) -> None:
    now = [0.0]
    bucket = TokenBucket(100, 10.0, clock=lambda: now[0])
    fake.on(
        "POST",
        f"/contacts/{CONTACT}/tags",
        status=429,
        json={"statusCode": 429, "message": "Too Many Requests"},
        headers={
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Interval-Milliseconds": "8000",
            "X-RateLimit-Daily-Remaining": "150000",
            "X-RateLimit-Max": "100",
        },
    )
    async with make_client(fake, limiter=bucket) as ghl:
        with pytest.raises(GhlRateLimited) as caught:
            await ghl.add_tags(location_id=LOCATION, contact_id=CONTACT, tags=["t"])
        error = caught.value
        assert error.kind == "burst" and error.status == 429
        assert error.retry_after == pytest.approx(8.0 * (1 + 0.25 * 0.5))
        # The location's bucket is now closed for that long: a caller that cannot wait is
        # refused locally, without another request to GHL.
        with pytest.raises(GhlRateLimited) as local:
            await ghl.add_tags(location_id=LOCATION, contact_id=CONTACT, tags=["t"], max_wait=1.0)
        assert local.value.kind == "local"
        assert local.value.retry_after == pytest.approx(9.0)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({"X-RateLimit-Daily-Remaining": "0", "x-ratelimit-daily-reset": "7200000"}, 7200.0),
        ({"X-RateLimit-Daily-Remaining": "0"}, 3600.0),
        (
            {"X-RateLimit-Daily-Remaining": "-3", "X-RateLimit-Interval-Milliseconds": "10000"},
            3600.0,
        ),
    ],
)
async def test_daily_429_waits_for_the_reset(
    fake: FakeGhl, headers: dict[str, str], retry_after: float
) -> None:
    fake.on("GET", f"/contacts/{CONTACT}", status=429, json={}, headers=headers)
    async with make_client(fake) as ghl:
        with pytest.raises(GhlRateLimited) as caught:
            await ghl.get_contact(location_id=LOCATION, contact_id=CONTACT)
    assert caught.value.kind == "daily"
    assert caught.value.retry_after == pytest.approx(retry_after)


async def test_rate_limit_headers_are_kept_and_a_spent_window_closes_the_bucket(
    fake: FakeGhl,
) -> None:
    now = [0.0]
    fake.on(
        "GET",
        f"/contacts/{CONTACT}/notes",
        json={"notes": []},
        headers={
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Interval-Milliseconds": "10000",
            "X-RateLimit-Daily-Remaining": "199000",
            "X-RateLimit-Limit-Daily": "200000",
        },
    )
    async with make_client(fake, limiter=TokenBucket(clock=lambda: now[0])) as ghl:
        await ghl.list_notes(location_id=LOCATION, contact_id=CONTACT)
        info = ghl.rate_limits[LOCATION]
        assert (info.remaining, info.interval_s, info.daily_remaining, info.daily_limit) == (
            0,
            10.0,
            199000,
            200000,
        )
        with pytest.raises(GhlRateLimited):
            await ghl.list_notes(location_id=LOCATION, contact_id=CONTACT, max_wait=0)
    assert len(fake.requests) == 1


async def test_a_full_local_bucket_refuses_a_caller_that_cannot_wait(fake: FakeGhl) -> None:
    fake.on("GET", "/calendars/c/free-slots", json={})
    bucket = TokenBucket(2, 10.0, clock=lambda: 0.0)
    async with make_client(fake, limiter=bucket) as ghl:
        for _ in range(2):
            await ghl.get_free_slots(
                location_id=LOCATION,
                calendar_id="c",
                start_day=date(2025, 1, 1),
                end_day=date(2025, 1, 1),
                timezone="UTC",
                max_wait=0.5,
            )
        with pytest.raises(GhlRateLimited) as caught:
            await ghl.get_free_slots(
                location_id=LOCATION,
                calendar_id="c",
                start_day=date(2025, 1, 1),
                end_day=date(2025, 1, 1),
                timezone="UTC",
                max_wait=0.5,
            )
    assert caught.value.kind == "local" and caught.value.retry_after == pytest.approx(5.0)
    assert len(fake.requests) == 2


# -- construction ---------------------------------------------------------------------------


async def test_open_ghl_client_follows_the_settings(fake: FakeGhl) -> None:
    settings = make_settings(
        ghl_api_base_url="http://emulator.test:8080",
        ghl_read_timeout_s=3.5,
        ghl_custom_field_value_key="fieldValue",
        ghl_rate_limit_requests=5,
        ghl_rate_limit_window_s=1.0,
    )
    fake.on("PUT", f"/contacts/{CONTACT}", json={"succeded": True})
    ghl = open_ghl_client(
        settings, tokens=StaticTokens({LOCATION: PIT}), http_transport=fake.transport()
    )
    async with ghl:
        assert ghl.transport.timeout.read == 3.5
        await ghl.update_contact(location_id=LOCATION, contact_id=CONTACT, custom_fields={"f": "v"})
    (request,) = fake.requests
    assert str(request.url) == f"http://emulator.test:8080/contacts/{CONTACT}"
    assert body_of(request)["customFields"] == [{"id": "f", "fieldValue": "v"}]


def test_open_ghl_client_needs_a_source_of_tokens() -> None:
    with pytest.raises(ValueError):
        open_ghl_client(make_settings())


def test_an_oauth_app_needs_both_id_and_secret() -> None:
    with pytest.raises(ValueError, match="GHL_CLIENT_ID"):
        make_settings(ghl_client_id="app-id")
    settings = make_settings(ghl_client_id="app-id", ghl_client_secret="s3cret")
    assert settings.ghl_client_secret is not None
    assert "s3cret" not in repr(settings)
