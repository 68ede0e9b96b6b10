"""CRM write-back throughput: call results through the outbox into the GHL emulator, rate-limited.

`dentalvoice emulate ghl` runs as its own process with GHL's limits on (100 requests / 10 s per
location, every request checked against GHL's OpenAPI files). This process seeds K clinics in
it and in a throwaway database, stores N answered calls the way the voice handler does
(`store_call`, which enqueues each call's GHL writes in its transaction), round-robin over the
clinics, and runs the production sender (`OutboxSender.run`, the client from `open_ghl_client`)
until every write is delivered or parked.

With `--rate 0` (the default) all results are stored before the sender starts: a backlog
drained at full speed. With `--rate R` they arrive at R per second while it runs, and the delay
is what one result waits in steady state.

Printed: results/s and writes/s over the drain, GHL requests per result, p50/p99 delivery delay
(a result is delivered when its last write is), 429s the emulator answered, and what the
limit allows at most (K x 10 requests/s / requests per result).

    python benchmarks/crm.py --results 600 --locations 10
    python benchmarks/crm.py --results 300 --locations 5 --rate 8 --database sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

from bench_support import database, free_port, percentile
from dentalvoice.config import Settings, load_settings
from dentalvoice.conversation.qualification import (
    Insurance,
    InsuranceStatus,
    Outcome,
    Qualification,
    TreatmentInterest,
    Urgency,
)
from dentalvoice.crm.client import open_ghl_client
from dentalvoice.crm.models import CrmWrite, WriteStatus
from dentalvoice.crm.sender import OutboxSender
from dentalvoice.db import Database, open_database
from dentalvoice.db.migrate import upgrade
from dentalvoice.demo.clinic import FIELD_KEYS, FIELDS
from dentalvoice.dialer.models import AttemptStatus, CallAttempt
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location
from dentalvoice.logging import configure_logging
from dentalvoice.voice import records

CLI = [sys.executable, "-m", "dentalvoice"]
ZONE = "America/New_York"
STAGES = ["New Lead", "Contacted", "Appointment Booked", "Lost"]
# The mix of results: (outcome, the call held its slot in GHL itself).
MIX: list[tuple[Outcome, bool]] = [
    (Outcome.QUALIFIED, False),
    (Outcome.BOOKED, False),  # the write-back books the slot
    (Outcome.BOOKED, True),
    (Outcome.CALLBACK_REQUESTED, False),
    (Outcome.NOT_INTERESTED, False),
    (Outcome.EMERGENCY_TRANSFERRED, False),
]


@asynccontextmanager
async def emulator_process(port: int, data_dir: str) -> AsyncIterator[str]:
    """`dentalvoice emulate ghl` on `port`, empty (seeded over its admin API)."""
    env = dict(os.environ, LOG_LEVEL="WARNING")
    proc = await asyncio.create_subprocess_exec(
        *CLI, "emulate", "ghl", "--port", str(port), "--no-demo",
        env=env, cwd=data_dir, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(600):
                try:
                    await client.get(f"{url}/_emulator/state")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)  # start-up only; nothing is timed yet
            else:
                raise RuntimeError("the GHL emulator did not come up")
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


def seed_document(locations: int, contacts_each: int) -> dict[str, Any]:
    """K clinics, each with a PIT, the custom fields, a pipeline, an always-open calendar."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    always = {day: [["00:00", "23:30"]] for day in days}
    return {
        "locations": [
            {
                "name": f"Bench Dental {k}",
                "timezone": ZONE,
                "pits": [{"name": "dentalvoice"}],
                "custom_fields": [
                    {"name": label, "data_type": kind, "field_key": key}
                    for label, key, kind in FIELDS.values()
                ],
                "pipelines": [{"name": "New Patients", "stages": STAGES}],
                "calendars": [{"name": "Consult", "open_hours": always, "slot_minutes": 30}],
                "contacts": [
                    {"first_name": "Bench", "phone": f"+1305555{(k * 1000 + i) % 10000:04d}"}
                    for i in range(contacts_each)
                ],
            }
            for k in range(locations)
        ]
    }


