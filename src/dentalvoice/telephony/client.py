"""Async Twilio REST adapter: place, redirect and hang up calls through the official SDK."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from loguru import logger
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioException,
    TwilioServiceException,
)
from twilio.http.async_http_client import (  # type: ignore[import-untyped]
    AsyncTwilioHttpClient,
)
from twilio.rest import Client  # type: ignore[import-untyped]

from dentalvoice.leads.normalize import mask_phone
from dentalvoice.telephony.errors import TwilioError, translate

STATUS_CALLBACK_EVENTS: Final = ("initiated", "ringing", "answered", "completed")

_CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
_TRANSLATED: Final = (
    TwilioException,
    TwilioServiceException,
    aiohttp.ClientError,
    TimeoutError,
    OSError,
)

CallUpdateStatus = Literal["completed", "canceled"]


class _HttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client with our own Basic auth header and an optional base URL.

    The SDK passes `aiohttp.BasicAuth`, deprecated since aiohttp 3.14 (a DeprecationWarning on
    every request), so the header is built here instead. With `base_url` every request goes to
    that scheme+host (the emulator); rewriting the fully built URL covers every Twilio domain
    and runs after the SDK's edge/region host rewriting, so nothing can reach twilio.com.
    """

    def __init__(self, base_url: str | None = None) -> None:
        super().__init__()
        self._base: tuple[str, str, str] | None = None
        if base_url is not None:
            parts = urlsplit(base_url)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                raise ValueError("api_base_url must be an absolute http(s) URL")
            self._base = (parts.scheme, parts.netloc, parts.path.rstrip("/"))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK calls with this keyword
        allow_redirects: bool = False,
    ) -> Any:
        if self._base is not None:
            scheme, netloc, prefix = self._base
            parts = urlsplit(url)
            url = urlunsplit((scheme, netloc, prefix + parts.path, parts.query, parts.fragment))
        headers = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


