"""The whole calling path on loopback ports: our app (uvicorn), the Twilio emulator, the DB.

Time in the stack runs from MORNING (a plain Wednesday, 10:00 in Miami) at the real rate, so
the gate allows calls whatever the hour the tests run at; `advance` jumps it forward.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from dentalvoice.app import create_app
from dentalvoice.config import Settings
from dentalvoice.db import Database
from dentalvoice.dialer.models import CallAttempt, CallJob
from dentalvoice.emulators.twilio import TwilioEmulator, create_emulator, serve_twilio_emulator
from dentalvoice.runtime import Telephony
from dentalvoice.serving import bind, serve_asgi, url_of
from dentalvoice.telephony.media import MediaHandler
from tests import factories as f
from tests.compliance.test_flows import MORNING
from tests.conftest import TEST_SECRET
from tests.leads.test_router import URL, add_location

PUBLIC = "https://agent.example.test"
ACCOUNT_SID = "AC" + "ab" * 16
AUTH_TOKEN = "emulated-auth-token-0123456789"
FROM_NUMBER = "+13055550100"


class FlowingClock:
    """MORNING plus the real time elapsed since it was made, plus any `advance`."""

    def __init__(self, start: datetime = MORNING) -> None:
        self._start = start
        self._t0 = time.monotonic()
        self._offset = timedelta()

    def __call__(self) -> datetime:
        return self._start + self._offset + timedelta(seconds=time.monotonic() - self._t0)

    def advance(self, delta: timedelta) -> None:
        self._offset += delta


@dataclass
class Stack:
    """Handles on every part of a running stack."""

    emulator: TwilioEmulator
    db: Database
    http: httpx.AsyncClient  # to our app's real port
    telephony: Telephony
    clock: FlowingClock
    settings: Settings

    async def post_lead(self, phone: str = f.PHONE_NATIONAL, **overrides: Any) -> dict[str, Any]:
        """A GHL workflow webhook for a consented lead; returns the JSON answer."""
        body = f.workflow_body(phone=phone, **overrides)
        response = await self.http.post(URL, params={"token": TEST_SECRET}, json=body)
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def jobs(self) -> list[CallJob]:
        async with self.db.reader() as session:
            return list((await session.execute(select(CallJob))).scalars())

    async def attempts(self) -> list[CallAttempt]:
        async with self.db.reader() as session:
            rows = await session.execute(select(CallAttempt).order_by(CallAttempt.started_at))
            return list(rows.scalars())


def twilio_settings(settings: Settings, twilio_url: str, **overrides: Any) -> Settings:
    """The test settings plus a Twilio account pointed at the emulator."""
    values = settings.model_dump()
    values.update(
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base_url=twilio_url,
        twilio_from_number=FROM_NUMBER,
        public_base_url=PUBLIC,
        dialer_calls_per_second=50.0,
        dialer_lease_s=5,
        voice_pipeline=False,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def running_stack(
    settings: Settings,
    db: Database,
    *,
    dial: bool = True,
    cps: float = 50.0,
    media_handler: MediaHandler | None = None,
    location: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Start the emulator and our app (with its dial worker when `dial`).

    `location` overrides the test clinic's fields (a transfer number, say).
    """
    await add_location(db, **(location or {}))
    app_sock = bind()
    emulator = create_emulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, cps=cps, route={PUBLIC: url_of(app_sock)}
    )
    clock = FlowingClock()
    with app_sock:
        async with _stack(
            settings, db, emulator, app_sock, clock, dial, cps, media_handler, overrides
        ) as s:
            yield s


@asynccontextmanager
async def _stack(
    settings: Settings,
    db: Database,
    emulator: TwilioEmulator,
    app_sock: socket.socket,
    clock: FlowingClock,
    dial: bool,
    cps: float,
    media_handler: MediaHandler | None,
    overrides: dict[str, Any],
) -> AsyncIterator[Stack]:
    async with serve_twilio_emulator(emulator) as twilio_url:
        stack_settings = twilio_settings(
            settings, twilio_url, dialer_calls_per_second=min(cps, 100.0), **overrides
        )
        app = create_app(stack_settings, run_dialer=dial, clock=clock, media_handler=media_handler)
        async with (
            app.router.lifespan_context(app),
            serve_asgi(app, sock=app_sock, websockets=True) as app_url,
            httpx.AsyncClient(base_url=app_url) as http,
        ):
            yield Stack(
                emulator=emulator,
                db=db,
                http=http,
                telephony=app.state.telephony,
                clock=clock,
                settings=stack_settings,
            )
