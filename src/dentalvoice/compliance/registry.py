"""The National DNC Registry: parse the FTC's downloads, import them by blind index, look up."""

from __future__ import annotations

import enum
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, String, Table, delete, exists, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.compliance.dnc import PHONE_PURPOSE
from dentalvoice.compliance.facts import RegistryFacts
from dentalvoice.compliance.models import RegistryImport, RegistryImportKind, RegistryNumber
from dentalvoice.db.base import utcnow
from dentalvoice.db.crypto import PhiCipher
from dentalvoice.errors import DentalVoiceError

BATCH_SIZE = 5_000
MAX_REPORTED_LINES = 100  # invalid line numbers kept for the report; the count is always exact

_numbers: Table = cast(Table, RegistryNumber.__table__)


class RegistryFileError(DentalVoiceError):
    """A registry file cannot be imported (unreadable archive, or not one valid line)."""


class Change(enum.StrEnum):
    """What a change-list line does to the registry."""

    ADD = "add"
    DELETE = "delete"


_FLAGS = {
    **dict.fromkeys(("a", "add", "added", "addition"), Change.ADD),
    **dict.fromkeys(("d", "del", "delete", "deleted", "deletion"), Change.DELETE),
}
_SEPARATOR = re.compile(r"[,\t;|]")
# Punctuation people and exports put inside numbers: "(212) 555-0123", "212.555.0123", "+1 …".
_NUMBER_NOISE = re.compile(r"[\s().+\-]")
_DIGITS = re.compile(r"[0-9]+")
_LETTER = re.compile(r"[^\W\d_]")
# NANP: neither the area code nor the exchange starts with 0 or 1.
_NANP = re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}")
_ISO_DATE = re.compile(r"(?<![0-9])(20[0-9]{2})([-_.]?)([0-9]{2})\2([0-9]{2})(?![0-9])")
_US_DATE = re.compile(r"(?<![0-9])([0-9]{2})([-_.]?)([0-9]{2})\2(20[0-9]{2})(?![0-9])")


@dataclass(frozen=True, slots=True)
class RegistryLine:
    """One number read from a registry file."""

    line_no: int
    area_code: str
    number: str  # ten digits, area code first
    change: Change | None  # from the line's add/delete column; None when it has none


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not a number; `reason` never quotes the line."""

    line_no: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one file did to the registry table."""

    import_id: UUID
    file_name: str
    kind: RegistryImportKind
    registry_date: date
    area_codes: tuple[str, ...]
    added: int  # numbers new to the table
    removed: int  # numbers deleted: by a change list, or absent from a full list's area codes
    valid_lines: int
    invalid_lines: int
    invalid_line_numbers: tuple[int, ...]  # the first MAX_REPORTED_LINES of them


class _Invalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _digits_of(field: str) -> str:
    return _NUMBER_NOISE.sub("", field)


def parse_line(text: str) -> tuple[str, Change | None]:
    """Read one data line: `NPANXXXXXX` or `NPA,NXXXXXX`, with an optional add/delete column.

    The add/delete column (`A`/`D`, `add`/`delete`, …) may lead or trail; fields are separated
    by commas (or tabs, semicolons, pipes) and may be quoted. Columns after the number are
    ignored when they hold no letter (a change date); a word there makes the line invalid.

    Args:
        text: The line, without its line ending.

    Returns:
        The ten digits and the line's change flag (None when it has none).

    Raises:
        ValueError: The line holds no valid NANP number; the message never quotes it.
    """
    try:
        return _parse(text)
    except _Invalid as exc:
        raise ValueError(exc.reason) from None


