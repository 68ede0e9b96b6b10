"""The `dentalvoice` command: serve, migrate, manage clinics, inspect and replay webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from dentalvoice.compliance.cli import dnc_app
from dentalvoice.config import ConfigurationError, Settings, get_settings
from dentalvoice.db import Database, open_database
from dentalvoice.db.crypto import generate_key
from dentalvoice.db.migrate import autogenerate, upgrade
from dentalvoice.errors import ConflictError, NotFoundError
from dentalvoice.leads.models import EventStatus
from dentalvoice.logging import configure_logging

if TYPE_CHECKING:
    import openai

    from dentalvoice.compliance.facts import Decision
    from dentalvoice.conversation.agent import CallContext, TurnEvent
    from dentalvoice.conversation.evaluation import EvalReport
    from dentalvoice.conversation.factory import AgentKind
    from dentalvoice.crm.outbox import WriteView
    from dentalvoice.demo import LeadInGhl

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
location_app = typer.Typer(no_args_is_help=True, help="Clinics (GHL sub-accounts).")
events_app = typer.Typer(no_args_is_help=True, help="Stored GHL webhooks.")
keys_app = typer.Typer(no_args_is_help=True, help="PHI encryption keys.")
compliance_app = typer.Typer(no_args_is_help=True, help="The compliance gate, for operators.")
app.add_typer(db_app, name="db")
app.add_typer(location_app, name="location")
app.add_typer(events_app, name="events")
app.add_typer(keys_app, name="keys")
app.add_typer(compliance_app, name="compliance")
app.add_typer(dnc_app, name="dnc")
emulate_app = typer.Typer(no_args_is_help=True, help="Local emulators of external services.")
app.add_typer(emulate_app, name="emulate")
outbox_app = typer.Typer(
    no_args_is_help=True,
    help="The CRM outbox: call results waiting for, sent to or refused by GHL.",
)
app.add_typer(outbox_app, name="outbox")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _settings() -> Settings:
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    configure_logging(level=settings.log_level, json=settings.log_json)
    return settings


def _open(settings: Settings) -> Database:
    try:
        db, setup = open_database(settings)
    except ConfigurationError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    if setup.generated_key_file is not None:
        err.print(
            f"[yellow]No PHI_ENCRYPTION_KEY set: generated {setup.generated_key_file}. "
            "Back it up; without it the stored leads cannot be read.[/yellow]"
        )
    return db


def _run(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def runner() -> T:
        db = _open(settings)
        try:
            await upgrade(db)
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(runner())


def _migrate(settings: Settings) -> None:
    async def nothing_more(db: Database) -> None:
        return None

    _run(settings, nothing_more)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP service (webhooks, health) under uvicorn, after applying migrations."""
    import uvicorn

    settings = _settings()
    _migrate(settings)
    uvicorn.run(
        "dentalvoice.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
    )


@app.command()
def worker() -> None:
    """Run the dial worker alone (no HTTP): claim due calls, re-check the gate, dial.

    Run as many as you like beside `serve` (set DIALER_ENABLED=false there to keep dialing
    out of the web processes); with REDIS_URL they share calls-per-second and wake-ups.
    """
    from redis.asyncio import Redis

    from dentalvoice.clock import process_clock
    from dentalvoice.runtime import open_telephony

    settings = _settings()
    if not settings.twilio_configured:
        err.print(
            "[red]configuration error:[/red] the worker needs TWILIO_ACCOUNT_SID, "
            "TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL"
        )
        raise typer.Exit(2)

    async def work(db: Database) -> None:
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        telephony = open_telephony(
            settings=settings, db=db, redis=redis, clock=process_clock(settings)
        )
        try:
            await telephony.run_worker()
        finally:
            await telephony.aclose()
            if redis is not None:
                await redis.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        _run(settings, work)


