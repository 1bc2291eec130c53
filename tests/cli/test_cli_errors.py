"""What a user sees when a command goes wrong: the installed `digiden` console script, run in a
subprocess exactly as typed at a shell, never answers with a Python traceback.

Usage errors get click's usage line and one error line (exit 2); digiden errors one line and the
documented exit code; anything unforeseen one line naming the error and how to see the traceback
(exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DIGIDEN = str(Path(sys.executable).parent / "digiden")


def run(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("DIGIDEN_")}
    e.update({"DIGIDEN_DATABASE_URL": url, "COLUMNS": "200"} | env)
    return subprocess.run([DIGIDEN, *args], env=e, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def empty_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file with no tables at all, as after installing and forgetting `db upgrade`."""
    return f"sqlite:///{tmp_path_factory.mktemp('cli-errors') / 'empty.sqlite3'}"


def error_lines(r: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in r.stderr, r.stderr
    return [ln for ln in r.stderr.splitlines() if ln.strip()]


@pytest.mark.parametrize("args, says", [
    (["nosuch"], "No such command 'nosuch'"),
    (["kpi", "show", "--bogus"], "No such option: --bogus"),
    (["kpi", "list", "--limit", "x"], "No such option: --limit"),
    (["audit", "--limit", "many"], "Invalid value for '--limit'"),
])
def test_a_mistyped_command_or_option_is_a_usage_message_and_exit_2(empty_url: str, args: list[str],
                                                                    says: str) -> None:
    r = run(empty_url, *args)
    lines = error_lines(r)
    assert r.returncode == 2, r.stderr
    assert lines[0].startswith("Usage: digiden") and lines[-1].startswith("Error: ") and says in lines[-1]
    assert len(lines) == 3 and lines[1].startswith("Try 'digiden"), lines


def test_no_arguments_shows_the_help_without_a_traceback(empty_url: str) -> None:
    r = run(empty_url)
    error_lines(r)
    assert r.returncode == 2 and "Usage: digiden" in r.stderr + r.stdout


def test_db_init_before_db_upgrade_says_to_upgrade_and_writes_nothing(empty_url: str) -> None:
    for args in (["db", "init"], ["kpi", "list"]):
        r = run(empty_url, *args)
        lines = error_lines(r)
        assert r.returncode == 5, r.stderr
        assert len(lines) == 1 and "digiden db upgrade" in lines[0] and "データベース" in lines[0], lines
    import sqlite3
    con = sqlite3.connect(empty_url.removeprefix("sqlite:///"))
    assert con.execute("select count(*) from sqlite_master where type = 'table'").fetchone() == (0,)
    con.close()


def test_import_of_a_folder_or_a_missing_file_is_one_line(empty_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "observations.csv").write_text("kpi,団体コード,時点,値\n", encoding="utf-8")
    r = run(empty_url, "import", str(folder))
    lines = error_lines(r)
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "is a folder" in lines[0] and str(folder / "observations.csv") in lines[0]
    r = run(empty_url, "import", str(tmp_path / "nothing.csv"))
    lines = error_lines(r)
    assert r.returncode == 2 and len(lines) == 1 and "no such file" in lines[0], r.stderr


def test_an_unexpected_error_is_one_line_naming_it_and_debug_shows_the_traceback() -> None:
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
    r = run(unreachable, "kpi", "list")
    lines = error_lines(r)
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert lines[0].startswith("error: unexpected OperationalError") and "DIGIDEN_DEBUG=1" in lines[0]
    r = run(unreachable, "kpi", "list", DIGIDEN_DEBUG="1")
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_backup_and_restore_mistakes_are_one_line(empty_url: str, tmp_path: Path) -> None:
    taken = tmp_path / "taken.bak"
    taken.write_bytes(b"")
    r = run(empty_url, "backup", str(taken))
    lines = error_lines(r)
    assert r.returncode == 5 and len(lines) == 1 and "--force" in lines[0], r.stderr
    r = run(empty_url, "restore", str(tmp_path))
    lines = error_lines(r)
    assert r.returncode == 2 and len(lines) == 1 and "folder" in lines[0], r.stderr


@pytest.mark.postgres
def test_backup_without_pg_dump_says_what_to_install(tmp_path: Path) -> None:
    from tests.conftest import PG_URL, require_pg
    require_pg()
    r = run(PG_URL, "backup", str(tmp_path / "pg.bak"), PATH=str(tmp_path))    # no pg_dump on PATH
    lines = error_lines(r)
    assert r.returncode == 1 and len(lines) == 1 and "pg_dump is not installed" in lines[0], r.stderr
    assert not (tmp_path / "pg.bak").exists() and not list(tmp_path.glob(".pg.bak*"))


@pytest.mark.parametrize("args, says", [
    (["batch", "show", "9223372036854775808"], "less than or equal to 9223372036854775807"),
    (["audit", "--limit", "99999999999999999999"], "Invalid value for '--limit'"),
    (["audit", "--limit", "-5"], "greater than or equal to 1"),
    (["token", "revoke", "0"], "greater than or equal to 1"),
    (["local", "diff", "072028", "0", "1"], "greater than or equal to 1"),
])
def test_numbers_out_of_range_are_usage_errors_like_the_api_refuses_them(empty_url: str, args: list[str],
                                                                         says: str) -> None:
    """Before: 'unexpected OverflowError' (exit 1), or --limit -5 silently printing nothing."""
    r = run(empty_url, *args)
    assert r.returncode == 2, r.stderr
    assert says in r.stderr and "Traceback" not in r.stderr


def test_an_export_to_a_place_it_cannot_write_is_one_line_before_anything_is_built(
        cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Before: 'unexpected FileNotFoundError' / IsADirectoryError, and for .xlsx openpyxl's
    tracebacks after the whole workbook had been built."""
    cases = [
        (["--format", "csv", "--table", "observations", "--out", str(tmp_path / "no" / "x.csv")], "no such folder"),
        (["--format", "json", "--out", str(tmp_path)], "is a folder"),
        (["--format", "xlsx", "--out", "/proc/x.xlsx"], "cannot be written"),
    ]
    (tmp_path / "a-file").write_text("x")
    cases.append((["--format", "csv", "--out", str(tmp_path / "a-file")], "is a file"))
    for args, says in cases:
        code, _out, err = cli("export", *args, "--kpi", "satellite-offices")
        assert code == 2 and says in err, (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]      # nothing left behind
