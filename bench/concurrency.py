"""Concurrent writers through the real HTTP API (a step of `make bench`; also runs alone:
`.venv/bin/python bench/concurrency.py`).

For each backend (SQLite in a fresh file; PostgreSQL at 127.0.0.1:5432, database `test`, in a
schema of its own, skipped if unreachable): a fresh database migrated and loaded with the
reference data, one national-administrator account and one API token per writer (created
through the services), then `digiden serve` as a separate process on a loopback port. N writers
(1, 4, 16), each a thread with its own HTTP connection, POST a fixed number of observations to
`/api/v1/observations`, all starting at once. Every write is a new value of a local government
(different local governments, so every value is valid); every other write of every writer has
the same as-of date, so concurrent writes update the same series-rollup row, the rest have a
date of the writer's own.

Reported per backend and N: writes/s, p50/p99 latency, errors (any answer that is not 2xx, or
no answer, counted by status). Afterwards the database is checked: every acknowledged write is
there exactly once with the value sent, and has exactly one audit event; writes answered with
an error are counted if they were stored anyway; the rollup rows touched must equal a count
over the observations. Nothing is asserted: figures are reported against the goals (0 errors
at 16 writers on both databases; PostgreSQL ≥ 2× SQLite's writes/s at 16 writers).

The code measured is the `digiden` package this interpreter imports (so
`PYTHONPATH=/other/checkout/src python bench/concurrency.py` measures another checkout); the
server process runs the same code. Server logs: bench/out/concurrency_<backend>.log; the
exception lines in them are summarised in the results.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
if str(ROOT / "src") not in sys.path:
    sys.path.append(str(ROOT / "src"))    # after PYTHONPATH, so another checkout can be measured

WRITERS = (1, 4, 16)
WRITES_PER_WRITER = 50          # 21 × 50 = 1,050 writes per backend; the whole step ~1–2 min on 2 cores
KPI = "fiber-household-coverage"   # %, range 0–100, no breakdowns, no series rule
SHARED_AS_OF = date(2024, 3, 31)   # the rollup row every writer touches
PG_URL = os.environ.get("DIGIDEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
TIMEOUT_S = 60.0                   # one request
RUN_DEADLINE_S = 300.0             # one N: later writes are not sent (and counted as errors)


@dataclass
class Write:
    writer: int
    org: str
    as_of: date
    value: float
    status: int | str = 0            # HTTP status, or the exception's name when there was no answer
    ms: float = 0.0
    obs_id: int | None = None
    detail: str = ""


@dataclass
class Run:
    writers: int
    writes: list[Write] = field(default_factory=list)
    seconds: float = 0.0


def measured_code() -> dict[str, str]:
    """Which checkout of digiden is measured: its folder, commit and whether it has changes."""
    import digiden
    src = Path(digiden.__file__).resolve().parents[1]
    repo = src.parent

    def git(*args: str) -> str:
        r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        return r.stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--", "src"))
    return {"src": str(src), "commit": commit + (" + uncommitted changes in src" if dirty else "")}


# ----------------------------------------------------------------------------- databases

def _prepare(url: str) -> None:
    from digiden.services.reference import init_reference_data
    from digiden.services.uow import UnitOfWork
    from digiden.store.db import make_engine, make_session_factory
    from digiden.store.migrate import upgrade
    engine = make_engine(url)
    upgrade(engine)
    init_reference_data(UnitOfWork(make_session_factory(engine)), actor="bench", now=NOW)
    engine.dispose()


def _pg_reachable() -> str | None:
    from sqlalchemy import text

    from digiden.store.db import make_engine
    try:
        e = make_engine(PG_URL)
        with e.connect() as c:
            c.execute(text("select 1"))
        e.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


class Database:
    """A fresh database of one backend: a temporary SQLite file, or a PostgreSQL schema."""

    def __init__(self, backend: str) -> None:
        from sqlalchemy import text

        from digiden.store.db import make_engine
        self.backend = backend
        self.schema = ""
        if backend == "sqlite":
            self.folder = Path(tempfile.mkdtemp(prefix="digiden-bench-conc-"))
            self.url = f"sqlite:///{self.folder / 'digiden.sqlite3'}"
        else:
            self.schema = f"digiden_bench_{uuid.uuid4().hex[:10]}"
            admin = make_engine(PG_URL)
            with admin.begin() as c:
                c.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            sep = "&" if "?" in PG_URL else "?"
            self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}"
        _prepare(self.url)

    def drop(self) -> None:
        import shutil

        from sqlalchemy import text

        from digiden.store.db import make_engine
        if self.backend == "sqlite":
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        admin = make_engine(PG_URL)
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        admin.dispose()


def _accounts(url: str, n_tokens: int) -> tuple[list[str], list[str]]:
    """A national administrator with one write token per writer; and the local governments
    (every code except the nation), in code order."""
    from sqlalchemy import select

    from digiden.domain.access import system
    from digiden.services.local import accounts
    from digiden.services.uow import UnitOfWork
    from digiden.store.db import make_engine, make_session_factory
    from digiden.store.models import OrgUnit
    engine = make_engine(url)
    sf = make_session_factory(engine)
    actor = system("bench")
    accounts.create_user(UnitOfWork(sf), actor, username="bench-writer", password="bench concurrency 2026",
                         role="national_admin", now=NOW)
    tokens = [accounts.create_token(UnitOfWork(sf), actor, username="bench-writer", name=f"writer {i + 1}",
                                    scopes="read write", now=NOW)[0]
              for i in range(n_tokens)]
    with sf() as s:
        orgs = list(s.scalars(select(OrgUnit.code).where(OrgUnit.code != "JP").order_by(OrgUnit.code)))
    engine.dispose()
    return tokens, orgs


# ----------------------------------------------------------------------------- the server

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`python -m digiden serve` on 127.0.0.1, a process of its own, logging to a file."""

    def __init__(self, url: str, src: str, log: Path) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        env = os.environ | {"DIGIDEN_DATABASE_URL": url, "PYTHONPATH": src}
        self.log = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "digiden", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port)], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def __enter__(self) -> Server:
        import httpx2
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log_path}")
            try:
                httpx2.get(f"{self.base_url}/api/v1/kpis", timeout=5)
                return self
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {self.log_path}") from None
                time.sleep(0.1)

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server process has used so far; None off Linux."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# ----------------------------------------------------------------------------- the writers

