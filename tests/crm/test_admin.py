"""`dentalvoice outbox list` and `outbox retry`: operators see ids, states and errors, no PHI."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from dentalvoice.conversation.qualification import Outcome
from dentalvoice.crm.models import CrmWrite, WriteStatus
from dentalvoice.db import Database
from tests.conftest import invoke
from tests.crm.rig import Rig, build_rig, qualification


@pytest.fixture
async def parked(cli_env: dict[str, str], db: Database) -> tuple[Rig, list[CrmWrite]]:
    """A stored call whose field write was refused by GHL (an unknown key); the rest sent."""
    rig = await build_rig(db)
    await rig.configure(fields={"insurance_carrier": "contact.no_such_key"})
    attempt = await rig.new_call()
    await rig.store(attempt, qualification(Outcome.QUALIFIED, summary="Zephyrina's toothache"))
    await rig.deliver_all()
    await rig.aclose()
    return rig, await rig.rows(attempt)


async def cli(*args: str) -> tuple[int, str]:
    """The command in a thread: it runs its own event loop and database connections."""
    return await asyncio.to_thread(invoke, *args)


async def test_list_shows_every_write_without_its_payload(
    parked: tuple[Rig, list[CrmWrite]],
) -> None:
    rig, rows = parked
    code, out = await cli("outbox", "list")
    assert code == 0, out
    for row in rows:
        assert str(row.id) in out
    assert rig.location.id in out
    assert "set_fields" in out and "create_note" in out and "delivered" in out
    assert "contact.no_such_key" in out
    assert "Zephyrina" not in out and "Avery" not in out


async def test_list_filters_by_status_and_location(parked: tuple[Rig, list[CrmWrite]]) -> None:
    rig, rows = parked
    failed = next(r for r in rows if r.status is WriteStatus.FAILED)
    code, out = await cli("outbox", "list", "--status", "failed")
    assert code == 0, out
    assert str(failed.id) in out
    assert all(str(r.id) not in out for r in rows if r is not failed)

    code, out = await cli("outbox", "list", "--location", "LocNobody")
    assert code == 0 and str(failed.id) not in out
    code, out = await cli("outbox", "list", "--location", rig.location.id, "--status", "delivered")
    assert code == 0 and str(failed.id) not in out and "create_note" in out

    code, out = await cli("outbox", "list", "--status", "lost")
    assert code == 2 and "--status" in out


async def test_retry_puts_a_failed_write_back_in_line_keeping_its_attempts(
    parked: tuple[Rig, list[CrmWrite]], db: Database
) -> None:
    _, rows = parked
    failed = next(r for r in rows if r.status is WriteStatus.FAILED)

    code, out = await cli("outbox", "retry", str(failed.id))
    assert code == 0, out
    assert "1 write(s) due again" in out

    async def reread() -> CrmWrite:
        async with db.reader() as session:
            return await session.get_one(CrmWrite, failed.id)

    row = await reread()
    assert (row.status, row.attempts, row.next_attempt_at) == (WriteStatus.PENDING, 1, None)

    code, out = await cli("outbox", "retry", str(failed.id))
    assert code == 0  # a pending write may be made due now again

    delivered = next(r for r in rows if r.status is WriteStatus.DELIVERED)
    code, out = await cli("outbox", "retry", str(delivered.id))
    assert code == 1 and "delivered" in out


async def test_retry_all_failed(parked: tuple[Rig, list[CrmWrite]]) -> None:
    rig, _ = parked
    code, out = await cli("outbox", "retry", "--all-failed", "--location", "LocNobody")
    assert code == 0 and "0 write(s)" in out
    code, out = await cli("outbox", "retry", "--all-failed", "--location", rig.location.id)
    assert code == 0 and "1 write(s) due again" in out
    code, out = await cli("outbox", "list", "--status", "failed")
    assert code == 0 and "set_fields" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a write ID or --all-failed"),
        (["--all-failed", str(uuid.uuid4())], "give a write ID or --all-failed"),
        (["not-a-uuid"], "not a UUID"),
        ([str(uuid.uuid4()), "--location", "Loc1"], "--location goes with --all-failed"),
    ],
)
def test_retry_refuses_bad_arguments(
    cli_env: dict[str, str], args: list[str], message: str
) -> None:
    code, out = invoke("outbox", "retry", *args)
    assert code == 2 and message in out


def test_retry_of_an_unknown_write(cli_env: dict[str, str]) -> None:
    code, out = invoke("outbox", "retry", str(uuid.uuid4()))
    assert code == 1 and "no outbox write" in out
