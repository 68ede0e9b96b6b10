"""The internal do-not-call list: scopes, idempotence, soft removal, and the gate's check."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from dentalvoice.compliance import dnc
from dentalvoice.compliance.models import DncEntry, DncScope, DncSource
from dentalvoice.db import Database
from dentalvoice.locations import service as location_service
from tests import factories as f

PHONE = "+13055550123"
OTHER = "+13055550142"


async def _clinic(db: Database, ghl_id: str = f.GHL_LOCATION_ID) -> uuid.UUID:
    async with db.transaction() as session:
        location = await location_service.create_location(
            session=session, location_in=f.location_create(ghl_location_id=ghl_id)
        )
        return location.id


async def _add(
    db: Database,
    phone: str = PHONE,
    *,
    scope: DncScope = DncScope.AGENCY,
    location_id: uuid.UUID | None = None,
    source: DncSource = DncSource.OPERATOR,
    note: str | None = None,
) -> DncEntry:
    async with db.transaction() as session:
        return await dnc.add(
            session=session,
            cipher=db.cipher,
            phone_e164=phone,
            scope=scope,
            location_id=location_id,
            source=source,
            note=note,
        )


async def _remove(
    db: Database, phone: str = PHONE, *, scope: DncScope, location_id: uuid.UUID | None = None
) -> int:
    async with db.transaction() as session:
        return await dnc.remove(
            session=session,
            cipher=db.cipher,
            phone_e164=phone,
            scope=scope,
            location_id=location_id,
        )


async def _blocked(db: Database, phone: str, location_id: uuid.UUID | None) -> bool:
    async with db.reader() as session:
        return await dnc.is_blocked(
            session=session,
            phone_hash=db.cipher.blind_index(phone, purpose="phone"),
            location_id=location_id,
        )


async def test_an_agency_entry_blocks_every_clinic(db: Database) -> None:
    clinic = await _clinic(db)
    entry = await _add(db, note="asked by email")
    assert entry.scope is DncScope.AGENCY and entry.location_id is None
    assert entry.phone_masked == "+1******0123"
    # The same keyed hash the leads use, so a lead's stored hash finds the entry.
    assert entry.phone_hash == db.cipher.blind_index(PHONE, purpose="phone")
    assert await _blocked(db, PHONE, clinic)
    assert await _blocked(db, PHONE, uuid.uuid4())
    assert await _blocked(db, PHONE, None)
    assert not await _blocked(db, OTHER, clinic)


async def test_a_location_entry_blocks_that_clinic_only(db: Database) -> None:
    clinic = await _clinic(db)
    other_clinic = await _clinic(db, "LocTestOther")
    await _add(db, scope=DncScope.LOCATION, location_id=clinic, source=DncSource.CALL_OPT_OUT)
    assert await _blocked(db, PHONE, clinic)
    assert not await _blocked(db, PHONE, other_clinic)
    assert not await _blocked(db, PHONE, None)


async def test_adding_twice_returns_the_active_entry(db: Database) -> None:
    clinic = await _clinic(db)
    first = await _add(db)
    again = await _add(db, source=DncSource.GHL_DND)
    assert again.id == first.id
    # Another scope is another entry.
    local = await _add(db, scope=DncScope.LOCATION, location_id=clinic)
    assert local.id != first.id
    assert (await _add(db, scope=DncScope.LOCATION, location_id=clinic)).id == local.id
    async with db.reader() as session:
        assert len(await dnc.list_entries(session=session)) == 2


@pytest.mark.parametrize(
    ("scope", "with_location", "message"),
    [(DncScope.LOCATION, False, "needs a location_id"), (DncScope.AGENCY, True, "takes no")],
)
async def test_scope_and_location_must_agree(
    db: Database, scope: DncScope, with_location: bool, message: str
) -> None:
    clinic = await _clinic(db)
    location_id = clinic if with_location else None
    with pytest.raises(ValueError, match=message):
        await _add(db, scope=scope, location_id=location_id)
    with pytest.raises(ValueError, match=message):
        await _remove(db, scope=scope, location_id=location_id)


async def test_bad_input_is_refused_without_repeating_the_number(db: Database) -> None:
    with pytest.raises(ValueError) as caught:
        await _add(db, "3055550123")
    assert "5550123" not in str(caught.value)
    with pytest.raises(ValueError, match="200"):
        await _add(db, note="x" * 201)


async def test_removal_is_soft_and_per_scope(db: Database) -> None:
    clinic = await _clinic(db)
    agency = await _add(db)
    await _add(db, scope=DncScope.LOCATION, location_id=clinic)

    assert await _remove(db, scope=DncScope.LOCATION, location_id=clinic) == 1
    assert await _blocked(db, PHONE, clinic)  # the agency entry still applies
    assert await _remove(db, scope=DncScope.AGENCY) == 1
    assert not await _blocked(db, PHONE, clinic)
    assert await _remove(db, scope=DncScope.AGENCY) == 0

    async with db.reader() as session:
        assert await dnc.list_entries(session=session) == []
        kept = await dnc.list_entries(session=session, include_removed=True)
    assert len(kept) == 2 and all(e.removed_at is not None for e in kept)

    # Back on the list: a new entry; the removed one stays as history.
    again = await _add(db)
    assert again.id != agency.id
    assert await _blocked(db, PHONE, None)


async def test_list_entries_for_a_clinic_includes_agency_entries(db: Database) -> None:
    clinic = await _clinic(db)
    other_clinic = await _clinic(db, "LocTestOther")
    await _add(db, "+13055550101")
    await _add(db, "+13055550102", scope=DncScope.LOCATION, location_id=clinic)
    await _add(db, "+13055550103", scope=DncScope.LOCATION, location_id=other_clinic)
    async with db.reader() as session:
        everything = await dnc.list_entries(session=session)
        for_clinic = await dnc.list_entries(session=session, location_id=clinic)
    assert len(everything) == 3
    assert sorted(e.phone_masked for e in for_clinic) == ["+1******0101", "+1******0102"]


async def test_an_entry_is_honoured_at_once_and_stores_no_number(db: Database) -> None:
    clinic = await _clinic(db)
    # Seen by a session opened right after the writing transaction: nothing is cached.
    assert not await _blocked(db, PHONE, clinic)
    await _add(db, scope=DncScope.LOCATION, location_id=clinic)
    assert await _blocked(db, PHONE, clinic)
    async with db.reader() as session:
        row = (await session.execute(select(DncEntry))).scalar_one()
    stored = " ".join(str(getattr(row, c.key)) for c in DncEntry.__table__.columns)
    assert "5550123" not in stored.replace("******0123", "")
