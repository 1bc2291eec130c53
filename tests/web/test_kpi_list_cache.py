"""The KPI list's JSON (`GET /api/v1/kpis`) is built once per (database, data version, day,
filters) in each process (web/cache.py; issue 12: throughput at 32 connections). What a client
would notice if the cache were wrong: a value it just wrote missing from the list, one filter's
answer served for another, or yesterday's statuses. Both databases."""

from __future__ import annotations

from typing import Any

import pytest

from digiden.services.national import kpis
from digiden.web.cache import PerDataVersion


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    import digiden.web.api as api
    monkeypatch.setattr(api, "_kpi_lists", PerDataVersion(entries=16))
    made: list[Any] = []
    real = kpis.list_kpis

    def counting(uow: Any, **kw: Any) -> Any:
        made.append(kw.get("today"))
        return real(uow, **kw)
    monkeypatch.setattr(kpis, "list_kpis", counting)
    return made


def _latest(body: list[dict[str, Any]], code: str) -> Any:
    return next(k for k in body if k["code"] == code)["latest"]


def test_built_once_and_a_write_shows_on_the_next_request(client, anon, builds: list[Any]) -> None:  # type: ignore[no-untyped-def]
    first = anon.get("/api/v1/kpis")
    second = anon.get("/api/v1/kpis")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and len(builds) == 1
    assert first.headers["content-type"] == "application/json"
    before = _latest(first.json(), "digital-implementation")
    r = client.post("/api/v1/observations", json={
        "kpi": "digital-implementation", "as_of": "2026-03-31", "value": "1400", "source_title": "デジタル庁 調べ"})
    assert r.status_code == 201, r.text
    after = anon.get("/api/v1/kpis")
    assert len(builds) == 2
    assert _latest(after.json(), "digital-implementation") != before
    assert client.get("/api/v1/kpis").content == after.content   # the same for everyone


def test_each_filter_gets_its_own_answer(anon, builds: list[Any]) -> None:  # type: ignore[no-untyped-def]
    every = anon.get("/api/v1/kpis").json()
    block = every[0]["block"]
    status = every[0]["status"]["key"]
    only = anon.get("/api/v1/kpis", params={"block": block}).json()
    assert only and all(k["block"] == block for k in only) and len(only) < len(every)
    by_status = anon.get("/api/v1/kpis", params={"status": status}).json()
    assert by_status and all(k["status"]["key"] == status for k in by_status)
    assert anon.get("/api/v1/kpis", params={"status": "no-such-status"}).json() == []
    assert anon.get("/api/v1/kpis").json() == every
    assert len(builds) == 4   # one per filter, each kept
