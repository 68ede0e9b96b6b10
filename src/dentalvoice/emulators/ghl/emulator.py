"""The GHL emulator: an ASGI app holding one emulated GHL account, and its controls.

`GhlEmulator` stands in for `https://services.leadconnectorhq.com` (API v2). Use it
in-process through `httpx.ASGITransport(app=emulator)`, on a free loopback port with
`async with emulator:` (or `await emulator.start()` / `stop()`), or from the CLI
(`dentalvoice emulate ghl`). Seed it with the `seed_*` methods (see `seeding`), inspect
`state`, `requests` and `contact_state(...)`, and break it on purpose with `inject_fault`
and `expire_tokens`.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import TracebackType
from typing import Any

from dentalvoice.emulators.ghl import api
from dentalvoice.emulators.ghl.auth import TokenStore
from dentalvoice.emulators.ghl.clock import Clock, system_clock
from dentalvoice.emulators.ghl.faults import Fault, FaultBook, FaultKind
from dentalvoice.emulators.ghl.ids import IdFactory
from dentalvoice.emulators.ghl.limits import RateLimiter
from dentalvoice.emulators.ghl.records import RequestLog, RequestRecord
from dentalvoice.emulators.ghl.seeding import Seeding
from dentalvoice.emulators.ghl.settings import GhlSettings
from dentalvoice.emulators.ghl.spec import APP_FILES, GhlSpec, load_ghl_spec
from dentalvoice.emulators.ghl.state import GhlState
from dentalvoice.emulators.ghl.views import contact_state


class GhlEmulator(Seeding):
    """GHL's API v2 for one emulated agency and its locations.

    Attributes:
        settings: Rate limits, token lifetime, validation; change fields at any time.
        clock: Now, in epoch seconds (`ManualClock` in tests).
        ids: The seeded source of ids and tokens.
        state: Locations, tokens, contacts, pipelines, calendars, ... by id.
        tokens: Issued OAuth tokens; authenticates requests.
        limiter: Rate-limit counters.
        faults: Injected failures.
        log: Every API request answered (admin routes excluded).
        ignored_custom_fields: `(object id, field id or key)` for every custom field value
            GHL would have dropped silently because no definition matched.
        url: The base URL while served on a port, else None.
    """

    def __init__(
        self,
        *,
        settings: GhlSettings | None = None,
        clock: Clock | None = None,
        seed: int | None = 0,
        spec_dir: Path | str | None = None,
    ) -> None:
        """An empty emulator (seed it before use).

        Args:
            settings: Defaults are GHL's documented limits.
            clock: Epoch-seconds clock; default the real one.
            seed: Seeds the id generator (None: different ids every run).
            spec_dir: GHL's specs (`apps/`, `common/`); default `../shared/specs/ghl`.

        Raises:
            SpecNotFoundError: The spec directory is missing.
        """
        self.settings = settings or GhlSettings()
        self.clock: Clock = clock or system_clock
        self.ids = IdFactory(seed)
        self.state = GhlState()
        self.tokens = TokenStore(self.state, self.ids, self.clock, lambda: self.settings)
        self.limiter = RateLimiter(self.clock, lambda: self.settings)
        self.faults = FaultBook(self.clock)
        self.log = RequestLog()
        self.ignored_custom_fields: list[tuple[str, str]] = []
        self._spec = load_ghl_spec(spec_dir)
        self.url: str | None = None
        self._serving: contextlib.AsyncExitStack | None = None

    def __repr__(self) -> str:
        return (
            f"GhlEmulator(url={self.url!r}, locations={len(self.state.locations)}, "
            f"contacts={len(self.state.contacts)}, requests={len(self.log.records)})"
        )

    async def __call__(self, scope: api.Scope, receive: api.Receive, send: api.Send) -> None:
        """Serve GHL's API and the `/_emulator/` admin routes (see `api`)."""
        await api.handle(self, scope, receive, send)

    @property
    def spec(self) -> GhlSpec:
        """The validator requests are checked with."""
        return self._spec

    def warm_spec(self) -> None:
        """Load every app file now (blocking, ~0.5 s the first time in a process)."""
        for app in APP_FILES:
            self._spec.openapi(app)

    # -- running on a port -------------------------------------------------------------

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host`:`port` (0 picks a free port) in this event loop.

        Returns:
            The base URL, e.g. `http://127.0.0.1:54321`.
        """
        if self._serving is not None:
            raise RuntimeError("the emulator is already running")
        from dentalvoice.emulators.ghl.server import serve_ghl_emulator

        stack = contextlib.AsyncExitStack()
        url = await stack.enter_async_context(serve_ghl_emulator(self, host=host, port=port))
        self._serving = stack
        return url

    async def stop(self) -> None:
        """Stop serving; hanging requests are released first."""
        stack, self._serving = self._serving, None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> GhlEmulator:
        """Start on a free loopback port."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        await self.stop()

    # -- faults and tokens ---------------------------------------------------------------

    def inject_fault(
        self,
        *,
        kind: FaultKind = "status",
        status: int | None = None,
        count: int | None = 1,
        duration_s: float | None = None,
        method: str | None = None,
        path: str | None = None,
        hang_s: float | None = None,
    ) -> Fault:
        """Fail matching API requests (see `FaultBook.add` for the arguments).

        Examples: `inject_fault(status=503, count=2)`; `inject_fault(kind="rate_limit")`;
        `inject_fault(kind="timeout", path="/contacts/*/notes")`;
        `inject_fault(status=502, count=None, duration_s=30)`;
        `inject_fault(status=500, count=None)` (until `clear_faults()`).
        """
        return self.faults.add(
            kind=kind,
            status=status,
            count=count,
            duration_s=duration_s,
            method=method,
            path=path,
            hang_s=hang_s,
        )

    def clear_faults(self, fault_id: str | None = None) -> int:
        """Remove one fault or all; requests hanging on them answer 504."""
        return self.faults.clear(fault_id)

    def expire_tokens(self, *, token: str | None = None, location_id: str | None = None) -> int:
        """Make a token (or every token of a location) answer 401 from now on."""
        if token is None and location_id is None:
            raise ValueError("name a token or a location")
        return self.tokens.expire(token, location_id=location_id)

    # -- inspection -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every API request answered, in arrival order."""
        return self.log.records

    def requests_matching(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
        status: int | None = None,
    ) -> list[RequestRecord]:
        """Logged requests with this method, path (exact or prefix) and status."""
        return self.log.matching(method=method, path=path, path_prefix=path_prefix, status=status)

    def contact_state(self, contact_id: str) -> dict[str, Any]:
        """A contact with its tags, custom fields, notes, opportunities and appointments.

        Raises:
            KeyError: Unknown contact.
        """
        return contact_state(self.state.contacts[contact_id], self.state)

    def summary(self) -> dict[str, Any]:
        """How many of each thing the emulator holds."""
        counts = {name: len(value) for name, value in vars(self.state).items()}
        counts.pop("private_tokens", None)
        return {
            **counts,
            "private_tokens": sorted(p.name for p in self.state.private_tokens.values()),
            "access_tokens": len(self.tokens.access),
            "requests": len(self.log.records),
            "faults": len(self.faults.active()),
        }

    def reset(self, *, seed: int | None = None, settings: GhlSettings | None = None) -> None:
        """Forget all data, tokens, counters, faults and the log; restart the id sequence.

        For tests that share one running emulator.

        Args:
            seed: A new id seed; None restarts the current one.
            settings: New settings; None keeps the current ones.
        """
        self.faults.clear()
        self.state.clear()
        self.tokens.clear()
        self.limiter.clear()
        self.log.clear()
        self.ignored_custom_fields.clear()
        self.ids.reseed(self.ids.seed if seed is None else seed)
        if settings is not None:
            self.settings = settings


async def warm(emulator: GhlEmulator) -> None:
    """Load the spec files in a worker thread, so the first request does not stall the loop."""
    await asyncio.to_thread(emulator.warm_spec)
