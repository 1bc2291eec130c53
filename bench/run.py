"""digiden benchmarks (`make bench`). Prints figures and ratios against references measured in
the same run; asserts nothing. Each step runs in its own process so that its peak memory
(RSS) is its own. Data: bench/generate.py (seeded, SYNTHETIC, labelled so).

Steps
  import_5m      the 5.4M-row CSV into SQLite through the real importer (full validation)
  floor          `sqlite3 .import` of the same file into a bare table (the physical floor)
  schema_floor   the same rows by one INSERT … SELECT (no Python) into a table made from the
                 bench database's `observation` DDL with its indexes: what the schema alone costs
  import_cp932   a 100,000-row CP932 CSV (Japanese KPI names, 和暦 dates) on top
  import_xlsx    a 100,000-row .xlsx on top
  dashboard      the status of every KPI (national dashboard) over the 5.4M rows, vs the bare
                 SQL that feeds it (the series rollup read) and vs a GROUP BY over all rows
  practices, index, search, search_pg, similarity
                 the knowledge side (bench/knowledge.py); `python bench/run.py --only knowledge`
                 runs just these
  concurrency    1, 4 and 16 writers POSTing observations through `digiden serve` on SQLite and
                 PostgreSQL (bench/concurrency.py; also runs alone); `--only concurrency`
  http           requests/s of four pages under wrk at 8 and 32 connections, digiden vs Datasette
                 on copies of the same SQLite file; cold start, RSS (bench/http_load.py; also
                 runs alone); `--only http`
  selection      issue 14: optimal selection of a synthetic 2,000-application call vs greedy and
                 the bare HiGHS solve (bench/selection.py); `--only selection`
  desk           issue 15: the desk dashboard over 100,000 synthetic consultations vs the bare SQL
                 it runs, and routing one new consultation (bench/desk.py); `--only desk`
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DB = OUT / "bench.sqlite3"
FLOOR_DB = OUT / "floor.sqlite3"
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 29)
sys.path.insert(0, str(ROOT / "src"))


def _uow():  # type: ignore[no-untyped-def]
    from digiden.services.uow import UnitOfWork
    from digiden.store.db import make_engine, make_session_factory
    return UnitOfWork(make_session_factory(make_engine(f"sqlite:///{DB}")))


def step_prepare() -> dict[str, object]:
    from digiden.services.reference import init_reference_data, load_strategy_file
    from digiden.store.db import make_engine
    from digiden.store.migrate import upgrade
    for p in OUT.glob("bench.sqlite3*"):
        p.unlink()
    t = time.perf_counter()
    upgrade(make_engine(f"sqlite:///{DB}"))
    init_reference_data(_uow(), actor="bench", now=NOW)
    load_strategy_file(_uow(), OUT / "synthetic_strategy.yaml", actor="bench", now=NOW)
    return {"seconds": time.perf_counter() - t}


def _import(name: str) -> dict[str, object]:
    from digiden.domain.access import system
    from digiden.services.data.imports import ImportOptions, run_import
    t = time.perf_counter()
    r = run_import(_uow(), OUT / name, ImportOptions(), actor=system("bench"), now=NOW)
    secs = time.perf_counter() - t
    return {"seconds": secs, "rows": r.rows, "created": r.created, "rows_per_s": r.rows / secs,
            "errors": r.error_count, "encoding": r.encoding, "format": r.file_format}


def step_import_5m() -> dict[str, object]:
    return _import("national_5m.csv")


def step_import_cp932() -> dict[str, object]:
    return _import("monthly_100k_cp932.csv")


def step_import_xlsx() -> dict[str, object]:
    return _import("monthly_100k.xlsx")


def step_floor() -> dict[str, object]:
    exe = shutil.which("sqlite3")
    if exe is None:
        return {"skipped": "the sqlite3 command is not installed (apt-get install sqlite3)"}
    for p in OUT.glob("floor.sqlite3*"):
        p.unlink()
    t = time.perf_counter()
    subprocess.run([exe, str(FLOOR_DB), ".mode csv", f".import {OUT / 'national_5m.csv'} bare"],
                   check=True)
    return {"seconds": time.perf_counter() - t}


SCHEMA_FLOOR_DB = OUT / "schema_floor.sqlite3"


def step_schema_floor() -> dict[str, object]:
    """The floor of digiden's own table: the rows of the floor's bare table, shaped as the importer
    stores them (ids for the KPI and local government, month-end dates, a batch, the source text on
    every row), written by one INSERT … SELECT — SQLite's C code alone, no Python — into a table
    made from the bench database's own `observation` DDL with its indexes and foreign keys
    (parents: the KPI, local-government and batch ids). Then the same with the source stored once
    and referenced by id (the narrower row issue 12 proposes). What the importer adds on top of
    the first is its own cost; what the first costs over `sqlite3 .import` is the schema's."""
    import sqlite3
    if not FLOOR_DB.exists():
        return {"skipped": "no floor database (run the floor step first)"}
    src = sqlite3.connect(DB)
    ddl = [r[0] for r in src.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'observation' "
                                     "AND sql IS NOT NULL ORDER BY type DESC")]
    kpis = src.execute("SELECT code, id FROM kpi").fetchall()
    orgs = src.execute("SELECT code, id FROM org_unit").fetchall()
    src.close()
    out: dict[str, object] = {}
    for variant in ("as_stored", "source_referenced"):
        for p in OUT.glob("schema_floor.sqlite3*"):
            p.unlink()
        db = sqlite3.connect(SCHEMA_FLOOR_DB, isolation_level=None)
        db.executescript("PRAGMA foreign_keys=ON; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                         "CREATE TABLE kpi (id INTEGER PRIMARY KEY, code TEXT UNIQUE);"
                         "CREATE TABLE org_unit (id INTEGER PRIMARY KEY, code TEXT UNIQUE);"
                         "CREATE TABLE import_batch (id INTEGER PRIMARY KEY);"
                         "INSERT INTO import_batch VALUES (1);")
        db.executemany("INSERT INTO kpi VALUES (?, ?)", [(i, c) for c, i in kpis])
        db.executemany("INSERT INTO org_unit VALUES (?, ?)", [(i, c) for c, i in orgs])
        source = "b.\"出典\", NULL"
        cols = "source_title, source_url"
        for stmt in ddl:
            if variant == "source_referenced" and stmt.startswith("CREATE TABLE"):
                stmt = stmt.replace("source_title TEXT NOT NULL", "source_id INTEGER NOT NULL").replace(
                    "source_url TEXT, ", "")
                source, cols = "1", "source_id"
            db.execute(stmt)
        db.execute(f"ATTACH '{FLOOR_DB}' AS f")
        t = time.perf_counter()
        db.execute("BEGIN")
        db.execute(
            f"INSERT INTO observation (kpi_id, org_unit_id, as_of, as_of_precision, breakdown, value, qualifier, "
            f"{cols}, note, status, batch_id, created_by, created_at, source_row) "
            f"SELECT k.id, o.id, date(b.\"時点\" || '-01', '+1 month', '-1 day'), 'month', '', "
            f"CAST(b.\"値\" AS REAL), 'exact', {source}, '', 'approved', 1, 'bench', "
            f"'2026-11-29 09:00:00.000000', b.rowid "
            f"FROM f.bare b JOIN kpi k ON k.code = b.kpi JOIN org_unit o ON o.code = b.\"団体コード\"")
        db.execute("COMMIT")
        out[f"{variant}_seconds"] = time.perf_counter() - t
        out[f"{variant}_rows"] = db.execute("SELECT COUNT(*) FROM observation").fetchone()[0]
        db.close()
    for p in OUT.glob("schema_floor.sqlite3*"):
        p.unlink()
    return out


