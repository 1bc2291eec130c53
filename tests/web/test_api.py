"""The JSON API under /api/v1, through the real ASGI app."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from digiden.services.uow import UnitOfWork
from digiden.store.models import Observation

# JSON shapes; the services' tests run on both databases, test_postgres_smoke.py each router
pytestmark = pytest.mark.sqlite_only


def test_openapi_lists_the_endpoints(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/kpis", "/api/v1/kpis/{code}", "/api/v1/observations",
                 "/api/v1/local-governments", "/api/v1/local-governments/{code}",
                 "/api/v1/strategies", "/api/v1/strategies/{code}", "/api/v1/areas",
                 "/api/v1/audit"):
        assert path in spec["paths"], path


def test_docs_page_uses_vendored_assets(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_kpis_with_targets_and_status(client) -> None:  # type: ignore[no-untyped-def]
    data = client.get("/api/v1/kpis").json()
    assert len(data) == 18
    fg = next(k for k in data if k["code"] == "5g-population-coverage")
    assert [t["deadline"] for t in fg["targets"]] == ["2024-03-31", "2026-03-31", "2031-03-31"]
    assert fg["status"]["key"] == "on_track" and fg["status"]["label"] == "順調"
    assert client.get("/api/v1/kpis", params={"status": "achieved"}).json()[0]["code"] == \
        "corporate-furusato-nozei"


def test_one_kpi_with_observations(client) -> None:  # type: ignore[no-untyped-def]
    d = client.get("/api/v1/kpis/gigaschool-daily-use").json()
    assert {o["breakdown"] for o in d["observations"]} == {"小学校", "中学校"}
    assert client.get("/api/v1/kpis/nope").status_code == 404


def test_strategy_tree(client) -> None:  # type: ignore[no-untyped-def]
    s = client.get("/api/v1/strategies/national-fy2023").json()
    assert [a["name"] for a in s["areas"]][:2] == ["デジタルの力を活用した地方の社会課題解決",
                                                   "デジタル実装の基礎条件整備"]
    assert len(s["case_studies"]) == 12 and len(s["kpi_blocks"]) == 3
    assert len(client.get("/api/v1/areas").json()) == 3


def test_observations_filtered(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/observations", params={"kpi": "5g-population-coverage",
                                                    "from": "2023-01", "to": "2024-12"})
    assert [o["as_of"] for o in r.json()] == ["2023-03-31", "2024-03-31"]
    r = client.get("/api/v1/observations", params={"from": "yesterday"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "date_from"


def test_post_observation_then_error_writes_nothing(client, uow: UnitOfWork) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/observations", json={
        "kpi": "smart-city-selections", "as_of": "2024-03-31", "value": "60",
        "source_title": "国土交通省 発表"})
    assert r.status_code == 201, r.text
    assert r.json()["created"] is True and r.json()["created_by"] == "admin"
    with uow:
        n = uow.session.scalar(select(func.count()).select_from(Observation))
    r = client.post("/api/v1/observations", json={
        "kpi": "5g-population-coverage", "as_of": "2024-03-31", "value": "120",
        "source_title": "x"})
    assert r.status_code == 422
    body = r.json()
    err = body["error"]
    assert err["details"]["field"] == "value" and "100" in err["message"] and "割合" in err["message_ja"]
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(Observation)) == n


def test_local_government_search_and_detail(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/local-governments", params={"q": "ｷｮｳﾄ"}).json()
    assert "261009" in [i["code"] for i in r["items"]]
    r = client.get("/api/v1/local-governments", params={"prefecture": "北海道", "kind": "village"})
    assert r.json()["total"] == 15
    d = client.get("/api/v1/local-governments/261009").json()
    assert d["kind"] == "designated_city" and d["population"] > 1_000_000
    r = client.get("/api/v1/local-governments/261008")
    assert r.status_code == 422 and "261009" in r.json()["error"]["message"]
    assert client.get("/api/v1/local-governments/999997").status_code == 404


def test_audit_endpoint(client) -> None:  # type: ignore[no-untyped-def]
    events = client.get("/api/v1/audit", params={"kpi": "5g-population-coverage"}).json()
    assert len(events) == 4 and all(e["action"] == "observation.create" for e in events)