@emulate_app.command("twilio")
def emulate_twilio(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (TWILIO_API_BASE_URL points here).")] = 8123,
    route: Annotated[
        str | None,
        typer.Option(
            help="public=local pairs, comma separated: where the public URLs in calls and "
            "TwiML really are. Default: PUBLIC_BASE_URL=http://127.0.0.1:8000."
        ),
    ] = None,
    callee: Annotated[
        str, typer.Option(help="Who answers: no_answer, busy, fails, voicemail, silent_human.")
    ] = "silent_human",
    cps: Annotated[float, typer.Option(help="The account's calls per second.")] = 1.0,
) -> None:
    """Run the Twilio emulator (REST Calls API, signed callbacks, TwiML, Media Streams).

    It accepts the account in TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, the same values `serve`
    uses with TWILIO_API_BASE_URL=http://HOST:PORT.
    """
    from dentalvoice.emulators.twilio import callee_from_name, run_twilio_emulator
    from dentalvoice.emulators.twilio.server import parse_route

    settings = _settings()
    if settings.twilio_account_sid is None or settings.twilio_auth_token is None:
        err.print(
            "[red]configuration error:[/red] set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
            "(the emulator accepts that account; give `serve` the same values)"
        )
        raise typer.Exit(2)
    try:
        callee_from_name(callee)
        table = parse_route(route) if route is not None else {}
    except ValueError as exc:
        err.print(f"[red]invalid option:[/red] {exc}")
        raise typer.Exit(2) from None
    if route is None and settings.public_base_url is not None:
        table = {str(settings.public_base_url).rstrip("/"): "http://127.0.0.1:8000"}
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_twilio_emulator(
                host=host,
                port=port,
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token.get_secret_value(),
                route=table,
                cps=cps,
                callee_name=callee,
            )
        )


