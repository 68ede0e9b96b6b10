"""National DNC Registry files: both layouts, full and change lists, and the gate's lookup."""

from __future__ import annotations

import random
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dentalvoice.compliance import registry
from dentalvoice.compliance.facts import RegistryFacts
from dentalvoice.compliance.models import RegistryImport, RegistryImportKind, RegistryNumber
from dentalvoice.compliance.registry import (
    BadLine,
    Change,
    ImportResult,
    RegistryFileError,
    RegistryLine,
)
from dentalvoice.db import Database

FULL = RegistryImportKind.FULL
CHANGES = RegistryImportKind.CHANGES
DAY = date(2026, 11, 20)


def fictional(area_code: str, *suffixes: int) -> list[str]:
    """Ten-digit 555-01XX numbers, reserved for fiction."""
    return [f"{area_code}55501{s:02d}" for s in suffixes]


def random_numbers(area_code: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    numbers: set[str] = set()
    while len(numbers) < count:
        numbers.add(f"{area_code}{rng.randint(2_000_000, 9_999_999)}")
    return sorted(numbers)


def write(tmp_path: Path, name: str, lines: list[str], *, newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


async def import_path(
    db: Database,
    path: Path,
    *,
    kind: RegistryImportKind = FULL,
    day: date = DAY,
    deletions_only: bool = False,
    batch_size: int = registry.BATCH_SIZE,
) -> ImportResult:
    async with db.transaction() as session:
        return await registry.import_file(
            session=session,
            cipher=db.cipher,
            path=path,
            kind=kind,
            registry_date=day,
            deletions_only=deletions_only,
            batch_size=batch_size,
        )


async def lookup(db: Database, ten_digits: str) -> RegistryFacts | None:
    async with db.reader() as session:
        return await registry.lookup(
            session=session, cipher=db.cipher, phone_e164="+1" + ten_digits
        )


async def listed(db: Database, *numbers: str) -> list[bool]:
    found = []
    for number in numbers:
        facts = await lookup(db, number)
        assert facts is not None
        found.append(facts.listed)
    return found


async def count_numbers(db: Database, area_code: str | None = None) -> int:
    query = select(func.count()).select_from(RegistryNumber)
    if area_code is not None:
        query = query.where(RegistryNumber.area_code == area_code)
    async with db.reader() as session:
        return int(await session.scalar(query) or 0)


# --- parsing (no database) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "digits", "change"),
    [
        ("2125550101", "2125550101", None),
        ("212,5550101", "2125550101", None),
        ('"212","5550101"', "2125550101", None),
        (" 212 , 555-0101 ", "2125550101", None),
        ("(212) 555-0101", "2125550101", None),
        ("+1 212 555 0101", "2125550101", None),
        ("212\t5550101", "2125550101", None),
        ("212,5550101,A", "2125550101", Change.ADD),
        ("D,212,5550101", "2125550101", Change.DELETE),
        ('"212","5550101","2026-11-20","D"', "2125550101", Change.DELETE),
        ("add,2125550101", "2125550101", Change.ADD),
        ("2125550101,Delete", "2125550101", Change.DELETE),
    ],
)
def test_parse_line_reads_both_layouts_and_flags(
    line: str, digits: str, change: Change | None
) -> None:
    assert registry.parse_line(line) == (digits, change)


@pytest.mark.parametrize(
    "line",
    [
        "212555010",  # nine digits
        "21255501011",  # eleven digits not starting with 1
        "0125550101",  # area code starting with 0
        "2121550101",  # exchange starting with 1
        "212,555010",  # six after the area code
        "212-555-01O1",  # a letter O
        "A,212,5550101,D",  # both flags
        "212,5550101,2026-11-20,X",  # an unknown flag
        "A",
        "212,",
    ],
)
def test_parse_line_rejects_without_quoting_the_line(line: str) -> None:
    with pytest.raises(ValueError) as caught:
        registry.parse_line(line)
    assert "555" not in str(caught.value)


def test_parse_lines_skips_blank_lines_and_a_header() -> None:
    lines = ["\ufeffAreaCode,PhoneNumber\r\n", "\r\n", "212,5550101\r\n", "  \n", "PhoneNumber\n"]
    assert list(registry.parse_lines(lines)) == [
        RegistryLine(line_no=3, area_code="212", number="2125550101", change=None),
        BadLine(line_no=5, reason="not a 10-digit number"),  # only the first line is a header
    ]


def test_a_first_line_with_digits_is_data_not_a_header() -> None:
    items = list(registry.parse_lines(["212,555010", "2125550101"]))
    assert isinstance(items[0], BadLine) and items[0].line_no == 1
    assert isinstance(items[1], RegistryLine)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dnc_212_2026-11-20.txt", date(2026, 11, 20)),
        ("changes_20261120.csv", date(2026, 11, 20)),
        ("full-2026_11_20.zip", date(2026, 11, 20)),
        ("dnc-11-20-2026.txt", date(2026, 11, 20)),
        ("2125550101.txt", None),
        ("dnc_2026-13-40.txt", None),
        ("list.txt", None),
    ],
)
def test_date_from_file_name(name: str, expected: date | None) -> None:
    assert registry.date_from_file_name(name) == expected


