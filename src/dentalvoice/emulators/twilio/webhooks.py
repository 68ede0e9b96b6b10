"""Signed HTTP requests to the app, delivered through the emulator's routing table.

Twilio signs the URL it was given — the app's public one — so signatures here cover that URL,
while the request itself goes to the local address the route maps it to ("tunnel"):
`https://agent.example.test/twilio/status` is signed as is and sent to
`http://127.0.0.1:54321/twilio/status`. WebSocket URLs map the same way (`wss` → `ws`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import httpx

from dentalvoice.emulators.twilio.records import HttpExchange
from dentalvoice.telephony.signature import sign

USER_AGENT = "TwilioProxy/1.1"
_TO_HTTP = {"wss": "https", "ws": "http"}
_TO_WS = {"https": "wss", "http": "ws"}


class Router:
    """Maps public base URLs to local ones; URLs outside every route pass unchanged."""

    def __init__(self, route: Mapping[str, str] | None = None) -> None:
        """Build the table.

        Args:
            route: Public base (e.g. `https://agent.example.test`) → local base (e.g.
                `http://127.0.0.1:54321`). Longer bases win over shorter ones.

        Raises:
            ValueError: A base that is not an absolute URL.
        """
        pairs = []
        for public, local in (route or {}).items():
            for base in (public, local):
                parts = urlsplit(base)
                if not parts.scheme or not parts.netloc or parts.query or parts.fragment:
                    raise ValueError(f"route bases must be absolute URLs without query: {base!r}")
            pairs.append((_as_http(public.rstrip("/")), local.rstrip("/")))
        self._routes = sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)

    def local(self, url: str) -> str:
        """Where a request for public `url` is delivered.

        Args:
            url: An http(s) or ws(s) URL.

        Returns:
            The routed URL, in the scheme family of `url` (a `wss` URL routed to an `http`
            base becomes `ws`); `url` itself when no route covers it.
        """
        scheme = urlsplit(url).scheme
        as_http = _as_http(url)
        for public, local in self._routes:
            rest = as_http[len(public) :]
            if as_http.startswith(public) and (not rest or rest[0] in "/?#"):
                routed = local + rest
                if scheme in _TO_HTTP:
                    routed_scheme = urlsplit(routed).scheme
                    routed = _TO_WS.get(routed_scheme, routed_scheme) + routed[len(routed_scheme) :]
                return routed
        return url


class Webhooks:
    """Sends Twilio's outbound requests: form-encoded, signed, routed and time-bounded."""

    def __init__(
        self, *, auth_token: str, router: Router, timeout_s: float, max_body_chars: int = 65536
    ) -> None:
        self._auth_token = auth_token
        self._router = router
        self.timeout_s = timeout_s
        self._max_body_chars = max_body_chars
        self._client: httpx.AsyncClient | None = None

    async def send(
        self, *, kind: str, url: str, params: Mapping[str, str], method: str = "POST"
    ) -> HttpExchange:
        """Make one request; failures are recorded in the result, never raised.

        Args:
            kind: What the request is for (`status`, `amd`, `twiml`, ...), for the record.
            url: The public URL as the app gave it, query string included.
            params: The fields: the form body for POST, added to the query string for GET.
            method: `POST` or `GET`.

        Returns:
            The exchange, with the status answered or the error.
        """
        method = method.upper()
        fields = dict(params)
        if method == "GET":
            signed_url = _with_query(url, fields) if fields else url
            signature = sign(auth_token=self._auth_token, url=signed_url, params={})
            content = None
        else:
            signed_url = url
            signature = sign(auth_token=self._auth_token, url=url, params=fields)
            content = urlencode(fields).encode()
        delivered = self._router.local(signed_url)
        exchange = HttpExchange(
            kind=kind,
            method=method,
            url=url,
            delivered_url=delivered,
            params=fields,
            signature=signature,
            sent_at=time.monotonic(),
        )
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
        }
        if content is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            response = await self._http().request(
                method, delivered, content=content, headers=headers, timeout=self.timeout_s
            )
        except httpx.TimeoutException:
            exchange.error = f"no answer within {self.timeout_s}s"
        except httpx.HTTPError as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
        else:
            exchange.status = response.status_code
            exchange.body = response.text[: self._max_body_chars]
        exchange.elapsed_s = time.monotonic() - exchange.sent_at
        return exchange

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: proxies from the environment must not capture local delivery.
            self._client = httpx.AsyncClient(
                trust_env=False, follow_redirects=False, timeout=self.timeout_s
            )
        return self._client


def _as_http(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme in _TO_HTTP:
        return _TO_HTTP[scheme] + url[len(scheme) :]
    return url


def _with_query(url: str, params: Mapping[str, str]) -> str:
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}{urlencode(params)}"
