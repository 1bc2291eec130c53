"""Paging through `GET /api/v1/observations` (issue 12 goal 3): keyset cursors in an RFC 8288
`Link: <…>; rel="next"` header, the body still a bare JSON list; every row exactly once, in the
documented order; a cursor that was tampered with is a 422 in the error shape; the listing index
exists after the migrations and the SQLite planner uses it for the KPI filter and the order.

On both databases (live_db: a committed database of this module's own)."""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, inspect, select, text

from digiden.store.models import Kpi, Observation, OrgUnit
from tests.conftest import make_client

KPI = "5g-population-coverage"
OTHER = "satellite-offices"
ORGS = ["011002", "131016", "261009", "271004", "472018", "072028", "JP"]
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _seed(db: Any) -> None:
    """Observations of two KPIs in shuffled insertion order (ids do not follow the listing order),
    with ties on (as_of, breakdown) across local governments, so that the id decides."""
    rnd = random.Random(12)
    with db.session_factory() as s, s.begin():
        kpis = {k.code: k.id for k in s.scalars(select(Kpi).where(Kpi.code.in_([KPI, OTHER])))}
        orgs = {o.code: o.id for o in s.scalars(select(OrgUnit).where(OrgUnit.code.in_(ORGS)))}
        rows = [(kpi, org, date(2021 + m // 12, m % 12 + 1, 1), b)
                for kpi in kpis for org in ORGS[:-1] for m in range(0, 24, 2) for b in ("", "b", "a")]
        rnd.shuffle(rows)
        for kpi, org, as_of, b in rows:
            s.add(Observation(kpi_id=kpis[kpi], org_unit_id=orgs[org], as_of=as_of, breakdown=b,
                              value=rnd.randint(0, 100), qualifier="exact", as_of_precision="month",
                              source_title="test（合成）", status="approved", created_by="test",
                              created_at=NOW))


@pytest.fixture(scope="module")
def db(live_db: Any) -> Any:
    _seed(live_db)
    return live_db


@pytest.fixture(scope="module")
def api(db: Any) -> Iterator[Any]:
    with make_client(db.session_factory) as c:
        yield c


def _next(r: Any) -> str | None:
    link = r.headers.get("link")
    if link is None:
        return None
    m = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert m, link
    return m.group(1)


def _walk(api: Any, url: str) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        r = api.get(next_url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert isinstance(body, list)          # the body stays a bare JSON list
        rows += body
        pages += 1
        next_url = _next(r)
        if next_url is not None:
            assert next_url.startswith("/api/v1/observations?") and "after=" in next_url
            assert "offset=" not in next_url
        assert pages < 1000
    return rows, pages


def _expected(db: Any, *, kpi: str | None = None, org: str | None = None,
              start: date | None = None, end: date | None = None) -> list[int]:
    """Ids in the documented order, straight from the table: (KPI position, as_of, breakdown, id)."""
    with db.session_factory() as s:
        q = (select(Observation.id, Kpi.position, Observation.as_of, Observation.breakdown)
             .join(Kpi, Kpi.id == Observation.kpi_id).join(OrgUnit, OrgUnit.id == Observation.org_unit_id))
        if kpi:
            q = q.where(Kpi.code == kpi)
        if org:
            q = q.where(OrgUnit.code == org)
        if start:
            q = q.where(Observation.as_of >= start)
        if end:
            q = q.where(Observation.as_of <= end)
        rows = s.execute(q).all()
    return [r.id for r in sorted(rows, key=lambda r: (r.position, r.as_of, r.breakdown, r.id))]


@pytest.mark.parametrize("query, kw", [
    (f"kpi={KPI}&limit=7", {"kpi": KPI}),
    (f"kpi={KPI}&limit=5&from=2021-05&to=2022-06", {"kpi": KPI, "start": date(2021, 5, 1), "end": date(2022, 6, 30)}),
    ("org_unit=261009&limit=9", {"org": "261009"}),
    ("limit=50", {}),
])
def test_next_links_visit_every_row_once_in_the_documented_order(db: Any, api: Any, query: str,
                                                                 kw: dict[str, Any]) -> None:
    expected = _expected(db, **kw)
    assert len(expected) > 30
    rows, pages = _walk(api, "/api/v1/observations?" + query)
    ids = [o["id"] for o in rows]
    assert ids == expected
    assert len(set(ids)) == len(ids)
    limit = int(re.search(r"limit=(\d+)", query).group(1))  # type: ignore[union-attr]
    assert pages == -(-len(expected) // limit)     # no empty page at the end


def test_a_page_is_the_same_by_offset_and_by_cursor(api: Any) -> None:
    everything = api.get("/api/v1/observations", params={"kpi": KPI, "limit": 5000}).json()
    assert "link" not in api.get("/api/v1/observations", params={"kpi": KPI, "limit": 5000}).headers
    first = api.get("/api/v1/observations", params={"kpi": KPI, "limit": 10})
    second = api.get(_next(first))  # type: ignore[arg-type]
    by_offset = api.get("/api/v1/observations", params={"kpi": KPI, "limit": 10, "offset": 10})
    assert second.json() == by_offset.json() == everything[10:20]
    # an offset page links on by cursor, so a counting client can switch
    third = api.get(_next(by_offset))  # type: ignore[arg-type]
    assert third.json() == everything[20:30]


def _cursor(api: Any, **params: Any) -> str:
    r = api.get("/api/v1/observations", params={"kpi": KPI, "limit": 3} | params)
    m = re.search(r"after=([^&>]+)", r.headers["link"])
    assert m
    from urllib.parse import unquote
    return unquote(m.group(1))


def _refused(api: Any, after: str, **params: Any) -> dict[str, Any]:
    r = api.get("/api/v1/observations", params={"kpi": KPI, "limit": 3, "after": after} | params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "InvalidInput"
    return body["error"]  # type: ignore[no-any-return]


def test_a_tampered_cursor_is_refused_in_the_error_shape(api: Any) -> None:
    good = _cursor(api)
    assert api.get("/api/v1/observations", params={"kpi": KPI, "limit": 3, "after": good}).status_code == 200
    encoded, _, digest = good.partition(".")
    body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    edited = body.replace(b'"20', b'"19', 1)                          # an earlier as_of, old digest
    assert edited != body
    for bad in (base64.urlsafe_b64encode(edited).decode().rstrip("=") + "." + digest,
                encoded + "." + ("0" if digest[0] != "0" else "1") + digest[1:],   # digest changed
                encoded,                                                          # digest cut off
                good[:-3], "garbage", "!!!.###", "x" * 401):
        _refused(api, bad)
    # a cursor belongs to its filters
    err = _refused(api, good, kpi=OTHER)
    assert err["details"].get("field") == "after" or "after" in err["message"]
    _refused(api, _cursor(api, **{"from": "2021-05"}))
    # and is not combined with an offset
    _refused(api, good, offset=3)


def test_the_listing_index_exists_after_the_migrations(db: Any) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(db.engine).get_indexes("observation")}
    assert indexes.get("ix_observation_kpi_listing") == ["kpi_id", "as_of", "breakdown", "id"]


def _plans(db: Any, params: dict[str, Any]) -> list[str]:
    """The query plan of each SELECT on observation that the listing service runs for these
    parameters (captured from the engine, then explained with the same bound values)."""
    from digiden.services.national.observations import observation_page
    from digiden.services.uow import UnitOfWork
    seen: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM observation" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        observation_page(UnitOfWork(db.session_factory), **params)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert seen
    plans = []
    with db.engine.connect() as c:
        for statement, parameters in seen:
            if db.backend == "sqlite":
                rows = c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                plans.append("\n".join(str(r[-1]) for r in rows))
            else:
                c.execute(text("SET enable_seqscan = off"))   # the test tables are tiny
                rows = c.exec_driver_sql("EXPLAIN " + statement, parameters).all()
                plans.append("\n".join(str(r[0]) for r in rows))
                c.execute(text("RESET enable_seqscan"))
    return plans


@pytest.mark.parametrize("params", [
    {"kpi": KPI},
    {"kpi": KPI, "date_from": "2021-05", "date_to": "2022-06"},
    {"kpi": KPI, "after": "cursor"},
])
def test_the_planner_reads_one_kpi_in_order_from_the_index(db: Any, api: Any, params: dict[str, Any]) -> None:
    if params.get("after") == "cursor":
        params = params | {"after": _cursor(api)}
    for plan in _plans(db, params | {"limit": 3}):
        assert "ix_observation_kpi_listing" in plan, plan
        if db.backend == "sqlite":
            assert "TEMP B-TREE" not in plan, plan
        else:
            assert "Sort" not in plan, plan


def test_the_body_is_exactly_the_declared_shape(db: Any, api: Any) -> None:
    """The rows are built without a model per row; they must be what ObservationOut makes."""
    from digiden.services.national.observations import observation_page
    from digiden.services.uow import UnitOfWork
    from digiden.shapes.national import ObservationOut
    for params in ({"kpi": KPI, "limit": 40}, {"org_unit": "JP", "limit": 40}, {"limit": 40}):
        body = api.get("/api/v1/observations", params=params).json()
        assert body
        for row in body:
            assert ObservationOut.model_validate(row).json_data() == row
            assert list(row) == list(ObservationOut.model_fields)
        views = observation_page(UnitOfWork(db.session_factory), **params).items  # type: ignore[arg-type]
        assert [v.shape().json_data() for v in views] == [v.json_data() for v in views] == body
