"""The observation listing (`GET /api/v1/observations?kpi=…`, issue 12 goal 3), measured in process.

Two measurements, standalone (not a step of bench/run.py); prints figures and ratios, asserts nothing.

``python bench/observations.py [--db PATH]``
    The listing service for 500 rows of one KPI (first page, a page deep in the KPI by keyset
    cursor, the same page by offset, and one local government's observations) against the bare
    SQL that reads the same 500 rows, on a database with ≥ 1M observations. Default database: a
    copy of bench/out/bench.sqlite3 (the 5.4M-row database `make bench` leaves), upgraded to the
    head revision on the copy, so the original is never changed. ``--before`` drops the listing
    index on the copy first (what main had before migration 0006).

``python bench/observations.py --import-cost [--rows N] [--rounds R]``
    What the listing index costs a bulk import: the first N rows (default 2,000,000) of
    bench/out/national_5m.csv through the real importer (`run_import`, full validation) into a
    fresh SQLite database with and without the index, alternately, R times each (default 2).

Data: SYNTHETIC (bench/generate.py, seed 20261129).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
WORK = OUT / "observations"
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
INDEX = "ix_observation_kpi_listing"
sys.path.insert(0, str(ROOT / "src"))


def _uow(db: Path):  # type: ignore[no-untyped-def]
    from digiden.services.uow import UnitOfWork
    from digiden.store.db import make_engine, make_session_factory
    return UnitOfWork(make_session_factory(make_engine(f"sqlite:///{db}")))


def _drop_index(db: Path) -> None:
    from sqlalchemy import text

    from digiden.store.db import make_engine
    with make_engine(f"sqlite:///{db}").begin() as c:
        c.execute(text(f"DROP INDEX IF EXISTS {INDEX}"))


def _copy(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite database in WAL mode (the online-backup API, WAL included)."""
    import sqlite3
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    with b:
        a.backup(b)
    a.close()
    b.close()


# ------------------------------------------------------------------------------ import cost

def _prepare_empty(db: Path) -> None:
    from digiden.services.reference import init_reference_data, load_strategy_file
    from digiden.store.db import make_engine
    from digiden.store.migrate import upgrade
    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    upgrade(make_engine(f"sqlite:///{db}"))
    init_reference_data(_uow(db), actor="bench", now=NOW)
    load_strategy_file(_uow(db), OUT / "synthetic_strategy.yaml", actor="bench", now=NOW)


def _child_import(db: Path, csv: Path) -> None:
    from digiden.domain.access import system
    from digiden.services.data.imports import ImportOptions, run_import
    t = time.perf_counter()
    r = run_import(_uow(db), csv, ImportOptions(), actor=system("bench"), now=NOW)
    secs = time.perf_counter() - t
    print(f"{secs:.3f} {r.rows} {r.error_count}")