def _parse(text: str) -> tuple[str, Change | None]:
    fields = [f.strip().strip("\"'").strip() for f in _SEPARATOR.split(text)]
    change: Change | None = None
    if len(fields) > 1:
        for end in (0, -1):
            flag = _FLAGS.get(fields[end].lower())
            if flag is not None:
                change = flag
                del fields[end]
                break
        if change is not None and fields and fields[-1].lower() in _FLAGS:
            raise _Invalid("two add/delete columns")
    if not fields:
        raise _Invalid("no number")
    head = _digits_of(fields[0])
    if len(head) == 3 and len(fields) > 1 and _DIGITS.fullmatch(head):
        rest = _digits_of(fields[1])
        if len(rest) != 7 or not _DIGITS.fullmatch(rest):
            raise _Invalid("an area code not followed by a 7-digit number")
        digits = head + rest
    else:
        digits = head[1:] if len(head) == 11 and head.startswith("1") else head
        if len(digits) != 10 or not _DIGITS.fullmatch(digits):
            raise _Invalid("not a 10-digit number")
    if not _NANP.fullmatch(digits):
        raise _Invalid("not a NANP number (area code or exchange starts with 0 or 1)")
    extra = fields[2:] if len(head) == 3 else fields[1:]
    # Dates and counters may follow the number; a word there is a flag we do not know, and
    # guessing "addition" for it could list or unlist the wrong way.
    if any(_LETTER.search(f) for f in extra):
        raise _Invalid("an unknown add/delete value")
    return digits, change


def parse_lines(lines: Iterable[str]) -> Iterator[RegistryLine | BadLine]:
    """Read a registry file line by line; blank lines and a leading header line are skipped.

    A header is recognised as a first non-blank line with no digit in it (e.g.
    `"AreaCode","PhoneNumber"`); any later line that is not a number is a `BadLine`.

    Args:
        lines: The file's lines, with or without their endings (`\\n` or `\\r\\n`).

    Yields:
        A `RegistryLine` per number and a `BadLine` per line that is not one, in file order.
    """
    seen_data = False
    for line_no, raw in enumerate(lines, start=1):
        text = raw.strip().lstrip("\ufeff").strip()
        if not text:
            continue
        first, seen_data = not seen_data, True
        try:
            digits, change = _parse(text)
        except _Invalid as exc:
            if first and not any(c.isdigit() for c in text):
                continue
            yield BadLine(line_no=line_no, reason=exc.reason)
            continue
        yield RegistryLine(line_no=line_no, area_code=digits[:3], number=digits, change=change)


def date_from_file_name(name: str) -> date | None:
    """The registry date a file name carries, if any.

    Recognises `2026-11-20`, `2026_11_20`, `20261120` and the US order `11-20-2026`/`11202026`.

    Args:
        name: A file name (the directory part is ignored by callers).

    Returns:
        The first valid date found, or None.
    """
    candidates: list[tuple[int, int, int]] = [
        (int(m[1]), int(m[3]), int(m[4])) for m in _ISO_DATE.finditer(name)
    ]
    candidates += [(int(m[4]), int(m[1]), int(m[3])) for m in _US_DATE.finditer(name)]
    for year, month, day in candidates:
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


@contextmanager
def open_registry_file(path: Path) -> Iterator[Iterator[str]]:
    """Open a registry download for streaming: a text file, or a zip holding one text file.

    Lines are decoded as UTF-8 (an undecodable byte makes its line invalid, not the file) with
    universal newlines, so CRLF files read like LF ones.

    Args:
        path: The file.

    Yields:
        An iterator over its lines, read lazily.

    Raises:
        OSError: The file cannot be read.
        RegistryFileError: A zip that is damaged or does not hold exactly one file.
    """
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) != 1:
                    raise RegistryFileError(
                        f"a zip must hold exactly one file (it holds {len(members)})"
                    )
                with (
                    archive.open(members[0]) as raw,
                    io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace") as text,
                ):
                    yield iter(text)
        except zipfile.BadZipFile as exc:
            raise RegistryFileError("damaged zip archive") from exc
        return
    with path.open(encoding="utf-8-sig", errors="replace") as text:
        yield iter(text)


def _change_for(line: RegistryLine, kind: RegistryImportKind, deletions_only: bool) -> Change:
    if kind is RegistryImportKind.FULL:
        if line.change is Change.DELETE:
            raise _Invalid("a deletion in a full list")
        return Change.ADD
    if deletions_only:
        if line.change is Change.ADD:
            raise _Invalid("an addition in a deletions-only file")
        return Change.DELETE
    return line.change or Change.ADD


