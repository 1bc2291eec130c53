"""The JSON shapes of the core API (web/api/__init__.py and web/api/local.py): every operation
declares its 2xx body in /openapi.json as a model, and what the routes send is that model,
exactly (validated, and dumped back to the same JSON: no key the model does not describe)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from sqlalchemy.orm import Session, sessionmaker

import digiden.web.api as core_api
import digiden.web.api.local as local_api
from digiden.domain.access import system
from digiden.services.local.demo import create_demo
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW, make_client, sign_in_directly

pytestmark = pytest.mark.sqlite_only   # the shapes, not the database: the services' tests run on both

ROUTES = [r for router in (core_api.router, local_api.router) for r in router.routes if isinstance(r, APIRoute)]


def _refs(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_refs(v) for v in node.values())
    if isinstance(node, list):
        return any(_refs(v) for v in node)
    return False


def test_every_core_operation_declares_a_2xx_model(anon) -> None:  # type: ignore[no-untyped-def]
    spec = anon.get("/openapi.json").json()
    assert len(ROUTES) >= 26
    untyped = []
    for route in ROUTES:
        for method in route.methods or ():
            op = spec["paths"][route.path][method.lower()]
            ok = [code for code, r in op["responses"].items()
                  if code.startswith("2") and _refs(r.get("content", {}).get("application/json", {}).get("schema"))]
            if not ok:
                untyped.append(f"{method} {route.path}")
    assert untyped == []


def test_keyword_keys_keep_their_names_in_the_schema(anon) -> None:  # type: ignore[no-untyped-def]
    schemas = anon.get("/openapi.json").json()["components"]["schemas"]
    assert {"from_fy", "to_fy", "from", "to"} <= set(schemas["CumulativeOut"]["properties"])
    assert {"from", "to"} <= set(schemas["ReviewOut"]["properties"])
    assert "with" in schemas["CoverageOut"]["properties"]


@pytest.fixture
def demo_admin(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """The national administrator, on a database with the demo's local strategies and reviews."""
    create_demo(UnitOfWork(session_factory), system("test-demo"), now=FIXED_NOW)
    with make_client(session_factory) as c:
        sign_in_directly(c, session_factory, "admin")
        yield c


def _model_of(path: str, method: str = "GET") -> Any:
    return next(r.response_model for r in ROUTES if r.path == path and method in (r.methods or ()))


def _check(c, method: str, template: str, url: str, **kw: Any) -> Any:  # type: ignore[no-untyped-def]
    r = c.request(method, url, **kw)
    assert r.status_code in (200, 201), (url, r.text)
    data = r.json()
    adapter = TypeAdapter(_model_of(template, method))
    assert adapter.dump_python(adapter.validate_python(data), mode="json", by_alias=True) == data, url
    return data


def test_core_routes_send_their_declared_shapes(demo_admin) -> None:  # type: ignore[no-untyped-def]
    c = demo_admin
    _check(c, "GET", "/api/v1/strategies", "/api/v1/strategies")
    s = _check(c, "GET", "/api/v1/strategies/{code}", "/api/v1/strategies/national-fy2023")
    assert s["areas"] and s["kpi_blocks"] and s["case_studies"] and s["cooperation"]
    _check(c, "GET", "/api/v1/areas", "/api/v1/areas")
    kpis = _check(c, "GET", "/api/v1/kpis", "/api/v1/kpis")
    assert any(k["cumulative"] for k in kpis) and any(k["local_fact"] for k in kpis)
    for k in kpis:
        d = _check(c, "GET", "/api/v1/kpis/{code}", f"/api/v1/kpis/{k['code']}")
        assert set(d) >= {"computed", "observations", "local_observations", "area_path", "status", "targets"}
        if k["local_fact"]:
            _check(c, "GET", "/api/v1/kpis/{code}/local-facts", f"/api/v1/kpis/{k['code']}/local-facts")
    obs = _check(c, "GET", "/api/v1/observations", "/api/v1/observations?limit=200")
    assert obs
    page = _check(c, "GET", "/api/v1/local-governments", "/api/v1/local-governments?q=会津")
    assert page["total"] >= 1
    for code in ("070009", "072028", "131016"):
        _check(c, "GET", "/api/v1/local-governments/{code}", f"/api/v1/local-governments/{code}")
    assert _check(c, "GET", "/api/v1/audit", "/api/v1/audit?limit=1000")
    me = _check(c, "GET", "/api/v1/me", "/api/v1/me")
    assert me["role"] == "national_admin" and me["signed_in"] is True
    assert _check(c, "GET", "/api/v1/users", "/api/v1/users")
    _check(c, "GET", "/api/v1/tokens", "/api/v1/tokens")
    assert _check(c, "GET", "/api/v1/local-strategies", "/api/v1/local-strategies")
    d = _check(c, "GET", "/api/v1/local-strategies/{code}", "/api/v1/local-strategies/072028?revision=1")
    assert d["reviews"] and d["revisions"] and d["measures"] and d["kpis"] and d["issues"]
    assert {"from", "to"} <= set(d["reviews"][0])
    assert _check(c, "GET", "/api/v1/local-strategies/{code}/diff", "/api/v1/local-strategies/072028/diff?a=1&b=2")
    assert _check(c, "GET", "/api/v1/inbox", "/api/v1/inbox")["waiting"]
    cov = _check(c, "GET", "/api/v1/coverage", "/api/v1/coverage")
    assert cov and all("with" in r for r in cov)


def test_core_writes_send_their_declared_shapes(demo_admin) -> None:  # type: ignore[no-untyped-def]
    c = demo_admin
    kpi = next(k["code"] for k in c.get("/api/v1/kpis").json() if k["unit"] in ("団体", "人", "か所"))
    o = _check(c, "POST", "/api/v1/observations", "/api/v1/observations",
               json={"kpi": kpi, "as_of": "2026-10", "value": "1,234", "source_title": "shape test"})
    assert o["created"] is True
    _check(c, "POST", "/api/v1/users", "/api/v1/users",
           json={"username": "shape-user", "password": "pw-pw-pw-pw", "role": "municipality_staff",
                 "org_unit": "072028"})
    _check(c, "POST", "/api/v1/users/{username}/disable", "/api/v1/users/shape-user/disable")
    t = _check(c, "POST", "/api/v1/tokens", "/api/v1/tokens", json={"username": "admin", "name": "shape"})
    assert t["token"]
    _check(c, "POST", "/api/v1/tokens/{token_id}/revoke", f"/api/v1/tokens/{t['id']}/revoke")
    d = c.get("/api/v1/local-strategies/064033").json()
    after = _check(c, "POST", "/api/v1/local-strategies/{code}/revisions/{revision}/actions",
                   f"/api/v1/local-strategies/064033/revisions/{d['revision']}/actions", json={"action": "accept"})
    assert after["status"] == "accepted"
    reopened = _check(c, "POST", "/api/v1/local-strategies/{code}/revisions/{revision}/actions",
                      f"/api/v1/local-strategies/064033/revisions/{d['revision']}/actions",
                      json={"action": "reopen", "comment": "shape test"})
    body = {k: reopened[k] for k in ("title", "fiscal_year", "vision", "model_types", "issues", "measures", "kpis")}
    saved = _check(c, "PUT", "/api/v1/local-strategies/{code}", "/api/v1/local-strategies/064033",
                   json=body | {"vision": "shape test"})
    assert saved["vision"] == "shape test"
    assert _check(c, "POST", "/api/v1/inbox/read", "/api/v1/inbox/read")["marked"] >= 0