def import_cost(rows: int, rounds: int = 2) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    csv = WORK / f"slice_{rows}.csv"
    if not csv.exists():
        with open(OUT / "national_5m.csv", encoding="utf-8") as src, open(csv, "w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                if i > rows:
                    break
                dst.write(line)
    empty = WORK / "empty.sqlite3"
    _prepare_empty(empty)
    results: dict[str, list[float]] = {"with index": [], "without index": []}
    for _round in range(rounds):
        for label in ("without index", "with index"):
            db = WORK / "import.sqlite3"
            for p in WORK.glob("import.sqlite3*"):
                p.unlink()
            _copy(empty, db)
            if label == "without index":
                _drop_index(db)
            out = subprocess.run([sys.executable, __file__, "--child-import", str(db), str(csv)],
                                 check=True, capture_output=True, text=True).stdout.split()
            secs, n, errors = float(out[0]), int(out[1]), int(out[2])
            results[label].append(secs)
            print(f"  {label:14s} {n:,} rows ({errors} errors) in {secs:.2f} s = {n / secs:,.0f} rows/s "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
    w, wo = statistics.median(results["with index"]), statistics.median(results["without index"])
    print(f"import of {rows:,} rows: without the listing index {wo:.2f} s, with it {w:.2f} s "
          f"(median of {rounds}): the index costs {100 * (w / wo - 1):+.1f} %")
    for p in WORK.glob("import.sqlite3*"):
        p.unlink()

# ------------------------------------------------------------------------------ the listing

def _old_listing(uow, kpi: str, limit: int, offset: int = 0) -> list[object]:  # type: ignore[no-untyped-def]
    """The listing as main had it before issue 12 (kept here to measure against): whole ORM
    entities of observation, KPI and local government, sorted by (KPI position, as_of, …)."""
    from sqlalchemy import select

    from digiden.services.common import observation_view
    from digiden.services.national.kpis import find_kpi
    from digiden.store.models import Kpi, Observation, OrgUnit
    with uow:
        s = uow.session
        q = (select(Observation, Kpi, OrgUnit).join(Kpi, Kpi.id == Observation.kpi_id)
             .join(OrgUnit, OrgUnit.id == Observation.org_unit_id)
             .order_by(Kpi.position, Observation.as_of, Observation.breakdown, Observation.id))
        q = q.where(Observation.kpi_id == find_kpi(s, kpi).id)
        return [observation_view(o, k, u) for o, k, u in s.execute(q.limit(limit).offset(offset))]


def _timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn()                                  # warm: page cache, statement cache
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def listing(db: Path, kpi: str) -> None:
    import json

    from sqlalchemy import text

    from digiden.services.national.observations import observation_page
    from digiden.store.db import make_engine
    from digiden.store.models import Observation
    if not db.exists():
        print(f"copying {OUT / 'bench.sqlite3'} to {db} …", flush=True)
        _copy(OUT / "bench.sqlite3", db)
    engine = make_engine(f"sqlite:///{db}")
    uow = _uow(db)
    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM observation")).scalar_one()
        kpi_id, = c.execute(text("SELECT id FROM kpi WHERE code = :c"), {"c": kpi}).one()
        n_kpi = c.execute(text("SELECT count(*) FROM observation WHERE kpi_id = :k"), {"k": kpi_id}).scalar_one()
        org = c.execute(text("SELECT o.code FROM org_unit o JOIN observation b ON b.org_unit_id = o.id "
                             "WHERE b.kpi_id = :k AND o.code <> 'JP' LIMIT 1"), {"k": kpi_id}).scalar_one()
    print(f"database {db}: {n:,} observations (SYNTHETIC); KPI {kpi}: {n_kpi:,}; local government {org}; "
          f"load {os.getloadavg()[0]:.2f}")
    bare = ("SELECT b.id, b.as_of, b.as_of_precision, b.breakdown, b.value, b.qualifier, b.source_title, "
            "b.source_url, b.status, b.created_by, b.created_at, b.batch_id, b.note, o.code, o.full_name "
            "FROM observation b JOIN org_unit o ON o.id = b.org_unit_id WHERE b.kpi_id = :k "
            "ORDER BY b.as_of, b.breakdown, b.id LIMIT 500")
    deep = n_kpi // 2

    def bare_sql() -> None:
        with engine.connect() as c:
            assert len(c.execute(text(bare), {"k": kpi_id}).all()) == 500

    def bare_deep() -> None:
        with engine.connect() as c:
            assert len(c.execute(text(bare + " OFFSET :o"), {"k": kpi_id, "o": deep}).all()) == 500

    def service() -> None:
        assert len(observation_page(uow, kpi=kpi, limit=500).items) == 500

    def service_json() -> None:   # what the route adds: the shapes and the JSON body
        page = observation_page(uow, kpi=kpi, limit=500)
        json.dumps([o.json_data() for o in page.items], ensure_ascii=False, separators=(",", ":"))

    cursor = {}

    def service_cursor() -> None:
        assert len(observation_page(uow, kpi=kpi, limit=500, after=cursor["deep"]).items) == 500

    def service_offset() -> None:
        assert len(observation_page(uow, kpi=kpi, limit=500, offset=deep).items) == 500

    def service_org() -> None:
        observation_page(uow, org_unit=org, limit=500)

    def old() -> None:
        assert len(_old_listing(uow, kpi, 500)) == 500

    index = next(ix for ix in Observation.__table__.indexes if ix.name == INDEX)
    for label in ("without the listing index (main before 0006)", "with the listing index (0006)"):
        with engine.begin() as c:
            c.execute(text(f"DROP INDEX IF EXISTS {INDEX}"))
        if label.startswith("with "):
            t = time.perf_counter()
            index.create(engine)
            print(f"  CREATE INDEX on {n:,} rows: {time.perf_counter() - t:.1f} s")
        slow = label.startswith("without")
        r = 3 if slow else 30
        cursor["deep"] = observation_page(uow, kpi=kpi, limit=500, offset=deep - 500).next_after or ""
        f = {"bare SQL, first 500 rows": _timed(bare_sql, r),
             "bare SQL, 500 rows at offset n/2": _timed(bare_deep, r),
             "old listing (ORM entities), first 500": _timed(old, r),
             "service, first 500 rows": _timed(service, r),
             "service + JSON body (route work)": _timed(service_json, r),
             "service, 500 rows after a cursor at n/2": _timed(service_cursor, r),
             "service, 500 rows at offset n/2": _timed(service_offset, r),
             "service, one local government (org_unit=)": _timed(service_org, r)}
        print(f"{label} (p50 of {r}, ms; load {os.getloadavg()[0]:.2f}):")
        for k, v in f.items():
            print(f"  {k:45s} {v:9.1f}")
        b = f["bare SQL, first 500 rows"]
        print(f"  ratio service / bare SQL: {f['service, first 500 rows'] / b:.2f}x; "
              f"service + JSON / bare SQL: {f['service + JSON body (route work)'] / b:.2f}x; "
              f"old listing / bare SQL: {f['old listing (ORM entities), first 500'] / b:.2f}x")


def main() -> None:
    if "--child-import" in sys.argv:
        i = sys.argv.index("--child-import")
        _child_import(Path(sys.argv[i + 1]), Path(sys.argv[i + 2]))
        return
    if "--import-cost" in sys.argv:
        rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 2_000_000
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 2
        import_cost(rows, rounds)
        return
    db = Path(sys.argv[sys.argv.index("--db") + 1]) if "--db" in sys.argv else WORK / "list.sqlite3"
    kpi = sys.argv[sys.argv.index("--kpi") + 1] if "--kpi" in sys.argv else "synthetic-25"
    listing(db, kpi)


if __name__ == "__main__":
    main()
