"""Synthetic GHL webhook bodies (obviously fake people, 555-01xx numbers) and signing helpers."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from dentalvoice.locations.schemas import LocationCreate
from tests.conftest import GhlKeys

GHL_LOCATION_ID = "LocTest0000000000001"
FIRST_NAME = "Testina"
LAST_NAME = "Fakeperson"
EMAIL = "testina.fakeperson@example.test"
PHONE_NATIONAL = "(305) 555-0123"
PHONE_E164 = "+13055550123"


def contact_id() -> str:
    return "ct" + uuid.uuid4().hex[:18]


def location_create(**overrides: Any) -> LocationCreate:
    values: dict[str, Any] = {
        "name": "Bright Test Dental",
        "ghl_location_id": GHL_LOCATION_ID,
        "timezone": "America/New_York",
        "country": "US",
    }
    values.update(overrides)
    return LocationCreate(**values)


def workflow_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contact_id": contact_id(),
        "first_name": FIRST_NAME,
        "last_name": LAST_NAME,
        "full_name": f"{FIRST_NAME} {LAST_NAME}",
        "email": EMAIL,
        "phone": PHONE_NATIONAL,
        "tags": "facebook-ad, implants",
        "country": "US",
        "state": "Florida",
        "postal_code": "33101",
        "contact_source": "Facebook Lead Form",
        "location": {"id": GHL_LOCATION_ID, "name": "Bright Test Dental"},
        "workflow": {"id": "wf1", "name": "New lead"},
        "customData": {"consent": "yes", "consent_text": "I agree to AI calls"},
        "Treatment Interest": "Implants",
    }
    body.update(overrides)
    return body


def marketplace_body(event_type: str = "ContactCreate", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": event_type,
        "locationId": GHL_LOCATION_ID,
        "id": contact_id(),
        "firstName": FIRST_NAME,
        "lastName": LAST_NAME,
        "name": f"{FIRST_NAME} {LAST_NAME}",
        "email": EMAIL,
        "phone": PHONE_E164,
        "dnd": False,
        "tags": ["facebook-ad"],
        "state": "FL",
        "postalCode": "33101",
        "country": "US",
        "source": "Facebook",
        "customFields": [{"id": "cfConsent01", "value": "yes"}],
        "dateAdded": "2026-11-24T15:00:00.000Z",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "webhookId": str(uuid.uuid4()),
    }
    body.update(overrides)
    return body


def simple_body(**overrides: Any) -> dict[str, Any]:
    contact: dict[str, Any] = {
        "id": contact_id(),
        "firstName": FIRST_NAME,
        "lastName": LAST_NAME,
        "phone": PHONE_E164,
        "email": EMAIL,
        "state": "FL",
    }
    contact.update(overrides.pop("contact", {}))
    body: dict[str, Any] = {
        "event": "contact.created",
        "contact": contact,
        "locationId": GHL_LOCATION_ID,
    }
    body.update(overrides)
    return body


def dumps(body: object) -> bytes:
    return orjson.dumps(body)


def ed25519_headers(keys: GhlKeys, raw: bytes) -> dict[str, str]:
    signature = keys.ed25519_private.sign(raw)
    return {
        "x-ghl-signature": base64.b64encode(signature).decode(),
        "content-type": "application/json",
    }


def rsa_headers(keys: GhlKeys, raw: bytes) -> dict[str, str]:
    signature = keys.rsa_private.sign(raw, padding.PKCS1v15(), hashes.SHA256())
    return {
        "x-wh-signature": base64.b64encode(signature).decode(),
        "content-type": "application/json",
    }
