"""Twilio's errors as the REST API returns them, and the rules Twilio applies beyond the spec.

The OpenAPI file says which fields exist and their types; Twilio also checks the values
(E.164 numbers, known callback events, absolute URLs) and the account's state (geo
permissions, concurrency). Each broken rule is an `ApiError` with Twilio's code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import urlsplit

from dentalvoice.emulators.twilio.settings import EmulatorSettings
from dentalvoice.emulators.twilio.spec import Problem

Form = Mapping[str, Sequence[str]]

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_MAX_TWIML_CHARS: Final = 4000

# Which Twilio code reports a spec problem with a field; other fields get 21200, Twilio's
# "problem with a request to the Calls resource".
_CODE_BY_FIELD: Final = {
    "To": 21201,
    "From": 21213,
    "Url": 21205,
    "StatusCallback": 21609,
    "StatusCallbackEvent": 21626,
}
_CALLS_RESOURCE_ERROR: Final = 21200


class ApiError(Exception):
    """A REST request Twilio would refuse, with the body it would answer."""

    def __init__(self, status: int, code: int, message: str, *, detail: str | None = None) -> None:
        """Describe the refusal.

        Args:
            status: HTTP status.
            code: Twilio error code.
            message: Twilio's message.
            detail: An optional `detail` field (Twilio adds it to some errors, e.g. 20003).
        """
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, object]:
        """Twilio's JSON error shape."""
        body: dict[str, object] = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        if self.detail is not None:
            body["detail"] = self.detail
        return body

    def __repr__(self) -> str:
        return f"ApiError(status={self.status!r}, code={self.code!r}, message={self.message!r})"


def last(form: Form, name: str) -> str | None:
    """The last value of a form field, or None when absent or empty."""
    values = form.get(name)
    return values[-1] if values and values[-1] != "" else None


def spec_error(problems: Sequence[Problem]) -> ApiError:
    """The 400 answer for a request that does not match the OpenAPI spec.

    Args:
        problems: What openapi-core found; the first one names the field in the message.

    Returns:
        The error, with every problem listed in `detail`.
    """
    first = problems[0]
    code = _CODE_BY_FIELD.get(first.field or "", _CALLS_RESOURCE_ERROR)
    if first.field:
        message = f"Invalid parameter '{first.field}': {first.reason}"
    else:
        message = f"Invalid request: {first.reason}"
    return ApiError(400, code, message, detail="; ".join(str(p) for p in problems))


def check_create(form: Form, *, settings: EmulatorSettings, call_events: frozenset[str]) -> None:
    """Apply Twilio's value rules to a CreateCall request that passed the spec.

    Args:
        form: The form fields.
        settings: Numbers the emulator treats as invalid or geo-blocked.
        call_events: The allowed `StatusCallbackEvent` values (from the spec's enum).

    Raises:
        ApiError: The first rule broken.
    """
    to, from_ = last(form, "To"), last(form, "From")
    if to is None:
        raise ApiError(400, 21201, "No 'To' number is specified")
    if from_ is None:
        raise ApiError(400, 21213, "No 'From' number is specified")
    if not _E164.match(to) or to in settings.invalid_numbers:
        raise ApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if to in settings.geo_blocked_numbers:
        raise ApiError(
            400,
            21215,
            f"Account not authorized to call {to}. Perhaps you need to enable some "
            "international permissions: https://www.twilio.com/console/voice/calls/geo-permissions",
        )
    url, twiml = last(form, "Url"), last(form, "Twiml")
    if url is None and twiml is None and last(form, "ApplicationSid") is None:
        raise ApiError(400, 21205, "Url parameter is required.")
    check_instructions(form)
    for value in form.get("StatusCallbackEvent", []):
        for event in value.replace(",", " ").split():
            if event not in call_events:
                raise ApiError(
                    400,
                    21626,
                    f"Invalid 'StatusCallbackEvent': {event!r} is not one of "
                    f"{', '.join(sorted(call_events))}",
                )
    for name in ("StatusCallback", "AsyncAmdStatusCallback"):
        callback = last(form, name)
        if callback is not None and not _absolute_http(callback):
            raise ApiError(400, 21609, f"The {name} URL {callback} is not a valid URL.")


def check_instructions(form: Form) -> None:
    """The `Url` and `Twiml` rules shared by create and update.

    Raises:
        ApiError: `Url` not absolute http(s) (21205), or `Twiml` over 4000 characters.
    """
    url, twiml = last(form, "Url"), last(form, "Twiml")
    if url is not None and not _absolute_http(url):
        raise ApiError(400, 21205, f"Url is not a valid URL: {url}")
    if twiml is not None and len(twiml) > _MAX_TWIML_CHARS:
        raise ApiError(
            400, _CALLS_RESOURCE_ERROR, f"Twiml is {len(twiml)} characters; the maximum is 4000"
        )


def _absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)