# --- import and lookup -------------------------------------------------------------------


async def test_one_number_per_line_full_list(db: Database, tmp_path: Path) -> None:
    numbers = fictional("212", 1, 2, 3) + random_numbers("212", 20, seed=1)
    result = await import_path(db, write(tmp_path, "dnc_212.txt", numbers))
    assert result.kind is FULL
    assert result.area_codes == ("212",)
    assert (result.added, result.removed, result.invalid_lines) == (23, 0, 0)
    assert result.valid_lines == 23

    assert await lookup(db, "2125550101") == RegistryFacts(listed=True, data_date=DAY)
    assert await lookup(db, "2125550199") == RegistryFacts(listed=False, data_date=DAY)
    assert await lookup(db, "3055550101") is None  # no data for area code 305
    async with db.reader() as session:
        assert await registry.lookup(session=session, cipher=db.cipher, phone_e164="+4420") is None
        record = await session.get(RegistryImport, result.import_id)
    assert record is not None
    assert record.area_codes == ["212"] and record.file_name == "dnc_212.txt"
    assert (record.numbers_added, record.numbers_removed) == (23, 0)


async def test_area_code_comma_number_with_header_quotes_and_crlf(
    db: Database, tmp_path: Path
) -> None:
    lines = [
        '"AreaCode","PhoneNumber"',
        '"212","5550101"',
        "",
        '"305","5550102"',
        "305,5550103",
        "",
    ]
    path = write(tmp_path, "dnc.csv", lines, newline="\r\n")
    result = await import_path(db, path)
    assert result.area_codes == ("212", "305")
    assert (result.added, result.invalid_lines) == (3, 0)
    assert await listed(db, "2125550101", "3055550102", "3055550103", "3055550104") == [
        True,
        True,
        True,
        False,
    ]


async def test_invalid_lines_are_counted_by_line_number(db: Database, tmp_path: Path) -> None:
    lines = ["2125550101", "not a number", "212555010", "", "2125550102", "0125550103"]
    result = await import_path(db, write(tmp_path, "dnc.txt", lines))
    assert (result.added, result.invalid_lines) == (2, 3)
    # "not a number" on line 2 is not the first line, so it is no header.
    assert result.invalid_line_numbers == (2, 3, 6)


async def test_a_file_without_one_valid_line_is_an_error(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "empty.txt", ["AreaCode,PhoneNumber", "12345", ""])
    with pytest.raises(RegistryFileError, match="no valid line"):
        await import_path(db, path)
    with pytest.raises(RegistryFileError):
        await import_path(db, write(tmp_path, "nothing.txt", []))
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(RegistryImport)) == 0


async def test_a_full_list_replaces_its_area_codes_only(db: Database, tmp_path: Path) -> None:
    await import_path(db, write(tmp_path, "a.txt", fictional("212", 1, 2, 3)))
    await import_path(db, write(tmp_path, "b.txt", fictional("305", 1, 2)))

    later = date(2026, 11, 27)
    result = await import_path(db, write(tmp_path, "c.txt", fictional("212", 2, 3, 4)), day=later)
    assert (result.added, result.removed) == (1, 1)
    assert await listed(db, "2125550101", "2125550102", "2125550104") == [False, True, True]
    assert await listed(db, "3055550101", "3055550102") == [True, True]  # untouched
    assert await count_numbers(db, "212") == 3
    assert (await lookup(db, "2125550101")) == RegistryFacts(listed=False, data_date=later)
    assert (await lookup(db, "3055550101")) == RegistryFacts(listed=True, data_date=DAY)


async def test_change_lists_add_and_delete(db: Database, tmp_path: Path) -> None:
    await import_path(db, write(tmp_path, "full.txt", fictional("212", 1, 2, 3)))
    changes = [
        "AreaCode,PhoneNumber,ChangeDate,ChangeType",
        "212,5550104,2026-11-21,A",
        "212,5550101,2026-11-21,D",
        "D,2125550102",
        "212,5550105,2026-11-21,D",  # never listed: nothing to delete
        "305,5550101,2026-11-21,X",  # unknown flag: not a number line
        "305,5550102,2026-11-21,A",
        "2125550106",  # no flag in a change list: an addition
    ]
    day = date(2026, 11, 21)
    result = await import_path(db, write(tmp_path, "changes.csv", changes), kind=CHANGES, day=day)
    assert result.kind is CHANGES
    assert result.area_codes == ("212", "305")
    assert (result.added, result.removed, result.invalid_lines) == (3, 2, 1)
    assert result.invalid_line_numbers == (6,)
    assert await listed(db, "2125550101", "2125550102", "2125550103", "2125550104") == [
        False,
        False,
        True,
        True,
    ]
    assert await listed(db, "2125550106", "3055550102") == [True, True]
    assert await lookup(db, "2125550103") == RegistryFacts(listed=True, data_date=day)


