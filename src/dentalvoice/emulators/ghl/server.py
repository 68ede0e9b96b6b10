"""Serving the emulator on a real port: in-process for tests and the demo, or from the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from loguru import logger

from dentalvoice.emulators.ghl.demo import seed_demo
from dentalvoice.emulators.ghl.emulator import GhlEmulator, warm
from dentalvoice.serving import serve_asgi


@contextlib.asynccontextmanager
async def serve_ghl_emulator(
    emulator: GhlEmulator, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the emulator with uvicorn in the current event loop for as long as the block lasts.

    The spec files are loaded in a worker thread first, so the first request is not slowed.
    On exit, requests hanging on an injected timeout are released before the server stops.

    Args:
        emulator: The emulator.
        host: The interface to listen on.
        port: The port; 0 picks a free one.

    Yields:
        The base URL for the GHL client, e.g. `http://127.0.0.1:54321`.
    """
    await warm(emulator)
    async with serve_asgi(emulator, host=host, port=port) as url:
        emulator.url = url
        try:
            yield url
        finally:
            emulator.url = None
            emulator.clear_faults()


def load_seed_file(path: Path) -> dict[str, Any]:
    """A seed document from a JSON file (format: `dentalvoice.emulators.ghl.seeding`).

    Raises:
        ValueError: Not a JSON object.
        OSError: Unreadable.
    """
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return document


async def run_ghl_emulator(
    *,
    host: str,
    port: int,
    seed_file: Path | None = None,
    demo: bool = True,
    seed: int = 0,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run a standalone emulator until cancelled (for `dentalvoice emulate ghl`).

    Args:
        host: The interface to listen on.
        port: The port (0 picks a free one).
        seed_file: A seed document to load.
        demo: Seed the demo clinic (`demo.seed_demo`) as well.
        seed: Seeds the id generator, so ids and tokens repeat between runs.
        announce: Where console lines go (they include token values, which are fine on a
            local console but never in logs); None sends only the log line.

    Raises:
        KeyError, TypeError, ValueError: A bad seed document.
    """
    emulator = GhlEmulator(seed=seed)
    made: list[dict[str, Any]] = []
    if demo:
        made.append(seed_demo(emulator))
    if seed_file is not None:
        made.append(emulator.seed(load_seed_file(seed_file)))
    locations = [loc for m in made for loc in m["locations"]]
    pits = [pit for loc in locations for pit in loc["pits"]]
    clients = [c for m in made for c in m["oauth_clients"]]
    async with serve_ghl_emulator(emulator, host=host, port=port) as url:
        logger.info(
            "ghl emulator listening on {} ({} location(s); tokens: {}; oauth apps: {})",
            url,
            len(locations),
            ", ".join(p["name"] for p in pits) or "none",
            ", ".join(c["name"] for c in clients) or "none",
        )
        if announce is not None:
            announce(f"GHL emulator: {url}  (GHL_API_BASE_URL={url})")
            for loc in locations:
                announce(f"  location {loc['id']} ({loc['timezone']})")
                for pit in loc["pits"]:
                    announce(f"    token {pit['name']}: {pit['token']}")
                for cal in loc["calendars"]:
                    announce(f"    calendar {cal['id']}")
                for pipeline in loc["pipelines"]:
                    announce(f"    pipeline {pipeline['id']}")
            for client in clients:
                announce(
                    f"  oauth app {client['name']}: client_id {client['client_id']} "
                    f"client_secret {client['client_secret']}"
                )
        await asyncio.Event().wait()
