"""`dentalvoice dnc`: the internal do-not-call list and National DNC Registry imports."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import phonenumbers
import typer
from rich.markup import escape
from rich.table import Table

from dentalvoice.compliance.models import DncScope, DncSource, RegistryImportKind
from dentalvoice.leads.normalize import mask_phone

if TYPE_CHECKING:
    from dentalvoice.compliance.registry import ImportResult
    from dentalvoice.db import Database

dnc_app = typer.Typer(
    no_args_is_help=True, help="The internal do-not-call list and the National DNC Registry."
)

FRESH_DAYS = 31  # the registry safe harbour: data no older than 31 days (reference §1.6)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

PhoneArg = Annotated[
    str,
    typer.Argument(help="The number: +E.164 as is, or national in --region.", show_default=False),
]
LocationOpt = Annotated[
    str | None, typer.Option("--location", help="GHL location id: this clinic's list.")
]
AgencyOpt = Annotated[bool, typer.Option("--agency", help="The agency-wide list (every clinic).")]
RegionOpt = Annotated[str, typer.Option(help="Region of numbers written without +.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    # The main CLI owns the consoles (tests widen them); it imports this module, so import late.
    from dentalvoice import cli

    cli.err.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(code)


def _phone(raw: str, region: str) -> str:
    """PHONE in E.164; the message never repeats the number."""
    region = region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise _fail(f"--region: unknown region {escape(region)}")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise _fail("PHONE: not a phone number") from None
    # Possible, not valid: an opt-out must be recordable even for a range the phone metadata
    # does not know yet.
    if not phonenumbers.is_possible_number(number):
        raise _fail(f"PHONE: not a possible phone number (numbers without + are read as {region})")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _scope(location: str | None, agency: bool) -> DncScope:
    if (location is None) != agency:
        raise _fail("give either --location GHL_LOCATION_ID or --agency")
    return DncScope.AGENCY if agency else DncScope.LOCATION


async def _clinic_id(db: Database, ghl_location_id: str | None) -> uuid.UUID | None:
    from dentalvoice.locations import service as location_service

    if ghl_location_id is None:
        return None
    async with db.reader() as session:
        clinic = await location_service.get_by_ghl_id(
            session=session, ghl_location_id=ghl_location_id
        )
    if clinic is None:
        raise _fail(f"--location: no clinic with GHL location id {escape(ghl_location_id)}")
    return clinic.id


def _where(scope: DncScope, location: str | None) -> str:
    return (
        "every clinic (agency)" if scope is DncScope.AGENCY else f"clinic {escape(location or '')}"
    )


@dnc_app.command("add")
def dnc_add(
    phone: PhoneArg,
    location: LocationOpt = None,
    agency: AgencyOpt = False,
    note: Annotated[
        str | None, typer.Option(help="Why, for the audit trail (no patient details).")
    ] = None,
    region: RegionOpt = "US",
) -> None:
    """Put a number on the do-not-call list of one clinic or of the agency (effective at once)."""
    from dentalvoice import cli
    from dentalvoice.compliance import dnc

    scope = _scope(location, agency)
    e164 = _phone(phone, region)
    if note is not None and len(note) > dnc.NOTE_MAX:
        raise _fail(f"--note: at most {dnc.NOTE_MAX} characters")
    settings = cli._settings()

    async def work(db: Database) -> tuple[uuid.UUID, datetime]:
        location_id = await _clinic_id(db, location)
        async with db.transaction() as session:
            entry = await dnc.add(
                session=session,
                cipher=db.cipher,
                phone_e164=e164,
                scope=scope,
                location_id=location_id,
                source=DncSource.OPERATOR,
                note=note,
            )
            return entry.id, entry.created_at

    entry_id, since = cli._run(settings, work)
    cli.out.print(
        f"{mask_phone(e164)} is on the do-not-call list of {_where(scope, location)} "
        f"since {since:%Y-%m-%d %H:%M} UTC (entry {entry_id})",
        highlight=False,
    )


@dnc_app.command("remove")
def dnc_remove(
    phone: PhoneArg,
    location: LocationOpt = None,
    agency: AgencyOpt = False,
    region: RegionOpt = "US",
) -> None:
    """Take a number off one list; the entry is kept, marked removed, for the audit trail."""
    from dentalvoice import cli
    from dentalvoice.compliance import dnc

    scope = _scope(location, agency)
    e164 = _phone(phone, region)
    settings = cli._settings()

    async def work(db: Database) -> tuple[int, bool]:
        location_id = await _clinic_id(db, location)
        async with db.transaction() as session:
            removed = await dnc.remove(
                session=session,
                cipher=db.cipher,
                phone_e164=e164,
                scope=scope,
                location_id=location_id,
            )
            still = await dnc.is_blocked(
                session=session,
                phone_hash=dnc.phone_hash(cipher=db.cipher, phone_e164=e164),
                location_id=location_id,
            )
            return removed, still

    removed, still = cli._run(settings, work)
    masked = mask_phone(e164)
    if not removed:
        raise _fail(f"{masked} is not on the do-not-call list of {_where(scope, location)}", 1)
    cli.out.print(
        f"removed {masked} from the do-not-call list of {_where(scope, location)}", highlight=False
    )
    if still:
        cli.out.print(
            f"[yellow]{masked} is still blocked: it is on the agency-wide list[/yellow]",
            highlight=False,
        )


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


@dnc_app.command("list")
def dnc_list(
    location: Annotated[
        str | None,
        typer.Option("--location", help="GHL location id: the entries that apply to it."),
    ] = None,
    all_entries: Annotated[bool, typer.Option("--all", help="Include removed entries.")] = False,
) -> None:
    """List do-not-call entries, newest first (numbers masked)."""
    from dentalvoice import cli
    from dentalvoice.compliance import dnc
    from dentalvoice.locations import service as location_service

    settings = cli._settings()

    async def work(db: Database) -> list[list[str]]:
        location_id = await _clinic_id(db, location)
        async with db.reader() as session:
            clinics = {
                c.id: c.ghl_location_id
                for c in await location_service.list_locations(session=session)
            }
            entries = await dnc.list_entries(
                session=session, location_id=location_id, include_removed=all_entries
            )
        return [
            [
                e.phone_masked,
                str(e.scope),
                clinics.get(e.location_id, "?") if e.location_id else "-",
                str(e.source),
                escape(e.note or ""),
                _utc(e.created_at),
                _utc(e.removed_at),
                str(e.id),
            ]
            for e in entries
        ]

    rows = cli._run(settings, work)
    if not rows:
        cli.out.print("no entries")
        return
    table = Table(
        "number", "scope", "GHL location", "source", "note", "added (UTC)", "removed (UTC)", "id"
    )
    for row in rows:
        table.add_row(*row)
    cli.out.print(table)


def _given_date(value: str | None, today: date) -> date | None:
    if value is None:
        return None
    try:
        if not _ISO_DAY.fullmatch(value):
            raise ValueError
        given = date.fromisoformat(value)
    except ValueError:
        raise _fail("--date: use YYYY-MM-DD") from None
    if given > today + timedelta(days=1):
        raise _fail("--date: the registry date is in the future")
    return given


def _report(result: ImportResult, today: date) -> list[str]:
    kind = "full list" if result.kind is RegistryImportKind.FULL else "change list"
    lines = [
        f"{escape(result.file_name)}: {kind}, registry date {result.registry_date.isoformat()}, "
        f"area codes {', '.join(result.area_codes)}",
        f"  added {result.added}, removed {result.removed}, valid lines {result.valid_lines}, "
        f"invalid lines {result.invalid_lines}",
    ]
    if result.invalid_lines:
        shown = ", ".join(str(n) for n in result.invalid_line_numbers)
        more = ", …" if result.invalid_lines > len(result.invalid_line_numbers) else ""
        lines.append(f"  [yellow]invalid lines: {shown}{more}[/yellow]")
    if (today - result.registry_date).days > FRESH_DAYS:
        lines.append(
            f"  [yellow]older than {FRESH_DAYS} days: the gate treats this data as stale[/yellow]"
        )
    return lines


@dnc_app.command("import-registry")
def import_registry(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="FTC downloads (text, or a zip holding one text file).", show_default=False
        ),
    ],
    registry_date: Annotated[
        str | None,
        typer.Option(
            "--date", help="Registry date YYYY-MM-DD (default: from each file name, else today)."
        ),
    ] = None,
    changes: Annotated[
        bool, typer.Option("--changes", help="Change lists (additions and deletions).")
    ] = False,
    deletions: Annotated[
        bool,
        typer.Option(
            "--deletions", help="Change lists holding deletions only (implies --changes)."
        ),
    ] = False,
) -> None:
    """Import National DNC Registry files, in the order given; each applies whole or not at all.

    A full list replaces every number of the area codes it holds. Lines that are not numbers are
    counted and reported by line number. The import stops at the first file that fails.
    """
    from dentalvoice import cli
    from dentalvoice.compliance import registry

    today = date.today()
    given = _given_date(registry_date, today)
    for path in files:
        # Check every file first: a change list applied without the one before it is worse
        # than nothing applied.
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise _fail(
                f"FILE: cannot read {escape(str(path))} ({escape(exc.strerror or '')})"
            ) from None
    kind = RegistryImportKind.CHANGES if changes or deletions else RegistryImportKind.FULL
    settings = cli._settings()

    async def work(db: Database) -> int:
        for path in files:
            day = given or registry.date_from_file_name(path.name) or today
            if day > today + timedelta(days=1):
                cli.err.print(
                    f"[red]{escape(path.name)}: its name dates it in the future; give --date[/red]"
                )
                return 1
            try:
                async with db.transaction() as session:
                    result = await registry.import_file(
                        session=session,
                        cipher=db.cipher,
                        path=path,
                        kind=kind,
                        registry_date=day,
                        deletions_only=deletions,
                    )
            except (OSError, registry.RegistryFileError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                cli.err.print(
                    f"[red]{escape(path.name)}: not imported: {escape(reason)}[/red]",
                    highlight=False,
                )
                return 1
            for line in _report(result, today):
                cli.out.print(line, highlight=False)
        return 0

    raise typer.Exit(cli._run(settings, work))