@emulate_app.command("ghl")
def emulate_ghl(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (the GHL client's base URL).")] = 8124,
    seed_file: Annotated[
        Path | None, typer.Option(help="JSON seed document (see emulators/ghl/seeding.py).")
    ] = None,
    demo: Annotated[bool, typer.Option(help="Seed the demo clinic.")] = True,
    seed: Annotated[int, typer.Option(help="Id seed: same seed, same ids and tokens.")] = 0,
) -> None:
    """Run the GoHighLevel emulator (API v2: contacts, opportunities, calendars, OAuth).

    Prints the base URL and the seeded tokens (local use only).
    """
    from dentalvoice.emulators.ghl import run_ghl_emulator

    configure_logging(level="INFO", json=False)
    try:
        asyncio.run(
            run_ghl_emulator(
                host=host, port=port, seed_file=seed_file, demo=demo, seed=seed, announce=out.print
            )
        )
    except KeyboardInterrupt:
        pass
    except (OSError, KeyError, TypeError, ValueError) as exc:
        err.print(f"[red]cannot start the GHL emulator:[/red] {exc}")
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    _migrate(_settings())
    out.print("database is up to date")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("--message", "-m")]) -> None:
    """(Developers) write a migration from the models' difference with the database."""
    settings = _settings()
    _run(settings, lambda db: autogenerate(db, message))


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new random key for PHI_ENCRYPTION_KEY."""
    out.print(generate_key(), highlight=False)


@location_app.command("add")
def location_add(
    name: Annotated[str, typer.Option(help="Clinic name, as the agent will say it.")],
    ghl_location_id: Annotated[str, typer.Option(help="GHL sub-account (location) id.")],
    timezone: Annotated[str, typer.Option(help="IANA zone, e.g. America/New_York.")],
    country: Annotated[str, typer.Option(help="US or CA.")] = "US",
    webhook_secret: Annotated[
        str | None, typer.Option(help="Secret for workflow webhooks (generated if omitted).")
    ] = None,
    twilio_from_number: Annotated[str | None, typer.Option(help="E.164 caller id.")] = None,
    transfer_number: Annotated[str | None, typer.Option(help="E.164 front desk.")] = None,
    calendar_id: Annotated[str | None, typer.Option(help="GHL calendar id.")] = None,
    pipeline_id: Annotated[str | None, typer.Option(help="GHL pipeline id.")] = None,
    ghl_token: Annotated[
        str | None, typer.Option(help="Private integration token (stored encrypted).")
    ] = None,
) -> None:
    """Add a clinic."""
    from dentalvoice.locations import service
    from dentalvoice.locations.schemas import LocationCreate

    settings = _settings()
    generated = webhook_secret is None and settings.ghl_webhook_secret is None
    secret = service.generate_webhook_secret() if generated else webhook_secret
    try:
        location_in = LocationCreate(
            name=name,
            ghl_location_id=ghl_location_id,
            timezone=timezone,
            country=country,
            webhook_secret=secret,
            twilio_from_number=twilio_from_number,
            transfer_number=transfer_number,
            calendar_id=calendar_id,
            pipeline_id=pipeline_id,
            ghl_token=ghl_token,
        )
    except ValidationError as exc:
        for e in exc.errors(include_input=False, include_url=False):
            err.print(f"[red]--{str(e['loc'][0]).replace('_', '-')}[/red]: {e['msg']}")
        raise typer.Exit(2) from None

    async def work(db: Database) -> uuid.UUID:
        async with db.transaction() as session:
            location = await service.create_location(session=session, location_in=location_in)
            return location.id

    try:
        location_id = _run(settings, work)
    except ConflictError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    out.print(f"added location {location_id} ({name})")
    if generated:
        base = str(settings.public_base_url or "http://127.0.0.1:8000").rstrip("/")
        out.print("Webhook secret (shown once; keep it in the GHL workflow URL):")
        out.print(f"  {base}/webhooks/ghl?token={secret}", highlight=False, soft_wrap=True)


@location_app.command("list")
def location_list() -> None:
    """List clinics."""
    from dentalvoice.locations import service

    settings = _settings()

    async def work(db: Database) -> list[list[str]]:
        async with db.reader() as session:
            return [
                [
                    str(loc.id),
                    loc.name,
                    loc.ghl_location_id,
                    loc.timezone,
                    loc.country,
                    "yes" if loc.webhook_secret else "global",
                    loc.twilio_from_number or "-",
                ]
                for loc in await service.list_locations(session=session)
            ]

    table = Table("id", "name", "GHL location", "timezone", "country", "secret", "from number")
    for row in _run(settings, work):
        table.add_row(*row)
    out.print(table)


@events_app.command("list")
def events_list(
    status: Annotated[
        EventStatus | None, typer.Option(help="Only events with this status.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """List stored webhooks, newest first (no PHI is shown)."""
    from dentalvoice.leads import service

    settings = _settings()

    async def work(db: Database) -> list[list[str]]:
        async with db.reader() as session:
            return [
                [
                    str(e.id),
                    e.received_at.strftime("%Y-%m-%d %H:%M:%S"),
                    str(e.shape),
                    e.event_type or "-",
                    str(e.status),
                    e.ghl_location_id or "-",
                    str(e.lead_id) if e.lead_id else "-",
                    "; ".join(f"{x['field']}: {x['reason']}" for x in e.errors or []),
                ]
                for e in await service.list_events(session=session, status=status, limit=limit)
            ]

    table = Table(
        "id", "received (UTC)", "shape", "type", "status", "GHL location", "lead", "errors"
    )
    for row in _run(settings, work):
        table.add_row(*row)
    out.print(table)


@events_app.command("replay")
def events_replay(
    event_id: Annotated[str | None, typer.Argument(help="Event id to process again.")] = None,
    all_unprocessed: Annotated[
        bool, typer.Option("--all-unprocessed", help="Every unroutable or failed event.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Replay an already processed event too.")] = False,
) -> None:
    """Re-run processing of stored webhooks (e.g. after adding a missing location)."""
    if (event_id is None) == (not all_unprocessed):
        err.print("[red]give an EVENT_ID or --all-unprocessed[/red]")
        raise typer.Exit(2)
    settings = _settings()

    async def work(db: Database) -> int:
        from dentalvoice.app import build_intake

        intake = build_intake(settings=settings, db=db)
        if event_id is not None:
            try:
                ids = [uuid.UUID(event_id)]
            except ValueError:
                err.print("[red]EVENT_ID is not a UUID[/red]")
                return 2
        else:
            ids = await intake.replayable_event_ids()
        failures = 0
        for one in ids:
            try:
                result = await intake.replay(one, force=force)
            except NotFoundError as exc:
                err.print(f"[red]{exc}[/red]")
                return 1
            reasons = "; ".join(f"{e.field}: {e.reason}" for e in result.errors)
            out.print(f"{one}  {result.status}  lead={result.lead_id or '-'}  {reasons}")
            failures += result.http_status >= 400
        if not ids:
            out.print("nothing to replay")
        return 1 if failures else 0

    raise typer.Exit(_run(settings, work))


# The outbox's states, as `outbox list --status` takes them.
OUTBOX_STATUSES = ("pending", "sending", "delivered", "failed")


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        str | None, typer.Option(help="Only writes in this state: " + ", ".join(OUTBOX_STATUSES))
    ] = None,
    location: Annotated[
        str | None, typer.Option(help="Only this clinic's writes (GHL location id).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """List GHL writes, newest first: what each is, its state and GHL's last answer (no PHI)."""
    from dentalvoice.crm import admin
    from dentalvoice.crm.models import WriteStatus

    if status is not None and status not in OUTBOX_STATUSES:
        err.print(f"[red]--status: use one of {', '.join(OUTBOX_STATUSES)}[/red]")
        raise typer.Exit(2)
    settings = _settings()
    wanted = WriteStatus(status) if status is not None else None

    async def work(db: Database) -> list[list[str]]:
        rows = await admin.list_outbox(db=db, status=wanted, ghl_location_id=location, limit=limit)
        return [
            [
                str(row.id),
                row.ghl_location_id,
                row.kind,
                row.status.value,
                str(row.attempts),
                row.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S")
                if row.next_attempt_at is not None
                else ("now" if row.status.value == "pending" else "-"),
                escape(row.last_error or "-"),
            ]
            for row in rows
        ]

    table = Table("id", "location", "op", "status", "attempts", "next attempt (UTC)", "last error")
    for row in _run(settings, work):
        table.add_row(*row)
    out.print(table)


