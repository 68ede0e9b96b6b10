"""The Call resource as Twilio's REST API returns it (schema `api.v2010.account.call`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from dentalvoice.emulators.twilio.context import API_VERSION, rfc2822
from dentalvoice.emulators.twilio.records import CallRecord

_SUBRESOURCES = (
    "notifications",
    "recordings",
    "payments",
    "events",
    "siprec",
    "streams",
    "transcriptions",
    "user_defined_message_subscriptions",
    "user_defined_messages",
)
_SUBRESOURCE_PATHS = {
    "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
    "user_defined_messages": "UserDefinedMessages",
    "siprec": "Siprec",
}


def calls_path(account_sid: str) -> str:
    """`/2010-04-01/Accounts/{AccountSid}/Calls`."""
    return f"/{API_VERSION}/Accounts/{account_sid}/Calls"


def call_json(call: CallRecord) -> dict[str, Any]:
    """The Call resource for `call`, as of now."""
    base = f"{calls_path(call.account_sid)}/{call.sid}"
    answered = call.answered_at is not None
    return {
        "account_sid": call.account_sid,
        "answered_by": call.amd.answered_by if call.amd is not None else None,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": rfc2822(call.date_created),
        "date_updated": rfc2822(call.date_updated or call.date_created),
        "direction": "outbound-api",
        "duration": str(call.duration_s) if call.ended and answered else None,
        "end_time": rfc2822(call.end_time) if call.end_time is not None else None,
        "forwarded_from": None,
        "from": call.from_,
        "from_formatted": _formatted(call.from_),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": "PN" + hashlib.sha256(call.from_.encode()).hexdigest()[:32],
        "price": None,
        "price_unit": "USD",
        "queue_time": str(call.queue_time_ms),
        "sid": call.sid,
        "start_time": rfc2822(call.start_time) if call.start_time is not None else None,
        "status": call.status,
        "subresource_uris": {
            name: f"{base}/{_SUBRESOURCE_PATHS.get(name, name.title())}.json"
            for name in _SUBRESOURCES
        },
        "to": call.to,
        "to_formatted": _formatted(call.to),
        "trunk_sid": None,
        "uri": f"{base}.json",
    }


def calls_page(
    account_sid: str, calls: Sequence[CallRecord], *, page: int, page_size: int, query: str
) -> dict[str, Any]:
    """One page of the Calls list, newest first, in the 2010-04-01 paging shape."""
    start = page * page_size
    chosen = list(calls[start : start + page_size])
    base = f"{calls_path(account_sid)}.json"
    suffix = f"&{query}" if query else ""

    def uri(number: int) -> str:
        return f"{base}?PageSize={page_size}&Page={number}{suffix}"

    has_next = start + page_size < len(calls)
    return {
        "calls": [call_json(c) for c in chosen],
        "end": start + max(len(chosen) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if has_next else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": uri(page),
    }


def _formatted(number: str) -> str:
    # Twilio formats North American numbers for display; others stay E.164.
    if number.startswith("+1") and len(number) == 12 and number[2:].isdigit():
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number