def _plan(n: int, first: int, orgs: list[str]) -> list[list[Write]]:
    """Writes of each writer. Write g (counted over the whole backend) goes to local
    government g; even writes have the shared as-of date, odd ones a date of the writer's own."""
    plans: list[list[Write]] = []
    for w in range(n):
        ws = []
        for i in range(WRITES_PER_WRITER):
            g = first + w * WRITES_PER_WRITER + i
            lap = g // len(orgs)   # more writes than local governments: an earlier year
            own = date(2023 - lap, 1 + w % 12, 1 + w // 12)
            as_of = SHARED_AS_OF.replace(year=SHARED_AS_OF.year - lap) if i % 2 == 0 else own
            ws.append(Write(writer=w, org=orgs[g % len(orgs)], as_of=as_of, value=50 + (g % 500) / 10))
        plans.append(ws)
    return plans


def _writer(base_url: str, token: str, writes: list[Write], start: threading.Barrier) -> None:
    import httpx2
    with httpx2.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                       timeout=TIMEOUT_S, limits=httpx2.Limits(max_connections=1)) as client:
        start.wait()
        deadline = time.monotonic() + RUN_DEADLINE_S
        for w in writes:
            if time.monotonic() > deadline:
                w.status = "not sent (deadline)"
                continue
            body = {"kpi": KPI, "org_unit": w.org, "as_of": w.as_of.isoformat(), "value": w.value,
                    "source_title": "ベンチマーク（合成データ）", "note": "bench/concurrency.py"}
            t = time.perf_counter()
            try:
                r = client.post("/api/v1/observations", json=body)
            except httpx2.HTTPError as exc:
                w.ms = (time.perf_counter() - t) * 1000
                w.status = type(exc).__name__
                w.detail = str(exc)[:200]
                continue
            w.ms = (time.perf_counter() - t) * 1000
            w.status = r.status_code
            if 200 <= r.status_code < 300:
                try:
                    w.obs_id = int(r.json()["id"])
                except (ValueError, KeyError, TypeError):
                    w.detail = "2xx without an id: " + r.text[:200]
            else:
                w.detail = r.text[:200]


