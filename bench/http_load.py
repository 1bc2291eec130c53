"""HTTP throughput against Datasette, on copies of the same SQLite file (a step of `make bench`;
also runs alone: `.venv/bin/python bench/http_load.py`, or `python bench/run.py --only http`).

Two servers, each a process of its own on a loopback port, each on its own copy of the bench
database (bench/out/bench.sqlite3: 1,788 real local governments, 50 SYNTHETIC KPIs, 5.4M
synthetic observations; made by bench/generate.py and the import step if missing):

- digiden: `python -m digiden serve` (one uvicorn process, as `make run` starts it);
- Datasette (bench/datasette-requirements.txt), installed by this step into its own venv,
  bench/out/datasette-venv — never a dependency of digiden — run as `datasette serve FILE`
  (plain mode, like ours: the file may change under it; `BENCH_HTTP_IMMUTABLE=1` adds a run
  of Datasette with `-i`, immutable, which lets it cache row counts).

Four pairs of pages, each the closest thing Datasette serves out of the box (see ENDPOINTS and
bench/README.md): the KPI list with statuses (JSON), one KPI's observations (500 rows, JSON),
the national dashboard (HTML), one local government's page (HTML).

Load: `wrk` (apt package), one thread, 8 and then 32 connections, 10 s measured per point
(at 32 connections longer, up to 30 s, when a page is slow: see `seconds_for`) after a 2 s
warm-up at 8 connections, 30 s request timeout; after every load the step waits
until the server is idle again (it goes on with the requests wrk abandoned). Without wrk a
bounded Python client (threads, one keep-alive connection each, same durations) stands in
and says so. Reported per page and
connection count: requests/s, p50, p99, non-2xx answers and socket errors, digiden ÷
Datasette, and for each server its requests/s at 32 ÷ at 8 connections. Also: cold start
(process start to the first 200 of `/`) and the server's RSS (the process and its children,
from /proc) after the warm-up and at the end.

Goal 5 (requests/s with 1 and 2 workers on PostgreSQL) runs only when `digiden serve --help`
lists `--workers`; see `pg_workers` below (the hook).

The machine has 2 cores: the load generator competes with the server for them. It does so
equally for both servers, so the ratios are fair; the absolute figures are low.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SRC_DB = OUT / "bench.sqlite3"
HTTP_DIR = OUT / "http"
DS_VENV = OUT / "datasette-venv"
DS_REQUIREMENTS = ROOT / "bench" / "datasette-requirements.txt"
if str(ROOT / "src") not in sys.path:
    sys.path.append(str(ROOT / "src"))    # after PYTHONPATH, so another checkout can be measured

CONNECTIONS = (8, 32)
WARMUP_S = 2
DURATION_S = int(os.environ.get("BENCH_HTTP_SECONDS", "10"))
KPI_CODE = "synthetic-01"          # a synthetic KPI with 1,788 × 60 = 107,280 local values
LG_CODE = "072028"                 # 会津若松市
PG_URL = os.environ.get("DIGIDEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

# What Datasette reads for the KPI list: the rows digiden's status computation reads
# (services/national/kpis.py `_load`: KPIs with block, targets, national observations, and
# the series rollup for KPIs without national figures), as one SQL query of JSON rows. The
# national values are found through the (kpi, org_unit, …) index as digiden finds them (the
# `kpi_id in (…)`); written as a plain join, SQLite scans all 5.4M observations (0.6–1.2 s).
KPI_LIST_SQL = """
select k.code, k.name, k.unit, b.code as block, 'rollup' as kind, r.as_of, r.breakdown,
       r.n, r.total, r.positive, null as value
  from kpi k left join kpi_block b on b.id = k.block_id
  join series_rollup r on r.kpi_id = k.id and r.n > 0
union all
select k.code, k.name, k.unit, b.code, 'national', o.as_of, o.breakdown, null, null, null, o.value
  from observation o join kpi k on k.id = o.kpi_id left join kpi_block b on b.id = k.block_id
  join org_unit u on u.id = o.org_unit_id
 where o.kpi_id in (select id from kpi) and u.code = 'JP' and o.status = 'approved'
union all
select k.code, k.name, k.unit, b.code, 'target', t.deadline, t.breakdown, null, null, null, t.value
  from kpi k left join kpi_block b on b.id = k.block_id
  join target t on t.kpi_id = k.id
