"""Twilio failures as one DentalVoiceError subclass with an outcome the dialer can act on."""

from __future__ import annotations

from typing import Final, Literal

import aiohttp
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioRestException,
    TwilioServiceException,
)

from dentalvoice.errors import DentalVoiceError

TwilioOutcome = Literal[
    "invalid_number",
    "geo_permission",
    "rate_limited",
    "concurrency_limit",
    "auth",
    "unavailable",
    "rejected",
]

# Twilio error code → outcome. Sources are sections of ../shared/reference/twilio.md; codes not
# listed fall back to the HTTP status (429 → rate_limited, 401 → auth, 5xx → unavailable,
# other 4xx → rejected).
#
# | code  | outcome           | retry | source (twilio.md)                                      |
# |-------|-------------------|-------|---------------------------------------------------------|
# | 21211 | invalid_number    | no    | §7 docs: invalid `To`; §11.1 "do not retry 21211"       |
# | 21217 | invalid_number    | no    | §7 docs: `To` not valid                                 |
# | 21214 | invalid_number    | no    | §7 docs: `To` cannot be reached                         |
# | 21201 | invalid_number    | no    | §7 docs: no `To`                                        |
# | 13224 | invalid_number    | no    | §7 docs: number not supported or invalid; §11.1         |
# | 21215 | geo_permission    | no    | §7 docs: blocked by Geo Permissions; §11.1              |
# | 21216 | geo_permission    | no    | §7 unverified: number blocked                           |
# | 32205 | geo_permission    | no    | §7 docs: Geo Permissions (alias of 21215)               |
# | 13227 | geo_permission    | no    | §7 docs: Geo Permissions for <Dial>                     |
# | 20429 | rate_limited      | yes   | §6 docs: 429 "safe to retry after backing off"          |
# | 10004 | concurrency_limit | yes   | §6 docs: call concurrency limit exceeded                |
# | 20003 | auth              | no    | Twilio authentication failure (HTTP 401)                |
_OUTCOME_BY_CODE: Final[dict[int, TwilioOutcome]] = {
    21211: "invalid_number",
    21217: "invalid_number",
    21214: "invalid_number",
    21201: "invalid_number",
    13224: "invalid_number",
    21215: "geo_permission",
    21216: "geo_permission",
    32205: "geo_permission",
    13227: "geo_permission",
    20429: "rate_limited",
    10004: "concurrency_limit",
    20003: "auth",
}

# Only outcomes where waiting can change the answer; a bad number stays bad.
_RETRYABLE: Final[frozenset[TwilioOutcome]] = frozenset(
    {"rate_limited", "concurrency_limit", "unavailable"}
)


class TwilioError(DentalVoiceError):
    """A Twilio REST call failed; `outcome` says what the caller should do about it.

    Attributes:
        code: Twilio's error code (e.g. 21211), or None when there was no usable answer.
        status: The HTTP status, or None for timeouts and connection failures.
        retryable: True when the same request may succeed later (after backing off).
        outcome: One of `TwilioOutcome`.
    """

    def __init__(
        self,
        *,
        outcome: TwilioOutcome,
        code: int | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.outcome: TwilioOutcome = outcome
        self.code = code
        self.status = status
        self.retryable = outcome in _RETRYABLE if retryable is None else retryable
        # Twilio's own message can quote the dialed number, so ours carries codes only.
        super().__init__(f"Twilio request failed: {outcome} (code={code}, status={status})")


def classify(*, code: int | None, status: int | None) -> TwilioOutcome:
    """Map a Twilio error code and HTTP status to an outcome.

    Args:
        code: Twilio's error code, if any.
        status: The HTTP status, if any.

    Returns:
        The outcome; a known code wins over the HTTP status.
    """
    if code is not None and code in _OUTCOME_BY_CODE:
        return _OUTCOME_BY_CODE[code]
    if status == 429:
        return "rate_limited"
    if status == 401:
        return "auth"
    if status is None or status >= 500:
        return "unavailable"
    return "rejected"


def translate(exc: Exception) -> TwilioError:
    """Turn an SDK, transport or timeout exception into a `TwilioError`.

    Args:
        exc: What the Twilio SDK (or the HTTP layer under it) raised.

    Returns:
        The matching `TwilioError`; the caller raises it `from exc`.
    """
    if isinstance(exc, TwilioError):
        return exc
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        status = _int_or_none(exc.status)
        code = _int_or_none(exc.code)
        # Without a JSON body the SDK copies the HTTP status into `code`; that is no Twilio code.
        if code is not None and code == status:
            code = None
        return TwilioError(outcome=classify(code=code, status=status), code=code, status=status)
    if isinstance(exc, TimeoutError | aiohttp.ClientError | OSError):
        return TwilioError(outcome="unavailable")
    # Anything else is a bug or a malformed answer; retrying the same request will not help.
    return TwilioError(outcome="rejected", retryable=False)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
