"""What a caller gives to create a clinic, and what is shown back (never its secrets)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def e164(value: str | None) -> str | None:
    """Validate an E.164 phone number (`+` and country code required)."""
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("must be an E.164 number such as +13055550123") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class LocationOptions(BaseModel):
    """Per-clinic behaviour kept as data (later issues add the script, caps and CRM mapping)."""

    model_config = ConfigDict(extra="allow")

    consent_field_keys: list[str] | None = None
    require_consent: bool = True
    # Evidence keys (as intake folds them) that must all be present and affirmative.
    consent_required_keys: list[str] = Field(default_factory=lambda: ["consent"])
    # Tighter attempt caps than the product's defaults (never looser).
    max_attempts_24h: int | None = Field(default=None, ge=1, le=3)
    max_attempts_14d: int | None = Field(default=None, ge=1, le=8)
    # Redial after an unanswered attempt: these delays for the first ones, then the next
    # lawful morning, until `max_call_attempts` dials were made (the gate's caps still apply).
    retry_delays_minutes: list[Annotated[int, Field(ge=1, le=24 * 60)]] = Field(
        default_factory=lambda: [10, 120], max_length=5
    )
    max_call_attempts: int = Field(default=5, ge=1, le=8)
    # Calls this clinic may have ringing or in progress at once (None: the process default).
    max_concurrent_calls: int | None = Field(default=None, ge=1, le=50)


class LocationCreate(BaseModel):
    """A new clinic."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    ghl_location_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    timezone: str
    country: Annotated[str, StringConstraints(to_upper=True, pattern=r"^(US|CA)$")] = "US"
    webhook_secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = None
    ghl_token: str | None = None
    twilio_from_number: str | None = None
    transfer_number: str | None = None
    calendar_id: str | None = None
    pipeline_id: str | None = None
    pipeline_stages: dict[str, str] = Field(default_factory=dict)
    business_hours: dict[str, list[tuple[str, str]]] = Field(default_factory=dict)
    options: LocationOptions = Field(default_factory=LocationOptions)

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("not an IANA time zone such as America/New_York") from exc
        return value

    @field_validator("twilio_from_number", "transfer_number")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return e164(value)

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, spans in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
            for start, end in spans:
                if not (_HHMM.match(start) and _HHMM.match(end)) or start >= end:
                    raise ValueError(f"{day}: spans are HH:MM-HH:MM with start before end")
        return value


class LocationRead(BaseModel):
    """A clinic as shown to operators."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    ghl_location_id: str
    timezone: str
    country: str
    has_webhook_secret: bool
    has_ghl_token: bool
    twilio_from_number: str | None
    transfer_number: str | None
    calendar_id: str | None
    created_at: datetime
