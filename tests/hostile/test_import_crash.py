"""kill -9 in the middle of a large import, on SQLite and PostgreSQL.

A real process imports a generated CSV with the parser in a forked child (the path files of
32 MB and more take; ``parallel=True`` takes it for a small file), and is killed with SIGKILL
after its first chunk is written. Afterwards: no orphan child process, nothing of the import
stored, and a write to the same key completes (within a bounded time, by a timeout)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from digiden.domain.access import system
from digiden.services.data.imports import ImportOptions, run_import
from digiden.services.uow import UnitOfWork
from digiden.store.models import ImportBatch, Kpi, Observation, OrgUnit

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
KPI = "satellite-offices"
ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from digiden.domain.access import system
from digiden.services.data.imports import ImportOptions, run_import
from digiden.services.uow import UnitOfWork
from digiden.store.db import make_engine, make_session_factory

def progress(what, share):
    if what == "import":            # the first chunk is written, inside the open transaction
        print("MID", flush=True)
        time.sleep(600)

run_import(UnitOfWork(make_session_factory(make_engine(sys.argv[1]))), Path(sys.argv[2]),
           ImportOptions(parallel=True), actor=system("crash-test"), now=datetime(2026, 11, 29, tzinfo=UTC),
           progress=progress)
print("DONE", flush=True)
"""


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _sockets(pid: int) -> list[str]:
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return [x for x in links if x.startswith("socket:")]


def _big_csv(live_db: Any, path: Path) -> tuple[str, str]:
    """~53,000 rows (three chunks): every local government × 30 months, value 1."""
    with live_db.session_factory() as s:
        codes = list(s.scalars(select(OrgUnit.code).where(OrgUnit.code != "JP").order_by(OrgUnit.code)))
    months = [f"{2000 + m // 12}-{m % 12 + 1:02d}" for m in range(30)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("KPI,団体コード,時点,値\n")
        for month in months:
            for code in codes:
                f.write(f"{KPI},{code},{month},1\n")
    return codes[0], months[0]


@pytest.mark.timeout(180)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_mid_import_leaves_no_orphan_nothing_written_and_the_key_writable(
        live_db: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    code, month = _big_csv(live_db, big)
    script = tmp_path / "imp.py"
    script.write_text(CHILD, encoding="utf-8")
    err = tmp_path / "stderr.txt"
    with open(err, "w") as err_out:
        proc = subprocess.Popen([sys.executable, str(script), live_db.url, str(big)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=err_out, text=True)
    orphans: list[int] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "MID", (line, err.read_text())
        deadline = time.monotonic() + 10
        while not (orphans := _children(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert orphans, "the import did not parse in a forked child"
        for pid in orphans:    # the forked parser holds no socket: not the parent's database connection
            assert _sockets(pid) == [], _sockets(pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in orphans) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in orphans), "the forked parser outlived its parent"

        with live_db.session_factory() as s:
            kpi_id = s.scalar(select(Kpi.id).where(Kpi.code == KPI))
            assert s.scalar(select(func.count()).select_from(Observation).where(Observation.kpi_id == kpi_id)) == 0
            assert s.scalar(select(func.count()).select_from(ImportBatch)
                            .where(ImportBatch.created_by == "crash-test")) == 0

        one = tmp_path / "one.csv"
        one.write_text(f"KPI,団体コード,時点,値\n{KPI},{code},{month},5\n", encoding="utf-8")
        result: dict[str, Any] = {}

        def write() -> None:
            try:
                result["report"] = run_import(UnitOfWork(live_db.session_factory), one, ImportOptions(lock_wait=60),
                                              actor=system("after-crash"), now=NOW)
            except Exception as e:  # noqa: BLE001 - reported below
                result["error"] = e
        t = threading.Thread(target=write, daemon=True)
        t.start()
        t.join(timeout=15)
        assert not t.is_alive(), "a write to the same key still waits for the killed import"
        assert "error" not in result, result
        assert result["report"].created == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        for pid in orphans:   # only if the test failed: never leave them behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