order by 1, 5, 6, 7
""".strip()


def endpoints(ids: dict[str, int]) -> list[dict[str, str]]:
    """(key, label, digiden path, Datasette path): what is compared."""
    sql = urllib.parse.quote(re.sub(r"\s+", " ", KPI_LIST_SQL))
    return [
        {"key": "kpis", "label": "KPI list with statuses (JSON)",
         "digiden": "/api/v1/kpis",
         "datasette": f"/bench.json?_shape=array&sql={sql}",
         "datasette_what": "the rows the status computation reads (rollup, national values, targets of "
                           "every KPI), one SQL query, JSON array"},
        {"key": "observations", "label": f"one KPI's observations, 500 rows (JSON, {KPI_CODE})",
         "digiden": f"/api/v1/observations?kpi={KPI_CODE}&limit=500",
         "datasette": f"/bench/observation.json?kpi_id={ids['kpi']}&_sort=as_of&_size=500&_labels=on"
                      "&_shape=array",
         "datasette_what": "table JSON filtered by kpi_id, sorted by as_of, 500 rows, foreign keys labelled"},
        {"key": "dashboard", "label": "national dashboard (HTML, `/`)",
         "digiden": "/",
         "datasette": "/bench/kpi",
         "datasette_what": "the HTML table page of the kpi table (68 rows)"},
        {"key": "localgov", "label": f"one local government's page (HTML, {LG_CODE})",
         "digiden": f"/local-governments/{LG_CODE}",
         "datasette": f"/bench/org_unit/{ids['org_unit']}",
         "datasette_what": "the HTML row page of that org_unit row"},
    ]


# ----------------------------------------------------------------------------- the data

def ensure_data() -> None:
    """bench/out/bench.sqlite3 with the 5.4M rows; made as `make bench` makes it if missing."""
    def has_rows() -> bool:
        if not SRC_DB.exists():
            return False
        try:
            with sqlite3.connect(f"file:{SRC_DB}?mode=ro", uri=True) as c:
                return bool(c.execute("select 1 from observation limit 1 offset 1000000").fetchone())
        except sqlite3.Error:
            return False
    if has_rows():
        # made by an earlier revision of digiden: bring its schema to this one's (as `make run`
        # does for a database it finds), so the server does not answer from missing tables
        from digiden.store.db import make_engine
        from digiden.store.migrate import upgrade
        engine = make_engine(f"sqlite:///{SRC_DB}")
        upgrade(engine)
        engine.dispose()
        return
    print("… http: generating the bench database (a few minutes)", file=sys.stderr, flush=True)
    if not (OUT / "national_5m.csv").exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py")], check=True)
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    for step in ("prepare", "import_5m"):
        subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--step", step], check=True,
                       env=env, stdout=subprocess.DEVNULL)


def copy_db(name: str) -> Path:
    """A fresh copy of the bench database, for one server, named bench.sqlite3 (so Datasette
    calls the database `bench`)."""
    folder = HTTP_DIR / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    dst = folder / "bench.sqlite3"
    src = sqlite3.connect(str(SRC_DB))
    src.execute("pragma wal_checkpoint(truncate)")   # everything in the main file, then a plain copy
    shutil.copyfile(SRC_DB, dst)
    src.close()
    return dst


def lookup_ids(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        kpi = c.execute("select id from kpi where code = ?", (KPI_CODE,)).fetchone()[0]
        org = c.execute("select id from org_unit where code = ?", (LG_CODE,)).fetchone()[0]
        rollup = c.execute("select count(*) from series_rollup where n > 0").fetchone()[0]
    return {"kpi": int(kpi), "org_unit": int(org), "rollup_rows": int(rollup)}


def ensure_datasette() -> Path:
    exe = DS_VENV / "bin" / "datasette"
    if not exe.exists():
        print("… http: installing Datasette into bench/out/datasette-venv", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(DS_VENV)], check=True)
        subprocess.run([str(DS_VENV / "bin" / "pip"), "install", "--quiet", "-r", str(DS_REQUIREMENTS)],
                       check=True)
    return exe


# ----------------------------------------------------------------------------- servers

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 30) -> tuple[int, int]:
    """(status, body length); status 0 when there was no answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status), len(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), len(e.read())
    except (OSError, http.client.HTTPException):
        return 0, 0


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (from /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def rss_mb(pid: int) -> float | None:
    total = 0
    try:
        for p in process_tree(pid):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    except OSError:
        return None
    return total / 1024


def cpu_seconds(pid: int) -> float | None:
    total = 0.0
    try:
        for p in process_tree(pid):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None
    return total


class Server:
    """A server process on 127.0.0.1; `start()` returns the seconds from process start to the
    first 200 of `/`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.env = env
        self.log_path = OUT / f"http_{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        self.log = self.log_path.open("w", encoding="utf-8")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            status, _ = _get(self.base + "/", timeout=60)
            if status == 200:
                return time.perf_counter() - t0
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer 200 on /; see {self.log_path}")
            time.sleep(0.02)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.proc = None


def digiden_server(db_url: str, name: str = "digiden", workers: int | None = None) -> Server:
    argv = [sys.executable, "-m", "digiden", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    src = str(ROOT / "src")
    pp = os.environ.get("PYTHONPATH")
    return Server(name, argv, os.environ | {"DIGIDEN_DATABASE_URL": db_url,
                                            "PYTHONPATH": f"{pp}:{src}" if pp else src})


def datasette_server(exe: Path, db: Path, immutable: bool) -> Server:
    argv = [str(exe), "serve", *(["-i", str(db)] if immutable else [str(db)]), "--host", "127.0.0.1",
            "--port", "{port}", "--setting", "max_returned_rows", "10000",
            "--setting", "sql_time_limit_ms", "30000"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return Server("datasette_immutable" if immutable else "datasette", argv, env)


# ----------------------------------------------------------------------------- load

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, connections: int, seconds: int) -> dict[str, Any]:
    exe = shutil.which("wrk")
    assert exe is not None
    r = subprocess.run([exe, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", url],
                       capture_output=True, text=True, check=True)
    text = r.stdout
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", text, re.M))
    count = re.search(r"(\d+) requests in ([\d.]+\w+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not (count and rps):
        raise RuntimeError(f"unreadable wrk output:\n{text}\n{r.stderr}")
    return {"requests": int(count.group(1)), "rps": float(rps.group(1)),
            "p50_ms": _ms(pct["50"]) if "50" in pct else None, "p99_ms": _ms(pct["99"]) if "99" in pct else None,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(int(x) for x in sock.groups()) if sock else 0}


def python_load(url: str, connections: int, seconds: int) -> dict[str, Any]:
    """The stand-in for wrk: `connections` threads, each one keep-alive connection, for
    `seconds`. Slower than wrk (the GIL, and it takes CPU from the server), and labelled so."""
    u = urllib.parse.urlsplit(url)
    path = u.path + (f"?{u.query}" if u.query else "")
    lat: list[float] = []
    bad = [0, 0]                 # non-2xx, no answer
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
        mine: list[float] = []
        nb = [0, 0]
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if not 200 <= resp.status < 400:
                    nb[0] += 1
            except (OSError, http.client.HTTPException):
                nb[1] += 1
                conn.close()
                conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
                continue
            mine.append((time.perf_counter() - t) * 1000)
        conn.close()
        with lock:
            lat.extend(mine)
            bad[0] += nb[0]
            bad[1] += nb[1]

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    lat.sort()
    return {"requests": len(lat), "rps": len(lat) / secs,
            "p50_ms": statistics.median(lat) if lat else None,
            "p99_ms": lat[max(0, int(len(lat) * 0.99) - 1)] if lat else None,
            "non_2xx": bad[0], "socket_errors": bad[1]}


def load(url: str, connections: int, seconds: int) -> dict[str, Any]:
    return (wrk if shutil.which("wrk") else python_load)(url, connections, seconds)


def wait_idle(server: Server, limit_s: float = 90.0) -> float:
    """Wait until the server has finished the requests the load generator left behind (it
    keeps working on them after wrk closes the connections), so that they do not take CPU
    from the next measurement, of this server or the other. Returns the seconds waited."""
    t0 = time.monotonic()
    last = cpu_seconds(server.pid)
    while last is not None and time.monotonic() - t0 < limit_s:
        time.sleep(0.5)
        now = cpu_seconds(server.pid)
        if now is None or now - last < 0.05:       # under 10 % of a core: idle
            break
        last = now
    return time.monotonic() - t0


def measure(server: Server, path: str, connections: int, warm_up: bool,
            seconds: int = DURATION_S) -> dict[str, Any]:
    url = server.base + path
    if warm_up:
        load(url, connections, WARMUP_S)
        wait_idle(server)
    cpu0 = cpu_seconds(server.pid)
    r = load(url, connections, seconds)
    cpu1 = cpu_seconds(server.pid)
    if cpu0 is not None and cpu1 is not None:
        r["server_cpu_share"] = (cpu1 - cpu0) / seconds
    r["seconds"] = seconds
    r["drain_s"] = wait_idle(server)
    return r


def seconds_for(connections: int, slowest_rps: float) -> int:
    """Long enough for every connection to see about two answers: a server that shares its
    CPU among 32 requests started together answers them together, and a 10 s window could end
    before the first of them (0 requests/s). At most 30 s."""
    if slowest_rps <= 0:
        return 30
    return int(min(30, max(DURATION_S, -(-2 * connections // slowest_rps))))


# ----------------------------------------------------------------------------- the step

def pg_workers() -> dict[str, Any]:
    """HOOK for goal 5 of issue 12: requests/s with 1 and 2 workers on PostgreSQL.

    Runs when `digiden serve --help` lists `--workers` (since commit 0b5dfa9), or with
    BENCH_HTTP_PG=1 on a digiden without it (then the one-worker server alone). The database is a fresh
    PostgreSQL schema with the reference data, the synthetic strategy and the 100,000-row
    CP932 file (the 5.4M rows take too long to load into PostgreSQL for this step); the four
    pages at 32 connections."""
    helptext = subprocess.run([sys.executable, "-m", "digiden", "serve", "--help"], capture_output=True,
                              text=True, env=os.environ | {"PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
                              ).stdout
    has_workers = "--workers" in helptext
    if not has_workers and os.environ.get("BENCH_HTTP_PG") != "1":
        return {"skipped": "`digiden serve` has no --workers option yet (hook: bench/http_load.py pg_workers)"}
    from sqlalchemy import text

    from digiden.domain.access import system
    from digiden.services.data.imports import ImportOptions, run_import
    from digiden.services.reference import init_reference_data, load_strategy_file
    from digiden.services.uow import UnitOfWork
    from digiden.store.db import make_engine, make_session_factory
    from digiden.store.migrate import upgrade
    schema = f"digiden_bench_http_{uuid.uuid4().hex[:8]}"
    try:
        admin = make_engine(PG_URL)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return {"skipped": f"PostgreSQL unreachable: {type(exc).__name__}: {exc}".splitlines()[0]}
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    out: dict[str, Any] = {"workers_option": has_workers, "runs": []}
    try:
        engine = make_engine(url)
        upgrade(engine)
        uow = lambda: UnitOfWork(make_session_factory(engine))  # noqa: E731
        init_reference_data(uow(), actor="bench", now=NOW)
        load_strategy_file(uow(), OUT / "synthetic_strategy.yaml", actor="bench", now=NOW)
        rep = run_import(uow(), OUT / "monthly_100k_cp932.csv", ImportOptions(), actor=system("bench"), now=NOW)
        out["rows"] = rep.rows
        with engine.connect() as c:
            kpi = c.execute(text("select id from kpi where code = :c"), {"c": KPI_CODE}).scalar_one()
            org = c.execute(text("select id from org_unit where code = :c"), {"c": LG_CODE}).scalar_one()
        engine.dispose()
        eps = endpoints({"kpi": kpi, "org_unit": org})
        # 10 s: on 100,000 rows the slowest page answered ≥ 8 requests/s at 32 connections
        # (≥ 2.5 answers per connection), so the window need not grow as on SQLite's 5.4M rows.
        secs = DURATION_S
        for workers in ((1, 2) if has_workers else (None,)):
            srv = digiden_server(url, name=f"digiden_pg_{workers or 1}", workers=workers)
            try:
                cold = srv.start()
                run: dict[str, Any] = {"workers": workers or 1, "cold_start_s": cold, "pages": {}}
                for ep in eps:
                    run["pages"][ep["key"]] = measure(srv, ep["digiden"], max(CONNECTIONS), warm_up=True,
                                                      seconds=secs)
                run["rss_mb"] = rss_mb(srv.pid)
                out["runs"].append(run)
            finally:
                srv.stop()
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return out


def log_summary(path: Path) -> dict[str, int]:
    """Answers of 500 and exceptions in a server's log (requests wrk had already given up on
    are not in wrk's counts, but their errors are here)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found = {"500 answers": len(re.findall(r'" 500\b', text)), "tracebacks": text.count("Traceback (most recent"),
             "connection pool exhausted (QueuePool limit)": text.count("QueuePool limit")}
    return {k: v for k, v in found.items() if v}


def _loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def step_http() -> dict[str, Any]:
    ensure_data()
    exe = ensure_datasette()
    HTTP_DIR.mkdir(parents=True, exist_ok=True)
    ours_db, ds_db = copy_db("digiden"), copy_db("datasette")
    ids = lookup_ids(ours_db)
    eps = endpoints(ids)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "loadavg_before": _loadavg(),
        "cores": os.cpu_count(), "load_generator": "wrk -t1" if shutil.which("wrk") else
        "Python threads (wrk not installed)", "warmup_s": WARMUP_S, "duration_s": DURATION_S,
        "datasette_version": subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip(),
        "rollup_rows": ids["rollup_rows"], "endpoints": eps, "servers": {}}
    try:
        import concurrency
        result["code"] = concurrency.measured_code()
    except ImportError:
        result["code"] = {"commit": "unknown"}
    servers = [digiden_server(f"sqlite:///{ours_db}"), datasette_server(exe, ds_db, immutable=False)]
    if os.environ.get("BENCH_HTTP_IMMUTABLE") == "1":
        servers.append(datasette_server(exe, ds_db, immutable=True))
    try:
        # Cold start one at a time (nothing else running), then all stay up for the loads.
        for s in servers:
            info: dict[str, Any] = {"cold_start_s": s.start(), "pages": {}}
            result["servers"][s.name] = info
        # Warm-up: every page once per server, checked to answer 200.
        for s in servers:
            for ep in eps:
                path = ep["digiden"] if s.name == "digiden" else ep["datasette"]
                status, size = _get(s.base + path, timeout=120)
                result["servers"][s.name]["pages"][ep["key"]] = {"status": status, "bytes": size}
        for s in servers:
            result["servers"][s.name]["rss_after_warmup_mb"] = rss_mb(s.pid)
        # The same page and connection count on each server back to back, so that a change in
        # the machine's load falls on both alike.
        for ep in eps:
            for n in CONNECTIONS:
                pages = [result["servers"][s.name]["pages"][ep["key"]] for s in servers]
                secs = DURATION_S if n == CONNECTIONS[0] else \
                    seconds_for(n, min(p[f"c{CONNECTIONS[0]}"]["rps"] for p in pages))
                for s, page in zip(servers, pages, strict=True):
                    path = ep["digiden"] if s.name == "digiden" else ep["datasette"]
                    print(f"… http: {s.name} {ep['key']} c={n} {secs} s", file=sys.stderr, flush=True)
                    page[f"c{n}"] = measure(s, path, n, warm_up=n == CONNECTIONS[0],   # 32 follows 8, warm
                                            seconds=secs)
        for s in servers:
            result["servers"][s.name]["rss_end_mb"] = rss_mb(s.pid)
    finally:
        for s in servers:
            s.stop()
    for s in servers:
        if s.name in result["servers"]:
            result["servers"][s.name]["log"] = log_summary(s.log_path)
    result["pg_workers"] = pg_workers()
    result["loadavg_after"] = _loadavg()
    return result


