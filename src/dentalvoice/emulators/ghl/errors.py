"""GHL's error answers, in the shapes its API returns them.

GHL's API is a NestJS service: errors are `{"statusCode", "message", "error"}` where
`message` is a string, or a list of strings for 422 validation failures
(`common/common-schemas.json`). The 429 body has no `error` field (GHL's SDKs quote it as
"Too Many Requests - Rate limit exceeded"). The spec documents only 400, 401 and 422 for the
operations emulated here, so unknown ids in a path answer 400 `"<Thing> not found"`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

INVALID_TOKEN = "Invalid token: access token is invalid"  # noqa: S105 - a message, not a secret
WRONG_LOCATION = "The token does not have access to this location."
WRONG_SCOPE = "The token is not authorized for this scope."
WRONG_AUTH_CLASS = (
    "This authClass type is not allowed to access this scope. "
    "Please reach out to the Platform team to get it added."
)
RATE_LIMITED = "Too Many Requests - Rate limit exceeded"
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class GhlError(Exception):
    """An error answer: raise it anywhere while handling a request.

    Attributes:
        status: The HTTP status.
        message: GHL's `message`: a string, or a list of strings for 422.
        error: GHL's `error` (the status phrase), or None to leave it out.
        payload: A complete body that replaces the NestJS shape (OAuth errors).
        headers: Extra response headers.
    """

    def __init__(
        self,
        status: int,
        message: str | list[str],
        *,
        error: str | None = "",
        payload: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """An error; `error=""` means the standard phrase for `status`, None leaves it out."""
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.status = status
        self.message = message
        self.error = _REASONS.get(status, "Error") if error == "" else error
        self.payload = dict(payload) if payload is not None else None
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"GhlError(status={self.status!r}, message={self.message!r})"

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        if self.payload is not None:
            return dict(self.payload)
        body: dict[str, Any] = {"statusCode": self.status, "message": self.message}
        if self.error is not None:
            body["error"] = self.error
        return body


def unprocessable(messages: Iterable[str]) -> GhlError:
    """422 with one message per problem (`"<field>: <reason>"`)."""
    return GhlError(422, list(messages))


def bad_request(message: str) -> GhlError:
    """400 with a single message."""
    return GhlError(400, message)


def not_found(thing: str) -> GhlError:
    """400 `"<thing> not found"`: the spec documents no 404 for these operations."""
    return GhlError(400, f"{thing} not found")


def unauthorized(message: str = INVALID_TOKEN) -> GhlError:
    """401 in GHL's shape."""
    return GhlError(401, message)


def forbidden() -> GhlError:
    """403: a valid token for another location."""
    return GhlError(403, WRONG_LOCATION)


def rate_limited(headers: Mapping[str, str]) -> GhlError:
    """429 with the rate-limit headers."""
    return GhlError(429, RATE_LIMITED, error=None, headers=headers)


def oauth_error(status: int, code: str, description: str) -> GhlError:
    """An OAuth token-endpoint error, in RFC 6749's `{error, error_description}` shape."""
    return GhlError(
        status,
        description,
        payload={
            "statusCode": status,
            "message": description,
            "error": code,
            "error_description": description,
        },
    )