class TwilioClient:
    """One per process: wraps the SDK `Client` on its aiohttp transport.

    Build it inside the running event loop (the SDK opens its aiohttp session in the
    constructor) and `await close()` on shutdown. Every request is bounded by `timeout_s` and
    every failure surfaces as `dentalvoice.telephony.errors.TwilioError`.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base_url: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        """Create the client.

        Args:
            account_sid: The Twilio Account SID (`AC…`).
            auth_token: The account's Auth Token.
            api_base_url: Send all REST requests here (e.g. `http://127.0.0.1:8123`) instead of
                `https://api.twilio.com`; for the emulator and tests.
            timeout_s: Upper bound for each REST request, in seconds.
        """
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._timeout_s = timeout_s
        # max_retries stays None: the SDK's retry wrapper would repeat a non-idempotent create.
        self._http = _HttpClient(api_base_url or None)
        # A non-empty `environment` stops the SDK reading os.environ, where TWILIO_REGION or
        # TWILIO_EDGE would silently reroute requests; config.py is the only env reader.
        self._client: Any = Client(
            username=account_sid,
            password=auth_token,
            account_sid=account_sid,
            http_client=self._http,
            environment={"TWILIO_ACCOUNT_SID": account_sid},
        )

    async def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        status_callback: str,
        amd_callback: str,
        timeout_s: int = 25,
        idempotency_key: str,
    ) -> str:
        """Place an outbound call with status callbacks and async answering-machine detection.

        Twilio's Calls API has no idempotency header, so `idempotency_key` only tags our logs;
        exactly-once is the dialer's job. The dialer must record the attempt under this key
        *before* calling, and must never repeat a create whose outcome is unknown (a timeout
        or 5xx: the call may already be ringing) without first checking for it, e.g. by the
        status callbacks received or by listing recent calls to the number.

        Args:
            to: The lead's number in E.164.
            from_: Our Twilio number (or verified caller ID) in E.164.
            url: Public URL Twilio fetches the call's TwiML from (POST) once answered.
            status_callback: Public URL for initiated/ringing/answered/completed events (POST).
            amd_callback: Public URL for the async AMD result (`AnsweredBy`, POST).
            timeout_s: Seconds to let the phone ring before giving up.
            idempotency_key: The dialer's id for this attempt; logged, not sent to Twilio.

        Returns:
            The Call SID (`CA…`).

        Raises:
            TwilioError: Twilio refused the call, or did not answer in time.
        """
        try:
            async with asyncio.timeout(self._timeout_s):
                call = await self._client.calls.create_async(
                    to=to,
                    from_=from_,
                    url=url,
                    method="POST",
                    status_callback=status_callback,
                    status_callback_event=list(STATUS_CALLBACK_EVENTS),
                    status_callback_method="POST",
                    machine_detection="DetectMessageEnd",
                    # The SDK sends this verbatim and Twilio expects the string "true".
                    async_amd="true",
                    async_amd_status_callback=amd_callback,
                    async_amd_status_callback_method="POST",
                    timeout=timeout_s,
                )
        except _TRANSLATED as exc:
            error = translate(exc)
            logger.warning(
                "twilio create_call failed: key={} to={} outcome={} code={}",
                idempotency_key,
                mask_phone(to),
                error.outcome,
                error.code,
            )
            raise error from exc
        sid = str(call.sid)
        logger.info(
            "twilio call created: key={} to={} sid={}", idempotency_key, mask_phone(to), sid
        )
        return sid

    async def update_call(
        self,
        sid: str,
        *,
        twiml: str | None = None,
        url: str | None = None,
        status: CallUpdateStatus | None = None,
    ) -> None:
        """Redirect a live call to new TwiML or a TwiML URL, or end it.

        Args:
            sid: The Call SID.
            twiml: Inline TwiML to run now (at most 4000 characters).
            url: Public URL to fetch new TwiML from (POST); exclusive with `twiml`.
            status: `completed` to hang up a call in progress, `canceled` for a queued or
                ringing one.

        Raises:
            ValueError: Neither or both of `twiml` and `url`, with no `status`.
            TwilioError: Twilio refused the update, or did not answer in time.
        """
        _check_sid(sid)
        if twiml is not None and url is not None:
            raise ValueError("twiml and url are mutually exclusive")
        if twiml is None and url is None and status is None:
            raise ValueError("nothing to update")
        fields: dict[str, str] = {}
        if twiml is not None:
            fields["twiml"] = twiml
        if url is not None:
            fields["url"] = url
            fields["method"] = "POST"
        if status is not None:
            fields["status"] = status
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._client.calls(sid).update_async(**fields)
        except _TRANSLATED as exc:
            error = translate(exc)
            logger.warning(
                "twilio update_call failed: sid={} outcome={} code={}",
                sid,
                error.outcome,
                error.code,
            )
            raise error from exc

    async def hang_up(self, sid: str) -> None:
        """End a call; a call that has already ended counts as hung up.

        Args:
            sid: The Call SID.

        Raises:
            TwilioError: Twilio refused, or did not answer in time.
        """
        try:
            await self.update_call(sid, status="completed")
        except TwilioError as exc:
            # 20404: the caller hung up first (twilio.md §2); the goal is reached either way.
            if exc.code == _ALREADY_ENDED:
                logger.info("twilio hang_up: sid={} already ended", sid)
                return
            raise

    async def warm_up(self) -> None:
        """Import the SDK's REST API now, in a thread.

        The SDK imports it on the first `calls` access: ~120 ms that would otherwise stall the
        event loop inside the first lead's dial.
        """
        await asyncio.to_thread(getattr, self._client, "calls")

    async def close(self) -> None:
        """Close the underlying aiohttp session."""
        await self._http.close()


_ALREADY_ENDED: Final = 20404


def _check_sid(sid: str) -> None:
    # The SID becomes part of the request path; refuse anything that is not a Call SID.
    if not _CALL_SID.fullmatch(sid):
        raise ValueError("not a Call SID")