@outbox_app.command("retry")
def outbox_retry(
    write_id: Annotated[
        str | None, typer.Argument(help="The write to send again (from `outbox list`).")
    ] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Every failed write.")] = False,
    location: Annotated[
        str | None, typer.Option(help="With --all-failed: one clinic's only (GHL location id).")
    ] = None,
) -> None:
    """Put failed GHL writes back in line (attempts are kept); running senders pick them up."""
    from dentalvoice.crm import admin

    if (write_id is None) == (not all_failed):
        err.print("[red]give a write ID or --all-failed[/red]")
        raise typer.Exit(2)
    if location is not None and not all_failed:
        err.print("[red]--location goes with --all-failed[/red]")
        raise typer.Exit(2)
    one = None
    if write_id is not None:
        try:
            one = uuid.UUID(write_id)
        except ValueError:
            err.print("[red]ID is not a UUID[/red]")
            raise typer.Exit(2) from None
    settings = _settings()

    async def work(db: Database) -> int:
        try:
            count = await admin.retry_outbox(
                db=db,
                write_id=one,
                all_failed=all_failed,
                ghl_location_id=location,
                redis_url=settings.redis_url,
            )
        except (NotFoundError, ConflictError) as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            return 1
        out.print(f"{count} write(s) due again")
        return 0

    raise typer.Exit(_run(settings, work))


