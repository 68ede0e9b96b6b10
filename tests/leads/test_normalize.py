"""Normalisation: phones to E.164, regions, consent evidence, masking."""

from __future__ import annotations

import pytest

from dentalvoice.leads.normalize import fold_key, mask_phone, normalize_contact, normalize_phone
from dentalvoice.leads.payloads import ContactPayload, PayloadError
from dentalvoice.leads.regions import country_code, region_code


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(305) 555-0123", "US", "+13055550123"),
        ("305.555.0123", "US", "+13055550123"),
        ("1-305-555-0123", "US", "+13055550123"),
        ("+1 416 555 0199", "US", "+14165550199"),
        ("416-555-0199", "CA", "+14165550199"),
    ],
)
def test_phones_to_e164(raw: str, region: str, e164: str) -> None:
    assert normalize_phone(raw, region=region, field_name="phone").e164 == e164


@pytest.mark.parametrize("raw", ["555-0123", "+1 999 555 0123", "hello", "+"])
def test_unusable_phones(raw: str) -> None:
    with pytest.raises(PayloadError) as info:
        normalize_phone(raw, region="US", field_name="contact.phone")
    assert info.value.errors[0].field == "contact.phone"
    assert raw not in info.value.errors[0].reason


@pytest.mark.parametrize(
    ("e164", "masked"),
    [("+13055550123", "+1******0123"), ("+447700900123", "+44******0123"), (None, "-")],
)
def test_mask_phone(e164: str | None, masked: str) -> None:
    assert mask_phone(e164) == masked


@pytest.mark.parametrize(
    ("key", "folded"),
    [
        ("Consent Text", "consent_text"),
        ("consentText", "consent_text"),
        ("TCPA-Consent", "tcpa_consent"),
    ],
)
def test_fold_key(key: str, folded: str) -> None:
    assert fold_key(key) == folded


def test_consent_evidence_and_names_from_full_name() -> None:
    fields = normalize_contact(
        ContactPayload(
            contact_id="c1",
            full_name="Testina Q Fakeperson",
            phone="3055550123",
            custom_fields={
                "Consent": "Yes",
                "consentAt": "2026-11-24",
                "other": "x",
                "consent_form": "",
            },
        ),
        default_country="US",
        consent_keys=("consent", "consent_at", "consent_form"),
    )
    assert fields.consent_evidence == {"consent": "Yes", "consent_at": "2026-11-24"}
    assert (fields.first_name, fields.last_name) == ("Testina", "Q Fakeperson")


def test_phone_optional_for_updates() -> None:
    fields = normalize_contact(
        ContactPayload(contact_id="c1", dnd_call=True),
        default_country="US",
        consent_keys=(),
    )
    assert fields.phone is None and fields.dnd_call is True


def test_canadian_lead_uses_its_country() -> None:
    fields = normalize_contact(
        ContactPayload(contact_id="c", phone="416 555 0199", country="Canada", state="Ontario"),
        default_country="US",
        consent_keys=(),
    )
    assert fields.phone is not None and fields.phone.e164 == "+14165550199"
    assert (fields.country, fields.state) == ("CA", "ON")


@pytest.mark.parametrize(
    ("value", "country", "code"),
    [("Florida", "US", "FL"), ("fl", "US", "FL"), ("CA", "US", "CA"), ("Québec", "CA", "QC"),
     ("B.C.", "CA", "BC"), ("Narnia", "US", None), ("New  York", None, "NY")],
)  # fmt: skip
def test_region_code(value: str, country: str | None, code: str | None) -> None:
    assert region_code(value, country=country) == code


def test_country_code() -> None:
    assert [country_code(v) for v in ("United States", "usa", "Canada", "mx", "", "Narnia")] == [
        "US", "US", "CA", "MX", None, None,
    ]  # fmt: skip
