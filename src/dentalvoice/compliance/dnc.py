"""The internal do-not-call list: per clinic or agency-wide, by blind index, honoured at once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.compliance.models import DncEntry, DncScope, DncSource
from dentalvoice.db.base import utcnow
from dentalvoice.db.crypto import PhiCipher
from dentalvoice.leads.normalize import mask_phone

PHONE_PURPOSE = "phone"  # the blind-index purpose leads use, so both hashes match
NOTE_MAX = 200  # DncEntry.note's column length

_E164 = re.compile(r"\+[1-9]\d{6,14}")


def phone_hash(*, cipher: PhiCipher, phone_e164: str) -> str:
    """The blind index a number is stored and looked up by.

    Args:
        cipher: The process's PHI cipher.
        phone_e164: The number in E.164, e.g. `+13055550123`.

    Returns:
        The hex HMAC of the number under the `phone` purpose.

    Raises:
        ValueError: The value is not in E.164 (the message never repeats it).
    """
    if not _E164.fullmatch(phone_e164):
        raise ValueError("phone_e164 is not an E.164 number")
    return cipher.blind_index(phone_e164, purpose=PHONE_PURPOSE)


def _check_scope(scope: DncScope, location_id: UUID | None) -> None:
    if scope is DncScope.LOCATION and location_id is None:
        raise ValueError("a location-scoped DNC entry needs a location_id")
    if scope is DncScope.AGENCY and location_id is not None:
        raise ValueError("an agency-wide DNC entry takes no location_id")


def _same_entry(hashed: str, scope: DncScope, location_id: UUID | None) -> ColumnElement[bool]:
    where_location = (
        DncEntry.location_id.is_(None)
        if location_id is None
        else DncEntry.location_id == location_id
    )
    return and_(
        DncEntry.phone_hash == hashed,
        DncEntry.removed_at.is_(None),
        DncEntry.scope == scope,
        where_location,
    )


async def add(
    *,
    session: AsyncSession,
    cipher: PhiCipher,
    phone_e164: str,
    scope: DncScope,
    location_id: UUID | None,
    source: DncSource,
    note: str | None = None,
) -> DncEntry:
    """Put a number on the list; adding it again returns the active entry instead of a copy.

    Args:
        session: The caller's session (its transaction decides when the entry is visible).
        cipher: The PHI cipher, for the blind index.
        phone_e164: The number in E.164.
        scope: `LOCATION` (needs `location_id`) or `AGENCY` (forbids it).
        location_id: The clinic, for a `LOCATION` entry.
        source: How the number reached the list.
        note: The operator's words (at most 200 characters, never PHI).

    Returns:
        The new entry, or the active one already there for the same number, scope and clinic.

    Raises:
        ValueError: Scope and location disagree, the note is too long or the number is not E.164.
    """
    _check_scope(scope, location_id)
    if note is not None and len(note) > NOTE_MAX:
        raise ValueError(f"note is longer than {NOTE_MAX} characters")
    hashed = phone_hash(cipher=cipher, phone_e164=phone_e164)
    existing = await session.scalar(
        select(DncEntry).where(_same_entry(hashed, scope, location_id)).limit(1)
    )
    if existing is not None:
        return existing
    entry = DncEntry(
        phone_hash=hashed,
        phone_masked=mask_phone(phone_e164),
        scope=scope,
        location_id=location_id,
        source=source,
        note=note,
        created_at=utcnow(),
    )
    session.add(entry)
    await session.flush()
    return entry


async def remove(
    *,
    session: AsyncSession,
    cipher: PhiCipher,
    phone_e164: str,
    scope: DncScope,
    location_id: UUID | None,
) -> int:
    """Take a number off the list for one scope; the rows stay, stamped, for the audit trail.

    Args:
        session: The caller's session.
        cipher: The PHI cipher, for the blind index.
        phone_e164: The number in E.164.
        scope: The scope the entry was added with.
        location_id: The clinic, for a `LOCATION` entry; None for `AGENCY`.

    Returns:
        How many active entries were removed (0 when the number was not on that list).

    Raises:
        ValueError: Scope and location disagree or the number is not E.164.
    """
    _check_scope(scope, location_id)
    hashed = phone_hash(cipher=cipher, phone_e164=phone_e164)
    result = await session.execute(
        update(DncEntry)
        .where(_same_entry(hashed, scope, location_id))
        .values(removed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def is_blocked(*, session: AsyncSession, phone_hash: str, location_id: UUID | None) -> bool:
    """Whether the list forbids calling this number for this clinic, read now (no cache).

    One query on the `(phone_hash, removed_at)` index: it runs before every dial.

    Args:
        session: Any session.
        phone_hash: The number's blind index (see `phone_hash`).
        location_id: The clinic calling; None checks the agency-wide list only.

    Returns:
        True when an active agency entry, or an active entry for this clinic, exists.
    """
    applies = DncEntry.scope == DncScope.AGENCY
    if location_id is not None:
        applies = or_(
            applies,
            and_(DncEntry.scope == DncScope.LOCATION, DncEntry.location_id == location_id),
        )
    query = select(
        exists().where(DncEntry.phone_hash == phone_hash, DncEntry.removed_at.is_(None), applies)
    )
    return bool(await session.scalar(query))


async def list_entries(
    *, session: AsyncSession, location_id: UUID | None = None, include_removed: bool = False
) -> Sequence[DncEntry]:
    """Entries, newest first.

    Args:
        session: Any session.
        location_id: Only the entries that apply to this clinic (its own and agency-wide ones);
            None lists every entry.
        include_removed: Also list removed entries.

    Returns:
        The entries, newest first.
    """
    query = select(DncEntry).order_by(DncEntry.created_at.desc(), DncEntry.id)
    if location_id is not None:
        query = query.where(
            or_(DncEntry.scope == DncScope.AGENCY, DncEntry.location_id == location_id)
        )
    if not include_removed:
        query = query.where(DncEntry.removed_at.is_(None))
    return (await session.scalars(query)).all()
