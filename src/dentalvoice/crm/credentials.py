"""Storing GHL credentials: OAuth grants in `ghl_credential`, PITs in `location.ghl_token`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.crm.models import GhlCredential, GhlUserType
from dentalvoice.crm.schemas import TokenGrant
from dentalvoice.locations import service as locations_service

# GHL's access tokens live a day (`expires_in: 86399`); used when a grant omits `expires_in`.
DEFAULT_EXPIRES_IN_S: Final = 86_399.0


async def get_credential(
    *, session: AsyncSession, user_type: GhlUserType, ghl_id: str, for_update: bool = False
) -> GhlCredential | None:
    """The stored grant for a GHL location or company.

    Args:
        session: The session (inside a transaction when `for_update`).
        user_type: Location or Company.
        ghl_id: The GHL location or company id.
        for_update: Lock the row until the transaction ends (`SELECT … FOR UPDATE` on
            PostgreSQL; SQLite has no row locks, its single writer serialises instead).

    Returns:
        The row, or None.
    """
    query = select(GhlCredential).where(
        GhlCredential.user_type == user_type, GhlCredential.ghl_id == ghl_id
    )
    if for_update:
        query = query.with_for_update()
    # populate_existing: a row read earlier in this session must not hide another process's
    # refresh that committed while this one waited for the lock.
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


def expiry_of(grant: TokenGrant, now: datetime) -> datetime:
    """When the grant's access token expires."""
    seconds = grant.expires_in if grant.expires_in and grant.expires_in > 0 else None
    return now + timedelta(seconds=seconds or DEFAULT_EXPIRES_IN_S)


def apply_grant(credential: GhlCredential, grant: TokenGrant, *, now: datetime) -> None:
    """Put a new grant's tokens on a row (the caller's transaction stores them together).

    A refresh rotates the refresh token, so a new one always replaces the old; a grant
    without one (`/oauth/locationToken`) keeps whatever the row had.
    """
    credential.access_token = grant.access_token.get_secret_value()
    credential.access_expires_at = expiry_of(grant, now)
    if grant.refresh_token is not None:
        credential.refresh_token = grant.refresh_token.get_secret_value()
    if grant.scope:
        credential.scope = grant.scope[:2000]
    credential.refreshed_at = now


async def save_grant(
    *,
    session: AsyncSession,
    user_type: GhlUserType,
    ghl_id: str,
    grant: TokenGrant,
    now: datetime,
    company_id: str | None = None,
) -> GhlCredential:
    """Store a grant for a location or company, replacing the one it had.

    Args:
        session: A session inside a transaction.
        user_type: Location or Company.
        ghl_id: The GHL location or company id.
        grant: What GHL's token endpoint returned.
        now: The current time (the expiry is counted from it).
        company_id: The agency the location belongs to (lets a location token without a
            refresh token be renewed through the agency's token).

    Returns:
        The stored row.
    """
    credential = await get_credential(
        session=session, user_type=user_type, ghl_id=ghl_id, for_update=True
    )
    if credential is None:
        credential = GhlCredential(user_type=user_type, ghl_id=ghl_id)
        session.add(credential)
    if company_id is not None or grant.company_id is not None:
        credential.company_id = company_id or grant.company_id
    if grant.refresh_token is None:
        # A minted location token cannot renew itself; an old refresh token would be stale.
        credential.refresh_token = None
    apply_grant(credential, grant, now=now)
    await session.flush()
    return credential


async def delete_credential(*, session: AsyncSession, user_type: GhlUserType, ghl_id: str) -> bool:
    """Forget a location's or company's grant (the app was uninstalled); True if one existed."""
    result = await session.execute(
        delete(GhlCredential).where(
            GhlCredential.user_type == user_type, GhlCredential.ghl_id == ghl_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def private_token(*, session: AsyncSession, location_id: str) -> str | None:
    """The private integration token stored on the clinic with GHL id `location_id`."""
    location = await locations_service.get_by_ghl_id(session=session, ghl_location_id=location_id)
    # An inactive clinic keeps its token: calls already made still have results to write.
    if location is None:
        return None
    return location.ghl_token or None