def _dialect_insert(session: AsyncSession) -> Any:
    # Both dialects spell ON CONFLICT DO NOTHING the same way, through different constructs.
    name = session.get_bind().dialect.name
    insert = pg_insert if name == "postgresql" else sqlite_insert
    return insert(_numbers).on_conflict_do_nothing(index_elements=["phone_hash"])


class _Batches:
    """Pending additions and deletions, applied every `size` numbers; the last word wins."""

    def __init__(self, *, session: AsyncSession, import_id: UUID, mark: bool, size: int) -> None:
        self.session = session
        self.import_id = import_id
        self.mark = mark  # full lists stamp every number they hold, new or not, for the sweep
        self.size = size
        self.adds: dict[str, str] = {}  # hash -> area code
        self.deletes: set[str] = set()
        self.added = 0
        self.removed = 0
        self._insert = _dialect_insert(session).returning(_numbers.c.phone_hash)

    async def put(self, phone_hash: str, area_code: str, change: Change) -> None:
        if change is Change.ADD:
            self.deletes.discard(phone_hash)
            self.adds[phone_hash] = area_code
        else:
            self.adds.pop(phone_hash, None)
            self.deletes.add(phone_hash)
        if len(self.adds) + len(self.deletes) >= self.size:
            await self.flush()

    async def flush(self) -> None:
        if self.adds:
            rows = [
                {"phone_hash": h, "area_code": a, "import_id": self.import_id}
                for h, a in self.adds.items()
            ]
            # executemany with RETURNING: SQLAlchemy sends it as multi-row INSERTs, and only
            # rows actually inserted come back, which counts the additions on both dialects.
            inserted = await self.session.execute(self._insert, rows)
            self.added += len(inserted.all())
            if self.mark:
                await self.session.execute(
                    update(_numbers)
                    .where(
                        _numbers.c.phone_hash.in_(list(self.adds)),
                        _numbers.c.import_id != self.import_id,
                    )
                    .values(import_id=self.import_id)
                )
            self.adds.clear()
        if self.deletes:
            result = await self.session.execute(
                delete(_numbers).where(_numbers.c.phone_hash.in_(list(self.deletes)))
            )
            self.removed += _rowcount(result)
            self.deletes.clear()


def _rowcount(result: object) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