@compliance_app.command("check")
def compliance_check(
    phone: Annotated[str, typer.Option(help="The number, e.g. +13055550123.")],
    state: Annotated[str | None, typer.Option(help="Two-letter state/province.")] = None,
    at: Annotated[
        str | None, typer.Option(help="ISO 8601 moment with offset (default: now).")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="The contact's IANA zone.")] = None,
    location: Annotated[
        str | None, typer.Option(help="GHL location id: apply that clinic's hours and lists.")
    ] = None,
    no_consent: Annotated[
        bool, typer.Option("--no-consent", help="Assume no written consent and no inquiry.")
    ] = False,
) -> None:
    """May this number be called at this moment? Prints the decision and its reasons."""
    from datetime import UTC, datetime

    import phonenumbers

    from dentalvoice.compliance import service as compliance_service
    from dentalvoice.leads.normalize import mask_phone
    from dentalvoice.locations import service as location_service

    settings = _settings()
    try:
        number = phonenumbers.parse(phone, "US")
        if not phonenumbers.is_possible_number(number):
            raise ValueError
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except (phonenumbers.NumberParseException, ValueError):
        err.print("[red]--phone: not a phone number[/red]")
        raise typer.Exit(2) from None
    try:
        moment = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        err.print("[red]--at: use ISO 8601 with an offset, e.g. 2026-11-24T10:15:00-05:00[/red]")
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        err.print("[red]--at: give an offset or Z[/red]")
        raise typer.Exit(2)

    async def work(db: Database) -> Decision:
        async with db.transaction() as session:
            clinic = None
            if location is not None:
                clinic = await location_service.get_by_ghl_id(
                    session=session, ghl_location_id=location
                )
                if clinic is None:
                    err.print(f"[red]--location: no clinic with GHL location id {location}[/red]")
                    raise typer.Exit(2)
            return await compliance_service.check_phone(
                session=session,
                cipher=db.cipher,
                phone_e164=e164,
                at=moment,
                state=state.upper() if state else None,
                timezone=timezone,
                location=clinic,
                consent=not no_consent,
            )

    decision = _run(settings, work)
    colour = {"allow": "green", "defer": "yellow", "block": "red"}[decision.kind.value]
    out.print(f"{mask_phone(e164)} at {moment.isoformat()}: [{colour}]{decision.kind.value}[/]")
    if decision.not_before is not None:
        out.print(f"  not before: {decision.not_before.isoformat()}")
    for reason in decision.reasons:
        out.print(f"  reason: {reason}")
    out.print(f"  zones: {', '.join(decision.zones) or '-'}")
    out.print(f"  jurisdictions: {', '.join(decision.states) or '-'}")
    out.print(f"  rules version: {decision.rules_version}")


def _agent_kind(
    settings: Settings, agent: str | None
) -> tuple[AgentKind, openai.AsyncOpenAI | None]:
    """`--agent` (else `LLM_PROVIDER`), with an OpenAI client when the LLM agent is asked for."""
    from dentalvoice.conversation.factory import AgentKind

    try:
        kind = AgentKind(agent or settings.llm_provider)
    except ValueError:
        err.print("[red]--agent: use scripted or openai[/red]")
        raise typer.Exit(2) from None
    return kind, _llm_client(settings) if kind is AgentKind.OPENAI else None


def _llm_client(settings: Settings) -> openai.AsyncOpenAI:
    import openai

    if settings.openai_api_key is None:
        err.print("[red]invalid OPENAI_API_KEY: required with --agent openai[/red]")
        raise typer.Exit(2)
    return openai.AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=str(settings.openai_base_url) if settings.openai_base_url else None,
        max_retries=0,
    )


async def _chat_context(settings: Settings, location: str | None, first_name: str) -> CallContext:
    from datetime import UTC, datetime

    from dentalvoice.conversation.agent import CallContext
    from dentalvoice.locations import service

    if location is None:
        return CallContext(
            clinic_name="Bright Smile Dental",
            timezone="America/New_York",
            now=datetime.now(UTC),
            lead_first_name=first_name,
        )
    db = _open(settings)
    try:
        await upgrade(db)
        async with db.reader() as session:
            found = await service.get_by_ghl_id(session=session, ghl_location_id=location)
    finally:
        await db.dispose()
    if found is None:
        err.print(f"[red]--location: no clinic with GHL location id {location}[/red]")
        raise typer.Exit(2)
    return CallContext(
        clinic_name=found.name,
        timezone=found.timezone,
        now=datetime.now(UTC),
        lead_first_name=first_name,
        transfer_available=found.transfer_number is not None,
        callback_number=found.twilio_from_number,
    )


