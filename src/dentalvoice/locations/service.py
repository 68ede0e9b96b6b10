"""Creating and finding clinics."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.errors import ConflictError
from dentalvoice.locations.models import Location
from dentalvoice.locations.schemas import LocationCreate, LocationOptions, LocationRead


def generate_webhook_secret() -> str:
    """A URL-safe secret for a clinic's workflow webhooks."""
    return secrets.token_urlsafe(32)


async def create_location(*, session: AsyncSession, location_in: LocationCreate) -> Location:
    """Add a clinic; the GHL location id must be new."""
    location = Location(
        name=location_in.name,
        ghl_location_id=location_in.ghl_location_id,
        timezone=location_in.timezone,
        country=location_in.country,
        webhook_secret=location_in.webhook_secret,
        ghl_token=location_in.ghl_token,
        twilio_from_number=location_in.twilio_from_number,
        transfer_number=location_in.transfer_number,
        calendar_id=location_in.calendar_id,
        pipeline_id=location_in.pipeline_id,
        pipeline_stages=dict(location_in.pipeline_stages),
        business_hours={
            d: [list(s) for s in spans] for d, spans in location_in.business_hours.items()
        },
        options=location_in.options.model_dump(exclude_none=True),
    )
    session.add(location)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            f"a location with GHL id {location_in.ghl_location_id} already exists"
        ) from exc
    return location


async def get_location(*, session: AsyncSession, location_id: uuid.UUID) -> Location | None:
    """A clinic by our id."""
    return await session.get(Location, location_id)


async def get_by_ghl_id(*, session: AsyncSession, ghl_location_id: str) -> Location | None:
    """A clinic by its GHL sub-account id."""
    result = await session.execute(
        select(Location).where(Location.ghl_location_id == ghl_location_id)
    )
    return result.scalar_one_or_none()


async def list_locations(*, session: AsyncSession) -> Sequence[Location]:
    """Every clinic, by name."""
    result = await session.execute(select(Location).order_by(Location.name))
    return result.scalars().all()


def options_of(location: Location) -> LocationOptions:
    """The clinic's options, typed."""
    return LocationOptions.model_validate(location.options or {})


def to_read(location: Location) -> LocationRead:
    """The operator view of a clinic."""
    return LocationRead(
        id=location.id,
        name=location.name,
        ghl_location_id=location.ghl_location_id,
        timezone=location.timezone,
        country=location.country,
        has_webhook_secret=location.webhook_secret is not None,
        has_ghl_token=location.ghl_token is not None,
        twilio_from_number=location.twilio_from_number,
        transfer_number=location.transfer_number,
        calendar_id=location.calendar_id,
        created_at=location.created_at,
    )
