"""Loading reference data: the 1,788 local governments, the strategy, the actuals."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from digiden.domain.errors import InvalidInput
from digiden.services.common import LoadReport, data_path
from digiden.services.reference import init_reference_data, load_actuals
from digiden.services.registry import localgov
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, Observation, OrgUnit

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def test_all_local_governments_with_their_kinds(uow: UnitOfWork) -> None:
    rows = localgov.list_all(uow)
    assert len(rows) == 1788
    assert Counter(r.kind for r in rows) == {"prefecture": 47, "designated_city": 20,
                                             "city": 772, "town": 743, "village": 183,
                                             "special_ward": 23}
    by_code = {r.code: r for r in rows}
    assert by_code["261009"].kind == "designated_city"          # 京都市
    assert by_code["131016"].kind == "special_ward"             # 千代田区
    assert by_code["072028"].parent == "070009"                 # 会津若松市 → 福島県


def test_a_second_load_changes_nothing(uow: UnitOfWork) -> None:
    with uow:
        before = uow.session.scalar(select(func.count()).select_from(AuditEvent))
    report = init_reference_data(uow, actor="again", now=NOW)
    assert report.created == {"observation": 0}
    assert report.updated == {"observation": 0}
    assert report.unchanged == {"org_unit": 1788, "strategy": 1, "observation": 30, "problem": 14,
                                "measure": 33, "fiscal_index": 1741, "adjacency": 8804, "search_doc": 1851,
                                "consult_office_area": 376}
    with uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(OrgUnit)) == 1789   # + the nation
        assert s.scalar(select(func.count()).select_from(Observation)) == 30
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_actuals_keep_source_precision_qualifier_and_breakdown(uow: UnitOfWork) -> None:
    from digiden.services.national.observations import list_observations
    obs = list_observations(uow, kpi="digital-implementation")
    assert len(obs) == 1
    o = obs[0]
    assert (o.value, o.qualifier.value, o.as_of.iso(), o.as_of.precision.value) == (
        1000, "over", "2023-06", "month")
    assert "時評" in o.source_title and o.source_url.startswith("https://")
    sel = list_observations(uow, kpi="decarbonization-leading-areas")
    assert {o.breakdown for o in sel} == {"選定"}


def test_reference_loads_are_audited(uow: UnitOfWork) -> None:
    with uow:
        actions = Counter(e.action for e in uow.session.scalars(select(AuditEvent)))
        loads = Counter(e.entity for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "reference.load")))
    assert actions["observation.create"] == 30
    assert actions["strategy.load"] == 1
    assert loads == {"org_unit": 1, "consult_office": 1}     # the registry, and the desk's regional offices


def test_an_actuals_file_with_a_bad_row_writes_nothing(uow: UnitOfWork, tmp_path: Path) -> None:
    src = data_path("kpi_actuals_reported.csv").read_text(encoding="utf-8")
    lines = src.splitlines()
    lines.append("５Gの人口カバー率,2025-09-30,98.5,%,,,new,https://example.org")
    lines.append("５Gの人口カバー率,2025-02-30,98.6,%,,,bad date,https://example.org")
    bad = tmp_path / "actuals.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with uow:
        with pytest.raises(InvalidInput) as e:
            load_actuals(uow.session, LoadReport(), actor="t", now=NOW, path=bad)
        assert "row 33" in e.value.message and "33行目" in e.value.message_ja
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(Observation)) == 30


def test_a_case_study_pointing_at_the_wrong_place_is_refused(uow: UnitOfWork,
                                                             tmp_path: Path) -> None:
    raw = yaml.safe_load(data_path("strategy_fy2023.yaml").read_text(encoding="utf-8"))
    raw["case_studies"][0]["org_units"] = ["072087"]   # 喜多方市, not 会津若松市
    raw["strategy"]["version"] = 2
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidInput) as e:
        init_reference_data(uow, actor="t", now=NOW, strategy_path=p)
    assert "会津若松市" in e.value.message_ja


def test_an_index_built_before_kpis_were_searchable_is_rebuilt_once(uow: UnitOfWork) -> None:
    """`make run` on a database indexed by an earlier digiden (no KPI documents): the KPIs
    become searchable without anyone running `digiden reindex`."""
    from sqlalchemy import delete

    from digiden.store.models import SearchDoc
    with uow:
        uow.session.execute(delete(SearchDoc).where(SearchDoc.kind == "kpi"))
        uow.commit()
    report = init_reference_data(uow, actor="again", now=NOW)
    assert report.created.get("search_doc") == 1851
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(SearchDoc).where(SearchDoc.kind == "kpi")) == 18