@app.command()
def chat(
    location: Annotated[
        str | None, typer.Option(help="GHL location id of a clinic (default: a demo clinic).")
    ] = None,
    agent: Annotated[
        str | None, typer.Option(help="scripted or openai (default: LLM_PROVIDER).")
    ] = None,
    first_name: Annotated[str, typer.Option(help="The lead's first name.")] = "Sam",
) -> None:
    """Talk to the agent by typing (an empty line is silence; Ctrl-D hangs up)."""
    from dentalvoice.conversation.agent import Do, Say
    from dentalvoice.conversation.factory import build_agent

    settings = _settings()
    kind, client = _agent_kind(settings, agent)

    async def talk() -> None:
        context = await _chat_context(settings, location, first_name)
        bot = build_agent(
            context=context,
            kind=kind,
            llm_client=client,
            llm_model=settings.openai_model,
            llm_turn_timeout_s=settings.llm_turn_timeout_s,
        )

        async def show(events: AsyncIterator[TurnEvent]) -> None:
            async for event in events:
                if isinstance(event, Say):
                    out.print(f"[bold cyan]{context.agent_name}:[/bold cyan] {event.text}")
                elif isinstance(event, Do):
                    out.print(f"[magenta]  → {event.action}[/magenta]")

        await show(bot.opening())
        while not bot.state.finished:
            try:
                line = await asyncio.to_thread(input, "you: ")
            except EOFError:
                break
            await show(bot.respond(line or None))
            filled = bot.state.qualification.model_dump(mode="json", exclude_defaults=True)
            out.print(Panel(_fields_table(filled), title="qualification", expand=False))
        if client is not None:
            await client.close()

    asyncio.run(talk())


@app.command()
def demo(
    scenario: Annotated[
        str, typer.Option(help="A scenario name in ./scenarios, or a YAML file.")
    ] = "implant-consult-insured",
    record: Annotated[
        Path | None, typer.Option(help="Write both sides of the call to this stereo WAV.")
    ] = None,
) -> None:
    """Run one whole call on the embedded defaults: webhook, gate, dial, the voice conversation,
    the write-back to GHL.

    No credentials: SQLite in DATA_DIR/demo, the Twilio and GHL emulators, local models, and a
    simulated caller that speaks the scenario's answers and hears only audio. Prints what GHL
    then shows for the lead. Exit 0 when the call ended with the scenario's expected outcome.
    """
    from dentalvoice.conversation.evaluation.scenario import ScenarioError, load_scenario
    from dentalvoice.demo import run_demo

    settings = _settings()
    path = Path(scenario)
    if not path.suffix:
        path = Path("scenarios") / f"{scenario}.yaml"
    try:
        chosen = load_scenario(path)
    except (ScenarioError, OSError) as exc:
        err.print(f"[red]scenario:[/red] {exc}")
        raise typer.Exit(2) from None

    speakers: list[str] = []

    def show(line: Any) -> None:
        # The agent's sentences arrive one by one: its name heads the first of a run.
        colour = "cyan" if line.speaker == "agent" else "green"
        label = "" if speakers and speakers[-1] == line.speaker else line.speaker
        speakers.append(line.speaker)
        out.print(f"[{colour}]{label:>6}[/{colour}]  {line.text}")

    out.print(f"[bold]{chosen.name}[/bold]: {chosen.description or ''}")
    out.print(f"calling {chosen.lead.first_name or 'the lead'} for {chosen.location.name}…")
    result = asyncio.run(
        run_demo(scenario=chosen, data_dir=settings.data_dir / "demo", on_line=show)
    )
    if record is not None:
        result.caller.write_stereo_wav(record)
        out.print(f"recording: {record}")
    expected = chosen.expect.outcome.value if chosen.expect.outcome else None
    got = result.result.qualification.outcome if result.result else None
    if result.result is not None:
        out.print(_fields_table(result.result.qualification.model_dump(exclude_none=True)))
    table = Table("turn", "caller said", "voice-to-voice ms")
    for turn in result.caller.turns:
        v2v = turn.voice_to_voice_ms
        table.add_row(str(turn.index), turn.reply or "(silence)", f"{v2v:.0f}" if v2v else "—")
    out.print(table)
    out.print(_ghl_panel(result.ghl, result.writes))
    out.print(
        f"call {result.call.status}; outcome {got.value if got else None} "
        f"(expected {expected}); dialer outcome {result.outcome}"
    )
    ok = result.call.status == "completed" and (expected is None or (got and got.value == expected))
    raise typer.Exit(0 if ok else 1)


