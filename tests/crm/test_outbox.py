"""The outbox table: enqueued with the call, once per key, claimed in order, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from dentalvoice.config import Settings
from dentalvoice.conversation.qualification import Outcome
from dentalvoice.crm import outbox
from dentalvoice.crm.admin import retry_outbox
from dentalvoice.crm.mapping import write_key
from dentalvoice.crm.models import CrmWrite, WriteStatus
from dentalvoice.crm.outbox import Delivered, Parked, Retry
from dentalvoice.crm.writes import AddTags, PlannedWrite, SetCallDnd
from dentalvoice.db import Database, open_database
from dentalvoice.db.migrate import alembic_config, upgrade
from tests.crm.rig import Rig, build_rig, open_statuses, qualification

LEASE = timedelta(minutes=2)


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    rig = await build_rig(db)
    try:
        yield rig
    finally:
        await rig.aclose()


async def add(rig: Rig, attempt: uuid.UUID, writes: list[PlannedWrite]) -> int:
    async with rig.db.transaction() as session:
        record = await session.get_one(outbox.CallAttempt, attempt)
        return await outbox.enqueue(
            session=session,
            location_id=record.location_id,
            lead_id=record.lead_id,
            attempt_id=attempt,
            writes=writes,
        )


def tags(attempt: uuid.UUID, name: str, tag: str) -> PlannedWrite:
    return PlannedWrite(write_key(attempt, name), AddTags(tags=[tag]))


async def claim(rig: Rig, limit: int = 10, worker: str = "w1") -> list[outbox.ClaimedWrite]:
    return await outbox.claim_due(
        db=rig.db, worker_id=worker, now=rig.now(), lease=LEASE, limit=limit
    )


async def settle(rig: Rig, write: outbox.ClaimedWrite, result: outbox.Settlement) -> None:
    async with rig.db.transaction() as session:
        assert await outbox.settle(
            session=session, write_id=write.id, worker_id="w1", result=result, now=rig.now()
        )


async def test_a_key_is_enqueued_once(rig: Rig) -> None:
    attempt = await rig.new_call()
    assert await add(rig, attempt, [tags(attempt, "tags", "a")]) == 1
    assert await add(rig, attempt, [tags(attempt, "tags", "b"), tags(attempt, "more", "c")]) == 1

    rows = await rig.rows(attempt)
    assert [(r.idempotency_key, r.payload["tags"]) for r in rows] == [
        (write_key(attempt, "tags"), ["a"]),
        (write_key(attempt, "more"), ["c"]),
    ]


async def test_writes_enqueued_with_a_call_that_rolls_back_are_gone_with_it(rig: Rig) -> None:
    attempt = await rig.new_call()
    woken: list[int] = []
    remove = outbox.on_enqueued(lambda: woken.append(1))
    try:
        with pytest.raises(RuntimeError):
            async with rig.db.transaction() as session:
                from dentalvoice.voice import records

                await records.store_call(
                    session=session,
                    attempt_id=attempt,
                    qualification=qualification(Outcome.QUALIFIED),
                    transcript=[],
                    actions=records.ActionsTaken(),
                    latency=[],
                    ended_at=rig.now(),
                )
                raise RuntimeError("the call's transaction fails")
        assert await rig.rows(attempt) == []
        assert woken == []

        await rig.store(attempt, qualification(Outcome.QUALIFIED))
        assert woken == [1]
        assert len(await rig.rows(attempt)) == 4
    finally:
        remove()


async def test_storing_a_call_again_enqueues_nothing_more(rig: Rig) -> None:
    attempt = await rig.new_call()
    await rig.store(attempt, qualification(Outcome.QUALIFIED))
    await rig.store(attempt, qualification(Outcome.BOOKED))
    assert sorted(r.kind for r in await rig.rows(attempt)) == [
        "add_tags",
        "create_note",
        "move_opportunity",
        "set_fields",
    ]


async def test_the_payload_is_encrypted_at_rest(rig: Rig) -> None:
    attempt = await rig.new_call()
    await rig.store(attempt, qualification(Outcome.QUALIFIED, summary="Zephyrina has a toothache"))
    async with rig.db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT payload FROM crm_write"))).scalars().all()
    assert raw and all(b"Zephyrina" not in bytes(v) and b"Avery" not in bytes(v) for v in raw)


async def test_only_the_first_open_write_of_a_call_is_claimed(rig: Rig) -> None:
    one, two = await rig.new_call(), await rig.new_call()
    await add(
        rig, one, [PlannedWrite(write_key(one, "call_dnd"), SetCallDnd()), tags(one, "tags", "x")]
    )
    await add(rig, two, [tags(two, "tags", "y")])

    first = await claim(rig)
    assert {w.key for w in first} == {write_key(one, "call_dnd"), write_key(two, "tags")}
    assert await claim(rig) == []  # the rest waits behind the write in flight

    dnd = next(w for w in first if w.key.endswith("call_dnd"))
    await settle(rig, dnd, Retry(at=rig.now() + timedelta(seconds=30), error="server error (503)"))
    assert await claim(rig) == []  # …and behind a write waiting to be retried
    assert await outbox.next_due_at(db=rig.db, now=rig.now()) == rig.now() + timedelta(seconds=30)

    rig.clock.advance(31)
    (again,) = await claim(rig)
    assert again.key == dnd.key and again.attempts == 1
    await settle(rig, again, Parked("rejected (422)"))
    # A failed write does not hold the call's others back.
    (after,) = await claim(rig)
    assert after.key == write_key(one, "tags")


async def test_the_next_write_is_claimed_with_the_settlement(rig: Rig) -> None:
    attempt = await rig.new_call()
    await add(
        rig,
        attempt,
        [tags(attempt, "tags", "a"), PlannedWrite(write_key(attempt, "call_dnd"), SetCallDnd())],
    )
    (head,) = await claim(rig)
    async with rig.db.transaction() as session:
        await outbox.settle(
            session=session, write_id=head.id, worker_id="w1", result=Delivered(), now=rig.now()
        )
        following = await outbox.claim_next(
            session=session,
            is_sqlite=rig.db.is_sqlite,
            attempt_id=attempt,
            worker_id="w1",
            now=rig.now(),
            lease=LEASE,
        )
    assert following is not None and following.key == write_key(attempt, "tags")
    assert await claim(rig) == []


async def test_a_write_whose_sender_died_is_taken_over_as_maybe_applied(rig: Rig) -> None:
    attempt = await rig.new_call()
    await add(rig, attempt, [tags(attempt, "tags", "a")])
    (held,) = await claim(rig, worker="dead")
    assert not held.maybe_applied

    assert await claim(rig) == []
    rig.clock.advance(LEASE.total_seconds() + 1)
    (taken,) = await claim(rig, worker="alive")
    assert taken.id == held.id and taken.maybe_applied
    async with rig.db.transaction() as session:
        # The dead sender's late answer no longer counts.
        assert not await outbox.settle(
            session=session, write_id=held.id, worker_id="dead", result=Delivered(), now=rig.now()
        )


async def test_a_rate_limited_clinic_holds_its_other_writes(rig: Rig) -> None:
    calls = [await rig.new_call() for _ in range(3)]
    for attempt in calls:
        await add(rig, attempt, [tags(attempt, "tags", "a")])
    until = rig.now() + timedelta(seconds=12)
    async with rig.db.transaction() as session:
        held = await outbox.hold_location(session=session, location_id=rig.location_id, until=until)
    assert held == 3
    assert await claim(rig) == []
    assert await outbox.next_due_at(db=rig.db, now=rig.now()) == until


async def test_two_postgres_senders_never_claim_the_same_write(
    backend: str, rig: Rig, settings: Settings
) -> None:
    if backend == "sqlite":
        pytest.skip("one SQLite writer at a time: the claim's UPDATE is atomic there")
    calls = [await rig.new_call() for _ in range(30)]
    for attempt in calls:
        await add(rig, attempt, [tags(attempt, "tags", "a")])
    other, _ = open_database(settings)
    try:
        results = await asyncio.gather(
            *(
                outbox.claim_due(db=db, worker_id=f"w{i}", now=rig.now(), lease=LEASE, limit=20)
                for i, db in enumerate([rig.db, other, rig.db, other])
            )
        )
    finally:
        await other.dispose()
    ids = [w.id for claimed in results for w in claimed]
    assert len(ids) == len(set(ids)) == 30


async def test_invalid_options_park_a_replan_and_a_retry_plans_the_writes(rig: Rig) -> None:
    await rig.configure(fields={"pain_level": "pain"})
    attempt = await rig.new_call()

    record = await rig.store(attempt, qualification(Outcome.QUALIFIED))  # the call is kept

    assert record.ended_at is not None
    (replan,) = await rig.rows(attempt)
    assert (replan.kind, replan.status) == ("replan", WriteStatus.FAILED)
    assert replan.last_error is not None and "crm.fields.pain_level" in replan.last_error
    assert replan.record_id == record.id

    await rig.configure(fields={"pain_level": "contact.ai_pain_level"})
    assert await retry_outbox(db=rig.db, write_id=replan.id) == 1
    await rig.deliver_all()

    rows = await rig.rows(attempt)
    assert open_statuses(rows) == []
    assert sorted(r.kind for r in rows) == [
        "add_tags",
        "create_note",
        "move_opportunity",
        "replan",
        "set_fields",
    ]
    assert rig.state(attempt)["customFields"] == {"contact.ai_pain_level": 4}


async def test_an_opt_out_reaches_the_outbox_even_with_invalid_options(rig: Rig) -> None:
    await rig.configure(tags="not a mapping")
    attempt = await rig.new_call()
    async with rig.db.transaction() as session:
        row = await session.get_one(outbox.CallAttempt, attempt)
        await outbox.enqueue_opt_out(
            session=session, attempt_id=attempt, lead_id=row.lead_id, location_id=row.location_id
        )
    assert sorted(r.kind for r in await rig.rows(attempt)) == ["add_tags", "set_call_dnd"]


async def test_retry_keeps_attempts_and_refuses_delivered_writes(rig: Rig) -> None:
    from dentalvoice.errors import ConflictError, NotFoundError

    attempt = await rig.new_call()
    await add(rig, attempt, [tags(attempt, "tags", "a"), tags(attempt, "more", "b")])
    first, second = await claim(rig)
    await settle(rig, first, Parked("rejected (400)"))
    await settle(rig, second, Delivered())

    assert await retry_outbox(db=rig.db, all_failed=True) == 1
    (row,) = [r for r in await rig.rows(attempt) if r.id == first.id]
    assert (row.status, row.attempts, row.next_attempt_at) == (WriteStatus.PENDING, 1, None)
    with pytest.raises(ConflictError):
        await retry_outbox(db=rig.db, write_id=second.id)
    with pytest.raises(NotFoundError):
        await retry_outbox(db=rig.db, write_id=uuid.uuid4())


async def test_the_migration_goes_down_and_up(db: Database) -> None:
    async def tables() -> set[str]:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))

    assert "crm_write" in await tables()
    async with db.write_lock(), db.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0006"))
    assert "crm_write" not in await tables()
    await upgrade(db)
    assert "crm_write" in await tables()
    async with db.reader() as session:
        assert (await session.execute(select(CrmWrite))).all() == []


async def test_two_senders_holding_one_clinic_at_once_neither_wait_nor_deadlock(
    backend: str, rig: Rig, settings: Settings
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite has one writer: holds cannot interleave")
    calls = [await rig.new_call() for _ in range(5)]
    for attempt in calls:
        await add(rig, attempt, [tags(attempt, "tags", "a")])
    other, _ = open_database(settings)
    until = rig.now() + timedelta(seconds=12)
    try:
        async with rig.db.transaction() as first:
            assert (
                await outbox.hold_location(session=first, location_id=rig.location_id, until=until)
                == 5
            )
            # The first transaction still holds the rows: the second skips them at once.
            async with other.transaction() as second:
                skipped = await asyncio.wait_for(
                    outbox.hold_location(session=second, location_id=rig.location_id, until=until),
                    timeout=5,
                )
            assert skipped == 0
    finally:
        await other.dispose()
    assert await outbox.next_due_at(db=rig.db, now=rig.now()) == until
