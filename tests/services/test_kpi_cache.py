"""The national dashboard's statuses are computed once per data version and day, and every write
— through the API, an import, a revert, another engine, another process — gives the data a new
version, so a cached dashboard is never served after a change (store/dataversion.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from digiden.domain.access import system
from digiden.services.data.imports import ImportOptions, run_import
from digiden.services.data.imports.batches import revert_batch
from digiden.services.national import kpis
from digiden.services.uow import UnitOfWork
from digiden.store import dataversion
from digiden.store.db import make_engine, make_session_factory
from digiden.store.models import DataVersion

FIX = Path(__file__).resolve().parents[1] / "fixtures"
SRC = Path(__file__).resolve().parents[2] / "src"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 29)


def dashboard(uow: UnitOfWork, today: date = TODAY) -> dict[str, kpis.KpiView]:
    """The dashboard as a GET request reads it: a reading unit of work."""
    return {k.code: k for k in kpis.list_kpis(uow.for_reading(), today=today)}


def token(uow: UnitOfWork) -> str | None:
    with uow.for_reading() as r:
        found: str | None = dataversion.current(r.session)
        return found


def history(view: kpis.KpiView) -> list[tuple[date, float]]:
    return [(o.as_of.date, o.value) for o in view.history]


def test_a_second_read_is_served_from_the_cache_and_another_day_is_not(uow: UnitOfWork) -> None:
    first, second = dashboard(uow), dashboard(uow)
    assert token(uow) is not None
    # the same objects: computed once for this data version and day
    assert all(second[c] is first[c] for c in first)
    other_day = dashboard(uow, date(2031, 4, 1))
    assert other_day["5g-population-coverage"] is not first["5g-population-coverage"]


def test_import_and_revert_each_change_the_cached_dashboard(uow: UnitOfWork) -> None:
    before = dashboard(uow)
    assert dashboard(uow)["digital-promotion-talent"] is before["digital-promotion-talent"]
    assert history(before["digital-promotion-talent"]) == []
    v0 = token(uow)
    r = run_import(uow, FIX / "wide_bom.csv", ImportOptions(kpi="digital-promotion-talent"),
                   actor=system("importer"), now=NOW)
    v1 = token(uow)
    assert v1 != v0
    after = dashboard(uow)["digital-promotion-talent"]
    assert history(after) == [(date(2023, 3, 31), 1160.0), (date(2024, 3, 31), 1450.0),
                              (date(2025, 3, 31), 1885.0)]
    assert dashboard(uow)["digital-promotion-talent"] is after      # cached again, for the new data
    assert r.batch_id is not None
    revert_batch(uow, r.batch_id, actor=system("reviewer"), now=NOW)
    assert token(uow) not in (v0, v1)
    assert history(dashboard(uow)["digital-promotion-talent"]) == []


def test_a_write_that_rolls_back_leaves_the_version_and_the_dashboard(uow: UnitOfWork) -> None:
    before, v0 = dashboard(uow), token(uow)
    with uow:
        dataversion.bump(uow.session)   # then leave without committing
    assert token(uow) == v0
    assert dashboard(uow)["5g-population-coverage"] is before["5g-population-coverage"]


def test_an_observation_added_through_the_api_changes_the_cached_dashboard(client) -> None:  # type: ignore[no-untyped-def]
    def kpi() -> dict[str, Any]:
        r = client.get("/api/v1/kpis")
        assert r.status_code == 200, r.text
        return next(k for k in r.json() if k["code"] == "digital-implementation")

    before = kpi()
    assert kpi() == before     # served twice (the second time from the cache)
    r = client.post("/api/v1/observations", json={
        "kpi": "digital-implementation", "as_of": "2026-03-31", "value": "1400",
        "source_title": "デジタル庁 調べ"})
    assert r.status_code == 201, r.text
    after = kpi()
    assert after != before
    assert [o["value"] for o in after["latest"]] == [1400]
    assert after["status"] != before["status"]   # one point (not assessable) → two points


# ---------------------------------------------------------------- other engines and processes

CSV_TEMPLATE = "KPI,団体コード,時点,値\n{kpi},JP,{as_of},{value}\n"


def _national_value(live_db, tmp_path: Path, name: str, kpi: str, as_of: str, value: int) -> Path:  # type: ignore[no-untyped-def]
    f = tmp_path / f"{name}-{live_db.backend}.csv"
    f.write_text(CSV_TEMPLATE.format(kpi=kpi, as_of=as_of, value=value), encoding="utf-8")
    return f


def test_a_write_through_another_engine_changes_the_cached_dashboard(live_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ours = UnitOfWork(live_db.session_factory)
    before = dashboard(ours)["kodomo-katei-center"]
    assert dashboard(ours)["kodomo-katei-center"] is before
    other_engine = make_engine(live_db.url)
    try:
        theirs = UnitOfWork(make_session_factory(other_engine))
        run_import(theirs, _national_value(live_db, tmp_path, "engine", "kodomo-katei-center", "2026-03-31", 1200),
                   ImportOptions(), actor=system("other-worker"), now=NOW)
    finally:
        other_engine.dispose()
    after = dashboard(ours)["kodomo-katei-center"]
    assert after is not before
    assert (date(2026, 3, 31), 1200.0) in history(after)


def test_a_plain_session_commit_changes_the_version(live_db) -> None:  # type: ignore[no-untyped-def]
    """Not only units of work: any session that commits a write replaces the version."""
    factory = live_db.session_factory
    with factory() as s:
        v0 = s.scalar(select(DataVersion.token))
    with factory() as s:
        s.add(DataVersion(id=2, token="x"))   # any write at all
        s.commit()
    with factory() as s:
        assert s.scalar(select(DataVersion.token).where(DataVersion.id == 1)) != v0
        s.delete(s.get(DataVersion, 2))
        s.commit()


def test_a_write_from_another_process_changes_the_cached_dashboard(live_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ours = UnitOfWork(live_db.session_factory)
    before = dashboard(ours)["satellite-offices"]
    assert dashboard(ours)["satellite-offices"] is before
    f = _national_value(live_db, tmp_path, "process", "satellite-offices", "2026-03-31", 321)
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from digiden.domain.access import system\n"
        "from digiden.services.data.imports import ImportOptions, run_import\n"
        "from digiden.services.uow import UnitOfWork\n"
        "from digiden.store.db import make_engine, make_session_factory\n"
        "uow = UnitOfWork(make_session_factory(make_engine(sys.argv[1])))\n"
        "r = run_import(uow, Path(sys.argv[2]), ImportOptions(), actor=system('other-process'),\n"
        "               now=datetime(2026, 11, 29, 10, 0, tzinfo=UTC))\n"
        "assert r.created == 1, r\n")
    subprocess.run([sys.executable, "-c", script, live_db.url, str(f)], check=True, timeout=120,
                   env=os.environ | {"PYTHONPATH": str(SRC)})
    after = dashboard(ours)["satellite-offices"]
    assert after is not before
    assert history(after) == [(date(2026, 3, 31), 321.0)]