async def import_lines(
    *,
    session: AsyncSession,
    cipher: PhiCipher,
    lines: Iterable[str],
    file_name: str,
    kind: RegistryImportKind,
    registry_date: date,
    deletions_only: bool = False,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Apply one registry file to the registry table and record it as a `RegistryImport`.

    A full list replaces every number of the area codes it holds; a change list adds and
    deletes numbers (lines without an add/delete column are additions, or deletions with
    `deletions_only`). Numbers are stored as blind indexes only. Lines are read as they come
    and written in batches, so a file of any size takes constant memory. The caller's
    transaction makes the file apply entirely or not at all.

    Args:
        session: The caller's session, in a transaction.
        cipher: The PHI cipher, for the blind index.
        lines: The file's lines (see `open_registry_file`).
        file_name: The file's name, for the record and messages.
        kind: `FULL` or `CHANGES`.
        registry_date: The registry date the file stands for.
        deletions_only: Every line of this change list is a deletion.
        batch_size: Numbers per database round trip.

    Returns:
        Counts, area codes and the numbers of invalid lines.

    Raises:
        ValueError: `deletions_only` with a full list, or a batch size below 1.
        RegistryFileError: The file has no valid line (nothing is written then).
    """
    if deletions_only and kind is not RegistryImportKind.CHANGES:
        raise ValueError("deletions_only applies to change lists")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    record: RegistryImport | None = None
    batches: _Batches | None = None
    area_codes: set[str] = set()
    valid = invalid = 0
    invalid_numbers: list[int] = []
    # Reading a local file blocks between batches; this runs from the CLI, not the server.
    for item in parse_lines(lines):
        change: Change | None = None
        if isinstance(item, RegistryLine):
            try:
                change = _change_for(item, kind, deletions_only)
            except _Invalid:
                change = None
        if change is None or isinstance(item, BadLine):
            invalid += 1
            if len(invalid_numbers) < MAX_REPORTED_LINES:
                invalid_numbers.append(item.line_no)
            continue
        if batches is None:
            # Created at the first valid line, so a file with none writes nothing.
            record = RegistryImport(
                registry_date=registry_date,
                kind=kind,
                area_codes=[],
                file_name=file_name[-255:],
                numbers_added=0,
                numbers_removed=0,
                imported_at=utcnow(),
            )
            session.add(record)
            await session.flush()
            batches = _Batches(
                session=session,
                import_id=record.id,
                mark=kind is RegistryImportKind.FULL,
                size=batch_size,
            )
        valid += 1
        area_codes.add(item.area_code)
        hashed = cipher.blind_index("+1" + item.number, purpose=PHONE_PURPOSE)
        await batches.put(hashed, item.area_code, change)
    if batches is None or record is None:
        raise RegistryFileError(f"no valid line ({invalid} invalid)")
    await batches.flush()
    codes = sorted(area_codes)
    if kind is RegistryImportKind.FULL:
        # Every number of these area codes this list did not stamp has left the registry.
        swept = await session.execute(
            delete(_numbers).where(
                _numbers.c.area_code.in_(codes), _numbers.c.import_id != record.id
            )
        )
        batches.removed += _rowcount(swept)
    record.area_codes = codes
    record.numbers_added = batches.added
    record.numbers_removed = batches.removed
    await session.flush()
    return ImportResult(
        import_id=record.id,
        file_name=file_name,
        kind=kind,
        registry_date=registry_date,
        area_codes=tuple(codes),
        added=batches.added,
        removed=batches.removed,
        valid_lines=valid,
        invalid_lines=invalid,
        invalid_line_numbers=tuple(invalid_numbers),
    )


async def import_file(
    *,
    session: AsyncSession,
    cipher: PhiCipher,
    path: Path,
    kind: RegistryImportKind,
    registry_date: date,
    deletions_only: bool = False,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Import a registry download from disk (text or single-file zip); see `import_lines`.

    Args:
        session: The caller's session, in a transaction.
        cipher: The PHI cipher, for the blind index.
        path: The file.
        kind: `FULL` or `CHANGES`.
        registry_date: The registry date the file stands for.
        deletions_only: Every line of this change list is a deletion.
        batch_size: Numbers per database round trip.

    Returns:
        Counts, area codes and the numbers of invalid lines.

    Raises:
        OSError: The file cannot be read.
        RegistryFileError: A damaged archive, or no valid line.
    """
    with open_registry_file(path) as lines:
        return await import_lines(
            session=session,
            cipher=cipher,
            lines=lines,
            file_name=path.name,
            kind=kind,
            registry_date=registry_date,
            deletions_only=deletions_only,
            batch_size=batch_size,
        )


async def lookup(
    *, session: AsyncSession, cipher: PhiCipher, phone_e164: str
) -> RegistryFacts | None:
    """The number against the registry data held, in one query.

    Args:
        session: Any session.
        cipher: The PHI cipher, for the blind index.
        phone_e164: The number in E.164.

    Returns:
        None when no import ever covered the number's area code (or it is not a NANP
        number); else whether it is listed and the newest registry date covering the area code.
    """
    if not (phone_e164.startswith("+1") and _NANP.fullmatch(phone_e164[2:])):
        return None
    area_code = phone_e164[2:5]
    # A JSON array of 3-digit strings always serialises an element as `"NPA"`, so a LIKE on its
    # text finds it the same way on SQLite and PostgreSQL (both keep JSON as written).
    newest = (
        select(RegistryImport.registry_date)
        .where(sql_cast(RegistryImport.area_codes, String).like(f'%"{area_code}"%'))
        .order_by(RegistryImport.registry_date.desc())
        .limit(1)
        .scalar_subquery()
    )
    listed = exists().where(
        RegistryNumber.phone_hash == cipher.blind_index(phone_e164, purpose=PHONE_PURPOSE)
    )
    row = (await session.execute(select(newest, listed))).one()
    data_date, is_listed = row
    if data_date is None:
        return None
    return RegistryFacts(listed=bool(is_listed), data_date=data_date)
