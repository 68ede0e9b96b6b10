"""Load-test POST /webhooks/ghl of a real `dentalvoice serve` on a throwaway PostgreSQL database."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

LOCATION_ID = "LocBench000000000001"
READY_MARKER = "Application startup complete"
Body = tuple[bytes, str]  # raw JSON, base64 Ed25519 signature
Result = tuple[str, float, bytes]  # status code (or exception name), seconds, response body
Post = Callable[[bytes, dict[str, str]], Awaitable[tuple[int, bytes]]]


def build_bodies(key: Ed25519PrivateKey, prefix: str, n: int) -> list[Body]:
    """N signed ContactCreate events with contact ids `prefix0..`, stamped now."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    bodies = []
    for i in range(n):
        event = {
            "type": "ContactCreate",
            "locationId": LOCATION_ID,
            "id": f"{prefix}{i}",
            "firstName": "Bench",
            "lastName": "Person",
            "email": "bench@example.test",
            "phone": f"+130555501{i % 100:02d}",
            "timestamp": now,
            "webhookId": str(uuid.uuid4()),
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        bodies.append((body, base64.b64encode(key.sign(body)).decode()))
    return bodies


def cpu_seconds(root: int) -> float:
    """utime+stime of `root` and its live descendants (uvicorn workers), from /proc."""
    stats: dict[int, tuple[int, int]] = {}  # pid -> (ppid, ticks)
    for entry in Path("/proc").iterdir():
        try:
            text = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if text:
            fields = text[text.rindex(")") + 2 :].split()
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    family, more = {root}, {root}
    while more:
        more = {pid for pid, (ppid, _) in stats.items() if ppid in more} - family
        family |= more
    return sum(stats[pid][1] for pid in family if pid in stats) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def open_client(kind: str, base_url: str, size: int) -> AsyncIterator[Post]:
    """POST /webhooks/ghl over a keep-alive pool of `size` HTTP/1.1 connections."""
    if kind == "aiohttp":
        import aiohttp  # the `bench` extra

        connector = aiohttp.TCPConnector(limit=size)
        async with aiohttp.ClientSession(base_url, connector=connector) as session:

            async def post_aiohttp(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
                async with session.post("/webhooks/ghl", data=body, headers=headers) as resp:
                    return resp.status, await resp.read()

            yield post_aiohttp
        return
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0) as client:

        async def post_httpx(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
            resp = await client.post("/webhooks/ghl", content=body, headers=headers)
            return resp.status_code, resp.content

        yield post_httpx


async def post_all(post: Post, bodies: list[Body], concurrency: int) -> list[Result]:
    """Post every body from `concurrency` tasks, timing each request."""
    results: list[Result] = [("", 0.0, b"")] * len(bodies)
    jobs = iter(enumerate(bodies))

    async def worker() -> None:
        for i, (body, signature) in jobs:
            headers = {"content-type": "application/json", "x-ghl-signature": signature}
            start = time.perf_counter()
            try:
                status, content = await post(body, headers)
                results[i] = (str(status), time.perf_counter() - start, content)
            except Exception as exc:  # recorded per request, like a status code
                results[i] = (type(exc).__name__, time.perf_counter() - start, b"")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def run_load(
    args: argparse.Namespace, base_url: str, key: Ed25519PrivateKey, prefix: str, server: int
) -> tuple[list[Result], float, float, float]:
    """Warm up, then the timed phase: results, wall s, server CPU s, client CPU s."""
    warm = build_bodies(key, f"warm-{prefix}", args.warmup)
    timed = build_bodies(key, prefix, args.n)
    async with open_client(args.client, base_url, args.concurrency) as post:
        await post_all(post, warm, args.concurrency)
        cpu0, client0, t0 = cpu_seconds(server), time.process_time(), time.perf_counter()
        results = await post_all(post, timed, args.concurrency)
        wall = time.perf_counter() - t0
        return results, wall, cpu_seconds(server) - cpu0, time.process_time() - client0


async def sql(url: str, query: str, *params: object) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query, *params)
    finally:
        await conn.close()


def drain(stream: IO[str], lines: list[str], seen: threading.Event) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        if READY_MARKER in line:
            seen.set()


def wait_ready(proc: subprocess.Popen[str], base_url: str, seen: threading.Event) -> None:
    """Until the startup line is on stderr or /readyz says 200 (LOG_LEVEL=WARNING hides it)."""
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while not seen.wait(0.05):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server not ready (exit code {proc.returncode})")
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass


def report(args: argparse.Namespace, load: tuple[list[Result], float, float, float],
           stored: int, stderr: list[str]) -> int:  # fmt: skip
    results, wall, cpu, client_cpu = load
    codes = Counter(code for code, _, _ in results)
    kinds = Counter(json.loads(raw).get("status") for code, _, raw in results if code == "202")
    ms = sorted(seconds * 1000 for _, seconds, _ in results)

    def pct(p: float) -> float:
        return ms[max(0, math.ceil(p * len(ms)) - 1)]

    accepted = codes.get("202", 0)
    lost = accepted - stored
    print(f"requests      {args.n} (+{args.warmup} warm-up, not counted), client {args.client}")
    print(f"concurrency   {args.concurrency}   workers {args.workers}")
    print(f"wall          {wall:.3f} s")
    print(f"accepted/s    {accepted / wall:.1f}")
    print(f"latency ms    p50 {pct(0.5):.1f}  p90 {pct(0.9):.1f}  p99 {pct(0.99):.1f}  "
          f"max {ms[-1]:.1f}")  # fmt: skip
    print("status        " + "  ".join(f"{c}: {k}" for c, k in sorted(codes.items())))
    print("202 bodies    " + "  ".join(f"{s}: {k}" for s, k in sorted(kinds.items())))
    print(f"leads stored  {stored}   lost (202s - stored) {lost}")
    print(f"server CPU    {cpu:.2f} s ({cpu / wall:.2f} cores)   client CPU {client_cpu:.2f} s")
    levels = Counter(
        line.split(" | ")[1].strip() if line.count(" | ") >= 2 else "-" for line in stderr
    )
    print(
        f"server stderr {len(stderr)} lines  " + "  ".join(f"{k}: {v}" for k, v in levels.items())
    )
    notable = [x for x in stderr if " | INFO " not in x and " | DEBUG " not in x]
    print("".join(f"  | {x}\n" for x in (notable or stderr)[:20]), end="")
    return 1 if lost != 0 else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000, help="timed requests (5000)")
    parser.add_argument("--concurrency", type=int, default=16, help="in-flight requests (16)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (1)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests first (200)")
    parser.add_argument(
        "--client", choices=["httpx", "aiohttp"], default="aiohttp",
        help="aiohttp (the `bench` extra) costs ~10x less client CPU than httpx",
    )  # fmt: skip
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    db_name = f"dentalvoice_bench_{secrets.token_hex(6)}"
    dsn = args.admin_url.rsplit("/", 1)[0] + "/" + db_name
    prefix = f"bench-{secrets.token_hex(4)}-"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    stderr: list[str] = []
    asyncio.run(sql(args.admin_url, f'CREATE DATABASE "{db_name}"'))
    proc: subprocess.Popen[str] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="dv-bench-") as data_dir:
            env = dict(
                os.environ,
                DATABASE_URL=dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
                PHI_ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
                GHL_WEBHOOK_SECRET=secrets.token_urlsafe(24),
                GHL_WEBHOOK_ED25519_PUBLIC_KEY=pem.decode(),
                DATA_DIR=data_dir,
                LOG_LEVEL="WARNING",
            )
            cli = [sys.executable, "-m", "dentalvoice"]
            added = subprocess.run(
                [*cli, "location", "add", "--name", "Bench Dental", "--ghl-location-id",
                 LOCATION_ID, "--timezone", "America/New_York",
                 "--webhook-secret", secrets.token_urlsafe(24)],
                env=env, cwd=data_dir, capture_output=True, text=True,
            )  # fmt: skip
            if added.returncode != 0:
                raise RuntimeError(f"location add failed: {added.stdout}{added.stderr}")
            proc = subprocess.Popen(
                [*cli, "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", str(args.workers)],
                env=env, cwd=data_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            assert proc.stderr is not None
            seen = threading.Event()
            reader = threading.Thread(target=drain, args=(proc.stderr, stderr, seen), daemon=True)
            reader.start()
            wait_ready(proc, base_url, seen)
            load = asyncio.run(run_load(args, base_url, key, prefix, proc.pid))
            query = "SELECT count(*) FROM lead WHERE ghl_contact_id LIKE $1"
            stored = int(asyncio.run(sql(dsn, query, prefix + "%")))
            proc.terminate()
            proc.wait(timeout=30)
            reader.join(timeout=5)
            return report(args, load, stored, stderr)
    except Exception:
        print("server stderr:\n" + "\n".join(stderr), file=sys.stderr)
        raise
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        asyncio.run(sql(args.admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
