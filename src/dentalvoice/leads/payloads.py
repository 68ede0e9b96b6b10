"""The three webhook bodies GHL (and our seed) send, detected by shape and read into one form.

Pure functions: bytes in, a `ParsedWebhook` out, or a `PayloadError` listing each bad field by
its path. Error reasons never quote the values they refer to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dentalvoice.leads.models import PayloadShape

# Marketplace events that describe a contact (all carry the whole contact, `dnd` included).
CONTACT_EVENT_TYPES = frozenset(
    {"ContactCreate", "ContactUpdate", "ContactDndUpdate", "ContactTagUpdate"}
)
SIMPLE_CONTACT_EVENTS = frozenset({"contact.created", "contact.updated"})
# Events that may create a lead. The others only change a lead we already have: an edit to an
# old GHL contact (a patient, a lead from last year) must never start calling it.
LEAD_CREATING_EVENTS = frozenset({"ContactCreate", "contact.created", "WorkflowWebhook"})

# Keys of the workflow payload that are GHL's own; every other top-level key is a custom
# field, sent by its display name.
_WORKFLOW_STANDARD_KEYS = frozenset(
    {
        "contact_id", "first_name", "last_name", "full_name", "name", "email", "phone",
        "tags", "country", "state", "city", "address1", "postal_code", "full_address",
        "timezone", "source", "contact_source", "contact_type", "date_created", "company_name",
        "website", "date_of_birth", "location", "workflow", "triggerData", "customData",
        "attributionSource", "contact", "user", "appointment", "opportunity", "message",
        "dnd", "dndSettings", "lastAttributionSource", "webhookId", "timestamp",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: its path in the body and why, never its value."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form used in responses and stored with the event."""
        return {"field": self.field, "reason": self.reason}


class PayloadError(Exception):
    """The body is not a usable contact webhook."""

    def __init__(self, errors: list[FieldError], *, shape: PayloadShape = PayloadShape.UNKNOWN):
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))
        self.errors = errors
        self.shape = shape


@dataclass(frozen=True, slots=True)
class ContactPayload:
    """A contact as a webhook described it, before normalisation (values as sent)."""

    contact_id: str
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    email: str | None = None
    phone: str | None = None
    phone_field: str = "phone"
    tags: tuple[str, ...] | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    timezone: str | None = None
    source: str | None = None
    dnd: bool | None = None
    dnd_call: bool | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    # GHL's `dateUpdated`: when the contact last changed, the best clock to order updates by.
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    """What intake needs from a body: its shape, routing keys, replay guards and the contact."""

    shape: PayloadShape
    event_type: str
    ghl_location_id: str | None
    webhook_id: str | None = None
    timestamp: datetime | None = None
    contact: ContactPayload | None = None  # None: an event intake stores but does not act on

    @property
    def creates_lead(self) -> bool:
        """Whether this event may create a lead (the others only update one)."""
        return self.event_type in LEAD_CREATING_EVENTS

    @property
    def source_time(self) -> datetime | None:
        """When GHL says this state of the contact existed: `dateUpdated`, else the send time."""
        if self.contact is not None and self.contact.updated_at is not None:
            return self.contact.updated_at
        return self.timestamp


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)


def _split_tags(value: object) -> object:
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    return value


def _dnd_status(value: object) -> object:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "1", "yes"}:
            return True
        if lowered in {"false", "0", "no", ""}:
            return False
    return value


def _optional_time(value: object) -> object:
    # `dateUpdated` only orders updates: one GHL sent empty, or in a form we cannot read,
    # must not cost the update itself, so it is read as absent.
    if value in ("", None):
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


class _DndChannel(_Lenient):
    status: str | None = None


class _DndSettings(_Lenient):
    call: _DndChannel | None = Field(default=None, alias="Call")

    def call_blocked(self) -> bool | None:
        if self.call is None or self.call.status is None:
            return None
        return self.call.status.strip().lower() in {"active", "permanent"}


