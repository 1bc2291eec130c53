"""`digiden serve --workers N`: N uvicorn worker processes answer on one port, and the server
shuts down cleanly; an invalid N is one line and exit 2.

The server is started exactly as typed at a shell (a subprocess of the console script) on a free
loopback port, against a copy of the session's SQLite database. Which worker answered is read
from the process tree, not from anything the app exposes: each request is made on its own
keep-alive connection, left open, and /proc tells which worker process holds each connection's
socket.

Also: a worker's in-memory caches see another worker's writes (the similarity profiles, keyed by
the data version)."""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

on_proc = pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads the process tree from /proc")

DIGIDEN = str(Path(sys.executable).parent / "digiden")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def workers_of(pid: int) -> list[int]:
    """The server's worker processes (multiprocessing's resource tracker is a child too)."""
    found = []
    for c in children(pid):
        try:
            cmd = Path(f"/proc/{c}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "spawn_main" in cmd:
            found.append(c)
    return found


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    return inodes


def established_on(port: int) -> set[str]:
    """Inodes of the server side of established TCP connections to the port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":
                inodes.add(f[9])
    return inodes


def get(port: int, conn: http.client.HTTPConnection | None = None) -> int:
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        c.request("GET", "/")
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        if conn is None:
            c.close()


@pytest.fixture
def db_url(sqlite_engine, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    src = sqlite_engine.url.database
    dst = tmp_path / "digiden.sqlite3"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return f"sqlite:///{dst}"


@pytest.mark.sqlite_only
@on_proc
def test_two_workers_answer_on_one_port_and_stop_cleanly(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIDEN_")} | {
        "DIGIDEN_DATABASE_URL": db_url, "COLUMNS": "200"}
    log = tmp_path / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([DIGIDEN, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                                env=env, stdout=fh, stderr=subprocess.STDOUT)
    conns: list[http.client.HTTPConnection] = []
    try:
        deadline = time.monotonic() + 180     # a bound for a busy machine, not a measurement
        while len(workers_of(proc.pid)) < 2 or get_or_zero(port) != 200:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        workers = workers_of(proc.pid)
        assert len(workers) == 2, workers
        # Requests on new keep-alive connections until both workers hold some (each worker
        # accepts from the one listening socket; 20 are plenty, 200 the bound).
        answered: dict[int, int] = {}
        while len(conns) < 200 and len(answered) < 2:
            for _ in range(20):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                assert get(port, c) == 200
                conns.append(c)
            est = established_on(port)
            answered = {w: n for w in workers if (n := len(socket_inodes(w) & est))}
        assert sorted(answered) == sorted(workers), (answered, log.read_text())
        assert sum(answered.values()) == len(conns)
        if importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools"):
            # uvicorn's "auto" picked the fast extras in every worker (goal 7 of issue 12)
            for w in workers:
                maps = Path(f"/proc/{w}/maps").read_text()
                assert "uvloop" in maps and "httptools" in maps, w
            assert "event loop: uvloop; HTTP parser: httptools" in log.read_text()
    finally:
        for c in conns:
            c.close()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    text = log.read_text()
    assert code == 0, text
    assert "Traceback" not in text, text
    assert text.count("Finished server process") == 2, text
    for w in workers:
        assert not Path(f"/proc/{w}").exists(), f"worker {w} outlived the server"


def get_or_zero(port: int) -> int:
    try:
        return get(port)
    except (OSError, http.client.HTTPException):
        return 0


@pytest.mark.sqlite_only
@pytest.mark.parametrize("n", ["0", "65", "-1"])
def test_an_invalid_worker_count_is_one_line_and_exit_2(n: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIDEN_")} | {
        "DIGIDEN_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}", "COLUMNS": "200"}
    r = subprocess.run([DIGIDEN, "serve", "--workers", n, "--port", str(free_port())], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2, r
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == [f"error: --workers must be between 1 and 64, not {n} (field: workers)"
                     f" / --workers は 1〜64 で指定してください（指定値: {n}）"], r.stderr
    assert "Uvicorn running" not in r.stdout + r.stderr


def test_similarity_profiles_follow_a_write_made_elsewhere(session_factory) -> None:  # type: ignore[no-untyped-def]
    """The profiles are cached per process; a population corrected in place (a reference-data
    reload in another process or worker: no row count changes) is seen by the next read."""
    from sqlalchemy import select

    from digiden.services.knowledge.similarity import profiles
    from digiden.store.models import OrgUnit
    with session_factory() as s:
        unit = s.scalars(select(OrgUnit).where(OrgUnit.code == "072028")).one()
        uid, before = unit.id, unit.population
        assert profiles(s)[uid].population == before      # now cached
    with session_factory() as s:      # "another worker" writes
        s.get(OrgUnit, uid).population = (before or 0) + 1234
        s.commit()
    with session_factory() as s:
        assert profiles(s)[uid].population == (before or 0) + 1234
