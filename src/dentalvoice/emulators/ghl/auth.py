"""Who is calling: Bearer tokens (OAuth access tokens and Private Integration Tokens) and the
OAuth token endpoints that issue them.

GHL's rules as emulated here (docs/oauth/Authorization.md, the token DTOs in `apps/oauth.json`
and GHL's API changelog):

- `authorization_code`: a one-time code from the chooselocation redirect becomes an access
  token (valid `access_token_ttl_s`, default 86,399 s) and a refresh token, for a Location
  (sub-account) or a Company (agency).
- `refresh_token`: rotates. The old refresh token stops working, except that presenting it
  again within `refresh_reuse_s` (30 s) returns the same new pair instead of an error.
  Refresh tokens unused for a year expire.
- `POST /oauth/locationToken`: a Company token plus `companyId` and `locationId` gives a
  Location token for one of the company's locations.
- Private Integration Tokens (`pit-…`) are static, belong to one location, and stop working
  only when expired ("expire now" in the UI, `expire` here).

The token endpoint's error bodies are not documented beyond "400"; RFC 6749's
`{error, error_description}` names are used (emulator's choice).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dentalvoice.emulators.ghl.clock import Clock
from dentalvoice.emulators.ghl.errors import bad_request, oauth_error, unauthorized
from dentalvoice.emulators.ghl.ids import IdFactory
from dentalvoice.emulators.ghl.settings import GhlSettings
from dentalvoice.emulators.ghl.state import AuthorizationCode, GhlState, OAuthClient, UserType

_REFRESH_LIFETIME_S = 365 * 24 * 3600


@dataclass(frozen=True)
class Principal:
    """The identity behind a valid token.

    Attributes:
        user_type: `Location` (sub-account) or `Company` (agency).
        company_id: The agency.
        location_id: The sub-account, for Location tokens.
        client_id: The OAuth app, or None for a Private Integration Token.
        scopes: Granted scopes; None grants every scope.
        name: A label safe to log (never the token): the PIT's or the app's name.
        user_id: The installing user, for OAuth tokens.
    """

    user_type: UserType
    company_id: str | None
    location_id: str | None
    client_id: str | None
    scopes: frozenset[str] | None
    name: str
    user_id: str | None = None

    @property
    def resource_id(self) -> str:
        """The location or company the token acts for (GHL's rate-limit resource)."""
        return self.location_id or self.company_id or ""

    @property
    def app_id(self) -> str:
        """The app the rate limit counts against (PITs share one bucket per location)."""
        return self.client_id.split("-", 1)[0] if self.client_id else "private-integration"

    def allows(self, scope: str | None) -> bool:
        """Whether the token carries `scope` (None: no scope needed)."""
        return scope is None or self.scopes is None or scope in self.scopes


@dataclass
class AccessToken:
    """An issued OAuth access token."""

    token: str
    principal: Principal
    expires_at: float
    expired: bool = False


@dataclass
class _Grant:
    """A refresh token and what it refreshes to."""

    refresh_token: str
    client_id: str
    user_type: UserType
    company_id: str
    location_id: str | None
    user_id: str
    issued_at: float
    rotated_at: float | None = None
    successor: dict[str, Any] | None = None


@dataclass
class TokenStore:
    """Issues, rotates, checks and expires tokens.

    Attributes:
        state: The account data (PITs, OAuth clients, codes, locations).
        ids: Draws token values.
        clock: Now, in epoch seconds.
        settings: The emulator's current settings (read on every use).
        access: Issued access tokens by value.
    """

    state: GhlState
    ids: IdFactory
    clock: Clock
    settings: Callable[[], GhlSettings]
    access: dict[str, AccessToken] = field(default_factory=dict)
    _grants: dict[str, _Grant] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget every issued token (seeded PITs live in `state`)."""
        self.access.clear()
        self._grants.clear()

    # -- checking ---------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind an `Authorization: Bearer …` header.

        Raises:
            GhlError: 401 for a missing, unknown, expired or rotated-away token.
        """
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized()
        if token.startswith("pit-"):
            pit = self.state.private_tokens.get(token)
            if pit is None or pit.expired or pit.location_id not in self.state.locations:
                raise unauthorized()
            location = self.state.locations[pit.location_id]
            return Principal(
                user_type="Location",
                company_id=location.company_id,
                location_id=pit.location_id,
                client_id=None,
                scopes=pit.scopes,
                name=f"pit:{pit.name}",
            )
        issued = self.access.get(token)
        if issued is None or issued.expired or self.clock() >= issued.expires_at:
            raise unauthorized()
        return issued.principal

    def expire(self, token: str | None = None, *, location_id: str | None = None) -> int:
        """Make tokens fail with 401 from now on, as if they had run out.

        Args:
            token: One access token or PIT value.
            location_id: Every access token and PIT of this location.

        Returns:
            How many tokens were expired.
        """
        count = 0
        for issued in self.access.values():
            hit = issued.token == token or (
                location_id is not None and issued.principal.location_id == location_id
            )
            if hit and not issued.expired:
                issued.expired = True
                count += 1
        for pit in self.state.private_tokens.values():
            hit = pit.token == token or (location_id is not None and pit.location_id == location_id)
            if hit and not pit.expired:
                pit.expired = True
                count += 1
        return count

    # -- issuing ----------------------------------------------------------------------

    def issue_code(
        self,
        *,
        client_id: str,
        location_id: str | None = None,
        company_id: str | None = None,
        user_type: UserType | None = None,
        user_id: str | None = None,
        redirect_uri: str | None = None,
    ) -> str:
        """A fresh authorization code, as if a user had approved the app.

        Args:
            client_id: A seeded OAuth client.
            location_id: The sub-account chosen (a Location code); None for a Company code.
            company_id: The agency; defaults to the client's (or the location's) company.
            user_type: Defaults to `Location` when a location is given, else `Company`.
            user_id: The approving user (generated when None).
            redirect_uri: The redirect URI the token request must repeat.

        Raises:
            KeyError: Unknown client or location.
        """
        client = self.state.oauth_clients[client_id]
        if location_id is not None:
            company_id = company_id or self.state.locations[location_id].company_id
        kind: UserType = user_type or ("Location" if location_id else "Company")
        code = self.ids.secret("code-")
        self.state.authorization_codes[code] = AuthorizationCode(
            code=code,
            client_id=client_id,
            user_type=kind,
            company_id=company_id or client.company_id,
            location_id=location_id if kind == "Location" else None,
            user_id=user_id or self.ids.object_id(),
            redirect_uri=redirect_uri,
        )
        return code

    def token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """`POST /oauth/token` after spec validation.

        Raises:
            GhlError: 401 `invalid_client`; 400 `invalid_grant`, `invalid_request` or
                `unsupported_grant_type`.
        """
        client = self._client(form.get("client_id", ""), form.get("client_secret", ""))
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(client, form)
        if grant_type == "refresh_token":
            return self._refresh(client, form.get("refresh_token", ""))
        raise oauth_error(400, "unsupported_grant_type", "Grant type is not supported")

    def location_token(self, principal: Principal, form: Mapping[str, str]) -> dict[str, Any]:
        """`POST /oauth/locationToken`: a Company token's location token.

        Raises:
            GhlError: 400 when the company or location does not match the token.
        """
        company_id, location_id = form.get("companyId", ""), form.get("locationId", "")
        if principal.user_type != "Company" or principal.client_id is None:
            raise unauthorized("The token is not an agency (Company) token.")
        if company_id != principal.company_id:
            raise bad_request("companyId does not match the token's company")
        location = self.state.locations.get(location_id)
        if location is None or location.company_id != company_id:
            raise bad_request("Location not found for this company")
        grant = self._new_grant(
            client_id=principal.client_id,
            user_type="Location",
            company_id=company_id,
            location_id=location_id,
            user_id=principal.user_id or self.ids.object_id(),
        )
        issued = self._issue(grant)
        client = self.state.oauth_clients.get(principal.client_id)
        issued.update(appId=client.app_id if client else None, versionId=None, planId=None)
        return issued

    # -- internals --------------------------------------------------------------------

    def _client(self, client_id: str, secret: str) -> OAuthClient:
        client = self.state.oauth_clients.get(client_id)
        if client is None or not hmac.compare_digest(
            client.client_secret.encode(), secret.encode()
        ):
            raise oauth_error(401, "invalid_client", "Invalid client credentials")
        return client

    def _exchange_code(self, client: OAuthClient, form: Mapping[str, str]) -> dict[str, Any]:
        code = self.state.authorization_codes.get(form.get("code", ""))
        if code is None or code.used or code.client_id != client.client_id:
            raise oauth_error(400, "invalid_grant", "Invalid grant: authorization code is invalid")
        if code.redirect_uri is not None and form.get("redirect_uri") != code.redirect_uri:
            raise oauth_error(400, "invalid_grant", "Invalid grant: redirect_uri does not match")
        wanted = form.get("user_type")
        if wanted is not None and wanted != code.user_type:
            raise oauth_error(400, "invalid_request", "user_type does not match the installation")
        code.used = True
        grant = self._new_grant(
            client_id=client.client_id,
            user_type=code.user_type,
            company_id=code.company_id,
            location_id=code.location_id,
            user_id=code.user_id,
        )
        return self._issue(grant)

    def _refresh(self, client: OAuthClient, refresh_token: str) -> dict[str, Any]:
        grant = self._grants.get(refresh_token)
        now = self.clock()
        invalid = oauth_error(400, "invalid_grant", "Invalid grant: refresh token is invalid")
        if grant is None or grant.client_id != client.client_id:
            raise invalid
        if grant.rotated_at is not None:
            # A repeat within the reuse window gets the pair the first refresh produced.
            within = now - grant.rotated_at <= self.settings().refresh_reuse_s
            if within and grant.successor is not None:
                return dict(grant.successor)
            raise invalid
        if now - grant.issued_at >= _REFRESH_LIFETIME_S:
            raise invalid
        successor = self._new_grant(
            client_id=grant.client_id,
            user_type=grant.user_type,
            company_id=grant.company_id,
            location_id=grant.location_id,
            user_id=grant.user_id,
        )
        issued = self._issue(successor)
        grant.rotated_at = now
        grant.successor = issued
        return dict(issued)

    def _new_grant(
        self,
        *,
        client_id: str,
        user_type: UserType,
        company_id: str,
        location_id: str | None,
        user_id: str,
    ) -> _Grant:
        grant = _Grant(
            refresh_token=self.ids.secret("rt-"),
            client_id=client_id,
            user_type=user_type,
            company_id=company_id,
            location_id=location_id,
            user_id=user_id,
            issued_at=self.clock(),
        )
        self._grants[grant.refresh_token] = grant
        return grant

    def _issue(self, grant: _Grant) -> dict[str, Any]:
        client = self.state.oauth_clients[grant.client_id]
        ttl = self.settings().access_token_ttl_s
        principal = Principal(
            user_type=grant.user_type,
            company_id=grant.company_id,
            location_id=grant.location_id,
            client_id=grant.client_id,
            scopes=client.scopes,
            name=f"oauth:{client.name}:{grant.user_type}",
            user_id=grant.user_id,
        )
        token = AccessToken(
            token=self.ids.secret("at-"),
            principal=principal,
            expires_at=self.clock() + ttl,
        )
        self.access[token.token] = token
        body: dict[str, Any] = {
            "access_token": token.token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": grant.refresh_token,
            "scope": " ".join(sorted(client.scopes)) if client.scopes is not None else "",
            "userType": grant.user_type,
            "companyId": grant.company_id,
            "userId": grant.user_id,
            "isBulkInstallation": False,
        }
        if grant.user_type == "Location":
            body["locationId"] = grant.location_id
        else:
            body["approvedLocations"] = sorted(
                loc.id
                for loc in self.state.locations.values()
                if loc.company_id == grant.company_id
            )
            body["installToFutureLocations"] = False
            body["approveAllLocations"] = True
        return body