def run_writers(base_url: str, tokens: list[str], plans: list[list[Write]]) -> Run:
    run = Run(writers=len(plans))
    start = threading.Barrier(len(plans) + 1)
    threads = [threading.Thread(target=_writer, args=(base_url, tokens[i], plans[i], start), daemon=True)
               for i in range(len(plans))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - t0
    run.writes = [w for p in plans for w in p]
    return run


# ----------------------------------------------------------------------------- checks

def check(url: str, run: Run) -> dict[str, int]:
    """What the database holds for the run's writes."""
    from sqlalchemy import func, select

    from digiden.store.db import make_engine, make_session_factory
    from digiden.store.models import AuditEvent, Kpi, Observation, OrgUnit, SeriesRollup
    engine = make_engine(url)
    out = Counter[str]()
    with make_session_factory(engine)() as s:
        kpi_id = s.scalar(select(Kpi.id).where(Kpi.code == KPI))
        org_ids: dict[str, int] = {code: oid for code, oid in s.execute(select(OrgUnit.code, OrgUnit.id))}
        stored: dict[tuple[int, date], list[tuple[int, float]]] = {}
        for oid, org_id, as_of, value in s.execute(
                select(Observation.id, Observation.org_unit_id, Observation.as_of, Observation.value)
                .where(Observation.kpi_id == kpi_id, Observation.org_unit_id.in_(
                    [org_ids[w.org] for w in run.writes]))):
            stored.setdefault((org_id, as_of), []).append((oid, value))
        audits = Counter(s.scalars(select(AuditEvent.entity_key).where(
            AuditEvent.entity == "observation", AuditEvent.action == "observation.create",
            AuditEvent.kpi_id == kpi_id)).all())
        for w in run.writes:
            rows = stored.get((org_ids[w.org], w.as_of), [])
            acked = isinstance(w.status, int) and 200 <= w.status < 300
            if acked:
                out["acknowledged"] += 1
                if not rows:
                    out["lost"] += 1
                elif len(rows) > 1:
                    out["duplicated"] += 1
                elif rows[0][0] != w.obs_id or abs(rows[0][1] - w.value) > 1e-9:
                    out["wrong_value"] += 1
                else:
                    out["stored_once"] += 1
                n_audit = audits.get(str(w.obs_id), 0)
                out["audited_once" if n_audit == 1 else "audit_missing" if n_audit == 0 else "audit_duplicated"] += 1
            elif rows:
                out["stored_though_error"] += 1
        # The rollup rows touched must agree with a count over the observations.
        nation = org_ids["JP"]
        for as_of in {w.as_of for w in run.writes}:
            n_obs = s.scalar(select(func.count()).select_from(Observation).where(
                Observation.kpi_id == kpi_id, Observation.as_of == as_of, Observation.breakdown == "",
                Observation.org_unit_id != nation)) or 0
            n_roll = s.scalar(select(SeriesRollup.n).where(
                SeriesRollup.kpi_id == kpi_id, SeriesRollup.as_of == as_of, SeriesRollup.breakdown == "")) or 0
            out["rollup_rows_checked"] += 1
            if n_obs != n_roll:
                out["rollup_rows_wrong"] += 1
    engine.dispose()
    return dict(out)


def summarise(run: Run, checked: dict[str, int]) -> dict[str, Any]:
    ok = [w.ms for w in run.writes if isinstance(w.status, int) and 200 <= w.status < 300]
    all_ms = sorted(w.ms for w in run.writes)
    errors = Counter(str(w.status) for w in run.writes if not (isinstance(w.status, int) and 200 <= w.status < 300))
    samples: dict[str, str] = {}
    for w in run.writes:
        if str(w.status) in errors and str(w.status) not in samples:
            samples[str(w.status)] = w.detail
    # A request that got no answer right after a 500 on the same connection: the server closed
    # the connection after the error (a finding of issue 10), so the next request on it failed.
    after_500 = sum(1 for prev, w in zip(run.writes, run.writes[1:], strict=False)
                    if prev.writer == w.writer and prev.status == 500 and isinstance(w.status, str))
    return {
        "writers": run.writers, "writes": len(run.writes), "seconds": run.seconds,
        "no_answer_after_500": after_500,
        "ok": len(ok), "writes_per_s": len(ok) / run.seconds if run.seconds else 0.0,
        "p50_ms": statistics.median(all_ms) if all_ms else 0.0,
        "p99_ms": all_ms[max(0, math.ceil(len(all_ms) * 0.99) - 1)] if all_ms else 0.0,   # nearest rank
        "errors": sum(errors.values()), "error_statuses": dict(errors), "error_samples": samples,
        "check": checked,
    }


_CAUSE = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception|Violation|Locked)\w*): ?(.*)$")