def qualification(outcome: Outcome, slot: datetime | None) -> Qualification:
    return Qualification(
        chief_complaint="a missing tooth",
        treatment_interest=TreatmentInterest.IMPLANTS,
        pain_level=3,
        urgency=Urgency.SOON,
        insurance=Insurance(status=InsuranceStatus.HAS, carrier="Delta Dental"),
        new_patient=True,
        preferred_slot=slot,
        outcome=outcome,
        summary="Wants implants; mild pain.",
    )


async def seed_database(
    db: Database, made: list[dict[str, Any]]
) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    """Our clinic rows and one lead + answered attempt per contact: (location, lead, attempt)."""
    calls: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = []
    now = datetime.now(UTC)
    async with db.transaction() as session:
        for clinic in made:
            stages = {s["name"]: s["id"] for s in clinic["pipelines"][0]["stages"]}
            location = Location(
                name=clinic["name"],
                ghl_location_id=clinic["id"],
                timezone=ZONE,
                ghl_token=clinic["pits"][0]["token"],
                calendar_id=clinic["calendars"][0]["id"],
                pipeline_id=clinic["pipelines"][0]["id"],
                pipeline_stages={
                    "qualified": stages["Contacted"],
                    "callback_requested": stages["Contacted"],
                    "emergency_transferred": stages["Contacted"],
                    "booked": stages["Appointment Booked"],
                    "not_interested": stages["Lost"],
                },
                options={"crm": {"fields": FIELD_KEYS}},
            )
            session.add(location)
            await session.flush()
            for contact_id in clinic["contacts"]:
                lead = Lead(location_id=location.id, ghl_contact_id=contact_id)
                session.add(lead)
                await session.flush()
                attempt = CallAttempt(
                    lead_id=lead.id,
                    location_id=location.id,
                    phone_hash=uuid.uuid4().hex,
                    started_at=now,
                    status=AttemptStatus.IN_PROGRESS,
                    idempotency_key=uuid.uuid4().hex,
                    answered_at=now,
                )
                session.add(attempt)
                await session.flush()
                calls.append((location.id, lead.id, attempt.id))
    return calls


async def store_results(
    db: Database, calls: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]], rate: float
) -> dict[uuid.UUID, float]:
    """Store each call (its writes enqueued with it): attempt id → monotonic store time."""
    stored: dict[uuid.UUID, float] = {}
    first_slot = datetime.now(ZoneInfo(ZONE)).replace(minute=0, second=0, microsecond=0)
    first_slot += timedelta(days=1)
    slots: Counter[uuid.UUID] = Counter()
    start = time.monotonic()
    for i, (location_id, _lead_id, attempt_id) in enumerate(calls):
        if rate > 0:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # the arrival schedule, not a wait for work
        outcome, held = MIX[i % len(MIX)]
        slot = None
        if outcome is Outcome.BOOKED:
            # A distinct slot per booking of a clinic: none is refused as taken.
            slot = first_slot + timedelta(minutes=30 * slots[location_id])
            slots[location_id] += 1
        async with db.transaction() as session:
            await records.store_call(
                session=session,
                attempt_id=attempt_id,
                qualification=qualification(outcome, slot),
                transcript=[("agent", "Hi, this is the clinic's AI assistant."), ("caller", "Hi.")],
                actions=records.ActionsTaken(
                    booked_slot=slot, appointment_id=f"held{i}" if held else None
                ),
                latency=[],
                ended_at=datetime.now(UTC),
            )
        stored[attempt_id] = time.monotonic()
    return stored


async def open_rows(db: Database) -> int:
    async with db.reader() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(CrmWrite)
            .where(CrmWrite.status.in_([WriteStatus.PENDING, WriteStatus.SENDING]))
        )
    return int(count or 0)


