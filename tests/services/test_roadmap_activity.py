"""The roadmap fills a year only where something is recorded for it (issue 13 §3): a milestone
(a KPI target's deadline), a national figure of a KPI the measure serves published that fiscal
year, a published practice that used the measure running that year, or its spread. Before, every
year of every measure was one solid bar of 「実施」."""

from __future__ import annotations

from datetime import UTC, date, datetime

from digiden.domain.access import system
from digiden.services.knowledge import catalogue, practices
from digiden.services.national.observations import ObservationInput, add_observation
from digiden.services.uow import UnitOfWork

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 29)


def years(uow: UnitOfWork, code: str) -> dict[int, catalogue.RoadmapView]:
    return {r.fiscal_year: r for r in catalogue.get_measure(uow, code).roadmap}


def test_a_year_without_milestone_or_activity_is_not_filled(uow: UnitOfWork) -> None:
    road = years(uow, "resas")          # serves no KPI, used by no practice
    assert not any(r.filled for r in road.values())
    assert road[2024].summary == "記録なし" and road[2024].text.endswith("：実施")   # the stored item is kept
    fiber = years(uow, "fiber-optic-subsidy")
    assert fiber[2027].filled and fiber[2027].milestone and fiber[2027].summary == "KPIの目標期限"
    assert not fiber[2024].filled


def test_a_published_national_figure_fills_its_fiscal_year(uow: UnitOfWork) -> None:
    add_observation(uow, ObservationInput(kpi="fiber-household-coverage", as_of="2025-03-31", value="99.9",
                                          source_title="総務省 発表"),
                    actor=system("planner@example"), now=NOW, today=TODAY)
    fiber = years(uow, "fiber-optic-subsidy")
    assert fiber[2024].filled and not fiber[2024].milestone           # 2025-03-31 is in FY2024
    assert fiber[2024].activities == ("KPI「光ファイバの世帯カバー率」の実績 99.9%（2025年3月31日時点）",)
    assert fiber[2024].summary == "実績・事例"
    assert not fiber[2023].filled and not fiber[2025].filled
    # the roadmap page's service says the same as the measure's
    grouped = {m.code: m for g in catalogue.roadmap(uow) for m in g.measures}
    assert grouped["fiber-optic-subsidy"].roadmap[1].activities == fiber[2024].activities


def test_practices_and_their_spread_fill_their_years_once_published(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    admin = accounts["admin"]
    doc = {"title": "RESASで商店街の人流を分析", "org_units": ["072028"], "field": "P1.1",
           "problem": "商店街の来訪者が減った", "solution": "RESASと人流データで施策を選ぶ",
           "measures": ["resas"], "fy_from": "2024", "fy_to": "2025"}
    p = practices.add(uow, admin, doc, now=NOW)
    assert not any(r.filled for r in years(uow, "resas").values())      # submitted, not public: nothing
    practices.review(uow, admin, p.code, "publish", now=NOW)
    road = years(uow, "resas")
    assert [fy for fy, r in road.items() if r.filled] == [2024, 2025]
    assert road[2024].activities == ("事例「RESASで商店街の人流を分析」（福島県会津若松市）を実施",)
    practices.record_adoption(uow, admin, p.code, org_code="072087", fiscal_year="2026", now=NOW)
    road = years(uow, "resas")
    assert [fy for fy, r in road.items() if r.filled] == [2024, 2025, 2026]
    assert road[2026].activities == ("事例「RESASで商店街の人流を分析」を1団体が導入（横展開）",)
