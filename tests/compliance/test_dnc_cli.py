"""`dentalvoice dnc`: list commands and registry imports through the real CLI."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import invoke

PHONE = "+13055550123"
MASKED = "+1******0123"


def add_clinic(ghl_id: str) -> None:
    code, out = invoke(
        "location", "add", "--name", "Bright Test Dental", "--ghl-location-id", ghl_id,
        "--timezone", "America/New_York",
    )  # fmt: skip
    assert code == 0, out


def no_full_number(out: str) -> None:
    assert "5550123" not in out


def test_add_list_remove_for_the_agency(cli_env: dict[str, str]) -> None:
    code, out = invoke("dnc", "add", PHONE, "--agency", "--note", "asked by email")
    assert code == 0, out
    assert MASKED in out and "every clinic" in out
    no_full_number(out)
    code, again = invoke("dnc", "add", "(305) 555-0123", "--agency")  # national, region US
    assert code == 0, again
    assert again.split("(entry ")[1] == out.split("(entry ")[1]  # the same entry

    code, out = invoke("dnc", "list")
    assert code == 0, out
    assert MASKED in out and "agency" in out and "operator" in out and "asked by email" in out
    no_full_number(out)

    code, out = invoke("dnc", "remove", PHONE, "--agency")
    assert code == 0, out
    assert f"removed {MASKED}" in out
    code, out = invoke("dnc", "list")
    assert code == 0 and "no entries" in out
    code, out = invoke("dnc", "list", "--all")
    assert code == 0 and MASKED in out

    code, out = invoke("dnc", "remove", PHONE, "--agency")
    assert code == 1 and "not on the do-not-call list" in out
    no_full_number(out)


def test_a_clinic_list(cli_env: dict[str, str]) -> None:
    add_clinic("LocDnc1")
    add_clinic("LocDnc2")
    assert invoke("dnc", "add", PHONE, "--location", "LocDnc1")[0] == 0
    assert invoke("dnc", "add", "+13055550142", "--location", "LocDnc2")[0] == 0
    assert invoke("dnc", "add", "+13055550199", "--agency")[0] == 0

    code, out = invoke("dnc", "list", "--location", "LocDnc1")
    assert code == 0, out
    assert MASKED in out and "+1******0199" in out and "+1******0142" not in out
    assert "LocDnc1" in out

    # Removing the clinic's entry while the agency's applies says so.
    assert invoke("dnc", "add", PHONE, "--agency")[0] == 0
    code, out = invoke("dnc", "remove", PHONE, "--location", "LocDnc1")
    assert code == 0, out
    assert "still blocked" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dnc", "add", "12", "--agency"], "PHONE"),
        (["dnc", "add", "not a phone", "--agency"], "PHONE"),
        (["dnc", "remove", "555-01", "--agency"], "PHONE"),
        (["dnc", "add", PHONE], "--agency"),
        (["dnc", "add", PHONE, "--agency", "--location", "LocDnc1"], "--location"),
        (["dnc", "add", PHONE, "--location", "NoSuchClinic"], "no clinic"),
        (["dnc", "list", "--location", "NoSuchClinic"], "no clinic"),
        (["dnc", "add", PHONE, "--agency", "--region", "XX"], "--region"),
        (["dnc", "add", PHONE, "--agency", "--note", "x" * 201], "--note"),
    ],
)
def test_bad_arguments_exit_2(cli_env: dict[str, str], args: list[str], message: str) -> None:
    code, out = invoke(*args)
    assert code == 2, out
    assert message in out
    no_full_number(out)


def write(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def test_import_registry_full_then_changes(cli_env: dict[str, str], tmp_path: Path) -> None:
    old = date.today() - timedelta(days=40)
    full = write(
        tmp_path / f"dnc_{old:%Y-%m-%d}.txt",
        ["AreaCode,PhoneNumber", "305,5550123", "305,5550124", "oops", "212,5550101"],
    )
    code, out = invoke("dnc", "import-registry", str(full))
    assert code == 0, out
    assert f"full list, registry date {old.isoformat()}, area codes 212, 305" in out
    assert "added 3, removed 0, valid lines 3, invalid lines 1" in out
    assert "invalid lines: 4" in out and "older than 31 days" in out
    assert "5550123" not in out and "oops" not in out

    day = (old + timedelta(days=30)).isoformat()
    changes = write(tmp_path / "changes.csv", ["305,5550123,D", "A,3055550125"])
    code, out = invoke("dnc", "import-registry", "--changes", "--date", day, str(changes))
    assert code == 0, out
    assert f"change list, registry date {day}, area codes 305" in out
    assert "added 1, removed 1" in out and "older than" not in out

    deletions = write(tmp_path / "deletions.txt", ["3055550124", "2125550101"])
    code, out = invoke("dnc", "import-registry", "--deletions", "--date", day, str(deletions))
    assert code == 0, out
    assert "change list" in out and "added 0, removed 2" in out


def test_import_registry_several_files_and_today_by_default(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    a = write(tmp_path / "a.txt", ["2125550101"])
    b = write(tmp_path / "b.txt", ["3055550101", "3055550102"])
    code, out = invoke("dnc", "import-registry", str(a), str(b))
    assert code == 0, out
    assert "a.txt: full list" in out and "b.txt: full list" in out
    assert "added 2" in out and "older than" not in out


def test_import_registry_refuses_unreadable_and_empty_files(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    good = write(tmp_path / "good.txt", ["2125550101"])
    code, out = invoke("dnc", "import-registry", str(good), str(tmp_path / "missing.txt"))
    assert code != 0
    assert "missing.txt" in out and "added" not in out  # nothing imported

    empty = write(tmp_path / "empty.txt", ["AreaCode,PhoneNumber"])
    code, out = invoke("dnc", "import-registry", str(empty))
    assert code == 1
    assert "empty.txt: not imported: no valid line" in out

    code, out = invoke("dnc", "import-registry", "--date", "20-11-2026", str(good))
    assert code == 2 and "--date" in out
    code, out = invoke("dnc", "import-registry", "--date", "2999-01-01", str(good))
    assert code == 2 and "future" in out
