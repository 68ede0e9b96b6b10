"""The error tree: what each error carries and what its message may say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dentalvoice.crm import (
    GhlAuthError,
    GhlError,
    GhlRateLimited,
    GhlRejected,
    GhlRetryable,
    TokenGrant,
    UnknownCustomField,
)
from dentalvoice.crm.errors import ghl_message_text
from dentalvoice.crm.schemas import Contact, parse_ghl_time
from dentalvoice.errors import DentalVoiceError


def test_the_tree() -> None:
    assert issubclass(GhlError, DentalVoiceError)
    assert issubclass(GhlRateLimited, GhlRetryable)
    assert issubclass(UnknownCustomField, GhlRejected)
    for cls in (GhlRetryable, GhlRejected, GhlAuthError):
        assert issubclass(cls, GhlError)
    assert not issubclass(GhlRejected, GhlRetryable)


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ("Bad Request", "Bad Request"),
        (["a is required", "b must be a string"], "a is required; b must be a string"),
        ([], None),
        ("", None),
        (None, None),
        ({"nested": 1}, None),
    ],
)
def test_ghl_messages_are_read_as_one_line(message: object, text: str | None) -> None:
    assert ghl_message_text(message) == text


def test_rejected_carries_status_message_and_trace() -> None:
    error = GhlRejected(status=422, ghl_message="x" * 1000, trace_id="tr1", operation="create_note")
    assert error.status == 422 and error.trace_id == "tr1"
    assert error.ghl_message is not None and len(error.ghl_message) == 300
    assert str(error).startswith("GHL create_note: rejected (422): xxx")
    assert str(error).endswith("traceId=tr1")


def test_rate_limited_carries_kind_and_retry_after() -> None:
    error = GhlRateLimited(
        kind="daily", retry_after=3600.0, location_id="Loc1", operation="get_contact"
    )
    assert (error.kind, error.retry_after, error.status) == ("daily", 3600.0, 429)
    assert (
        str(error) == "GHL get_contact: rate limited (daily) for location Loc1; retry after 3600.0s"
    )


def test_tokens_never_show_in_repr() -> None:
    grant = TokenGrant.model_validate(
        {
            "access_token": "secret-access",
            "refresh_token": "secret-refresh",
            "userType": "Company",
            "companyId": "co1",
            "expires_in": 86399,
        }
    )
    assert "secret" not in repr(grant) and "secret" not in str(grant)
    assert (grant.user_type, grant.company_id) == ("Company", "co1")
    assert grant.access_token.get_secret_value() == "secret-access"


def test_models_ignore_unknown_fields() -> None:
    contact = Contact.model_validate(
        {
            "id": "c1",
            "somethingNew": {"deep": True},
            "dndSettings": {"Call": {"status": "active", "x": 1}},
        }
    )
    assert contact.dnd_settings is not None and contact.dnd_settings["Call"].status == "active"


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        ("2024-10-28T10:00:00-05:00", None, datetime(2024, 10, 28, 15, tzinfo=UTC)),
        ("2024-10-28T15:00:00Z", None, datetime(2024, 10, 28, 15, tzinfo=UTC)),
        ("2024-10-28 10:00:00", "America/Chicago", datetime(2024, 10, 28, 15, tzinfo=UTC)),
        ("2024-10-28 10:00:00", None, None),
        ("later", "UTC", None),
        (None, "UTC", None),
    ],
)
def test_ghl_times(value: str | None, zone: str | None, expected: datetime | None) -> None:
    parsed = parse_ghl_time(value, zone)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() is not None


def test_offsets_are_kept() -> None:
    parsed = parse_ghl_time("2024-10-28T10:00:00+05:30")
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=5, minutes=30)
    assert parsed.tzinfo == timezone(timedelta(hours=5, minutes=30))