class _WorkflowLocation(_Lenient):
    id: str | None = None


class _WorkflowBody(_Lenient):
    contact_id: str = Field(min_length=1, max_length=64)
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    timezone: str | None = None
    contact_source: str | None = None
    source: str | None = None
    dnd: bool | None = None
    dndSettings: _DndSettings | None = None  # noqa: N815 - GHL's key
    location: _WorkflowLocation | None = None
    locationId: str | None = None  # noqa: N815 - GHL's key
    customData: dict[str, Any] | None = None  # noqa: N815 - GHL's key

    _tags = field_validator("tags", mode="before")(_split_tags)
    _dnd = field_validator("dnd", mode="before")(_dnd_status)


class _CustomFieldValue(_Lenient):
    id: str = Field(min_length=1)
    value: Any = None


class _MarketplaceContact(_Lenient):
    type: str
    locationId: str | None = None  # noqa: N815 - GHL's key
    id: str | None = Field(default=None, max_length=64)
    webhookId: str | None = Field(default=None, max_length=128)  # noqa: N815 - GHL's key
    timestamp: datetime | None = None
    firstName: str | None = None  # noqa: N815 - GHL's key
    lastName: str | None = None  # noqa: N815 - GHL's key
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None  # noqa: N815 - GHL's key
    country: str | None = None
    timezone: str | None = None
    source: str | None = None
    dnd: bool | None = None
    dndSettings: _DndSettings | None = None  # noqa: N815 - GHL's key
    customFields: list[_CustomFieldValue] | None = None  # noqa: N815 - GHL's key
    dateUpdated: datetime | None = None  # noqa: N815 - GHL's key

    _tags = field_validator("tags", mode="before")(_split_tags)
    _dnd = field_validator("dnd", mode="before")(_dnd_status)
    _updated = field_validator("dateUpdated", mode="before")(_optional_time)


class _SimpleContact(_Lenient):
    id: str = Field(min_length=1, max_length=64)
    firstName: str | None = None  # noqa: N815 - seed's key
    lastName: str | None = None  # noqa: N815 - seed's key
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None  # noqa: N815 - seed's key
    country: str | None = None
    timezone: str | None = None
    source: str | None = None
    dnd: bool | None = None
    dndSettings: _DndSettings | None = None  # noqa: N815 - GHL's key
    locationId: str | None = None  # noqa: N815 - seed's key
    customFields: dict[str, Any] | list[_CustomFieldValue] | None = None  # noqa: N815
    dateUpdated: datetime | None = None  # noqa: N815 - GHL's key

    _tags = field_validator("tags", mode="before")(_split_tags)
    _dnd = field_validator("dnd", mode="before")(_dnd_status)
    _updated = field_validator("dateUpdated", mode="before")(_optional_time)


class _SimpleBody(_Lenient):
    event: str
    contact: _SimpleContact
    locationId: str | None = None  # noqa: N815 - seed's key
    webhookId: str | None = Field(default=None, max_length=128)  # noqa: N815


def _errors_from(exc: ValidationError, *, prefix: str = "") -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        path = ".".join(str(part) for part in err["loc"])
        errors.append(FieldError(field=f"{prefix}{path}" if path else prefix.rstrip(".") or "body",
                                 reason=err["msg"]))  # fmt: skip
    return errors


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def detect_shape(document: object) -> PayloadShape:
    """Tell which sender produced a parsed JSON body."""
    if not isinstance(document, dict):
        return PayloadShape.UNKNOWN
    data = document.get("data")
    if isinstance(data, dict) and isinstance(data.get("type"), str):
        return PayloadShape.MARKETPLACE
    if isinstance(document.get("type"), str) and (
        "locationId" in document
        or "webhookId" in document
        or "appId" in document
        or isinstance(data, dict)
    ):
        return PayloadShape.MARKETPLACE
    if isinstance(document.get("event"), str) and isinstance(document.get("contact"), dict):
        return PayloadShape.SIMPLE
    if "contact_id" in document or isinstance(document.get("customData"), dict):
        return PayloadShape.WORKFLOW
    return PayloadShape.UNKNOWN