# ----------------------------------------------------------------------------- report

def _fmt(x: float | None, spec: str = ".0f") -> str:
    return "—" if x is None else format(x, spec)


def report(results: dict[str, Any]) -> list[str]:
    h = results["http"] if "http" in results else results
    la, lb = h["loadavg_before"], h["loadavg_after"]
    sv = h["servers"]
    lines = [
        "",
        f"http: {h['date']}; code {h['code']['commit']}; {h['cores']} cores; load average {la[0]:.2f} before, "
        f"{lb[0]:.2f} after; {h['load_generator']}, {h['warmup_s']} s warm-up + {h['duration_s']} s per point; "
        f"{h['datasette_version']} (plain mode) on a copy of the same file",
        "",
        "| page | conns | digiden req/s | p50 / p99 | non-2xx, socket errors | Datasette req/s | p50 / p99 "
        "| non-2xx, socket errors | digiden ÷ Datasette |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    others = [n for n in sv if n != "digiden"]
    for ep in h["endpoints"]:
        for n in CONNECTIONS:
            cells = []
            for name in ("digiden", "datasette"):
                r = sv[name]["pages"][ep["key"]][f"c{n}"]
                cells += [f"{r['rps']:.1f}", f"{_fmt(r['p50_ms'])} / {_fmt(r['p99_ms'])} ms",
                          f"{r['non_2xx']}, {r['socket_errors']}"]
            ours, ref = (sv[x]["pages"][ep["key"]][f"c{n}"]["rps"] for x in ("digiden", "datasette"))
            ratio = f"**{ours / ref:.2f}×**" if ref else "—"
            secs = sv["digiden"]["pages"][ep["key"]][f"c{n}"].get("seconds", h["duration_s"])
            conns = f"{n}" if secs == h["duration_s"] else f"{n} ({secs} s)"
            lines.append(f"| {ep['label']} | {conns} | " + " | ".join(cells) + f" | {ratio} |")
    lines += ["", "| page | digiden 32 ÷ 8 conns | Datasette 32 ÷ 8 conns | response bytes (digiden, Datasette) |",
              "| --- | --- | --- | --- |"]
    for ep in h["endpoints"]:
        row = []
        for name in ("digiden", "datasette"):
            p = sv[name]["pages"][ep["key"]]
            row.append(f"{p['c32']['rps'] / p['c8']['rps']:.2f}" if p["c8"]["rps"] else "—")
        b = [f"{sv[x]['pages'][ep['key']]['bytes']:,}" for x in ("digiden", "datasette")]
        lines.append(f"| {ep['label']} | **{row[0]}** | {row[1]} | {b[0]}, {b[1]} |")
    ours_p, ref_p = sv["digiden"]["pages"], sv["datasette"]["pages"]
    met_ratio = [ep["key"] for ep in h["endpoints"] if all(
        ref_p[ep["key"]][f"c{n}"]["rps"] and ours_p[ep["key"]][f"c{n}"]["rps"] >= ref_p[ep["key"]][f"c{n}"]["rps"]
        for n in CONNECTIONS)]
    met_scale = [ep["key"] for ep in h["endpoints"] if ours_p[ep["key"]]["c8"]["rps"]
                 and ours_p[ep["key"]]["c32"]["rps"] >= 0.9 * ours_p[ep["key"]]["c8"]["rps"]]
    lines += ["", f"goals (issue 12): ≥ 1.0× Datasette's requests/s at 8 and 32 connections — met on "
              f"{len(met_ratio)} of {len(h['endpoints'])} pages ({', '.join(met_ratio) or 'none'}); "
              f"32 connections ≥ 90 % of 8 — met on {len(met_scale)} of {len(h['endpoints'])} "
              f"({', '.join(met_scale) or 'none'})"]
    lines += ["", "| server | cold start to first 200 of `/` | RSS after warm-up | RSS at the end |",
              "| --- | --- | --- | --- |"]
    for name in ["digiden", *others]:
        s = sv[name]
        lines.append(f"| {name} | {s['cold_start_s']:.2f} s | {_fmt(s['rss_after_warmup_mb'])} MB | "
                     f"{_fmt(s['rss_end_mb'])} MB |")
    for name in others:
        if name == "datasette":
            continue
        lines.append("")
        lines.append(f"{name}: " + "; ".join(
            f"{ep['key']} {sv[name]['pages'][ep['key']]['c8']['rps']:.1f} / "
            f"{sv[name]['pages'][ep['key']]['c32']['rps']:.1f} req/s at 8 / 32" for ep in h["endpoints"]))
    pg = h["pg_workers"]
    lines.append("")
    if "skipped" in pg:
        lines.append(f"PostgreSQL, 1 and 2 workers: skipped — {pg['skipped']}")
    else:
        lines.append(f"PostgreSQL ({pg['rows']:,} imported rows), 32 connections: " + "; ".join(
            f"{r['workers']} worker(s): " + ", ".join(f"{k} {v['rps']:.1f} req/s" for k, v in r["pages"].items())
            + f" (cold start {r['cold_start_s']:.2f} s, RSS {_fmt(r['rss_mb'])} MB)" for r in pg["runs"]))
    for name in sv:
        if sv[name].get("log"):
            lines.append("")
            lines.append(f"{name}'s log: " + ", ".join(f"{k} ×{v}" for k, v in sv[name]["log"].items()))
    bad = [f"{name} {k}: {p['status']}" for name in sv for k, p in sv[name]["pages"].items() if p["status"] != 200]
    if bad:
        lines.append("")
        lines.append("not 200 on the first request: " + ", ".join(bad))
    return lines


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    res = {"http": step_http()}
    text = "\n".join(report(res))
    print(text)
    (OUT / "results_http.md").write_text(text + "\n", encoding="utf-8")
    (OUT / "results_http.json").write_text(json.dumps(res, indent=1, ensure_ascii=False), encoding="utf-8")
