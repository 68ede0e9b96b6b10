"""Shape detection and parsing of the three webhook bodies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dentalvoice.leads.models import PayloadShape
from dentalvoice.leads.payloads import (
    PayloadError,
    detect_shape,
    load_json,
    parse_webhook,
    peek_location_id,
)
from tests import factories as f


@pytest.mark.parametrize(
    ("body", "shape"),
    [
        (f.workflow_body(), PayloadShape.WORKFLOW),
        ({"customData": {"a": 1}, "phone": "1"}, PayloadShape.WORKFLOW),
        (f.marketplace_body(), PayloadShape.MARKETPLACE),
        ({"type": "ContactCreate", "data": {"id": "x"}}, PayloadShape.MARKETPLACE),
        ({"data": {"type": "ContactUpdate"}}, PayloadShape.MARKETPLACE),
        (f.simple_body(), PayloadShape.SIMPLE),
        ({"type": "ContactCreate"}, PayloadShape.UNKNOWN),
        ([], PayloadShape.UNKNOWN),
        ("text", PayloadShape.UNKNOWN),
    ],
)
def test_detect_shape(body: object, shape: PayloadShape) -> None:
    assert detect_shape(body) is shape


def test_workflow_tags_string_and_custom_fields_by_name() -> None:
    parsed = parse_webhook(f.workflow_body(tags=" a ,b,, c", **{"Pain Level": 7}))
    assert parsed.contact is not None
    assert parsed.contact.tags == ("a", "b", "c")
    assert parsed.contact.custom_fields["Pain Level"] == 7
    assert parsed.contact.custom_fields["consent"] == "yes"
    assert "workflow" not in parsed.contact.custom_fields
    assert parsed.ghl_location_id == f.GHL_LOCATION_ID


def test_workflow_numbers_are_read_as_strings() -> None:
    parsed = parse_webhook(f.workflow_body(phone=13055550123, contact_id=12345))
    assert parsed.contact is not None
    assert (parsed.contact.phone, parsed.contact.contact_id) == ("13055550123", "12345")


def test_marketplace_envelope_and_dnd_settings() -> None:
    body = f.marketplace_body(
        "ContactDndUpdate", dndSettings={"Call": {"status": "permanent"}, "SMS": {"status": "x"}}
    )
    wrapped = {"type": body.pop("type"), "webhookId": body.pop("webhookId"), "data": body}
    parsed = parse_webhook(wrapped)
    assert parsed.event_type == "ContactDndUpdate"
    assert parsed.webhook_id == wrapped["webhookId"]
    assert parsed.contact is not None and parsed.contact.dnd_call is True
    assert parsed.contact.phone_field == "data.phone"


def test_marketplace_other_event_has_no_contact() -> None:
    parsed = parse_webhook({"type": "NoteCreate", "locationId": "L1", "id": "n1"})
    assert parsed.contact is None and parsed.event_type == "NoteCreate"


def test_marketplace_contact_without_ids_names_both_fields() -> None:
    with pytest.raises(PayloadError) as info:
        parse_webhook({"type": "ContactCreate", "webhookId": "w", "phone": "+13055550123"})
    assert {e.field for e in info.value.errors} == {"id", "locationId"}


def test_errors_never_carry_the_value() -> None:
    with pytest.raises(PayloadError) as info:
        parse_webhook(f.workflow_body(first_name={"secret": "Testina"}))
    assert "Testina" not in str(info.value)
    assert info.value.errors[0].field == "first_name"


def test_simple_shape_custom_fields_list_or_dict() -> None:
    as_list = parse_webhook(f.simple_body(contact={"customFields": [{"id": "c", "value": 1}]}))
    as_dict = parse_webhook(f.simple_body(contact={"customFields": {"consent": "yes"}}))
    assert as_list.contact is not None and as_list.contact.custom_fields == {"c": 1}
    assert as_dict.contact is not None and as_dict.contact.custom_fields == {"consent": "yes"}


def test_load_json_error() -> None:
    with pytest.raises(PayloadError) as info:
        load_json(b"\xff")
    assert info.value.errors[0].field == "body"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"location": {"id": " L1 "}}, "L1"),
        ({"locationId": "L2"}, "L2"),
        ({"data": {"locationId": "L3"}}, "L3"),
        ({"contact": {"locationId": "L4"}}, "L4"),
        ({"locationId": 5}, None),
        ({"locationId": "x" * 65}, None),
        (None, None),
    ],
)
def test_peek_location_id(body: object, expected: str | None) -> None:
    assert peek_location_id(body) == expected


@pytest.mark.parametrize(
    ("body", "creates"),
    [
        (f.marketplace_body("ContactCreate"), True),
        (f.workflow_body(), True),
        (f.simple_body(), True),
        (f.marketplace_body("ContactUpdate"), False),
        (f.marketplace_body("ContactDndUpdate"), False),
        (f.marketplace_body("ContactTagUpdate"), False),
        (f.simple_body(event="contact.updated"), False),
    ],
    ids=["create", "workflow", "simple-created", "update", "dnd", "tags", "simple-updated"],
)
def test_only_create_events_may_create_a_lead(body: dict[str, object], creates: bool) -> None:
    parsed = parse_webhook(body)
    assert parsed.contact is not None
    assert parsed.creates_lead is creates


def test_updates_are_ordered_by_date_updated_before_the_send_time() -> None:
    sent = "2026-11-24T15:00:05Z"
    with_date = parse_webhook(
        f.marketplace_body("ContactUpdate", timestamp=sent, dateUpdated="2026-11-24T15:00:01.5Z")
    )
    without = parse_webhook(f.marketplace_body("ContactUpdate", timestamp=sent))
    unreadable = parse_webhook(
        f.marketplace_body("ContactUpdate", timestamp=sent, dateUpdated="yesterday")
    )
    assert with_date.source_time == datetime(2026, 11, 24, 15, 0, 1, 500000, tzinfo=UTC)
    sent_at = datetime(2026, 11, 24, 15, 0, 5, tzinfo=UTC)
    assert without.source_time == unreadable.source_time == sent_at
    assert parse_webhook(f.workflow_body()).source_time is None


@pytest.mark.parametrize(
    ("settings", "dnd_call"),
    [
        ({"Call": {"status": "active"}}, True),
        ({"Call": {"status": "permanent"}}, True),
        ({"Call": {"status": "inactive"}}, False),
        ({"SMS": {"status": "active"}}, None),  # says nothing about calls
        ({}, None),
    ],
)
def test_call_dnd_is_read_from_dnd_settings(
    settings: dict[str, object], dnd_call: bool | None
) -> None:
    parsed = parse_webhook(f.marketplace_body("ContactDndUpdate", dndSettings=settings))
    assert parsed.contact is not None and parsed.contact.dnd_call is dnd_call
