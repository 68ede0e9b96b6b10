"""GHL's OAuth endpoints: code exchange, refresh, and agency → location tokens.

Only the HTTP exchanges live here; where tokens are kept and when they are renewed is
`dentalvoice.crm.auth`. Tokens never reach a log line or an exception message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import urlencode

import httpx
from pydantic import ValidationError

from dentalvoice.crm.errors import GhlAuthError, GhlRetryable
from dentalvoice.crm.models import GhlUserType
from dentalvoice.crm.ratelimit import RateLimitInfo, rate_limited
from dentalvoice.crm.schemas import TokenGrant
from dentalvoice.crm.transport import VERSION, GhlTransport, error_details, json_body, status_error

CHOOSE_LOCATION_URL: Final = "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"


class GhlOAuth:
    """The OAuth app's side of GHL's token endpoints."""

    def __init__(
        self,
        transport: GhlTransport,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
    ) -> None:
        """Create the OAuth helper.

        Args:
            transport: The process's GHL transport (shared with the API client).
            client_id: The Marketplace app's client id.
            client_secret: Its client secret.
            redirect_uri: The redirect URI registered on the app (sent with code exchanges).

        Raises:
            ValueError: `client_id` or `client_secret` is empty.
        """
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        self._transport = transport
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri

    def authorization_url(
        self, *, scopes: Sequence[str], state: str | None = None, base: str = CHOOSE_LOCATION_URL
    ) -> str:
        """Where to send the installing user (GHL redirects back with `?code=`).

        Args:
            scopes: The scopes to ask for, e.g. `contacts.write`.
            state: An opaque value GHL hands back, to tie the callback to this request.
            base: The chooser URL (the white-label one for white-label agencies).

        Returns:
            The URL.
        """
        query: dict[str, str] = {
            "response_type": "code",
            "client_id": self._client_id,
            "scope": " ".join(scopes),
        }
        if self._redirect_uri:
            query["redirect_uri"] = self._redirect_uri
        if state:
            query["state"] = state
        return f"{base}?{urlencode(query)}"

    async def exchange_code(
        self, *, code: str, user_type: GhlUserType = GhlUserType.LOCATION
    ) -> TokenGrant:
        """Trade an authorization code for tokens.

        Raises:
            GhlAuthError: GHL refused the code.
            GhlRetryable: GHL could not be reached, or failed.
        """
        form = {"grant_type": "authorization_code", "code": code, "user_type": user_type.value}
        if self._redirect_uri:
            form["redirect_uri"] = self._redirect_uri
        return await self._token(form, operation="exchange_code", subject=None)

    async def refresh(
        self, *, refresh_token: str, user_type: GhlUserType, subject: str | None = None
    ) -> TokenGrant:
        """Renew an access token; the grant carries a new refresh token that must be stored.

        Args:
            refresh_token: The current refresh token (single use once rotated).
            user_type: Location or Company, as the token was issued.
            subject: The GHL location or company id, for error messages.

        Raises:
            GhlAuthError: GHL refused the refresh token (revoked, expired, or already used).
            GhlRetryable: GHL could not be reached, or failed.
        """
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "user_type": user_type.value,
        }
        if self._redirect_uri:
            form["redirect_uri"] = self._redirect_uri
        return await self._token(form, operation="refresh_token", subject=subject)

    async def location_token(
        self, *, agency_token: str, company_id: str, location_id: str
    ) -> TokenGrant:
        """Mint a location token from an agency (Company) token.

        Raises:
            GhlAuthError: The agency token was refused or the app is not on that location.
            GhlRetryable: GHL could not be reached, or failed.
        """
        operation = "location_token"
        response = await self._transport.send(
            "POST",
            "/oauth/locationToken",
            operation=operation,
            version=VERSION,
            token=agency_token,
            form={"companyId": company_id, "locationId": location_id},
        )
        return self._grant(response, operation=operation, subject=location_id)

    async def _token(
        self, form: Mapping[str, str], *, operation: str, subject: str | None
    ) -> TokenGrant:
        body = {"client_id": self._client_id, "client_secret": self._client_secret, **form}
        response = await self._transport.send(
            "POST", "/oauth/token", operation=operation, version=None, token=None, form=body
        )
        return self._grant(response, operation=operation, subject=subject)

    def _grant(
        self, response: httpx.Response, *, operation: str, subject: str | None
    ) -> TokenGrant:
        status = response.status_code
        if status == 429:
            raise rate_limited(
                RateLimitInfo.from_headers(response.headers),
                operation=operation,
                location_id=subject,
            )
        if 400 <= status < 500:
            # Any refusal here (invalid_grant, bad client, app not installed) needs a human:
            # re-install or fix the app settings. GHL's text names no person.
            message, trace = error_details(response)
            detail = f"token request refused ({status})"
            if message:
                detail += f": {message[:200]}"
            if trace:
                detail += f" traceId={trace}"
            raise GhlAuthError(detail, location_id=subject, operation=operation)
        if status >= 300:
            raise status_error(response, operation=operation)
        try:
            return TokenGrant.model_validate(json_body(response, operation=operation))
        except ValidationError:
            # `from None`: pydantic's error quotes its input, which holds the tokens.
            raise GhlRetryable(
                "token response without access_token", operation=operation, status=status
            ) from None
