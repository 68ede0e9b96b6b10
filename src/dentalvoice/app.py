"""The ASGI app: routers, health checks and the lifespan that builds (and closes) resources."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from dentalvoice.clock import process_clock
from dentalvoice.compliance.flows import ScheduleFirstCall
from dentalvoice.config import Settings, get_settings
from dentalvoice.db import Database, open_database
from dentalvoice.db.base import utcnow
from dentalvoice.dialer.wake import WakeRelay
from dentalvoice.leads.events import LeadListener
from dentalvoice.leads.router import router as leads_router
from dentalvoice.leads.service import IntakeConfig, IntakeResult, IntakeService
from dentalvoice.leads.verification import SignatureKeys
from dentalvoice.logging import configure_logging, describe_exception
from dentalvoice.runtime import Telephony, open_telephony, warm_up
from dentalvoice.telephony.media import HangUpWhenAnswered, MediaHandler
from dentalvoice.telephony.router import router as twilio_router

READY_TIMEOUT_S = 2.0


def build_intake(
    *,
    settings: Settings,
    db: Database,
    listeners: Sequence[LeadListener] | None = None,
    wake: WakeRelay | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> IntakeService:
    """The intake service for this process's settings and database.

    `listeners` default to the product's: the compliance gate, which schedules the first call.
    With `wake`, a lead that got a call scheduled wakes the dialer once it is committed.
    """

    async def wake_dialer(result: IntakeResult) -> None:
        if wake is not None and "next_call_at" in result.extra:
            await wake.notify()

    if listeners is None:
        listeners = [ScheduleFirstCall(cipher=db.cipher, clock=clock)]
    return IntakeService(
        db=db,
        cipher=db.cipher,
        config=IntakeConfig(
            signature_keys=SignatureKeys.from_pem(
                ed25519_pem=settings.ghl_webhook_ed25519_public_key,
                rsa_pem=settings.ghl_webhook_rsa_public_key,
            ),
            global_secret=(
                settings.ghl_webhook_secret.get_secret_value()
                if settings.ghl_webhook_secret
                else None
            ),
            max_age=timedelta(seconds=settings.ghl_webhook_max_age_seconds),
            consent_keys=settings.consent_field_keys,
        ),
        listeners=listeners,
        on_committed=wake_dialer if wake is not None else None,
        clock=clock,
    )


def _media_handler(
    settings: Settings, db: Database, telephony: Telephony, clock: Callable[[], datetime]
) -> MediaHandler:
    # Without Twilio no call can reach the media route: no reason to import Pipecat and the
    # speech libraries (seconds of start-up) for it.
    if not settings.voice_pipeline or telephony.callbacks is None:
        return HangUpWhenAnswered(signals=telephony.signals)
    # Imported here: Pipecat and the speech libraries take seconds to import, and a
    # process without calls (tests of intake, the CLI) should not pay for them.
    from dentalvoice.voice.handler import VoiceCallHandler

    return VoiceCallHandler(
        settings=settings, db=db, clock=clock, control=telephony.control, ghl=telephony.ghl
    )


def create_app(
    settings: Settings | None = None,
    *,
    lead_listeners: Sequence[LeadListener] | None = None,
    run_dialer: bool | None = None,
    media_handler: MediaHandler | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the app; resources are created when it starts, not here.

    Args:
        settings: The settings (read from the environment by default).
        lead_listeners: What hears of stored leads (the compliance gate by default).
        run_dialer: Run the dial worker in this process (DIALER_ENABLED by default).
        media_handler: What runs an answered call's media stream.
        clock: The wall clock the gate and the dialer decide by (by default the real one,
            or SIMULATED_CLOCK_START's).
    """
    settings = settings or get_settings()
    clock = clock or process_clock(settings)
    dial = settings.dialer_enabled if run_dialer is None else run_dialer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Here, not in the CLI: each uvicorn worker process builds its own app.
        configure_logging(level=settings.log_level, json=settings.log_json)
        db, cipher_setup = open_database(settings)
        if cipher_setup.generated_key_file is not None:
            logger.warning(
                "no PHI_ENCRYPTION_KEY set: generated a local key at {} — back it up; "
                "without it the stored leads cannot be read",
                cipher_setup.generated_key_file,
            )
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        telephony = open_telephony(settings=settings, db=db, redis=redis, clock=clock)
        app.state.settings = settings
        app.state.db = db
        app.state.redis = redis
        app.state.telephony = telephony
        app.state.callbacks = telephony.callbacks
        app.state.media_handler = media_handler or _media_handler(settings, db, telephony, clock)
        # Before serving: the first lead must not wait on the gate's and the dial's loading.
        await telephony.warm_up()
        # The speech models take seconds: loaded while the process already takes leads.
        warm_media = getattr(app.state.media_handler, "warm_up", None)
        warming = (
            asyncio.create_task(warm_up(("speech models", warm_media)))
            if warm_media is not None and telephony.callbacks is not None
            else None
        )
        app.state.intake = build_intake(
            settings=settings, db=db, listeners=lead_listeners, wake=telephony.wake, clock=clock
        )
        telephony.start(dial=dial)
        try:
            yield
        finally:
            if warming is not None:
                # A model load in its thread cannot be interrupted; it is only waited for.
                await asyncio.gather(warming, return_exceptions=True)
            await telephony.aclose()
            # A handler the app built is the app's to close (cloud speech clients); one
            # passed in belongs to its caller.
            close_handler = getattr(app.state.media_handler, "aclose", None)
            if media_handler is None and close_handler is not None:
                await close_handler()
            if redis is not None:
                await redis.aclose()
            await db.dispose()

    app = FastAPI(
        title="dentalvoice",
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=lambda route: (
            f"{route.tags[0]}-{route.name}" if route.tags else route.name
        ),
    )
    app.include_router(leads_router)
    app.include_router(twilio_router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """The database (and Redis, when configured) answer within two seconds."""
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await app.state.db.ping()
            checks["database"] = "ok"
        except Exception as exc:  # any failure at all means "not ready"
            logger.warning("readyz database: {}", describe_exception(exc))
            checks["database"] = "unavailable"
        if app.state.redis is not None:
            try:
                async with asyncio.timeout(READY_TIMEOUT_S):
                    await app.state.redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:  # any failure at all means "not ready"
                logger.warning("readyz redis: {}", describe_exception(exc))
                checks["redis"] = "unavailable"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus counters (no PHI: outcomes only)."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
