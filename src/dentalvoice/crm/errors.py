"""GHL failures, translated at the client's boundary into what the caller can do about them.

GhlError
├── GhlRetryable            timeouts, connection errors, 5xx, 429: the same request may work later
│   └── GhlRateLimited      429 from GHL (burst or daily) or no local rate-limit slot in time
├── GhlRejected             a permanent 4xx: sending the same request again will not help
│   └── UnknownCustomField  a custom-field key the location does not have
└── GhlAuthError            credentials missing, revoked, or the token refresh failed

Messages carry ids, HTTP statuses, GHL's own message text and its traceId, never the data that
was sent (names, phones, note bodies).
"""

from __future__ import annotations

from typing import Literal

from dentalvoice.errors import DentalVoiceError

RateLimitKind = Literal["burst", "daily", "local"]

# GHL's validation messages are short; a cap keeps a misbehaving proxy's HTML out of logs.
_MESSAGE_LIMIT = 300


class GhlError(DentalVoiceError):
    """Base of every GHL client error.

    Attributes:
        operation: The client method that failed (e.g. `update_contact`), or None.
    """

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        self.operation = operation
        super().__init__(f"GHL {operation}: {message}" if operation else f"GHL: {message}")


class GhlRetryable(GhlError):
    """The request may succeed later; the caller (the outbox) decides when to try again.

    Attributes:
        retry_after: Seconds to wait before retrying, when GHL or the limiter said; else None.
        status: The HTTP status, or None when there was no response.
        maybe_applied: True when GHL may have acted on the request before it failed (a read
            timeout or a 5xx after the body was sent): check before re-sending a write.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        maybe_applied: bool = False,
    ) -> None:
        self.retry_after = retry_after
        self.status = status
        self.maybe_applied = maybe_applied
        super().__init__(message, operation=operation)


class GhlRateLimited(GhlRetryable):
    """GHL answered 429, or no local rate-limit slot was free within the allowed wait.

    Attributes:
        kind: `burst` (100 / 10 s window), `daily` (the day's quota), or `local` (our own
            bucket had no slot within `max_wait`; nothing was sent).
    """

    def __init__(
        self,
        *,
        kind: RateLimitKind,
        retry_after: float,
        operation: str | None = None,
        location_id: str | None = None,
    ) -> None:
        self.kind: RateLimitKind = kind
        self.location_id = location_id
        where = f" for location {location_id}" if location_id else ""
        super().__init__(
            f"rate limited ({kind}){where}; retry after {retry_after:.1f}s",
            operation=operation,
            retry_after=retry_after,
            status=None if kind == "local" else 429,
        )


class GhlRejected(GhlError):
    """GHL refused the request for good (a 4xx other than 429, or 401 after a refresh).

    Attributes:
        status: The HTTP status (None when the client refused before sending).
        ghl_message: GHL's `message`, joined when it was a list (422 validation errors).
        trace_id: GHL's `traceId`, for their support, when the body had one.
    """

    def __init__(
        self,
        *,
        status: int | None,
        ghl_message: str | None = None,
        trace_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.status = status
        self.ghl_message = ghl_message[:_MESSAGE_LIMIT] if ghl_message else None
        self.trace_id = trace_id
        message = f"rejected ({status})" if status is not None else "rejected"
        if self.ghl_message:
            message += f": {self.ghl_message}"
        if trace_id:
            message += f" traceId={trace_id}"
        super().__init__(message, operation=operation)


class UnknownCustomField(GhlRejected):
    """A custom-field key (e.g. `contact.pain_level`) is not defined in the location.

    Attributes:
        key: The field key that was asked for.
        location_id: The GHL location that lacks it.
    """

    def __init__(self, *, key: str, location_id: str) -> None:
        self.key = key
        self.location_id = location_id
        super().__init__(
            status=None,
            ghl_message=f"no custom field with key {key!r} in location {location_id}",
            operation="resolve_custom_field",
        )


class GhlAuthError(GhlError):
    """No usable credentials: none stored, the token was refused, or the refresh failed.

    Attributes:
        location_id: The GHL location (or company) whose credentials failed, when known.
    """

    def __init__(
        self, message: str, *, location_id: str | None = None, operation: str | None = None
    ) -> None:
        self.location_id = location_id
        super().__init__(message, operation=operation)


def ghl_message_text(message: object) -> str | None:
    """GHL's `message` as one line: a string as is, a list (422 validation) joined by `; `."""
    if isinstance(message, str):
        return message or None
    if isinstance(message, list):
        parts = [str(item) for item in message if item is not None and str(item)]
        return "; ".join(parts) or None
    return None