def _parse_workflow(document: dict[str, Any]) -> ParsedWebhook:
    try:
        body = _WorkflowBody.model_validate(document)
    except ValidationError as exc:
        raise PayloadError(_errors_from(exc), shape=PayloadShape.WORKFLOW) from None
    custom: dict[str, Any] = {}
    for key, value in (body.model_extra or {}).items():
        if key not in _WORKFLOW_STANDARD_KEYS:
            custom[key] = value
    custom.update(body.customData or {})
    contact = ContactPayload(
        contact_id=body.contact_id.strip(),
        first_name=_blank_to_none(body.first_name),
        last_name=_blank_to_none(body.last_name),
        full_name=_blank_to_none(body.full_name),
        email=_blank_to_none(body.email),
        phone=_blank_to_none(body.phone),
        tags=tuple(body.tags) if body.tags is not None else None,
        address1=_blank_to_none(body.address1),
        city=_blank_to_none(body.city),
        state=_blank_to_none(body.state),
        postal_code=_blank_to_none(body.postal_code),
        country=_blank_to_none(body.country),
        timezone=_blank_to_none(body.timezone),
        source=_blank_to_none(body.contact_source or body.source),
        dnd=body.dnd,
        dnd_call=body.dndSettings.call_blocked() if body.dndSettings else None,
        custom_fields=custom,
    )
    location_id = (body.location.id if body.location else None) or body.locationId
    return ParsedWebhook(
        shape=PayloadShape.WORKFLOW,
        event_type="WorkflowWebhook",
        ghl_location_id=_blank_to_none(location_id),
        contact=contact,
    )


def _parse_marketplace(document: dict[str, Any]) -> ParsedWebhook:
    inner = document.get("data")
    wrapped = isinstance(inner, dict)
    merged: dict[str, Any] = dict(inner) if wrapped else dict(document)  # type: ignore[arg-type]
    if wrapped:
        # The envelope carries type/timestamp/webhookId; the contact lives in `data`.
        for key in ("type", "timestamp", "webhookId", "locationId"):
            if key in document and key not in merged:
                merged[key] = document[key]
    prefix = "data." if wrapped else ""
    try:
        body = _MarketplaceContact.model_validate(merged)
    except ValidationError as exc:
        raise PayloadError(
            _errors_from(exc, prefix=prefix), shape=PayloadShape.MARKETPLACE
        ) from None
    if body.type not in CONTACT_EVENT_TYPES:
        return ParsedWebhook(
            shape=PayloadShape.MARKETPLACE,
            event_type=body.type[:64],
            ghl_location_id=_blank_to_none(body.locationId),
            webhook_id=body.webhookId,
            timestamp=body.timestamp,
        )
    errors = []
    if not _blank_to_none(body.id):
        errors.append(FieldError(field=f"{prefix}id", reason="contact id is required"))
    if not _blank_to_none(body.locationId):
        errors.append(FieldError(field=f"{prefix}locationId", reason="location id is required"))
    if errors:
        raise PayloadError(errors, shape=PayloadShape.MARKETPLACE)
    contact = ContactPayload(
        contact_id=str(body.id).strip(),
        first_name=_blank_to_none(body.firstName),
        last_name=_blank_to_none(body.lastName),
        full_name=_blank_to_none(body.name),
        email=_blank_to_none(body.email),
        phone=_blank_to_none(body.phone),
        phone_field=f"{prefix}phone",
        tags=tuple(body.tags) if body.tags is not None else None,
        address1=_blank_to_none(body.address1),
        city=_blank_to_none(body.city),
        state=_blank_to_none(body.state),
        postal_code=_blank_to_none(body.postalCode),
        country=_blank_to_none(body.country),
        timezone=_blank_to_none(body.timezone),
        source=_blank_to_none(body.source),
        dnd=body.dnd,
        dnd_call=body.dndSettings.call_blocked() if body.dndSettings else None,
        custom_fields={f.id: f.value for f in body.customFields or ()},
        updated_at=body.dateUpdated,
    )
    return ParsedWebhook(
        shape=PayloadShape.MARKETPLACE,
        event_type=body.type,
        ghl_location_id=_blank_to_none(body.locationId),
        webhook_id=body.webhookId,
        timestamp=body.timestamp,
        contact=contact,
    )


