"""Shape detection and parsing of the three webhook bodies."""

from __future__ import annotations

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
