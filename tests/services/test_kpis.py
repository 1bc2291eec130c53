"""KPI statuses computed from the reported actuals, as a strategy office would read them."""

from __future__ import annotations

from datetime import date

import pytest

from digiden.domain.errors import NotFound
from digiden.services.national import kpis
from digiden.services.uow import UnitOfWork

TODAY = date(2026, 11, 29)


@pytest.fixture
def by_code(uow: UnitOfWork) -> dict[str, kpis.KpiView]:
    return {k.code: k for k in kpis.list_kpis(uow, today=TODAY)}


@pytest.mark.parametrize(("code", "status"), [
    ("corporate-furusato-nozei", "achieved"),          # 1,631 ≥ 1,500
    ("5g-population-coverage", "on_track"),
    ("gigaschool-daily-use", "on_track"),
    ("plateau-3d-city-models", "on_track"),
    ("decarbonization-leading-areas", "on_track"),
    ("logistics-dx", "stalled"),                       # 31% → 41% against 70% by FY2025
    ("kodomo-katei-center", "not_assessable"),         # no dated target
    ("digital-implementation", "not_assessable"),      # one observation
    ("satellite-offices", "not_assessable"),           # no observation
])
def test_statuses_from_the_reported_actuals(by_code: dict[str, kpis.KpiView], code: str,
                                            status: str) -> None:
    assert by_code[code].status.status.value == status


def test_every_kpi_has_a_status_and_a_reason(by_code: dict[str, kpis.KpiView]) -> None:
    assert len(by_code) == 18
    for k in by_code.values():
        assert k.status.reason


def test_next_milestone_and_forecast_for_5g(by_code: dict[str, kpis.KpiView]) -> None:
    s = by_code["5g-population-coverage"].status
    assert s.next_milestone is not None and s.next_milestone.value == 99
    assert s.next_milestone.deadline == date(2031, 3, 31)
    assert s.forecast == date(2025, 8, 1)


def test_two_part_kpi_is_assessed_per_part(by_code: dict[str, kpis.KpiView]) -> None:
    parts = {p.breakdown: p.assessment.status.value
             for p in by_code["decarbonization-leading-areas"].status.parts}
    assert parts == {"選定": "on_track", "実現": "not_assessable"}


def test_baseline_counts_as_the_starting_point(by_code: dict[str, kpis.KpiView]) -> None:
    k = by_code["digital-promotion-commissioners"]
    assert k.baseline is not None and k.baseline[0] == 20000
    # the baseline (2022-12, 「2万人強」) and the 2023-06 figure (「2万人強」) are two points, but two
    # lower bounds that say the same show no change one can read: 判定不能 with that reason, not 停滞
    assert k.status.status.value == "not_assessable" and "変化が読み取れない" in k.status.reason


def test_json_shape_for_scripts(by_code: dict[str, kpis.KpiView]) -> None:
    d = by_code["digital-promotion-talent"].as_dict()
    assert set(d) >= {"code", "name", "unit", "direction", "cumulative", "breakdowns",
                      "targets", "status"}
    assert d["cumulative"]["from"] == "2022-04-01" and d["cumulative"]["to"] == "2027-03-31"
    assert set(d["targets"][0]) >= {"deadline", "value", "qualifier", "low", "high"}
    assert set(d["status"]) >= {"key", "label", "next_milestone", "forecast"}


def test_unknown_kpi(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        kpis.get_kpi(uow, "no-such-kpi", today=TODAY)


def test_latest_values_follow_the_kpis_breakdown_order(by_code: dict[str, kpis.KpiView]) -> None:
    assert [o.breakdown for o in by_code["gigaschool-daily-use"].latest] == ["小学校", "中学校"]