def step_dashboard() -> dict[str, object]:
    from sqlalchemy import text

    from digiden.services.national.kpis import list_kpis
    uow = _uow()
    n_obs = 0
    with uow:
        n_obs = uow.session.execute(text("SELECT COUNT(*) FROM observation")).scalar_one()

    def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
        out = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
        return out

    def dashboard() -> None:
        views = list_kpis(uow, today=TODAY)
        assert len(views) == 68

    def bare_rollup() -> None:
        with uow:
            uow.session.execute(text("SELECT kpi_id, as_of, breakdown, n, total, positive "
                                     "FROM series_rollup ORDER BY kpi_id, as_of")).all()

    def bare_group_by() -> None:
        with uow:
            uow.session.execute(text("SELECT kpi_id, as_of, breakdown, COUNT(*), SUM(value), "
                                     "SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END) FROM observation "
                                     "GROUP BY kpi_id, as_of, breakdown")).all()

    dashboard()  # warm caches (templates are not involved; this is the service call)
    d = timed(dashboard, 30)
    r = timed(bare_rollup, 30)
    g = timed(bare_group_by, 3)
    p50 = statistics.median(d)
    return {"observations": n_obs, "p50_ms": p50, "p95_ms": sorted(d)[int(len(d) * 0.95) - 1],
            "bare_rollup_p50_ms": statistics.median(r), "group_by_p50_ms": statistics.median(g),
            "ratio_to_rollup_read": p50 / statistics.median(r),
            "ratio_to_group_by": p50 / statistics.median(g)}