def _parse_simple(document: dict[str, Any]) -> ParsedWebhook:
    try:
        body = _SimpleBody.model_validate(document)
    except ValidationError as exc:
        raise PayloadError(_errors_from(exc), shape=PayloadShape.SIMPLE) from None
    if body.event not in SIMPLE_CONTACT_EVENTS:
        return ParsedWebhook(
            shape=PayloadShape.SIMPLE,
            event_type=body.event[:64],
            ghl_location_id=_blank_to_none(body.locationId or body.contact.locationId),
            webhook_id=body.webhookId,
        )
    c = body.contact
    custom: dict[str, Any]
    if isinstance(c.customFields, list):
        custom = {f.id: f.value for f in c.customFields}
    else:
        custom = dict(c.customFields or {})
    extra = body.model_extra or {}
    if isinstance(extra.get("customData"), dict):
        custom.update(extra["customData"])
    contact = ContactPayload(
        contact_id=c.id.strip(),
        first_name=_blank_to_none(c.firstName),
        last_name=_blank_to_none(c.lastName),
        full_name=_blank_to_none(c.name),
        email=_blank_to_none(c.email),
        phone=_blank_to_none(c.phone),
        phone_field="contact.phone",
        tags=tuple(c.tags) if c.tags is not None else None,
        address1=_blank_to_none(c.address1),
        city=_blank_to_none(c.city),
        state=_blank_to_none(c.state),
        postal_code=_blank_to_none(c.postalCode),
        country=_blank_to_none(c.country),
        timezone=_blank_to_none(c.timezone),
        source=_blank_to_none(c.source),
        dnd=c.dnd,
        dnd_call=c.dndSettings.call_blocked() if c.dndSettings else None,
        custom_fields=custom,
        updated_at=c.dateUpdated,
    )
    return ParsedWebhook(
        shape=PayloadShape.SIMPLE,
        event_type=body.event,
        ghl_location_id=_blank_to_none(body.locationId or c.locationId),
        webhook_id=body.webhookId,
        contact=contact,
    )


def load_json(body: bytes) -> object:
    """Decode a JSON body, or raise a `PayloadError` on the `body` field."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PayloadError([FieldError(field="body", reason="not valid JSON")]) from None


def parse_webhook(document: object) -> ParsedWebhook:
    """Read a decoded body of any supported shape."""
    shape = detect_shape(document)
    if shape is PayloadShape.UNKNOWN or not isinstance(document, dict):
        raise PayloadError(
            [
                FieldError(
                    field="body",
                    reason="not a GHL workflow webhook, marketplace event or contact.created body",
                )
            ]
        )
    if shape is PayloadShape.MARKETPLACE:
        return _parse_marketplace(document)
    if shape is PayloadShape.SIMPLE:
        return _parse_simple(document)
    return _parse_workflow(document)


def peek_location_id(document: object) -> str | None:
    """The GHL location id a body names, if any, read without validating the rest."""
    if not isinstance(document, dict):
        return None
    candidates: list[object] = [document.get("locationId")]
    location = document.get("location")
    if isinstance(location, dict):
        candidates.append(location.get("id"))
    for nested in ("data", "contact"):
        inner = document.get(nested)
        if isinstance(inner, dict):
            candidates.append(inner.get("locationId"))
    for candidate in candidates:
        if isinstance(candidate, str) and 0 < len(candidate.strip()) <= 64:
            return candidate.strip()
    return None
