"""The measures catalogue, its roadmap and the reference data behind similarity."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from digiden.domain.errors import InvalidInput, NotFound
from digiden.services.knowledge import catalogue
from digiden.services.uow import UnitOfWork
from digiden.store.models import Adjacency, FiscalIndex, OrgUnit


def test_the_catalogue_is_loaded_and_every_measure_is_classified(uow: UnitOfWork) -> None:
    ms = catalogue.list_measures(uow)
    assert len(ms) == 33
    assert all(m.fields and m.problems and m.summary and m.eligible for m in ms)
    assert {m.support for m in ms} == set(catalogue.SUPPORT_KINDS)
    assert len(catalogue.problems(uow)) == 14
    grant = catalogue.get_measure(uow, "dden-grant-digital")
    assert grant.in_seed and grant.ministry == "内閣府" and grant.support_label == "交付金"
    assert " " not in grant.summary       # YAML's folded lines do not leave spaces in Japanese text


def test_find_by_problem_not_by_ministry(uow: UnitOfWork) -> None:
    mobility = [m.code for m in catalogue.list_measures(uow, problem="mobility")]
    assert "transport-redesign" in mobility and "dden-grant-digital" in mobility
    assert "giga-school" not in mobility
    pillar = catalogue.list_measures(uow, field="P4")       # a pillar covers its fields
    assert {f.split(".")[0] for m in pillar for f, _ in m.fields} >= {"P4"}
    assert [m.code for m in catalogue.list_measures(uow, support="tax")] == ["corporate-furusato-nozei"]
    with pytest.raises(InvalidInput):
        catalogue.list_measures(uow, problem="boredom")
    with pytest.raises(NotFound):
        catalogue.get_measure(uow, "nothing")


def test_roadmap_milestones_come_from_kpi_targets(uow: UnitOfWork) -> None:
    m = catalogue.get_measure(uow, "digital-promotion-commissioners")
    assert [r.fiscal_year for r in m.roadmap] == [2023, 2024, 2025, 2026, 2027]
    fy2027 = m.roadmap[-1]
    assert fy2027.milestone and fy2027.basis == "kpi_target"
    assert fy2027.text == "KPI「デジタル推進委員の取組」目標 50,000人（2027年度）"
    assert not m.roadmap[0].milestone and m.roadmap[0].text == "2023年度（令和5年度）：実施"
    auto = catalogue.get_measure(uow, "transport-redesign")
    # 新たなモビリティサービス 700団体 by calendar 2025 and 無人自動運転 50か所程度 by FY2025 meet in 2025
    fy2025 = next(r for r in auto.roadmap if r.fiscal_year == 2025)
    assert "700団体（2025年）" in fy2025.text and "50か所程度（2025年度）" in fy2025.text   # 年 and 年度 kept apart
    assert "100か所" in next(r for r in auto.roadmap if r.fiscal_year == 2027).text
    kodomo = catalogue.get_measure(uow, "kodomo-katei-center")
    assert all(not r.milestone for r in kodomo.roadmap)      # 全国展開 has no date in the seed


def test_roadmap_groups(uow: UnitOfWork) -> None:
    by_field = catalogue.roadmap(uow, by="field")
    assert [g.key for g in by_field][:4] == ["P1", "P2", "P3", "P4"]
    assert sum(len(g.measures) for g in by_field) == 33
    by_ministry = {g.key for g in catalogue.roadmap(uow, by="ministry")}
    assert {"総務省", "デジタル庁", "国土交通省"} <= by_ministry
    with pytest.raises(InvalidInput):
        catalogue.roadmap(uow, by="colour")


def test_measures_list_the_practices_that_used_them(uow: UnitOfWork) -> None:
    m = catalogue.get_measure(uow, "transport-redesign")
    assert [p.code for p in m.practices] == ["sakai-autonomous-bus"]
    assert m.practices[0].place == "茨城県境町"


def test_fiscal_indices_and_borders(uow: UnitOfWork) -> None:
    with uow:
        s = uow.session
        units = {o.code: o.id for o in s.scalars(select(OrgUnit))}
        f = s.get(FiscalIndex, (units["011002"], 2021))
        assert f is not None and (f.fiscal_strength, f.current_balance_ratio) == (0.72, 93.0)
        neighbours = set(s.scalars(select(OrgUnit.code).join(Adjacency, Adjacency.neighbour_id == OrgUnit.id)
                                   .where(Adjacency.org_unit_id == units["072028"])))
    assert "072087" in neighbours and "072036" in neighbours      # 喜多方市, and 郡山市 across 猪苗代湖
    assert "072010" not in neighbours                             # 福島市 does not touch it
    assert len(neighbours) == 9 and all(c.startswith("07") for c in neighbours)
