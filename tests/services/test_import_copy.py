"""Large imports through the bulk path (on PostgreSQL: COPY into a staging table and one
INSERT … SELECT at the end; on SQLite: multi-row INSERTs chunk by chunk), on both databases:
files of several parsing chunks keep the batch all-or-nothing, a key repeated across chunks is
named, overwrites record their before-values and revert restores them, and the series rollup
equals a GROUP BY recount after every import and revert."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import case, func, select

from digiden.domain.access import system
from digiden.services.data.imports import ImportFailed, ImportOptions, ImportReport, revert_batch, run_import
from digiden.services.data.imports.parse import CHUNK
from digiden.services.uow import UnitOfWork
from digiden.store.models import (
    AuditEvent,
    ImportBatch,
    Kpi,
    Observation,
    ObservationChange,
    OrgUnit,
    SeriesRollup,
)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
KPI = "digital-promotion-talent"   # never-decreasing (blocking): values grow with the date
MONTHS = [f"{2020 + (m + 3) // 12}-{(m + 3) % 12 + 1:02d}" for m in range(16)]


def _orgs(uow: UnitOfWork, n: int) -> list[str]:
    with uow:
        codes = list(uow.session.scalars(select(OrgUnit.code).where(OrgUnit.kind != "nation")
                                         .order_by(OrgUnit.code).limit(n)))
    assert len(codes) == n
    return codes


def _rows(orgs: list[str], months: list[str], bump: int = 0) -> list[tuple[str, str, str, float]]:
    return [(KPI, code, m, float(100 * i + j + bump)) for i, code in enumerate(orgs) for j, m in enumerate(months)]


def _write(path: Path, rows: list[tuple[str, str, str, float]]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        f.write("kpi,団体コード,時点,値\n")
        for k, code, m, v in rows:
            f.write(f"{k},{code},{m},{v:g}\n")
    return path


def _imp(uow: UnitOfWork, path: Path, **kw: object) -> ImportReport:
    return run_import(uow, path, ImportOptions(parallel=False, **kw),  # type: ignore[arg-type]
                      actor=system("importer"), now=NOW)


def _counts(uow: UnitOfWork) -> tuple[int, ...]:
    with uow:
        s = uow.session
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0
                     for t in (Observation, ImportBatch, AuditEvent, SeriesRollup, ObservationChange))


def _rollup_equals_recount(uow: UnitOfWork) -> None:
    with uow:
        s = uow.session
        nation = s.scalar(select(OrgUnit.id).where(OrgUnit.code == "JP"))
        stored = {(k, a, b): (n, round(t, 6), p) for k, a, b, n, t, p in s.execute(
            select(SeriesRollup.kpi_id, SeriesRollup.as_of, SeriesRollup.breakdown, SeriesRollup.n,
                   SeriesRollup.total, SeriesRollup.positive).where(SeriesRollup.n > 0))}
        o = Observation
        recount = {(k, a, b): (n, round(t, 6), p) for k, a, b, n, t, p in s.execute(
            select(o.kpi_id, o.as_of, o.breakdown, func.count(), func.sum(o.value),
                   func.sum(case((o.value > 0, 1), else_=0)))
            .where(o.org_unit_id != nation, o.status == "approved")
            .group_by(o.kpi_id, o.as_of, o.breakdown))}
    assert stored == recount


def _values(uow: UnitOfWork) -> dict[tuple[str, str], tuple[float, int | None]]:
    with uow:
        return {(c, a.isoformat()[:7]): (v, b) for c, a, v, b in uow.session.execute(
            select(OrgUnit.code, Observation.as_of, Observation.value, Observation.batch_id)
            .join(OrgUnit, OrgUnit.id == Observation.org_unit_id)
            .join(Kpi, Kpi.id == Observation.kpi_id).where(Kpi.code == KPI))}


@pytest.fixture
def orgs(uow: UnitOfWork) -> list[str]:
    return _orgs(uow, (CHUNK * 5 // 4) // len(MONTHS) + 1)   # a file of more than one chunk


def test_a_bad_row_late_in_a_big_file_writes_nothing(uow: UnitOfWork, orgs: list[str], tmp_path: Path) -> None:
    rows = _rows(orgs, MONTHS)
    assert len(rows) > CHUNK
    bad = (KPI, orgs[-1], "2031-01", -5.0)                  # a negative count, on the last line
    path = _write(tmp_path / "late.csv", [*rows, bad])
    before = _counts(uow)
    with pytest.raises(ImportFailed) as e:
        _imp(uow, path)
    assert [p.row for p in e.value.report.errors] == [len(rows) + 2]
    assert _counts(uow) == before


def test_a_key_repeated_across_chunks_is_named_and_nothing_is_written(
        uow: UnitOfWork, orgs: list[str], tmp_path: Path) -> None:
    rows = _rows(orgs, MONTHS)
    k, code, m, v = rows[0]
    before = _counts(uow)
    with pytest.raises(ImportFailed) as e:
        _imp(uow, _write(tmp_path / "dup.csv", [*rows, (k, code, m, v + 1)]))
    named = [(p.row, p.message) for p in e.value.report.errors]
    assert named == [(len(rows) + 2, f"duplicate of row 2 with a different value ({v:g})")]
    assert _counts(uow) == before
    # the same value twice is no conflict: counted once, unchanged once
    r = _imp(uow, _write(tmp_path / "same.csv", [*rows, (k, code, m, v)]))
    assert (r.rows, r.created, r.unchanged) == (len(rows) + 1, len(rows), 1)
    _rollup_equals_recount(uow)


def test_overwrites_record_before_values_revert_restores_and_the_rollup_follows(
        uow: UnitOfWork, orgs: list[str], tmp_path: Path) -> None:
    first_rows = _rows(orgs, MONTHS[:-1])
    first = _imp(uow, _write(tmp_path / "first.csv", first_rows))
    assert first.created == len(first_rows) and first.updated == 0
    _rollup_equals_recount(uow)
    after_first = _values(uow)
    assert len(after_first) == len(first_rows)

    # a correction: the last stored month of every other local government goes up (still
    # never decreasing), and a new month for all of them (a new series)
    second_rows = [(KPI, code, MONTHS[-2], float(100 * i + len(MONTHS) + 10)) for i, code in enumerate(orgs)
                   if i % 2 == 0]
    second_rows += [(KPI, code, MONTHS[-1], float(100 * i + len(MONTHS) + 20)) for i, code in enumerate(orgs)]
    second = _imp(uow, _write(tmp_path / "second.csv", second_rows))
    n_updated = len(orgs[::2])
    assert (second.created, second.updated) == (len(orgs), n_updated)
    _rollup_equals_recount(uow)
    with uow:
        changes = {(c, a.isoformat()[:7]): (old, ob) for c, a, old, ob in uow.session.execute(
            select(OrgUnit.code, Observation.as_of, ObservationChange.old_value, ObservationChange.old_batch_id)
            .join(Observation, Observation.id == ObservationChange.observation_id)
            .join(OrgUnit, OrgUnit.id == Observation.org_unit_id)
            .where(ObservationChange.batch_id == second.batch_id))}
    assert changes == {(code, MONTHS[-2]): after_first[(code, MONTHS[-2])] for code in orgs[::2]}

    assert second.batch_id is not None and first.batch_id is not None
    revert_batch(uow, second.batch_id, actor=system("reviewer"), now=NOW)
    assert _values(uow) == after_first
    _rollup_equals_recount(uow)
    revert_batch(uow, first.batch_id, actor=system("reviewer"), now=NOW)
    assert _values(uow) == {}
    _rollup_equals_recount(uow)
