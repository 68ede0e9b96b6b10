"""Several dialers on one PostgreSQL database, through the real SDK and the emulator."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dentalvoice.config import Settings
from dentalvoice.db import Database
from dentalvoice.dialer.limits import CallsPerSecond
from dentalvoice.dialer.models import AttemptStatus, JobStatus
from dentalvoice.dialer.worker import DialWorker
from dentalvoice.emulators.twilio import Busy, NoAnswer
from dentalvoice.locations.models import Location
from dentalvoice.telephony.dialer import TwilioDialer
from dentalvoice.telephony.urls import CallbackUrls
from tests import factories as f
from tests.compliance.test_flows import MORNING
from tests.conftest import TEST_PHI_KEY
from tests.dialer.test_claim import add_jobs
from tests.telephony.stack import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC,
    Stack,
    running_stack,
)

WAIT = 30.0
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def stack(settings: Settings, db: Database) -> AsyncIterator[Stack]:
    if db.is_sqlite:
        pytest.skip("several dialer processes share PostgreSQL; SQLite has one claimer")
    # The emulator, the app and both workers share this test's one event loop while up to a
    # hundred creates are in flight: in a long suite run a create could take over Twilio's
    # 10 s client timeout and be retried later, past the waits below. What is tested here is
    # exactly-once dialing, not the REST timeout.
    async with running_stack(
        settings, db, dial=False, cps=1000.0, twilio_timeout_s=30.0
    ) as running:
        yield running


def twilio_worker(
    stack: Stack, name: str, clock: Callable[[], Any] | None = None, lease_s: float = 5.0
) -> DialWorker:
    assert stack.telephony.client is not None
    return DialWorker(
        db=stack.db,
        dialer=TwilioDialer(
            client=stack.telephony.client,
            urls=CallbackUrls.from_base(PUBLIC),
            default_from=FROM_NUMBER,
        ),
        worker_id=name,
        cps=CallsPerSecond(1000.0),
        clock=clock or stack.clock,
        lease=timedelta(seconds=lease_s),
        per_location_concurrency=1000,
        batch=50,
        cps_rate=1000.0,
    )


async def location_id(stack: Stack) -> Any:
    async with stack.db.reader() as session:
        return (await session.execute(select(Location.id))).scalar_one()


async def test_two_workers_racing_for_200_jobs_dial_each_exactly_once(stack: Stack) -> None:
    stack.emulator.set_default_callee(Busy())
    await add_jobs(stack.db, await location_id(stack), MORNING, count=200)
    workers = [twilio_worker(stack, name, lease_s=30) for name in ("w1", "w2")]

    async def drain(w: DialWorker) -> int:
        total = 0
        while claimed := await w.run_once():
            total += claimed
        return total

    async with asyncio.timeout(120):
        counts = await asyncio.gather(*(drain(w) for w in workers))
    calls = await stack.emulator.wait_calls(200, timeout=WAIT)

    # A claim whose lease ran out may be claimed again (and then not dialed): >= 200 claims.
    assert sum(counts) >= 200 and all(counts), counts
    assert len(calls) == 200 and len({c.to for c in calls}) == 200
    attempts = await stack.attempts()
    assert len(attempts) == 200 and len({a.twilio_call_sid for a in attempts}) == 200
    assert {a.job_id for a in attempts} == {j.id for j in await stack.jobs()}


class HeldCreates:
    """Holds the emulator's answer to the first create (a dialer killed mid-request)."""

    def __init__(self, stack: Stack, *, create_first: bool) -> None:
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self._held = False
        self._original: Callable[..., Awaitable[Any]] = stack.emulator.create_call
        self._create_first = create_first
        stack.emulator.create_call = self  # type: ignore[method-assign]

    async def __call__(self, form: Any, **kwargs: Any) -> Any:
        if self._held:
            return await self._original(form, **kwargs)
        self._held = True
        record = None
        if self._create_first:
            # Twilio accepted the call (it rings, callbacks flow) but the answer never arrives.
            record = await self._original(form, **kwargs)
        self.arrived.set()
        await self.release.wait()
        if record is None:
            raise ConnectionResetError("the dialer is gone")
        return record


async def start_worker(stack: Stack) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": str(stack.settings.effective_database_url),
        "PHI_ENCRYPTION_KEY": TEST_PHI_KEY,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": str(stack.settings.twilio_api_base_url),
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "PUBLIC_BASE_URL": PUBLIC,
        "DIALER_LEASE_S": "5",
        "DIALER_CALLS_PER_SECOND": "100",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.telephony.killable_worker",
        stack.clock().isoformat(),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def kill_mid_dial(stack: Stack, held: HeldCreates) -> None:
    await stack.post_lead()
    process = await start_worker(stack)
    try:
        async with asyncio.timeout(WAIT):
            await held.arrived.wait()
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL


def after_the_lease(stack: Stack) -> Callable[[], Any]:
    return lambda: stack.clock() + timedelta(seconds=6)


async def test_a_worker_killed_before_twilio_answered_is_recovered_and_dialed_once(
    stack: Stack,
) -> None:
    stack.emulator.set_default_callee(NoAnswer(ring_s=30))
    held = HeldCreates(stack, create_first=False)
    await kill_mid_dial(stack, held)
    assert stack.emulator.calls == {}
    (attempt,) = await stack.attempts()
    assert (attempt.status, attempt.twilio_call_sid) == (AttemptStatus.QUEUED, None)

    # Another worker, once the dead one's lease is over: no callback ever named the attempt,
    # so the call was never placed, and it is placed now, once.
    assert await twilio_worker(stack, "rescuer", after_the_lease(stack)).run_once() == 1
    held.release.set()

    (call,) = await stack.emulator.wait_calls(1, timeout=WAIT)
    old, new = await stack.attempts()
    assert (old.status, old.outcome) == (AttemptStatus.FAILED, "not_placed")
    assert new.twilio_call_sid == call.sid and call.to == f.PHONE_E164
    (job,) = await stack.jobs()
    assert job.status is JobStatus.CALLING


async def test_a_worker_killed_after_twilio_accepted_is_adopted_not_redialed(
    stack: Stack,
) -> None:
    stack.emulator.set_default_callee(NoAnswer(ring_s=30))
    held = HeldCreates(stack, create_first=True)
    await kill_mid_dial(stack, held)
    (call,) = stack.emulator.calls.values()
    # Twilio's `initiated` callback reaches our app and names the attempt.
    await stack.emulator.wait_for(
        lambda: any(r.ok for r in call.status_callbacks), timeout=WAIT, what="initiated"
    )

    assert await twilio_worker(stack, "rescuer", after_the_lease(stack)).run_once() == 1
    held.release.set()

    assert list(stack.emulator.calls) == [call.sid]
    (attempt,) = await stack.attempts()
    assert attempt.twilio_call_sid == call.sid
    (job,) = await stack.jobs()
    assert (job.status, job.reason) == (JobStatus.CALLING, "adopted")