async def run(args: argparse.Namespace) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="dv-crm-") as data_dir:
        async with (
            database(
                args.database, args.admin_url, data_dir, prefix="dentalvoice_crm"
            ) as database_url,
            emulator_process(port, data_dir) as ghl_url,
        ):
            settings: Settings = load_settings(
                _env_file=None,
                data_dir=data_dir,
                database_url=database_url,
                phi_encryption_key=base64.b64encode(secrets.token_bytes(32)).decode(),
                ghl_api_base_url=ghl_url,
                log_level="WARNING",
            )
            db, _ = open_database(settings)
            await upgrade(db)
            per_clinic = -(-args.results // args.locations)
            async with httpx.AsyncClient(base_url=ghl_url, timeout=60) as admin:
                seeded = await admin.post(
                    "/_emulator/seed", json=seed_document(args.locations, per_clinic)
                )
                seeded.raise_for_status()
                made = seeded.json()["locations"]
                calls = await seed_database(db, made)
                # Round-robin over the clinics, as leads of many clinics come in.
                calls = [
                    calls[k * per_clinic + i]
                    for i in range(per_clinic)
                    for k in range(args.locations)
                ][: args.results]
                ghl = open_ghl_client(settings, db=db)
                sender = OutboxSender(db=db, ghl=ghl, worker_id="bench", batch=args.batch)
                stop = asyncio.Event()
                stored: dict[uuid.UUID, float] = {}
                if args.rate <= 0:
                    stored = await store_results(db, calls, 0)
                wall_start = datetime.now(UTC)
                started = time.monotonic()
                sending = asyncio.create_task(sender.run(stop))
                if args.rate > 0:
                    stored = await store_results(db, calls, args.rate)
                # Watched from outside, as an operator would: the sender is not instrumented.
                while await open_rows(db):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
                elapsed = time.monotonic() - started
                stop.set()
                await sending
                await ghl.aclose()
                requests = (await admin.get("/_emulator/requests")).json()["requests"]
            async with db.reader() as session:
                rows = list((await session.execute(select(CrmWrite))).scalars())
            await db.dispose()
    report(args, rows, requests, stored, elapsed, started, wall_start)


def report(
    args: argparse.Namespace,
    rows: list[CrmWrite],
    requests: list[dict[str, Any]],
    stored: dict[uuid.UUID, float],
    elapsed: float,
    started: float,
    wall_start: datetime,
) -> None:
    n = len(stored)
    statuses = Counter(r.status.value for r in rows)
    delivered = [r for r in rows if r.status is WriteStatus.DELIVERED]
    done_at: dict[uuid.UUID, float] = {}
    for row in delivered:
        if row.delivered_at is None:
            continue
        # delivered_at is wall time; mapped onto the monotonic clock of `stored`.
        at = started + (row.delivered_at - wall_start).total_seconds()
        done_at[row.attempt_id] = max(done_at.get(row.attempt_id, at), at)
    delays = [(done_at[a] - max(t, started)) * 1000 for a, t in stored.items() if a in done_at]
    statuses_seen = Counter(r["status"] for r in requests)
    per_result = len(requests) / n if n else 0.0
    ceiling = args.locations * 10 / per_result if per_result else 0.0
    print(
        f"results={n} locations={args.locations} rate={'backlog' if args.rate <= 0 else args.rate}"
        f" batch={args.batch} database={args.database}"
    )
    print(f"drained in {elapsed:.1f} s: {n / elapsed:.1f} results/s, "
          f"{len(delivered) / elapsed:.1f} writes/s")  # fmt: skip
    print(
        f"GHL requests: {len(requests)} ({per_result:.2f} per result); "
        f"429s seen: {statuses_seen.get(429, 0)}; "
        f"other errors: {sum(c for s, c in statuses_seen.items() if s >= 400 and s != 429)}"
    )
    if delays:
        print(
            f"delivery delay ms: p50={statistics.median(delays):.0f} "
            f"p99={percentile(delays, 0.99):.0f} max={max(delays):.0f}"
        )
    print(
        f"writes: {dict(statuses)}; tries per write: "
        f"{sum(r.attempts for r in rows) / max(len(rows), 1):.2f}"
    )
    print(f"rate-limit ceiling: {ceiling:.1f} results/s ({args.locations} x 10 requests/s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog=(__doc__ or "").split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--results", type=int, default=600, help="call results to deliver")
    parser.add_argument("--locations", type=int, default=10, help="clinics (GHL locations)")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="results stored per second (0: all up front)"
    )
    parser.add_argument("--batch", type=int, default=20, help="calls the sender works on at once")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if args.results < 1 or args.locations < 1 or args.batch < 1:
        parser.error("--results, --locations and --batch must be at least 1")
    # The sender logs each deferred write at INFO: the 429s would drown the figures.
    configure_logging(level="WARNING")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
