"""Speed to lead: from a GHL webhook arriving to Twilio receiving `calls.create`.

Three processes, as in production: `dentalvoice serve` (intake, the gate and the dial worker),
`dentalvoice emulate twilio` (Twilio, reached through the official SDK) and this client, which
posts leads to one clinic at a steady rate. A lead's latency is the emulator's arrival time of
its `calls.create` minus the moment its webhook was sent; both are CLOCK_MONOTONIC readings,
which every process of the machine shares. The emulator also counts creates that came faster
than the account's CPS allows: that must stay 0.

    python benchmarks/speed_to_lead.py --leads 200 --rate 10 --cps 20
    python benchmarks/speed_to_lead.py --database sqlite

`serve` runs with SIMULATED_CLOCK_START on a weekday 10:00 in Miami, so the gate allows the
calls whatever the hour the benchmark is started at.
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bench_support import database, free_port, percentile

PUBLIC = "https://bench.example.test"
ACCOUNT_SID = "AC" + "be" * 16
GHL_LOCATION = "LocSpeedToLead000001"
AREAS = ("305", "786", "954", "561", "407", "813", "904", "850", "239", "727")
CLI = [sys.executable, "-m", "dentalvoice"]


def phone(i: int) -> str:
    """A distinct fictional Florida number (555-01xx) per lead, up to 1000."""
    return f"({AREAS[i // 100]}) 555-01{i % 100:02d}"


def e164(national: str) -> str:
    return "+1" + "".join(ch for ch in national if ch.isdigit())


def weekday_morning() -> datetime:
    """The next Wednesday, 10:00 in Miami."""
    day = datetime.now(UTC).date() + timedelta(days=1)
    while day.weekday() != 2:
        day += timedelta(days=1)
    local = datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo("America/New_York"))
    return local.astimezone(UTC)


@asynccontextmanager
async def process(*args: str, env: dict[str, str], cwd: str) -> AsyncIterator[None]:
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=None
    )
    try:
        yield
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


async def until_up(url: str) -> None:
    """Poll until the process answers (startup only; nothing is timed before it)."""
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(600):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def post_leads(
    http: httpx.AsyncClient, leads: range, rate: float, secret: str
) -> tuple[dict[str, float], list[float]]:
    """Post `leads` at `rate` per second: number → send time, and webhook answer times."""
    sent: dict[str, float] = {}
    answered: list[float] = []
    start = time.monotonic()

    async def one(i: int) -> None:
        delay = start + (i - leads.start) / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # the arrival schedule, not a wait for work
        body = {
            "contact_id": f"ctspeed{i:06d}",
            "first_name": "Bench",
            "phone": phone(i),
            "state": "Florida",
            "country": "US",
            "location": {"id": GHL_LOCATION},
            "customData": {"consent": "yes"},
        }
        at = time.monotonic()
        sent[e164(phone(i))] = at
        response = await http.post("/webhooks/ghl", params={"token": secret}, json=body)
        answered.append((time.monotonic() - at) * 1000)
        if response.status_code != 202 or "next_call_at" not in response.json():
            raise RuntimeError(f"lead {i} not scheduled: {response.status_code} {response.text}")

    await asyncio.gather(*(one(i) for i in leads))
    return sent, answered


async def created_calls(twilio_url: str, token: str, n: int) -> list[dict[str, Any]]:
    """The emulator's records once `n` calls were created (polled: the emulator is remote)."""
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(base_url=twilio_url, auth=(ACCOUNT_SID, token)) as client:
        while True:
            calls: list[dict[str, Any]] = (await client.get("/_emulator/calls")).json()
            if len(calls) >= n or time.monotonic() > deadline:
                return calls
            await asyncio.sleep(0.2)


async def run(args: argparse.Namespace) -> None:
    token = secrets.token_urlsafe(16)
    secret = secrets.token_urlsafe(24)
    app_port, twilio_port = free_port(), free_port()
    app_url, twilio_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{twilio_port}"
    with tempfile.TemporaryDirectory(prefix="dv-stl-") as data_dir:
        async with database(
            args.database, args.admin_url, data_dir, prefix="dentalvoice_stl"
        ) as database_url:
            env = dict(
                os.environ,
                DATA_DIR=data_dir,
                DATABASE_URL=database_url,
                PHI_ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
                GHL_WEBHOOK_SECRET=secret,
                TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                TWILIO_AUTH_TOKEN=token,
                TWILIO_API_BASE_URL=twilio_url,
                TWILIO_FROM_NUMBER="+13055550100",
                PUBLIC_BASE_URL=PUBLIC,
                SIMULATED_CLOCK_START=weekday_morning().isoformat(),
                DIALER_CALLS_PER_SECOND=str(args.cps),
                DIALER_LOCATION_CONCURRENCY="100",
                LOG_LEVEL="WARNING",
            )
            env.pop("REDIS_URL", None)
            added = await asyncio.create_subprocess_exec(
                *CLI, "location", "add", "--name", "Speed Test Dental", "--ghl-location-id",
                GHL_LOCATION, "--timezone", "America/New_York",
                env=env, cwd=data_dir, stdout=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            if await added.wait() != 0:
                raise RuntimeError("location add failed")
            emulate = [*CLI, "emulate", "twilio", "--port", str(twilio_port), "--callee", "busy"]
            emulate += ["--cps", str(args.cps), "--route", f"{PUBLIC}={app_url}"]
            serve = [*CLI, "serve", "--port", str(app_port)]
            async with (
                process(*emulate, env=env, cwd=data_dir),
                process(*serve, env=env, cwd=data_dir),
            ):
                await until_up(f"{twilio_url}/")
                await until_up(f"{app_url}/healthz")
                async with httpx.AsyncClient(base_url=app_url, timeout=30) as http:
                    # Warm-up (first connections, rule tables, the SDK's session), not timed.
                    await post_leads(http, range(args.warmup), args.rate, secret)
                    await created_calls(twilio_url, token, args.warmup)
                    measured = range(args.warmup, args.warmup + args.leads)
                    sent, answered = await post_leads(http, measured, args.rate, secret)
                calls = await created_calls(twilio_url, token, args.warmup + args.leads)
    arrived = {call["to"]: call["arrived_at"] for call in calls}
    missing = [number for number in sent if number not in arrived]
    latencies = [(arrived[number] - at) * 1000 for number, at in sent.items() if number in arrived]
    early = sum(1 for call in calls if call["early"] and call["to"] in sent)
    print(f"leads={args.leads} rate={args.rate}/s cps={args.cps} database={args.database}")
    print(
        f"webhook answered ms: p50={statistics.median(answered):.1f} "
        f"p99={percentile(answered, 0.99):.1f}"
    )
    if latencies:
        print(
            "webhook -> calls.create ms: "
            f"p50={statistics.median(latencies):.1f} p90={percentile(latencies, 0.9):.1f} "
            f"p99={percentile(latencies, 0.99):.1f} max={max(latencies):.1f}"
        )
    print(f"calls created: {len(calls)}, never dialed: {len(missing)}, faster than CPS: {early}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=200, help="leads to post (at most 1000)")
    parser.add_argument("--rate", type=float, default=10.0, help="leads per second")
    parser.add_argument("--cps", type=float, default=20.0, help="account calls per second")
    parser.add_argument("--warmup", type=int, default=10, help="untimed leads first")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if not args.leads >= 1 or args.leads + args.warmup > 1000:
        parser.error("--leads plus --warmup must be 1..1000")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
