"""After a large import, the planner knows the new rows (issue 12: a bench finding).

On PostgreSQL the planner plans with the table's statistics, which only ANALYZE refreshes;
autovacuum does so a minute or more after a bulk load. Until then, one KPI's observation listing
— the API's `/api/v1/observations?kpi=…` page — was planned as if the KPI had a handful of rows:
all of its rows were read and sorted on the server for every 500-row page (9 ms a request on
21,456 rows in the bench, against 0.7 ms through the listing index), which no number of app
workers could spread. The importer now refreshes the statistics in its own transaction.

What a user notices is the page's speed; what the test checks is its cause, the plan of the very
statement the service sends: read in order by the listing index, no sort. On SQLite the same
plan holds without statistics (the check guards it there too)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from digiden.domain.access import system
from digiden.services.data.imports import ImportOptions, revert_batch, run_import
from digiden.services.national import observations
from digiden.services.uow import UnitOfWork
from digiden.store import bulk
from digiden.store.models import OrgUnit

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
KPI = "digital-promotion-talent"
MONTHS = [f"{2020 + (m + 3) // 12}-{(m + 3) % 12 + 1:02d}" for m in range(16)]


def _file(uow: UnitOfWork, path: Path) -> tuple[Path, int]:
    with uow:
        orgs = list(uow.session.scalars(select(OrgUnit.code).where(OrgUnit.kind != "nation")
                                        .order_by(OrgUnit.code).limit(700)))
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("kpi,団体コード,時点,値\n")
        for i, code in enumerate(orgs):
            for j, m in enumerate(MONTHS):   # never decreasing along the dates, as the KPI requires
                f.write(f"{KPI},{code},{m},{100 * i + j}\n")
                n += 1
    assert n >= bulk.STATISTICS_MIN_ROWS
    return path, n


def _listing_plan(uow: UnitOfWork) -> str:
    """The plan of the statement list_observations sends for one KPI, as text."""
    sent: list[tuple[str, Any]] = []
    with uow:
        engine = uow.session.get_bind()

    def grab(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "FROM observation" in statement and "LIMIT" in statement.upper():
            sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        page = observations.list_observations(uow, kpi=KPI, limit=500)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert len(page) == 500
    statement, params = sent[-1]
    with uow:
        conn = uow.session.connection()
        if conn.dialect.name == "postgresql":
            raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).scalar_one()
            return json.dumps(raw)
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
        return "\n".join(str(r[-1]) for r in rows)


def test_one_kpis_listing_reads_by_the_listing_index_right_after_an_import(uow, tmp_path) -> None:
    path, n = _file(uow, tmp_path / "large.csv")
    report = run_import(uow, path, ImportOptions(parallel=False), actor=system("importer"), now=NOW)
    assert report.ok and report.created == n
    plan = _listing_plan(uow)
    assert "ix_observation_kpi_listing" in plan, plan
    assert '"Node Type": "Sort"' not in plan and "TEMP B-TREE" not in plan, plan


def test_the_statistics_count_the_imported_rows_and_follow_a_revert(uow, tmp_path) -> None:
    """PostgreSQL: the row count the planner believes (pg_class.reltuples) includes the new rows
    after the import and drops again after its revert; SQLite: nothing to refresh."""
    path, n = _file(uow, tmp_path / "large.csv")
    report = run_import(uow, path, ImportOptions(parallel=False), actor=system("importer"), now=NOW)
    with uow:
        conn = uow.session.connection()
        if conn.dialect.name != "postgresql":
            assert bulk.refresh_statistics(conn, n) is False
            return
        total = conn.exec_driver_sql("SELECT COUNT(*) FROM observation").scalar_one()
        believed = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = 'observation'::regclass").scalar_one()
    assert total >= n and believed >= 0.9 * total, (believed, total)
    assert report.batch_id is not None
    revert_batch(uow, report.batch_id, actor=system("importer"), now=NOW)
    with uow:
        conn = uow.session.connection()
        total = conn.exec_driver_sql("SELECT COUNT(*) FROM observation").scalar_one()
        believed = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = 'observation'::regclass").scalar_one()
    assert believed <= max(1.1 * total, total + 100), (believed, total)
