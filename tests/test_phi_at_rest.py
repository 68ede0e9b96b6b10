"""Dump the whole database after intake and find no plaintext name, phone or email."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from dentalvoice.conversation.agent import TransferReason
from dentalvoice.conversation.qualification import Qualification
from dentalvoice.db import Database
from dentalvoice.db.registry import metadata
from dentalvoice.voice import records
from tests import factories as f
from tests.compliance.test_flows import MORNING
from tests.conftest import TEST_SECRET, GhlKeys
from tests.leads.test_router import URL, add_location
from tests.voice.test_records import answered

FIRST, LAST = "Zephyrina", "Quillbottom"
EMAIL = "zephyrina.quillbottom@example.test"
PHONE_NATIONAL, PHONE_E164 = "(208) 555-0142", "+12085550142"
NEEDLES = [FIRST, LAST, EMAIL, "2085550142", "555-0142", PHONE_E164]


@pytest.fixture
def lead_listeners() -> None:
    """The product's listeners (the compliance gate), so its audit rows are dumped too."""
    return None


async def _dump(db: Database) -> bytes:
    if db.is_sqlite:
        await db.dispose()  # checkpoints the WAL into the file
        path = Path(db.engine.url.database or "")
        files = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]
        return b"".join(p.read_bytes() for p in files if p.exists())
    chunks = []
    async with db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = await conn.execute(text(f'SELECT row_to_json(t)::text FROM "{table.name}" t'))
            chunks.extend(row[0].encode() for row in rows)
    return b"\n".join(chunks)


async def test_no_plaintext_phi_in_the_database(
    client: httpx.AsyncClient, db: Database, ghl_keys: GhlKeys
) -> None:
    await add_location(db)
    person = {"first_name": FIRST, "last_name": LAST, "email": EMAIL, "phone": PHONE_NATIONAL}
    sent = [
        await client.post(URL, params={"token": TEST_SECRET}, json=f.workflow_body(**person)),
        await client.post(
            URL,
            params={"token": TEST_SECRET},
            json=f.simple_body(
                contact={"firstName": FIRST, "lastName": LAST, "email": EMAIL, "phone": PHONE_E164}
            ),
        ),
        # Rejected and unroutable bodies are stored too (raw, encrypted).
        await client.post(
            URL, params={"token": TEST_SECRET}, json=f.workflow_body(**{**person, "phone": "1"})
        ),
        await client.post(
            URL,
            params={"token": TEST_SECRET},
            json=f.workflow_body(**person, location={"id": "LocUnknown"}),
        ),
    ]
    raw = f.dumps(f.marketplace_body(firstName=FIRST, lastName=LAST, email=EMAIL, phone=PHONE_E164))
    sent.append(await client.post(URL, content=raw, headers=f.ed25519_headers(ghl_keys, raw)))
    assert [r.status_code for r in sent] == [202, 202, 422, 422, 202]

    dump = await _dump(db)

    assert len(dump) > 1000
    for needle in NEEDLES:
        assert needle.encode() not in dump, needle
        assert needle.encode().hex().encode() not in dump.lower(), needle
        assert json.dumps(needle).encode() not in dump, needle


async def test_no_plaintext_phi_in_a_stored_call(db: Database) -> None:
    """The call record's transcript, qualification and transfer summary are ciphertext."""
    attempt = await answered(db)
    said = f"I'm {FIRST} {LAST}, {EMAIL}, call me on {PHONE_NATIONAL} or {PHONE_E164}."
    async with db.transaction() as session:
        await records.record_transfer(
            session=session,
            attempt_id=attempt.id,
            reason=TransferReason.REQUESTED,
            summary=said,
            at=MORNING,
        )
        await records.store_call(
            session=session,
            attempt_id=attempt.id,
            qualification=Qualification(
                chief_complaint=f"{FIRST} {LAST}", summary=said, last_visit=PHONE_E164
            ),
            transcript=[("agent", f"Hello {FIRST}."), ("caller", said)],
            actions=records.ActionsTaken(transfer_reason=TransferReason.REQUESTED),
            latency=[],
            ended_at=MORNING,
        )

    dump = await _dump(db)

    for needle in NEEDLES:
        assert needle.encode() not in dump, needle
        assert needle.encode().hex().encode() not in dump.lower(), needle
        assert json.dumps(needle).encode() not in dump, needle