STEPS = ["prepare", "import_5m", "floor", "schema_floor", "import_cp932", "import_xlsx", "dashboard"]
KNOWLEDGE_STEPS = ["practices", "index", "search", "search_pg", "similarity"]   # bench/knowledge.py
CONCURRENCY_STEPS = ["concurrency"]   # bench/concurrency.py
HTTP_STEPS = ["http"]                 # bench/http_load.py
SELECTION_STEPS = ["selection"]       # bench/selection.py (issue 14)
DESK_STEPS = ["desk"]                 # bench/desk.py (issue 15)


def run_child(step: str) -> dict[str, object]:
    proc = subprocess.Popen([sys.executable, __file__, "--step", step], stdout=subprocess.PIPE,
                            text=True, env=os.environ | {"PYTHONPATH": str(ROOT / "src")})
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed")
    data = json.loads(out.strip().splitlines()[-1])
    data["peak_rss_mb"] = usage.ru_maxrss / 1024   # KiB on Linux
    return data


def main() -> None:
    if "--step" in sys.argv:
        step = sys.argv[sys.argv.index("--step") + 1]
        if step in KNOWLEDGE_STEPS:
            sys.path.insert(0, str(ROOT / "bench"))
            import knowledge
            print(json.dumps(getattr(knowledge, f"step_{step}")()))
        elif step in CONCURRENCY_STEPS:
            sys.path.insert(0, str(ROOT / "bench"))
            import concurrency
            print(json.dumps(concurrency.step_concurrency()))
        elif step in HTTP_STEPS:
            sys.path.insert(0, str(ROOT / "bench"))
            import http_load
            print(json.dumps(http_load.step_http()))
        elif step in SELECTION_STEPS:
            sys.path.insert(0, str(ROOT / "bench"))
            import selection
            print(json.dumps(selection.step_selection()))
        elif step in DESK_STEPS:
            sys.path.insert(0, str(ROOT / "bench"))
            import desk
            print(json.dumps(desk.step_desk(), default=str))
        else:
            print(json.dumps(globals()[f"step_{step}"]()))
        return
    only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
    if only == ["knowledge"]:
        results: dict[str, dict[str, object]] = {}
        for step in KNOWLEDGE_STEPS:
            print(f"… {step}", flush=True)
            results[step] = run_child(step)
        sys.path.insert(0, str(ROOT / "bench"))
        import knowledge
        text = "\n".join(knowledge.report(results))  # type: ignore[arg-type]
        print(text)
        (OUT / "results_knowledge.md").write_text(text + "\n", encoding="utf-8")
        return
    if only == ["concurrency"]:
        results = {"concurrency": run_child("concurrency")}
        sys.path.insert(0, str(ROOT / "bench"))
        import concurrency
        text = "\n".join(concurrency.report(results))
        print(text)
        (OUT / "results_concurrency.md").write_text(text + "\n", encoding="utf-8")
        return
    if only == ["http"]:
        results = {"http": run_child("http")}
        sys.path.insert(0, str(ROOT / "bench"))
        import http_load
        text = "\n".join(http_load.report(results))
        print(text)
        (OUT / "results_http.md").write_text(text + "\n", encoding="utf-8")
        (OUT / "results_http.json").write_text(json.dumps(results, indent=1, ensure_ascii=False),
                                               encoding="utf-8")
        return
    if only == ["selection"]:
        results = {"selection": run_child("selection")}
        sys.path.insert(0, str(ROOT / "bench"))
        import selection
        text = "\n".join(selection.report(results))
        print(text)
        (OUT / "results_selection.md").write_text(text + "\n", encoding="utf-8")
        return
    if only == ["desk"]:
        results = {"desk": run_child("desk")}
        sys.path.insert(0, str(ROOT / "bench"))
        import desk
        text = "\n".join(desk.report(results))
        print(text)
        (OUT / "results_desk.md").write_text(text + "\n", encoding="utf-8")
        return
    if not (OUT / "national_5m.csv").exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py")], check=True)
    results = {}
    for step in STEPS + KNOWLEDGE_STEPS + CONCURRENCY_STEPS + HTTP_STEPS + SELECTION_STEPS + DESK_STEPS:
        print(f"… {step}", flush=True)
        results[step] = run_child(step)
    imp, floor = results["import_5m"], results["floor"]
    lines = [
        f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; "
        f"SQLite {__import__('sqlite3').sqlite_version}; data: SYNTHETIC (bench/generate.py, seed 20261129)",
        "",
        "| step | figure | reference in the same run | ratio | peak RSS |",
        "| --- | --- | --- | --- | --- |",
        f"| import 5.4M-row CSV (full validation) | {imp['rows']:,} rows in {imp['seconds']:.1f} s = "
        f"**{imp['rows_per_s']:,.0f} rows/s** | `sqlite3 .import` into a bare table: "
        + (f"{floor['seconds']:.1f} s | **{imp['seconds'] / floor['seconds']:.2f}×** the floor"
           if "seconds" in floor else f"{floor.get('skipped')} | —")
        + f" | {imp['peak_rss_mb']:.0f} MB |",
    ]
    sf = results["schema_floor"]
    if "as_stored_seconds" in sf and "seconds" in floor:
        lines += [
            f"| the same rows by SQL alone (INSERT … SELECT from the bare table, no Python) into `observation` "
            f"with its indexes and foreign keys | {sf['as_stored_seconds']:.1f} s | `sqlite3 .import`: "
            f"{floor['seconds']:.1f} s | **{sf['as_stored_seconds'] / floor['seconds']:.2f}×** the floor "
            f"(the importer: {imp['seconds'] / sf['as_stored_seconds']:.2f}× this) | — |",
            f"| same, the source stored once and referenced by id (the narrower row) | "
            f"{sf['source_referenced_seconds']:.1f} s | same | "
            f"**{sf['source_referenced_seconds'] / floor['seconds']:.2f}×** the floor | — |"]
    lines += [
        f"| import 100,000-row CP932 CSV | {results['import_cp932']['rows_per_s']:,.0f} rows/s "
        f"({results['import_cp932']['seconds']:.2f} s) | — | — | {results['import_cp932']['peak_rss_mb']:.0f} MB |",
        f"| import 100,000-row .xlsx | {results['import_xlsx']['rows_per_s']:,.0f} rows/s "
        f"({results['import_xlsx']['seconds']:.2f} s) | — | — | {results['import_xlsx']['peak_rss_mb']:.0f} MB |",
    ]
    d = results["dashboard"]
    lines.append(
        f"| national dashboard, status of every KPI over {d['observations']:,} rows | p50 **{d['p50_ms']:.1f} ms**, "
        f"p95 {d['p95_ms']:.1f} ms | bare rollup read {d['bare_rollup_p50_ms']:.1f} ms; bare GROUP BY over all rows "
        f"{d['group_by_p50_ms']:.0f} ms | **{d['ratio_to_rollup_read']:.2f}×** the rollup read; "
        f"{d['ratio_to_group_by']:.4f}× the GROUP BY | {d['peak_rss_mb']:.0f} MB |")
    sys.path.insert(0, str(ROOT / "bench"))
    import knowledge
    lines += knowledge.report(results)  # type: ignore[arg-type]
    import concurrency
    lines += concurrency.report(results)
    import http_load
    lines += http_load.report(results)
    import selection
    lines += selection.report(results)
    import desk
    lines += desk.report(results)  # type: ignore[arg-type]
    text = "\n".join(lines)
    print(text)
    (OUT / "results.md").write_text(text + "\n", encoding="utf-8")
    (OUT / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
