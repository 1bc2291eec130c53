"""A local government's page shows the newest value of each KPI it has values for — with the
time, the source and the extent of the series — and links every series to the full list of its
values (the observations API, paged by `Link: rel="next"`), instead of printing every value
(issue 12: a local government of the 5.4M-row bench database has 3,000 values, 388 KB of HTML).
The JSON detail keeps every value.

On both databases (live_db: a committed database of this module's own)."""

from __future__ import annotations

import html as htmlmod
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from digiden.domain.calendar import AsOf, Precision
from digiden.domain.quantities import Qualifier, format_quantity
from digiden.services.registry import localgov
from digiden.services.uow import UnitOfWork
from digiden.store.models import Kpi, Observation, OrgUnit
from tests.conftest import make_client

ORG = "072087"                       # 喜多方市
QUIET = "072028"                     # 会津若松市: no values seeded here by this module
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
# two KPIs, one of them with two breakdowns; 26 months each (more than one API page of 20)
SERIES = {"5g-population-coverage": ("",), "satellite-offices": ("男性", "女性")}
MONTHS = 26


def _month(i: int) -> date:
    return date(2021 + i // 12, i % 12 + 1, 1)


def _value(kpi_index: int, b_index: int, i: int) -> float:
    return float(1000 * (kpi_index + 1) + 100 * b_index + i + 1)   # distinct everywhere


def _seed(db: Any) -> None:
    with db.session_factory() as s, s.begin():
        kpis = {k.code: k.id for k in s.scalars(select(Kpi).where(Kpi.code.in_(list(SERIES))))}
        org = s.scalars(select(OrgUnit).where(OrgUnit.code == ORG)).one()
        # inserted newest first, so that ids do not follow time
        for ki, (code, breakdowns) in enumerate(SERIES.items()):
            for bi, b in enumerate(breakdowns):
                for i in reversed(range(MONTHS)):
                    s.add(Observation(kpi_id=kpis[code], org_unit_id=org.id, as_of=_month(i), breakdown=b,
                                      value=_value(ki, bi, i), qualifier="exact", as_of_precision="month",
                                      source_title=f"喜多方市統計（合成）{i}", source_url="https://example.jp/s",
                                      status="approved", created_by="test", created_at=NOW))


@pytest.fixture(scope="module")
def db(live_db: Any) -> Any:
    _seed(live_db)
    return live_db


@pytest.fixture(scope="module")
def web(db: Any) -> Iterator[Any]:
    with make_client(db.session_factory) as c:
        yield c


def _units(db: Any) -> dict[str, tuple[str, str]]:
    with db.session_factory() as s:
        return {k.code: (k.name, k.unit) for k in s.scalars(select(Kpi).where(Kpi.code.in_(list(SERIES))))}


def _latest_table(page: str) -> str:
    m = re.search(r'<h2 id="latest-values">.*?</table>', page, re.S)
    assert m, "the page has a table of the newest values"
    return m.group(0)


def test_the_page_shows_the_newest_value_of_each_series_not_every_value(db: Any, web: Any) -> None:
    r = web.get(f"/local-governments/{ORG}")
    assert r.status_code == 200
    table = _latest_table(r.text)
    units = _units(db)
    rows = re.findall(r"<tr><td>.*?</tr>", table, re.S)
    assert len(rows) == 3                                  # one per KPI and breakdown
    newest = AsOf(_month(MONTHS - 1), Precision.MONTH).label()
    first = AsOf(_month(0), Precision.MONTH).label()
    for ki, (code, breakdowns) in enumerate(SERIES.items()):
        name, unit = units[code]
        for bi, b in enumerate(breakdowns):
            latest = format_quantity(_value(ki, bi, MONTHS - 1), unit, Qualifier.EXACT)
            row = next(x for x in rows if f'href="/kpis/{code}"' in x and (not b or f"<td>{b}</td>" in x))
            assert htmlmod.escape(name) in row and newest in row and latest in row
            assert f"{first}〜（{MONTHS}時点）" in row
            assert f"喜多方市統計（合成）{MONTHS - 1}" in row     # the newest value's source
    # older values are not printed on the page
    units_of = {code: units[code][1] for code in SERIES}
    older = format_quantity(_value(0, 0, MONTHS - 2), units_of["5g-population-coverage"], Qualifier.EXACT)
    assert older not in r.text
    assert f"値 {MONTHS * 3}件" in r.text                   # how many values there are in all


def test_each_series_links_to_all_its_values_paged(db: Any, web: Any) -> None:
    table = _latest_table(web.get(f"/local-governments/{ORG}").text)
    links = {htmlmod.unescape(h) for h in re.findall(r'href="(/api/v1/observations\?[^"]+)"', table)}
    assert len(links) == len(SERIES)                       # one list per KPI, every breakdown in it
    for ki, (code, breakdowns) in enumerate(SERIES.items()):
        link = next(x for x in links if f"kpi={code}&" in x)
        assert f"全{MONTHS * len(breakdowns)}件" in table
        # walk it with small pages: every value of the series once, in time order
        url: str | None = link.replace("limit=500", "limit=20")
        got: list[dict[str, Any]] = []
        while url:
            r = web.get(url)
            assert r.status_code == 200
            got += r.json()
            m = re.fullmatch(r'<([^>]+)>; rel="next"', r.headers.get("link", "<>; rel=\"none\""))
            url = m.group(1) if m else None
        assert len(got) == MONTHS * len(breakdowns)
        assert {o["org_unit"] for o in got} == {ORG} and {o["kpi"] for o in got} == {code}
        assert [o["as_of"] for o in got] == sorted(o["as_of"] for o in got)
        assert sorted(o["value"] for o in got) == sorted(_value(ki, bi, i) for bi in range(len(breakdowns))
                                                          for i in range(MONTHS))


def test_the_json_detail_still_lists_every_value(db: Any, web: Any) -> None:
    body = web.get(f"/api/v1/local-governments/{ORG}").json()
    assert len(body["observations"]) == MONTHS * 3
    keys = [(o["kpi"], o["as_of"], o["breakdown"] or "") for o in body["observations"]]
    assert len(set(keys)) == len(keys)
    # in KPI order, then time
    for code in SERIES:
        mine = [k for k in keys if k[0] == code]
        assert [k[1] for k in mine] == sorted(k[1] for k in mine)


def test_service_newest_values_and_counts(db: Any) -> None:
    d = localgov.get(UnitOfWork(db.session_factory), ORG)
    assert d.observations is None                          # not read unless asked for
    assert d.observation_count == MONTHS * 3 and d.kpi_count == 2
    by_key = {(v.kpi_code, v.breakdown): v for v in d.latest}
    assert set(by_key) == {(c, b) for c, bs in SERIES.items() for b in bs}
    for ki, (code, breakdowns) in enumerate(SERIES.items()):
        for bi, b in enumerate(breakdowns):
            v = by_key[(code, b)]
            assert v.as_of.date == _month(MONTHS - 1) and v.first.date == _month(0)
            assert v.value == _value(ki, bi, MONTHS - 1)
            assert v.count == MONTHS and v.kpi_count == MONTHS * len(breakdowns)


def test_a_local_government_without_values_says_so(db: Any, web: Any) -> None:
    page = web.get(f"/local-governments/{QUIET}").text
    assert 'id="latest-values"' not in page
    assert re.search(r"<h2>登録された実績値</h2>\s*<p[^>]*>ありません。</p>", page)


def test_a_prefectures_municipalities_are_the_ones_the_directory_lists(db: Any) -> None:
    """The prefecture page's list (read as tuples) names each municipality as the directory
    search (read as entities) does: code, names, kind, prefecture and parent."""
    uow = UnitOfWork(db.session_factory)
    d = localgov.get(uow, "070009")
    rows, total = localgov.search(uow, "", prefecture="07", limit=200)
    listed = [r for r in rows if r.kind != "prefecture"]
    assert len(d.municipalities) == len(listed) == total - 1 > 50
    assert list(d.municipalities) == listed
    assert {m.parent for m in d.municipalities} == {"070009"}
    assert {m.prefecture for m in d.municipalities} == {"福島県"}