def server_errors(log: Path) -> dict[str, int]:
    """Exception lines in the server's log, counted by type and the first words of the message."""
    out = Counter[str]()
    if not log.exists():
        return {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _CAUSE.match(line.strip())
        if m:
            msg = re.sub(r"\s+", " ", m[2])[:90]
            out[f"{m[1]}: {msg}"] += 1
    return dict(out.most_common(8))


# ----------------------------------------------------------------------------- the step

def bench_backend(backend: str, code: dict[str, str]) -> dict[str, Any]:
    db = Database(backend)
    try:
        tokens, orgs = _accounts(db.url, max(WRITERS))
        log = OUT / f"concurrency_{backend}.log"
        runs = []
        first = 0
        with Server(db.url, code["src"], log) as server:
            for n in WRITERS:
                plans = _plan(n, first, orgs)
                first += n * WRITES_PER_WRITER
                cpu0, client0 = server.cpu_seconds(), time.process_time()
                run = run_writers(server.base_url, tokens, plans)
                cpu1, client1 = server.cpu_seconds(), time.process_time()
                runs.append(summarise(run, check(db.url, run)))
                r = runs[-1]
                r["server_cpu_ms_per_write"] = (None if cpu0 is None or cpu1 is None
                                                else (cpu1 - cpu0) * 1000 / len(run.writes))
                r["server_cpu_share"] = (None if cpu0 is None or cpu1 is None
                                         else (cpu1 - cpu0) / run.seconds)
                r["client_cpu_share"] = (client1 - client0) / run.seconds
                print(f"  {backend} {n:>2} writers: {r['writes_per_s']:.1f} writes/s, p50 {r['p50_ms']:.0f} ms, "
                      f"p99 {r['p99_ms']:.0f} ms, errors {r['errors']} {r['error_statuses'] or ''}",
                      file=sys.stderr, flush=True)
        return {"runs": runs, "server_errors": server_errors(log)}
    finally:
        db.drop()


def step_concurrency() -> dict[str, object]:
    OUT.mkdir(parents=True, exist_ok=True)
    code = measured_code()
    load = os.getloadavg()
    out: dict[str, object] = {"code": code, "loadavg_before": list(load), "writes_per_writer": WRITES_PER_WRITER,
                              "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    for backend in ("sqlite", "postgresql"):
        reason = _pg_reachable() if backend == "postgresql" else None
        if reason:
            out[backend] = {"skipped": f"PostgreSQL not reachable: {reason}"}
            continue
        try:
            out[backend] = bench_backend(backend, code)
        except RuntimeError as exc:   # the server did not start: say so, and go on
            out[backend] = {"skipped": str(exc)}
    out["loadavg_after"] = list(os.getloadavg())
    return out


def _statuses(r: dict[str, Any]) -> str:
    if not r["errors"]:
        return "0"
    after = r.get("no_answer_after_500", 0)
    return (f"**{r['errors']}** (" + ", ".join(f"{k}×{v}" for k, v in sorted(r["error_statuses"].items()))
            + (f"; {after} with no answer right after a 500 on the same connection" if after else "") + ")")


def _checked(c: dict[str, int]) -> str:
    parts = [f"{c.get('stored_once', 0)}/{c.get('acknowledged', 0)} stored once, "
             f"{c.get('audited_once', 0)} audited once"]
    for k in ("lost", "duplicated", "wrong_value", "audit_missing", "audit_duplicated", "stored_though_error",
              "rollup_rows_wrong"):
        if c.get(k):
            parts.append(f"**{k.replace('_', ' ')} {c[k]}**")
    return "; ".join(parts)


def report(results: dict[str, Any]) -> list[str]:
    c = results["concurrency"] if "concurrency" in results else results
    la, lb = c["loadavg_before"], c["loadavg_after"]
    lines = [
        "",
        f"concurrency: {c['date']}; code {c['code']['commit']}; load average {la[0]:.2f} before, "
        f"{lb[0]:.2f} after; {c['writes_per_writer']} writes per writer, through `digiden serve` "
        "(its own process) on 127.0.0.1",
        "",
        "| database | writers | writes/s | p50 | p99 | errors (status × count) | afterwards in the database "
        "| server CPU per write (server's, client's share of one core) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    at16: dict[str, float] = {}
    for backend, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        b = c[backend]
        if "skipped" in b:
            lines.append(f"| {label} | — | skipped: {b['skipped']} | | | | | |")
            continue
        for r in b["runs"]:
            cpu = r.get("server_cpu_ms_per_write")
            cpu_text = ("—" if cpu is None else
                        f"{cpu:.1f} ms ({r['server_cpu_share']:.0%}, {r['client_cpu_share']:.0%})")
            lines.append(f"| {label} | {r['writers']} | {r['writes_per_s']:.1f} | {r['p50_ms']:.0f} ms | "
                         f"{r['p99_ms']:.0f} ms | {_statuses(r)} | {_checked(r['check'])} | {cpu_text} |")
            if r["writers"] == max(WRITERS):
                at16[backend] = r["writes_per_s"]
    lines.append("")
    if "sqlite" in at16 and "postgresql" in at16 and at16["sqlite"] > 0:
        lines.append(f"PostgreSQL writes/s at {max(WRITERS)} writers ÷ SQLite's: "
                     f"**{at16['postgresql'] / at16['sqlite']:.2f}×** (goal ≥ 2×)")
    else:
        lines.append(f"PostgreSQL writes/s at {max(WRITERS)} writers ÷ SQLite's: — (a backend was skipped "
                     "or wrote nothing)")
    errs16 = {b: next((str(r["errors"]) for r in c[b].get("runs", []) if r["writers"] == max(WRITERS)), "—")
              for b in ("sqlite", "postgresql")}
    lines.append(f"errors at {max(WRITERS)} writers: SQLite {errs16['sqlite']}, PostgreSQL {errs16['postgresql']} "
                 "(goal 0 on both)")
    for backend in ("sqlite", "postgresql"):
        se = c[backend].get("server_errors") if isinstance(c[backend], dict) else None
        if se:
            lines.append(f"server log, {backend}: " + "; ".join(f"{k} ×{v}" for k, v in se.items()))
    return lines


def main() -> None:
    if "--step" in sys.argv:   # bench/run.py runs the step in a child process of its own
        print(json.dumps(step_concurrency()))
        return
    t = time.perf_counter()
    results = step_concurrency()
    text = "\n".join(report(results))
    print(text)
    print(f"\n({time.perf_counter() - t:.0f} s)")
    (OUT / "results_concurrency.md").write_text(text + "\n", encoding="utf-8")
    (OUT / "results_concurrency.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
