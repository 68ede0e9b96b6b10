"""Custom-field keys (`contact.pain_level`) to GHL field ids, cached per location.

GHL writes custom fields by id; keys are what people configure. One list call per location
fills the cache; concurrent resolves for a location share that call. A key missing from a
cache older than `recheck_after` triggers one more list (the field may have just been created)
before `UnknownCustomField` is raised.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from dentalvoice.crm.errors import UnknownCustomField
from dentalvoice.crm.schemas import CustomField

DEFAULT_TTL_S: Final = 600.0
DEFAULT_RECHECK_AFTER_S: Final = 60.0

FieldLister = Callable[[str], Awaitable[Sequence[CustomField]]]


@dataclass(frozen=True, slots=True)
class _Entry:
    ids: dict[str, str]
    loaded_at: float


class CustomFieldResolver:
    """Resolves custom-field keys to ids for a location, listing its fields at most once per TTL."""

    def __init__(
        self,
        lister: FieldLister,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        recheck_after_s: float = DEFAULT_RECHECK_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the resolver.

        Args:
            lister: Lists a location's custom fields (`GhlClient.list_custom_fields`).
            ttl_s: How long a location's list is trusted.
            recheck_after_s: An unknown key re-lists once if the list is older than this.
            clock: A monotonic clock in seconds (injectable for tests).
        """
        self._lister = lister
        self._ttl_s = ttl_s
        self._recheck_after_s = recheck_after_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def resolve(self, *, location_id: str, key: str) -> str:
        """The id of the custom field with key `key` in the location.

        Raises:
            UnknownCustomField: The location has no field with that key.
            GhlError: Listing the fields failed.
        """
        return (await self.resolve_many(location_id=location_id, keys=[key]))[key]

    async def resolve_many(self, *, location_id: str, keys: Iterable[str]) -> dict[str, str]:
        """The ids of several keys (key → id), with at most one list call.

        Raises:
            UnknownCustomField: A key is not defined (the first unknown one is named).
            GhlError: Listing the fields failed.
        """
        wanted = list(dict.fromkeys(keys))
        entry = await self._entry(location_id, refresh=False)
        missing = [k for k in wanted if k not in entry.ids]
        if missing and self._clock() - entry.loaded_at >= self._recheck_after_s:
            entry = await self._entry(location_id, refresh=True, older_than=entry.loaded_at)
            missing = [k for k in wanted if k not in entry.ids]
        if missing:
            raise UnknownCustomField(key=missing[0], location_id=location_id)
        return {k: entry.ids[k] for k in wanted}

    def invalidate(self, location_id: str | None = None) -> None:
        """Forget one location's fields (or every location's)."""
        if location_id is None:
            self._entries.clear()
        else:
            self._entries.pop(location_id, None)

    async def _entry(
        self, location_id: str, *, refresh: bool, older_than: float | None = None
    ) -> _Entry:
        lock = self._locks.setdefault(location_id, asyncio.Lock())
        async with lock:
            entry = self._entries.get(location_id)
            now = self._clock()
            current = entry is not None and now - entry.loaded_at < self._ttl_s
            # A task that waited on the lock finds the list another one just fetched.
            if entry is not None and current and not refresh:
                return entry
            if entry is not None and older_than is not None and entry.loaded_at > older_than:
                return entry
            fields = await self._lister(location_id)
            ids: dict[str, str] = {}
            for field in fields:
                if field.field_key:
                    ids[field.field_key] = field.id
            entry = _Entry(ids, self._clock())
            self._entries[location_id] = entry
            return entry
