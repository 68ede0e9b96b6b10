"""X-Twilio-Signature checks for webhooks and the Media Streams upgrade, via the SDK validator.

Twilio signs the URL *it* requested: the public one from our TwiML or call parameters. Behind a
proxy the app sees `http://internal:8000/...`, which never validates (twilio.md §8.3), so URLs
are rebuilt from PUBLIC_BASE_URL with `public_url` and never taken from the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

_SCHEMES = frozenset({"http", "https", "ws", "wss"})


def public_url(base: str, path: str, query: str = "") -> str:
    """The URL Twilio signed: our public base plus the request's path and raw query string.

    Args:
        base: PUBLIC_BASE_URL, e.g. `https://agent.example.com` (a path prefix is kept); use a
            `wss://` base for the Media Streams upgrade.
        path: The request path as received, e.g. `/twilio/voice`.
        query: The raw query string as received (without `?`), byte for byte: Twilio signs
            it as sent, so it must not be re-encoded.

    Returns:
        The absolute URL to validate against.

    Raises:
        ValueError: `base` is not an absolute http(s)/ws(s) URL without a query.
    """
    parts = urlsplit(base)
    if parts.scheme not in _SCHEMES or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("base must be an absolute URL without query or fragment")
    url = base.rstrip("/") + "/" + path.lstrip("/")
    return f"{url}?{query}" if query else url


def validate_http(
    *, auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """Check a form-encoded webhook (status callback, AMD result, TwiML fetch).

    Args:
        auth_token: The account's Auth Token.
        url: The public URL from `public_url`, including the query string.
        params: Every POST field received (Twilio may add fields; all are signed).
        signature: The `X-Twilio-Signature` header, or None when absent.

    Returns:
        True only for a present, matching signature.
    """
    if not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def validate_websocket(*, auth_token: str, wss_url: str, signature: str | None) -> bool:
    """Check the Media Streams WebSocket upgrade (header `x-twilio-signature`).

    The upgrade is a GET without a body, so the signature covers the `wss://` URL exactly as
    written in our `<Stream url>`, with no parameters. Twilio's docs suggest also trying the
    URL with a trailing slash (twilio.md §8.5); both forms are accepted.

    Args:
        auth_token: The account's Auth Token.
        wss_url: The public `wss://` URL of the stream (from `public_url` with a wss base).
        signature: The `x-twilio-signature` header, or None when absent.

    Returns:
        True only for a present, matching signature.

    Raises:
        ValueError: `wss_url` is not a wss:// URL (an https URL never matches).
    """
    if urlsplit(wss_url).scheme != "wss":
        raise ValueError("the Media Streams signature covers the wss:// URL")
    if not signature:
        return False
    validator = RequestValidator(auth_token)
    candidates = [wss_url] if wss_url.endswith("/") else [wss_url, wss_url + "/"]
    return any(bool(validator.validate(candidate, {}, signature)) for candidate in candidates)


def sign(*, auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Compute the `X-Twilio-Signature` Twilio would send; for the emulator and tests.

    Args:
        auth_token: The account's Auth Token.
        url: The exact URL being requested, including any query string.
        params: The POST fields (empty for GET and WebSocket upgrades).

    Returns:
        The base64 HMAC-SHA1 signature.
    """
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))