async def test_the_last_change_to_a_number_wins(db: Database, tmp_path: Path) -> None:
    lines = ["2125550101,A", "2125550101,D", "2125550102,D", "2125550102,A"]
    result = await import_path(db, write(tmp_path, "c.txt", lines), kind=CHANGES)
    assert await listed(db, "2125550101", "2125550102") == [False, True]
    assert (result.added, result.removed) == (1, 0)


async def test_deletions_only_files(db: Database, tmp_path: Path) -> None:
    await import_path(db, write(tmp_path, "full.txt", fictional("212", 1, 2, 3)))
    lines = ["2125550101", "212,5550102", "2125550103,A"]
    result = await import_path(
        db, write(tmp_path, "del.txt", lines), kind=CHANGES, deletions_only=True
    )
    assert (result.added, result.removed, result.invalid_line_numbers) == (0, 2, (3,))
    assert await listed(db, "2125550101", "2125550102", "2125550103") == [False, False, True]
    with pytest.raises(ValueError, match="change lists"):
        await import_path(db, write(tmp_path, "x.txt", lines), deletions_only=True)


async def test_a_deletion_in_a_full_list_is_an_invalid_line(db: Database, tmp_path: Path) -> None:
    result = await import_path(db, write(tmp_path, "f.txt", ["2125550101,A", "2125550102,D"]))
    assert (result.added, result.invalid_line_numbers) == (1, (2,))


async def test_data_date_is_the_newest_import_covering_the_area_code(
    db: Database, tmp_path: Path
) -> None:
    await import_path(db, write(tmp_path, "a.txt", fictional("212", 1)), day=date(2026, 11, 1))
    await import_path(db, write(tmp_path, "b.txt", fictional("305", 1)), day=date(2026, 11, 25))
    await import_path(
        db, write(tmp_path, "c.txt", fictional("212", 2)), kind=CHANGES, day=date(2026, 11, 10)
    )
    assert (await lookup(db, "2125550101")) == RegistryFacts(True, date(2026, 11, 10))
    assert (await lookup(db, "3055550101")) == RegistryFacts(True, date(2026, 11, 25))
    assert await lookup(db, "7185550101") is None


async def test_a_zip_holding_one_file_is_read(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "dnc_2026-11-20.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("212.txt", "\r\n".join(fictional("212", 1, 2)) + "\r\n")
    assert (await import_path(db, path)).added == 2
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.txt", "2125550101\n")
        archive.writestr("b.txt", "2125550102\n")
    with pytest.raises(RegistryFileError, match="exactly one file"):
        await import_path(db, two)


async def test_numbers_are_stored_only_as_blind_indexes(db: Database, tmp_path: Path) -> None:
    await import_path(db, write(tmp_path, "a.txt", fictional("212", 1)))
    async with db.reader() as session:
        row = (await session.execute(select(RegistryNumber))).scalar_one()
    assert row.phone_hash == db.cipher.blind_index("+12125550101", purpose="phone")
    assert row.area_code == "212"


async def test_a_large_file_is_imported_in_batches(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = random_numbers("212", 60_000, seed=2) + random_numbers("718", 40_000, seed=3)
    random.Random(4).shuffle(numbers)
    path = write(tmp_path, "big.txt", [f"{n[:3]},{n[3:]}" for n in numbers])
    flushes = 0
    flush = registry._Batches.flush

    async def counting_flush(self: registry._Batches) -> None:
        nonlocal flushes
        flushes += 1
        await flush(self)

    monkeypatch.setattr(registry._Batches, "flush", counting_flush)
    result = await import_path(db, path)
    assert (result.added, result.removed, result.valid_lines) == (100_000, 0, 100_000)
    assert result.area_codes == ("212", "718")
    assert flushes == 100_000 // registry.BATCH_SIZE + 1  # the last, empty, flush at the end
    assert await count_numbers(db, "212") == 60_000
    assert await count_numbers(db, "718") == 40_000

    # The same list again (a later download): nothing new, nothing removed, all re-stamped.
    again = await import_path(db, path, day=date(2026, 11, 27))
    assert (again.added, again.removed) == (0, 0)
    async with db.reader() as session:
        stamped = await session.scalar(
            select(func.count())
            .select_from(RegistryNumber)
            .where(RegistryNumber.import_id == again.import_id)
        )
    assert stamped == 100_000


async def test_small_batches_give_the_same_result(db: Database, tmp_path: Path) -> None:
    await import_path(db, write(tmp_path, "a.txt", fictional("212", *range(0, 30))))
    lines = [
        f"{n},{'D' if i % 3 == 0 else 'A'}" for i, n in enumerate(fictional("212", *range(20, 50)))
    ]
    result = await import_path(db, write(tmp_path, "c.txt", lines), kind=CHANGES, batch_size=7)
    # Of 20..49, every third (20, 23, …, 47) is deleted: 20..29 were listed, 30..49 were not.
    deleted = [n for n in range(20, 50) if (n - 20) % 3 == 0]
    assert result.removed == len([n for n in deleted if n < 30])
    assert result.added == len([n for n in range(30, 50) if n not in deleted])
    assert await count_numbers(db) == 30 - result.removed + result.added
