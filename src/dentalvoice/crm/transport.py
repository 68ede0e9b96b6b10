"""The HTTP layer under the GHL client: one keep-alive `httpx.AsyncClient`, errors translated.

It knows GHL's headers and error bodies but nothing about tokens or endpoints. Every failure
leaves it as a `dentalvoice.crm.errors` exception; successful and 401/429 responses are handed
back for the client to act on (refresh, rate limiting).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

import httpx
import orjson
from loguru import logger

from dentalvoice.crm.errors import GhlRejected, GhlRetryable, ghl_message_text

DEFAULT_BASE_URL: Final = "https://services.leadconnectorhq.com"
# The `Version` header values (SPEC): calendars are on their own, older version.
VERSION: Final = "2021-07-28"
CALENDARS_VERSION: Final = "2021-04-15"

# Statuses where the same request may succeed later (besides 429, which has its own error).
_RETRYABLE_STATUS: Final = frozenset({408, 425, 500, 502, 503, 504})
# Failures that happen before the request is sent: GHL cannot have acted on it.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

JsonBody = Mapping[str, Any]
QueryParams = Mapping[str, str | int | float | bool | list[str] | None]


def default_timeout() -> httpx.Timeout:
    """The timeouts used when none are configured (seconds)."""
    return httpx.Timeout(connect=5.0, read=15.0, write=10.0, pool=5.0)


class GhlTransport:
    """Sends requests to GHL's API host and turns transport failures into GHL errors."""

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 20,
    ) -> None:
        """Create the transport and its connection pool.

        Args:
            base_url: GHL's API base URL (or the emulator's).
            timeout: Connect/read/write/pool timeouts; `default_timeout()` when None.
            transport: An httpx transport to send through instead of the network (tests).
            max_connections: Pool size; keep-alive connections are reused across requests.
        """
        self.timeout = timeout or default_timeout()
        # The whole request is bounded too: httpx's read timeout applies per chunk, so a server
        # dripping bytes could otherwise hold a caller for much longer.
        parts = (self.timeout.connect, self.timeout.read, self.timeout.write, self.timeout.pool)
        self._deadline_s = sum(p for p in parts if p is not None) or None
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=self.timeout,
            transport=transport,
            http2=False,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        version: str | None,
        token: str | None,
        params: QueryParams | None = None,
        json: JsonBody | None = None,
        form: Mapping[str, str] | None = None,
        retry_connect: bool = False,
    ) -> httpx.Response:
        """Send one request; translate transport failures.

        Args:
            method: The HTTP method.
            path: The path under the base URL, ids already quoted.
            operation: The client method's name, for errors and logs.
            version: The `Version` header, or None to send none (`POST /oauth/token`).
            token: The bearer token, or None for no `Authorization` header.
            params: Query parameters; None values are left out.
            json: A JSON body.
            form: A form-encoded body.
            retry_connect: Send once more when the first attempt could not connect (for
                idempotent requests only).

        Returns:
            The response, whatever its status.

        Raises:
            GhlRetryable: A timeout or connection failure.
        """
        headers: dict[str, str] = {}
        if version is not None:
            headers["Version"] = version
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        content: bytes | None = None
        if json is not None:
            content = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempts = 2 if retry_connect else 1
        for attempt in range(1, attempts + 1):
            try:
                async with asyncio.timeout(self._deadline_s):
                    return await self._http.request(
                        method, path, params=query, content=content, data=form, headers=headers
                    )
            except (*_NOT_SENT, httpx.RemoteProtocolError) as exc:
                # A keep-alive connection the server already closed fails like this too; for an
                # idempotent request one more try on a fresh connection is safe.
                if attempt < attempts:
                    logger.debug(
                        "ghl {}: {} on attempt {}, retrying", operation, type(exc).__name__, attempt
                    )
                    continue
                raise GhlRetryable(
                    f"connection failed ({type(exc).__name__})",
                    operation=operation,
                    maybe_applied=not isinstance(exc, _NOT_SENT),
                ) from exc
            except (httpx.TimeoutException, TimeoutError) as exc:
                raise GhlRetryable(
                    f"timed out ({type(exc).__name__})", operation=operation, maybe_applied=True
                ) from exc
            except httpx.TransportError as exc:
                raise GhlRetryable(
                    f"transport error ({type(exc).__name__})",
                    operation=operation,
                    maybe_applied=True,
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def error_details(response: httpx.Response) -> tuple[str | None, str | None]:
    """GHL's message text and traceId from an error body (both None if it is not JSON)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None, response.headers.get("traceid")
    if not isinstance(body, dict):
        return None, None
    trace = body.get("traceId") or response.headers.get("traceid")
    # The OAuth endpoints answer in OAuth's own shape (`error`, `error_description`).
    message = ghl_message_text(body.get("message")) or ghl_message_text(
        body.get("error_description") or body.get("error")
    )
    return message, str(trace) if trace else None


def status_error(response: httpx.Response, *, operation: str) -> GhlRetryable | GhlRejected:
    """The error for a non-2xx response other than 401 and 429 (handled by the client).

    Args:
        response: GHL's answer.
        operation: The client method's name.

    Returns:
        `GhlRetryable` for 5xx/408/425, `GhlRejected` (with GHL's message) for other 4xx.
    """
    message, trace = error_details(response)
    status = response.status_code
    logger.debug("ghl {}: status={} traceId={}", operation, status, trace)
    if status in _RETRYABLE_STATUS or status >= 500:
        return GhlRetryable(
            f"server error ({status})" + (f" traceId={trace}" if trace else ""),
            operation=operation,
            status=status,
            maybe_applied=True,
        )
    return GhlRejected(status=status, ghl_message=message, trace_id=trace, operation=operation)


def json_body(response: httpx.Response, *, operation: str) -> Any:
    """The decoded JSON body of a successful response.

    Raises:
        GhlRetryable: The body is not JSON (a proxy's error page, a truncated answer).
    """
    try:
        return orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError as exc:
        raise GhlRetryable(
            f"unreadable response ({response.status_code})",
            operation=operation,
            status=response.status_code,
            maybe_applied=True,
        ) from exc
