"""A per-process read cache of clinics for the webhook hot path.

Found clinics are kept for a few seconds (a changed secret takes effect within that time);
a clinic that is not found is looked up again on every request, so a newly added clinic is
routable at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from dentalvoice.db import Database
from dentalvoice.locations import service
from dentalvoice.locations.models import Location


@dataclass(frozen=True, slots=True)
class LocationInfo:
    """What intake needs to know about a clinic."""

    id: uuid.UUID
    ghl_location_id: str
    country: str
    webhook_secret: str | None
    consent_field_keys: tuple[str, ...] | None

    @classmethod
    def of(cls, location: Location) -> LocationInfo:
        """Snapshot a clinic row."""
        keys = service.options_of(location).consent_field_keys
        return cls(
            id=location.id,
            ghl_location_id=location.ghl_location_id,
            country=location.country,
            webhook_secret=location.webhook_secret,
            consent_field_keys=tuple(keys) if keys is not None else None,
        )


class LocationDirectory:
    """Finds clinics by GHL id or by secret, caching hits for `ttl_s` seconds."""

    def __init__(
        self, db: Database, *, ttl_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._clock = clock
        self._by_ghl_id: dict[str, tuple[float, LocationInfo]] = {}

    async def by_ghl_id(self, ghl_location_id: str) -> LocationInfo | None:
        """The clinic for a GHL location id, if there is one."""
        now = self._clock()
        hit = self._by_ghl_id.get(ghl_location_id)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        async with self._db.reader() as session:
            location = await service.get_by_ghl_id(session=session, ghl_location_id=ghl_location_id)
        if location is None:
            self._by_ghl_id.pop(ghl_location_id, None)
            return None
        info = LocationInfo.of(location)
        self._by_ghl_id[ghl_location_id] = (now, info)
        return info

    async def by_id(self, location_id: uuid.UUID) -> LocationInfo | None:
        """A clinic by our id, read fresh."""
        async with self._db.reader() as session:
            location = await service.get_location(session=session, location_id=location_id)
        return LocationInfo.of(location) if location is not None else None

    async def all(self) -> list[LocationInfo]:
        """Every clinic, read fresh."""
        async with self._db.reader() as session:
            return [LocationInfo.of(loc) for loc in await service.list_locations(session=session)]
