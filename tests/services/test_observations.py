"""Recording values: who, when, source; audited; bad input writes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from digiden.domain.access import system
from digiden.domain.errors import InvalidInput, NotFound
from digiden.services.national import kpis
from digiden.services.national.observations import ObservationInput, add_observation, list_observations
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, Observation

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 29)


def counts(uow: UnitOfWork) -> tuple[int, int]:
    with uow:
        s = uow.session
        return (s.scalar(select(func.count()).select_from(Observation)) or 0,
                s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def add(uow: UnitOfWork, **kw: str):  # type: ignore[no-untyped-def]
    data = dict(kpi="satellite-offices", as_of="2025-03-31", value="1,030",
                source_title="内閣府 地方創生推進室 発表")
    data.update(kw)
    return add_observation(uow, ObservationInput(**data), actor=system("planner@example"), now=NOW,
                           today=TODAY)


def test_a_new_value_is_recorded_with_who_when_and_source(uow: UnitOfWork) -> None:
    view, created = add(uow)
    assert created and view.value == 1030 and view.created_by == "planner@example"
    assert view.source_title == "内閣府 地方創生推進室 発表"
    with uow:
        ev = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert ev.action == "observation.create" and ev.actor == "planner@example"
        assert ev.before is None and ev.after["value"] == 1030


def test_two_values_make_the_kpi_assessable(uow: UnitOfWork) -> None:
    add(uow, as_of="2023-03-31", value="800")
    add(uow, as_of="2025-03-31", value="1,030")
    k = {k.code: k for k in kpis.list_kpis(uow, today=TODAY)}["satellite-offices"]
    assert k.status.status.value == "on_track"
    assert [r.state.value for r in k.status.parts[0].assessment.milestones][0] == "met"


def test_the_same_key_updates_and_keeps_before_and_after(uow: UnitOfWork) -> None:
    add(uow, value="1000")
    view, created = add(uow, value="1,050")
    assert not created and view.value == 1050
    with uow:
        ev = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert ev.action == "observation.update"
        assert (ev.before["value"], ev.after["value"]) == (1000, 1050)


def test_values_as_people_type_them(uow: UnitOfWork) -> None:
    view, _ = add(uow, kpi="digital-promotion-commissioners", value="２万５千人強",
                  as_of="令和6年3月31日")
    assert (view.value, view.qualifier.value, view.as_of.date) == (25000, "slightly_over",
                                                                    date(2024, 3, 31))


def test_a_local_value_by_five_digit_code(uow: UnitOfWork) -> None:
    view, _ = add(uow, org_unit="07202", value="1")
    assert view.org_unit_code == "072028"
    assert [o.value for o in list_observations(uow, org_unit="072028")] == [1]


@pytest.mark.parametrize(("kw", "field", "ja"), [
    ({"value": "abc"}, "value", "数値として読めません"),
    ({"value": "-5"}, "value", "負の数"),
    ({"kpi": "5g-population-coverage", "value": "101"}, "value", "100以下"),
    ({"value": "10.5"}, "value", "整数"),
    ({"as_of": "2025-02-30"}, None, "日付"),
    ({"as_of": "2027-01-01"}, "as_of", "未来"),
    ({"org_unit": "072027"}, "code", "検査数字"),
    ({"source_title": ""}, "source_title", "出典"),
    ({"kpi": "gigaschool-daily-use", "value": "70"}, "breakdown", "内訳"),
    ({"breakdown": "小学校"}, "breakdown", "内訳がありません"),
    ({"source_url": "javascript:alert(1)"}, "source_url", "http"),
    ({"value": "5万人"}, "value", "単位が違います"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
        uow: UnitOfWork, kw: dict[str, str], field: str | None, ja: str) -> None:
    before = counts(uow)
    with pytest.raises(InvalidInput) as e:
        add(uow, **kw)
    if field:
        assert e.value.field == field
    assert ja in e.value.message_ja
    assert counts(uow) == before


@pytest.mark.parametrize(("kw", "field"), [({"kpi": "no-such-kpi"}, "kpi"),
                                           ({"org_unit": "999997"}, "org_unit")])
def test_unknown_kpi_or_local_government(uow: UnitOfWork, kw: dict[str, str], field: str) -> None:
    before = counts(uow)
    with pytest.raises(NotFound) as e:
        add(uow, **kw)
    assert e.value.field == field and counts(uow) == before


def test_filter_by_period(uow: UnitOfWork) -> None:
    rows = list_observations(uow, kpi="5g-population-coverage", date_from="2023-01",
                             date_to="2023-12-31")
    assert [o.as_of.date for o in rows] == [date(2023, 3, 31)]


def test_the_api_path_runs_the_blocking_series_rules_like_the_importer(uow: UnitOfWork) -> None:
    """企業版ふるさと納税 is cumulative (non_decreasing, error): a lower later value was stored by
    the API although the importer refuses it, after which export → re-import failed."""
    kw = dict(kpi="corporate-furusato-nozei", org_unit="072028", source_title="試験（合成データ）")
    add(uow, as_of="2024-03-31", value="1", **kw)
    add(uow, as_of="2025-03-31", value="1", **kw)
    before = counts(uow)
    with pytest.raises(InvalidInput) as e:
        add(uow, as_of="2025-03-31", value="0", **kw)   # an update that makes the series go down
    assert e.value.field == "value" and "減少しない" in e.value.message_ja
    with pytest.raises(InvalidInput):
        add(uow, as_of="2024-06-30", value="0", **kw)   # a new value between two higher ones
    assert counts(uow) == before
    with pytest.raises(InvalidInput) as e:                # a count of local governments beyond 1,788
        add(uow, kpi="corporate-furusato-nozei", as_of="2025-03-31", value="1789")
    assert "上限" in e.value.message_ja
    assert counts(uow) == before


def test_rollup_follows_updates_by_difference(uow: UnitOfWork) -> None:
    from digiden.store.models import Kpi, SeriesRollup
    kw = dict(kpi="satellite-offices", as_of="2024-03-31", source_title="試験（合成データ）")
    add(uow, org_unit="072028", value="1", **kw)
    add(uow, org_unit="072087", value="1", **kw)
    add(uow, org_unit="072028", value="0", **kw)          # an update: count stays 2, total 1
    with uow:
        kid = uow.session.scalar(select(Kpi.id).where(Kpi.code == "satellite-offices"))
        row = uow.session.scalars(select(SeriesRollup).where(SeriesRollup.kpi_id == kid,
                                                             SeriesRollup.as_of == date(2024, 3, 31))).one()
        assert (row.n, row.total, row.positive) == (2, 1.0, 1)
