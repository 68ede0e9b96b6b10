"""Typed GHL API v2 responses: only the fields dentalvoice reads, tolerant of everything else.

GHL adds fields without notice, so every model ignores unknown keys. Fields that can hold PHI
(names, phones, emails, note bodies, custom-field values, titles) are left out of `repr`, so a
model that reaches a log line shows ids only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel


def _lenient_datetime(value: Any) -> datetime | None:
    # A malformed timestamp on one note or opportunity must not make the whole list unreadable.
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


LenientDatetime = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]


class GhlModel(BaseModel):
    """Base of GHL response models: camelCase on the wire, unknown keys ignored, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class DndSetting(GhlModel):
    """One channel's do-not-disturb state (`dndSettings.Call`, `.SMS`, ...)."""

    status: str | None = None
    message: str | None = Field(default=None, repr=False)
    code: str | None = None


class ContactCustomField(GhlModel):
    """A custom field as GHL returns it on a contact: its id and `value`."""

    id: str
    value: Any = Field(default=None, repr=False)


class Contact(GhlModel):
    """A GHL contact (`GET /contacts/{id}` → `contact`)."""

    id: str
    location_id: str | None = None
    first_name: str | None = Field(default=None, repr=False)
    last_name: str | None = Field(default=None, repr=False)
    name: str | None = Field(default=None, repr=False)
    email: str | None = Field(default=None, repr=False)
    phone: str | None = Field(default=None, repr=False)
    timezone: str | None = None
    dnd: bool | None = None
    dnd_settings: dict[str, DndSetting] | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: list[ContactCustomField] = Field(default_factory=list)
    date_added: LenientDatetime = None
    date_updated: LenientDatetime = None

    def custom_value(self, field_id: str) -> Any:
        """The value of the custom field with id `field_id`, or None when it is not set."""
        for field in self.custom_fields:
            if field.id == field_id:
                return field.value
        return None


class Note(GhlModel):
    """A note on a contact."""

    id: str
    body: str | None = Field(default=None, repr=False)
    title: str | None = Field(default=None, repr=False)
    user_id: str | None = None
    contact_id: str | None = None
    date_added: LenientDatetime = None


class Opportunity(GhlModel):
    """An opportunity (a deal in a pipeline)."""

    id: str
    name: str | None = Field(default=None, repr=False)
    pipeline_id: str | None = None
    pipeline_stage_id: str | None = None
    status: str | None = None
    contact_id: str | None = None
    location_id: str | None = None
    monetary_value: float | None = None
    assigned_to: str | None = None
    created_at: LenientDatetime = None
    updated_at: LenientDatetime = None


class Appointment(GhlModel):
    """An appointment: the flat create response, or an event of `GET /contacts/{id}/appointments`.

    `start_time` stays a string because the two endpoints disagree on its format: the create
    response carries an offset (`2021-06-23T03:30:00+05:30`), the contact's event list may not
    (`2021-07-16 11:00:00`). `starts_at` reads either.
    """

    id: str
    calendar_id: str | None = None
    location_id: str | None = None
    contact_id: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    title: str | None = Field(default=None, repr=False)
    appointment_status: str | None = None
    status: str | None = None
    assigned_user_id: str | None = None

    def starts_at(self, zone: str | None = None) -> datetime | None:
        """The start as an aware datetime; a time without an offset is read in `zone`.

        Args:
            zone: IANA zone for offset-less times (the calendar's); None leaves those unread.

        Returns:
            The start, or None when it is missing, malformed, or offset-less without `zone`.
        """
        return parse_ghl_time(self.start_time, zone)


class CustomField(GhlModel):
    """A location's custom-field definition (`GET /locations/{id}/customFields`)."""

    id: str
    name: str | None = None
    field_key: str | None = None
    data_type: str | None = None
    model: str | None = None
    picklist_options: list[str] = Field(default_factory=list)


class TokenGrant(BaseModel):
    """What `POST /oauth/token` or `/oauth/locationToken` returned (tokens kept secret)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_in: float | None = None
    token_type: str | None = None
    scope: str | None = None
    user_type: str | None = Field(
        default=None, validation_alias=AliasChoices("userType", "user_type")
    )
    location_id: str | None = Field(
        default=None, validation_alias=AliasChoices("locationId", "location_id")
    )
    company_id: str | None = Field(
        default=None, validation_alias=AliasChoices("companyId", "company_id")
    )
    user_id: str | None = Field(default=None, validation_alias=AliasChoices("userId", "user_id"))


def parse_ghl_time(value: str | None, zone: str | None = None) -> datetime | None:
    """Read a GHL timestamp; offset-less values are taken in `zone` (None: not read).

    Args:
        value: An ISO 8601 string, with or without an offset (`Z` accepted).
        zone: IANA zone for offset-less values.

    Returns:
        An aware datetime, or None when `value` is missing or unreadable.
    """
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return parsed
    if zone is None:
        return None
    return parsed.replace(tzinfo=ZoneInfo(zone))
