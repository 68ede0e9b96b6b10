"""From a contact as sent to what a lead keeps: E.164 phone, region codes, consent evidence."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from dentalvoice.leads.payloads import ContactPayload, FieldError, PayloadError
from dentalvoice.leads.regions import country_code, region_code

_KEY_FOLD = re.compile(r"[^a-z0-9]+")


def fold_key(key: str) -> str:
    """`"Consent Text"`, `"consent-text"` and `"consentText"` all become `consent_text`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return _KEY_FOLD.sub("_", spaced.lower()).strip("_")


def mask_phone(e164: str | None) -> str:
    """`+13055550123` → `+1******0123`: enough for an operator, not enough to dial."""
    if not e164:
        return "-"
    try:
        number = phonenumbers.parse(e164, None)
        cc = f"+{number.country_code}"
    except phonenumbers.NumberParseException:
        cc = "+"
    digits = e164.lstrip("+")[len(cc) - 1 :]
    return cc + "*" * max(len(digits) - 4, 0) + digits[-4:]


@dataclass(frozen=True, slots=True)
class NormalizedPhone:
    """A phone in E.164 with what intake derives from it."""

    e164: str
    masked: str


def normalize_phone(raw: str, *, region: str, field_name: str) -> NormalizedPhone:
    """Parse a phone as typed into a form; `region` decides numbers written without `+`."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise PayloadError([FieldError(field=field_name, reason="not a phone number")]) from None
    if not phonenumbers.is_valid_number(number):
        raise PayloadError(
            [FieldError(field=field_name, reason=f"not a valid phone number (region {region})")]
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return NormalizedPhone(e164=e164, masked=mask_phone(e164))


@dataclass(frozen=True, slots=True)
class LeadFields:
    """What a webhook says about a lead. None means "not given": an update keeps the old value."""

    ghl_contact_id: str
    phone_field: str = "phone"
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: NormalizedPhone | None = None
    address: dict[str, str] | None = None
    state: str | None = None
    country: str | None = None
    timezone: str | None = None
    source: str | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
    consent_evidence: dict[str, Any] | None = None
    dnd: bool | None = None
    dnd_call: bool | None = None
    warnings: list[FieldError] = field(default_factory=list)


def _names(contact: ContactPayload) -> tuple[str | None, str | None]:
    first, last = contact.first_name, contact.last_name
    if not first and not last and contact.full_name:
        head, _, tail = contact.full_name.partition(" ")
        first, last = head or None, tail.strip() or None
    return first, last


def _email(value: str | None, warnings: list[FieldError]) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    local, at, domain = value.partition("@")
    if at and local and "." in domain and " " not in value and len(value) <= 254:
        return value
    # A bad email must not cost a callable lead: drop it and say so.
    warnings.append(FieldError(field="email", reason="not an email address; ignored"))
    return None


def _timezone(value: str | None, warnings: list[FieldError]) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        warnings.append(FieldError(field="timezone", reason="not an IANA time zone; ignored"))
        return None
    return value


def consent_evidence(custom_fields: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The custom fields whose (folded) name or id is one of the configured consent keys."""
    wanted = {fold_key(k) for k in keys} | set(keys)
    found: dict[str, Any] = {}
    for key, value in custom_fields.items():
        if (key in wanted or fold_key(key) in wanted) and value not in (None, "", [], {}):
            found[fold_key(key) or key] = value
    return found


def normalize_contact(
    contact: ContactPayload,
    *,
    default_country: str,
    consent_keys: Iterable[str],
) -> LeadFields:
    """Turn a contact as sent into lead fields, raising `PayloadError` for an unusable phone.

    A missing phone is not an error here: an update may leave it out. Creating a lead without
    one is refused where the lead's existence is known (the intake service).
    """
    warnings: list[FieldError] = []
    country = country_code(contact.country) or None
    phone: NormalizedPhone | None = None
    if contact.phone is not None:
        phone = normalize_phone(
            contact.phone, region=country or default_country, field_name=contact.phone_field
        )
    first, last = _names(contact)
    address = {
        k: v
        for k, v in (
            ("address1", contact.address1),
            ("city", contact.city),
            ("postal_code", contact.postal_code),
        )
        if v
    }
    state = region_code(contact.state, country=country or default_country)
    if contact.state and state is None:
        warnings.append(FieldError(field="state", reason="not a US state or Canadian province"))
    return LeadFields(
        ghl_contact_id=contact.contact_id,
        phone_field=contact.phone_field,
        first_name=first,
        last_name=last,
        email=_email(contact.email, warnings),
        phone=phone,
        address=address or None,
        state=state,
        country=country,
        timezone=_timezone(contact.timezone, warnings),
        source=contact.source,
        tags=list(contact.tags) if contact.tags is not None else None,
        custom_fields=dict(contact.custom_fields) or None,
        consent_evidence=consent_evidence(contact.custom_fields, consent_keys) or None,
        dnd=contact.dnd,
        dnd_call=contact.dnd_call,
        warnings=warnings,
    )