@app.command("eval")
def eval_scenarios(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or directories.")],
    mode: Annotated[
        str,
        typer.Option(
            help="text (agent and caller exchange text) or voice (each scenario is a whole "
            "phone call, as in `demo`: emulator, local Whisper and Piper, a talking caller; "
            "one after another, about a minute each; scripted agent only)."
        ),
    ] = "text",
    agent: Annotated[
        str | None, typer.Option(help="scripted or openai (default: LLM_PROVIDER).")
    ] = None,
    transcripts: Annotated[bool, typer.Option(help="Print each scenario's transcript.")] = False,
) -> None:
    """Run scenario files against the agent; per-scenario pass/fail and per-field accuracy."""
    from dentalvoice.conversation.agent import Agent
    from dentalvoice.conversation.evaluation import print_report, run_paths
    from dentalvoice.conversation.evaluation.scenario import Scenario, ScenarioError
    from dentalvoice.conversation.factory import build_agent

    if mode not in ("text", "voice"):
        err.print(f"[red]unknown evaluation mode {mode!r}; available: text, voice[/red]")
        raise typer.Exit(2)
    if mode == "voice":
        from dentalvoice.voice.evaluation import demo_differences, run_voice_paths

        if agent not in (None, "scripted"):
            err.print("[red]--agent: the voice mode runs the scripted agent only[/red]")
            raise typer.Exit(2)
        data_dir = _settings().data_dir / "eval-voice"

        def starting(scenario: Scenario) -> None:
            out.print(f"{scenario.name}: calling…", highlight=False)
            for note in demo_differences(scenario):
                out.print(f"  [yellow]not reproduced by the demo call:[/yellow] {note}")

        try:
            report = asyncio.run(run_voice_paths(paths, data_dir=data_dir, on_start=starting))
        except ScenarioError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        print_report(report, out, transcripts=transcripts)
        raise typer.Exit(0 if report.ok else 1)

    settings = _settings()
    kind, client = _agent_kind(settings, agent)

    def factory(context: CallContext) -> Agent:
        return build_agent(
            context=context,
            kind=kind,
            llm_client=client,
            llm_model=settings.openai_model,
            llm_turn_timeout_s=settings.llm_turn_timeout_s,
        )

    async def run() -> EvalReport:
        try:
            return await run_paths(paths, mode=mode, agent_factory=factory)
        finally:
            if client is not None:
                await client.close()

    try:
        report = asyncio.run(run())
    except (ScenarioError, ValueError, FileNotFoundError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    print_report(report, out, transcripts=transcripts)
    raise typer.Exit(0 if report.ok else 1)


def _ghl_panel(lead: LeadInGhl, writes: list[WriteView]) -> Panel:
    """What GHL shows for the demo lead, and how the outbox's writes went."""
    table = Table(show_header=False, box=None)
    table.add_row("contact", lead.name or "—")
    table.add_row("tags", ", ".join(lead.tags) or "—")
    for name, value in lead.fields.items():
        table.add_row(name, str(value))
    table.add_row("call DND", "on" if lead.call_dnd else "off")
    for stage in lead.stages:
        table.add_row("opportunity", stage)
    for appointment in lead.appointments:
        table.add_row("appointment", appointment)
    counts: dict[str, int] = {}
    for write in writes:
        counts[write.status.value] = counts.get(write.status.value, 0) + 1
    table.add_row("writes", ", ".join(f"{n} {status}" for status, n in counts.items()) or "none")
    for write in writes:
        if write.last_error and write.status.value != "delivered":
            table.add_row(f"  {write.kind}", f"{write.status.value}: {write.last_error}")
    notes = [Text(note) for note in lead.notes]
    return Panel(Group(table, *notes), title="what GHL now shows for the lead", expand=False)


def _fields_table(fields: dict[str, object]) -> Table:
    table = Table(show_header=False, box=None)
    for name, value in fields.items():
        table.add_row(name, str(value))
    return table


def main() -> None:
    """Entry point of the `dentalvoice` script."""
    app()
