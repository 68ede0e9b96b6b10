"""Bearer tokens per GHL location: a private integration token, or OAuth renewed before expiry.

`StoredTokens` is the production provider. For a location it uses, in order:

1. an OAuth grant in `ghl_credential` (user type Location), renewed `refresh_margin` before it
   expires and again when GHL answers 401. A grant with a refresh token renews itself; one
   minted from an agency grant (`company_id`, no refresh token) is minted again through the
   agency's token, which is renewed the same way;
2. the clinic's private integration token (`location.ghl_token`), which never expires; a 401
   re-reads it in case an operator rotated it, else the location has no usable credentials.

Renewals of one grant are serialised: an asyncio lock per grant within the process and, across
processes, `SELECT … FOR UPDATE` on its row. After taking the lock the row is read again and
the renewal skipped when another process already did it, so a refresh token (single use once
rotated) is spent once. The new access token and the rotated refresh token are written in the
transaction that holds the row lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from loguru import logger

from dentalvoice.crm import credentials
from dentalvoice.crm.errors import GhlAuthError
from dentalvoice.crm.models import GhlCredential, GhlUserType
from dentalvoice.crm.oauth import GhlOAuth
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database

DEFAULT_REFRESH_MARGIN = timedelta(minutes=5)


class TokenProvider(Protocol):
    """Where the client gets the bearer token for a GHL location."""

    async def token(self, location_id: str) -> str:
        """A token for `location_id` that is not about to expire.

        Raises:
            GhlAuthError: The location has no usable credentials.
            GhlRetryable: A needed renewal could not reach GHL.
        """
        ...

    async def refresh(self, location_id: str, *, rejected: str) -> str:
        """A token to replace `rejected`, which GHL just answered 401 to.

        Raises:
            GhlAuthError: No other token can be had.
            GhlRetryable: The renewal could not reach GHL.
        """
        ...


class StaticTokens:
    """Fixed tokens per location (tests, the emulator, a single PIT); no renewal."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        """Create the provider from location id → token."""
        self._tokens = dict(tokens)

    async def token(self, location_id: str) -> str:
        """The location's token.

        Raises:
            GhlAuthError: No token for the location.
        """
        try:
            return self._tokens[location_id]
        except KeyError:
            raise GhlAuthError("no GHL credentials", location_id=location_id) from None

    async def refresh(self, location_id: str, *, rejected: str) -> str:
        """Fixed tokens cannot be renewed.

        Raises:
            GhlAuthError: Always.
        """
        raise GhlAuthError("the GHL token was refused", location_id=location_id)


@dataclass(frozen=True, slots=True)
class _Cached:
    value: str = field(repr=False)
    expires_at: datetime | None  # None: a private integration token


@dataclass(frozen=True, slots=True)
class Connection:
    """A stored OAuth grant, as reported after an install (no tokens).

    Attributes:
        user_type: Location or Company.
        ghl_id: The GHL location or company id.
        company_id: The agency, when known.
        expires_at: When the access token expires.
        scope: The granted scopes (space-separated).
    """

    user_type: GhlUserType
    ghl_id: str
    company_id: str | None
    expires_at: datetime
    scope: str | None

    @classmethod
    def of(cls, row: GhlCredential) -> Connection:
        """The report of a stored row."""
        return cls(row.user_type, row.ghl_id, row.company_id, row.access_expires_at, row.scope)


class StoredTokens:
    """Tokens from the database: OAuth grants (renewed) or the clinic's private token."""

    def __init__(
        self,
        db: Database,
        *,
        oauth: GhlOAuth | None = None,
        refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Create the provider.

        Args:
            db: The database holding `ghl_credential` and `location`.
            oauth: The OAuth app; None when GHL_CLIENT_ID/SECRET are not set (then only
                private integration tokens work, and a stored grant cannot be renewed).
            refresh_margin: Renew an access token this long before it expires.
            clock: The wall clock, timezone-aware (injectable for tests).
        """
        self._db = db
        self._oauth = oauth
        self._margin = refresh_margin
        self._clock = clock
        self._cache: dict[tuple[GhlUserType, str], _Cached] = {}
        self._locks: dict[tuple[GhlUserType, str], asyncio.Lock] = {}

    def _fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is None or expires_at - self._margin > self._clock()

    def _lock(self, key: tuple[GhlUserType, str]) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def token(self, location_id: str) -> str:
        """A token for `location_id`, renewed first when it expires within the margin.

        Raises:
            GhlAuthError: No credentials, or the renewal was refused.
            GhlRetryable: The renewal could not reach GHL.
        """
        cached = self._cache.get((GhlUserType.LOCATION, location_id))
        if cached is not None and self._fresh(cached.expires_at):
            return cached.value
        return await self._location_token(location_id, rejected=None)

    async def refresh(self, location_id: str, *, rejected: str) -> str:
        """A token to replace `rejected` after a 401 (renewing unless another task just did).

        Raises:
            GhlAuthError: No other token can be had.
            GhlRetryable: The renewal could not reach GHL.
        """
        return await self._location_token(location_id, rejected=rejected)

    def forget(self, location_id: str) -> None:
        """Drop the cached token of a location (its credentials were changed elsewhere)."""
        self._cache.pop((GhlUserType.LOCATION, location_id), None)

    async def _location_token(self, location_id: str, *, rejected: str | None) -> str:
        key = (GhlUserType.LOCATION, location_id)
        async with self._lock(key):
            # Whoever held the lock before may have renewed the token this caller found stale.
            cached = self._cache.get(key)
            if cached is not None and cached.value != rejected and self._fresh(cached.expires_at):
                return cached.value
            async with self._db.reader() as session:
                row = await credentials.get_credential(
                    session=session, user_type=GhlUserType.LOCATION, ghl_id=location_id
                )
                pit = (
                    None
                    if row is not None
                    else await credentials.private_token(session=session, location_id=location_id)
                )
            if row is None:
                if pit is None:
                    raise GhlAuthError("no GHL credentials", location_id=location_id)
                if pit == rejected:
                    raise GhlAuthError(
                        "the private integration token was refused", location_id=location_id
                    )
                self._cache[key] = _Cached(pit, None)
                return pit
            if row.access_token != rejected and self._fresh(row.access_expires_at):
                self._cache[key] = _Cached(row.access_token, row.access_expires_at)
                return row.access_token
            agency_token = None
            if row.refresh_token is None:
                if row.company_id is None:
                    raise GhlAuthError(
                        "the stored GHL token cannot be renewed", location_id=location_id
                    )
                agency_token = await self._company_token(row.company_id)
            renewed = await self._renew(
                GhlUserType.LOCATION, location_id, stale=row.access_token, agency=agency_token
            )
            self._cache[key] = renewed
            return renewed.value

    async def _company_token(self, company_id: str) -> str:
        key = (GhlUserType.COMPANY, company_id)
        async with self._lock(key):
            cached = self._cache.get(key)
            if cached is not None and self._fresh(cached.expires_at):
                return cached.value
            async with self._db.reader() as session:
                row = await credentials.get_credential(
                    session=session, user_type=GhlUserType.COMPANY, ghl_id=company_id
                )
            if row is None:
                raise GhlAuthError("no GHL agency credentials", location_id=company_id)
            if self._fresh(row.access_expires_at):
                renewed = _Cached(row.access_token, row.access_expires_at)
            else:
                renewed = await self._renew(
                    GhlUserType.COMPANY, company_id, stale=row.access_token, agency=None
                )
            self._cache[key] = renewed
            return renewed.value

    async def _renew(
        self, user_type: GhlUserType, ghl_id: str, *, stale: str, agency: str | None
    ) -> _Cached:
        """Renew one grant under its row lock; skip if another process already did."""
        oauth = self._require_oauth(ghl_id)
        # The HTTP exchange runs inside the transaction on purpose: the row lock must be held
        # from reading the refresh token until the rotated one is committed.
        async with self._db.transaction() as session:
            row = await credentials.get_credential(
                session=session, user_type=user_type, ghl_id=ghl_id, for_update=True
            )
            if row is None:
                raise GhlAuthError("the GHL credentials were removed", location_id=ghl_id)
            if row.access_token != stale and self._fresh(row.access_expires_at):
                logger.debug("ghl token for {} {} already renewed", user_type.value, ghl_id)
                return _Cached(row.access_token, row.access_expires_at)
            if agency is not None and row.company_id is not None:
                grant = await oauth.location_token(
                    agency_token=agency, company_id=row.company_id, location_id=ghl_id
                )
            elif row.refresh_token is not None:
                grant = await oauth.refresh(
                    refresh_token=row.refresh_token, user_type=user_type, subject=ghl_id
                )
            else:
                raise GhlAuthError("the stored GHL token cannot be renewed", location_id=ghl_id)
            credentials.apply_grant(row, grant, now=self._clock())
            renewed = _Cached(row.access_token, row.access_expires_at)
        logger.info(
            "ghl token renewed: {} {} until {}",
            user_type.value,
            ghl_id,
            renewed.expires_at.isoformat() if renewed.expires_at else "-",
        )
        return renewed

    def _require_oauth(self, ghl_id: str) -> GhlOAuth:
        if self._oauth is None:
            raise GhlAuthError(
                "a GHL OAuth token needs renewing but GHL_CLIENT_ID/GHL_CLIENT_SECRET are not set",
                location_id=ghl_id,
            )
        return self._oauth

    async def install(self, *, code: str) -> Connection:
        """Complete an OAuth install: exchange the callback's code and store the grant.

        Args:
            code: The `code` GHL put on the redirect.

        Returns:
            What was stored (a location or an agency grant).

        Raises:
            GhlAuthError: OAuth is not configured, or GHL refused the code.
            GhlRetryable: GHL could not be reached.
        """
        grant = await self._require_oauth("-").exchange_code(code=code)
        if grant.user_type == GhlUserType.COMPANY.value:
            user_type, ghl_id = GhlUserType.COMPANY, grant.company_id
        else:
            user_type, ghl_id = GhlUserType.LOCATION, grant.location_id
        if not ghl_id:
            raise GhlAuthError("the token response named no location or company")
        async with self._db.transaction() as session:
            row = await credentials.save_grant(
                session=session, user_type=user_type, ghl_id=ghl_id, grant=grant, now=self._clock()
            )
            connection = Connection.of(row)
        self._cache.pop((user_type, ghl_id), None)
        logger.info("ghl oauth installed: {} {}", user_type.value, ghl_id)
        return connection

    async def connect_location(self, *, company_id: str, location_id: str) -> Connection:
        """Mint and store a location token from the agency's grant.

        Raises:
            GhlAuthError: No agency grant, or GHL refused (app not installed there).
            GhlRetryable: GHL could not be reached.
        """
        oauth = self._require_oauth(location_id)
        agency = await self._company_token(company_id)
        grant = await oauth.location_token(
            agency_token=agency, company_id=company_id, location_id=location_id
        )
        async with self._db.transaction() as session:
            row = await credentials.save_grant(
                session=session,
                user_type=GhlUserType.LOCATION,
                ghl_id=location_id,
                grant=grant,
                now=self._clock(),
                company_id=company_id,
            )
            connection = Connection.of(row)
        self.forget(location_id)
        return connection

    async def disconnect(self, *, user_type: GhlUserType, ghl_id: str) -> bool:
        """Delete a stored grant (the app was uninstalled); True if there was one."""
        async with self._db.transaction() as session:
            deleted = await credentials.delete_credential(
                session=session, user_type=user_type, ghl_id=ghl_id
            )
        self._cache.pop((user_type, ghl_id), None)
        return deleted
