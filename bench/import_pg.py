"""PostgreSQL import against its floor, in one script and one run (issue 12, goal 4).

    python bench/import_pg.py [--rows N]

* **import**: the bench's national CSV (``bench/out/national_5m.csv``, 5.4M rows, made by
  ``bench/generate.py``) through the real importer (``run_import``: detection, parsing,
  resolution, row checks, range rules, the never-decreasing rule, batch, rollup, audit, one
  transaction) into a fresh database with the reference data and the synthetic strategy;
* **floor**: ``psql \\copy`` of the same file into a bare table of text columns without
  indexes or constraints (what ``sqlite3 .import`` is for SQLite);
* **schema floor**: the same rows from that bare table, resolved and shaped as stored, by one
  ``INSERT … SELECT`` into a table like ``observation`` (indexes and foreign keys included):
  what the table itself costs, with no Python;
* the ratio import / floor (goal ≤ 3×), and schema floor / floor.

``--rows N`` uses the first N data rows of the file (written once to ``bench/out/``) when time
is short; the JSON line printed last names the file and its rows. Both run against their own
database, ``digiden_bench_import`` on the server of ``DIGIDEN_TEST_PG_URL`` (dropped and made
afresh each run, never the tests' ``test`` database).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "src"))
PG_URL = os.environ.get("DIGIDEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_NAME = "digiden_bench_import"
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _url(db: str) -> str:
    parts = urlsplit(PG_URL)
    return parts._replace(path=f"/{db}").geturl()


def _slice(rows: int | None) -> Path:
    full = OUT / "national_5m.csv"
    if not full.exists():
        raise SystemExit(f"{full} is missing: run python bench/generate.py first")
    if rows is None:
        return full
    out = OUT / f"national_slice_{rows}.csv"
    if not out.exists():
        with open(full, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                if i > rows:
                    break
                dst.write(line)
    return out


def _fresh_database() -> None:
    from sqlalchemy import text

    from digiden.store.db import make_engine
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()


def _prepare() -> None:
    from digiden.services.reference import init_reference_data, load_strategy_file
    from digiden.store.db import make_engine
    from digiden.store.migrate import upgrade
    _fresh_database()
    upgrade(make_engine(_url(DB_NAME)))
    init_reference_data(_uow(), actor="bench", now=NOW)
    load_strategy_file(_uow(), OUT / "synthetic_strategy.yaml", actor="bench", now=NOW)


def _uow():  # type: ignore[no-untyped-def]
    from digiden.services.uow import UnitOfWork
    from digiden.store.db import make_engine, make_session_factory
    return UnitOfWork(make_session_factory(make_engine(_url(DB_NAME))))


def _import(path: Path) -> dict[str, object]:
    from digiden.domain.access import system
    from digiden.services.data.imports import ImportOptions, run_import
    t = time.perf_counter()
    r = run_import(_uow(), path, ImportOptions(), actor=system("bench"), now=NOW)
    secs = time.perf_counter() - t
    return {"seconds": secs, "rows": r.rows, "created": r.created, "rows_per_s": r.rows / secs,
            "errors": r.error_count}


def _floor(path: Path) -> dict[str, object]:
    """psql \\copy of the same file into a bare table (text columns, no index, no constraint)."""
    psql = shutil.which("psql")
    parts = urlsplit(PG_URL)
    conninfo = (f"host={parts.hostname or '127.0.0.1'} port={parts.port or 5432} "
                f"user={parts.username or 'postgres'} dbname={DB_NAME}")
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split(",")
    cols = ", ".join(f"c{i} TEXT" for i in range(len(header)))
    setup = f"DROP TABLE IF EXISTS bare; CREATE TABLE bare ({cols});"
    if psql is None:   # psycopg's COPY instead of psql's (the same server-side COPY)
        import psycopg
        with psycopg.connect(conninfo, autocommit=True) as c:
            c.execute(setup)
            t = time.perf_counter()
            with c.cursor() as cur, cur.copy("COPY bare FROM STDIN (FORMAT csv, HEADER true)") as cp, \
                    open(path, "rb") as f:
                while data := f.read(1 << 20):
                    cp.write(data)
            return {"seconds": time.perf_counter() - t, "tool": "psycopg COPY"}
    subprocess.run([psql, conninfo, "-q", "-c", setup], check=True)
    t = time.perf_counter()
    subprocess.run([psql, conninfo, "-q", "-c", f"\\copy bare FROM '{path}' WITH (FORMAT csv, HEADER true)"],
                   check=True)
    secs = time.perf_counter() - t
    return {"seconds": secs, "tool": "psql \\copy"}


def _schema_floor() -> dict[str, object]:
    """The floor of digiden's own table: the bare table's rows, resolved and shaped as the importer
    stores them, written by one INSERT … SELECT (the server's C code alone, no Python) into a
    table like `observation` — its columns, defaults, indexes and its three foreign keys — in the
    same database; then again without the foreign keys, to show their share. What the first costs
    over the bare COPY is the schema's; what the import costs over it is its own."""
    from sqlalchemy import text

    from digiden.store.db import make_engine
    engine = make_engine(_url(DB_NAME))
    out: dict[str, object] = {}
    for with_fks in (True, False):
        with engine.begin() as c:
            c.execute(text("DROP TABLE IF EXISTS obs_floor"))
            c.execute(text("CREATE TABLE obs_floor (LIKE observation INCLUDING ALL)"))
            for col, parent in (("kpi_id", "kpi"), ("org_unit_id", "org_unit"), ("batch_id", "import_batch")):
                if with_fks:
                    c.execute(text(f"ALTER TABLE obs_floor ADD FOREIGN KEY ({col}) REFERENCES {parent} (id)"))
            batch = c.execute(text("SELECT MIN(id) FROM import_batch")).scalar_one()
        t = time.perf_counter()
        with engine.begin() as c:
            n = c.execute(text(
                "INSERT INTO obs_floor (kpi_id, org_unit_id, as_of, as_of_precision, breakdown, value, qualifier, "
                "source_title, source_url, note, status, batch_id, created_by, created_at, source_row) "
                "SELECT k.id, o.id, (to_date(b.c2 || '-01', 'YYYY-MM-DD') + interval '1 month' "
                "- interval '1 day')::date, "
                "'month', '', b.c3::float8, 'exact', b.c4, NULL, '', 'approved', :batch, 'bench', :now, NULL "
                "FROM bare b JOIN kpi k ON k.code = b.c0 JOIN org_unit o ON o.code = b.c1"),
                {"batch": batch, "now": NOW}).rowcount
        out["seconds" if with_fks else "seconds_without_fks"] = time.perf_counter() - t
        out["rows"] = n
    with engine.begin() as c:
        c.execute(text("DROP TABLE obs_floor"))
        c.execute(text("DROP TABLE bare"))
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=None, help="use the first N data rows only")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()
    path = _slice(args.rows)
    _prepare()
    imp = _import(path)
    floor = _floor(path)
    schema = _schema_floor()
    result = {"file": path.name, "rows": imp["rows"], "import": imp, "floor": floor, "schema_floor": schema,
              "ratio": float(imp["seconds"]) / float(floor["seconds"]),  # type: ignore[arg-type]
              "schema_floor_ratio": float(schema["seconds"]) / float(floor["seconds"])}  # type: ignore[arg-type]
    print(f"PostgreSQL import of {path.name}: {imp['rows']:,} rows in {imp['seconds']:.1f} s = "
          f"{imp['rows_per_s']:,.0f} rows/s; {floor['tool']} into a bare table {floor['seconds']:.1f} s; "
          f"ratio {result['ratio']:.2f}× (goal ≤ 3×); the same rows by one INSERT … SELECT into a table "
          f"like observation (indexes, foreign keys) {schema['seconds']:.1f} s = "
          f"{result['schema_floor_ratio']:.2f}× the bare copy, the import {imp['seconds'] / schema['seconds']:.2f}× "
          f"that; without the foreign keys {schema['seconds_without_fks']:.1f} s", file=sys.stderr)
    (OUT / "results_import_pg.json").write_text(json.dumps(result, indent=2))
    if not args.keep:
        from sqlalchemy import text

        from digiden.store.db import make_engine
        admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
