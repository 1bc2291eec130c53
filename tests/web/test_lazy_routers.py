"""Routers included on first use (web/app.py LAZY_ROUTERS, issue 12 goal 6: cold start).

A start imports only the dashboard's router; the others come in with the first request for one
of their paths. What a user would notice if this went wrong: a page or API path answering 404
(its router never loaded because its key was not declared), a 405 without the right Allow,
or an OpenAPI document missing paths. These tests pin each of those."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from digiden.web.app import LAZY_ROUTERS, create_app, route_key


def _paths(module: str, prefix: str) -> set[str]:
    router = importlib.import_module(module).router
    return {prefix + r.path for r in router.routes if hasattr(r, "path")}


@pytest.mark.sqlite_only
@pytest.mark.parametrize("lazy", LAZY_ROUTERS, ids=lambda x: x.module)
def test_declared_keys_are_exactly_the_routers_paths(lazy) -> None:
    """Every path of the router is reachable (its key is declared), and no declared key is stale."""
    assert {route_key(p) for p in _paths(lazy.module, lazy.prefix)} == set(lazy.keys)


@pytest.mark.sqlite_only
def test_route_key() -> None:
    assert route_key("/") == "/"
    assert route_key("/consultations/3/reply") == "/consultations"
    assert route_key("/api/v1/faq") == "/api/v1/faq"
    assert route_key("/api/v1/faq/12") == "/api/v1/faq"
    assert route_key("/api/v1") == "/api"
    assert route_key("") == "/"


@pytest.mark.sqlite_only
def test_a_start_imports_no_router_but_the_dashboards() -> None:
    """In a fresh interpreter: the app's module and create_app() leave the desk, support,
    knowledge and API modules unimported (the point of the change)."""
    code = ("import sys; from sqlalchemy.orm import sessionmaker; "
            "from digiden.web.app import create_app, LAZY_ROUTERS; "
            "create_app(sessionmaker()); "
            "print(sorted(x.module for x in LAZY_ROUTERS if x.module in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_first_request_for_a_lazy_path_loads_its_router(session_factory) -> None:
    """On both databases: the public FAQ list and a consultation-desk page answer on their
    first request, and the router is included once."""
    app = create_app(session_factory, inline_jobs=True)
    with TestClient(app) as c:
        before = len(app.router.routes)
        r = c.get("/api/v1/faq")   # the consultation desk's public FAQ, never asked for before
        assert r.status_code == 200 and isinstance(r.json(), (list, dict))
        assert len(app.router.routes) == before + 1
        assert c.get("/api/v1/faq").status_code == 200
        assert len(app.router.routes) == before + 1   # once
        page = c.get("/faq")
        assert page.status_code == 200 and "よくある" in page.text
        assert len(app.router.routes) == before + 2


@pytest.mark.sqlite_only
def test_unknown_path_is_404_and_loads_nothing() -> None:
    app = create_app(sessionmaker())
    with TestClient(app) as c:
        before = len(app.router.routes)
        r = c.get("/api/v1/no-such-thing")
        assert r.status_code == 404
        assert r.json()["error"]["message_ja"] == "そのURLはありません"
        assert c.get("/no-such-page").status_code == 404
        assert len(app.router.routes) == before


@pytest.mark.sqlite_only
def test_405_on_a_lazy_path_names_its_methods() -> None:
    """The first request for a path of a lazy router may be a wrong method: Allow still lists
    the methods of that path (the router is loaded before routing)."""
    app = create_app(sessionmaker())
    with TestClient(app) as c:
        r = c.delete("/api/v1/consultations")
        assert r.status_code == 405
        assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}


@pytest.mark.sqlite_only
def test_openapi_lists_every_path_without_any_earlier_request() -> None:
    app = create_app(sessionmaker())
    with TestClient(app) as c:
        doc = c.get("/openapi.json").json()
    expected = set()
    for lazy in LAZY_ROUTERS:
        if lazy.api:
            router = importlib.import_module(lazy.module).router
            expected |= {lazy.prefix + r.path for r in router.routes
                         if hasattr(r, "path") and getattr(r, "include_in_schema", True)}
    assert expected - set(doc["paths"]) == set()
    assert "/api/v1/consultations" in doc["paths"] and "/api/v1/calls" in doc["paths"]


@pytest.mark.sqlite_only
def test_behind_a_proxy_with_a_root_path() -> None:
    """Served under a path prefix (uvicorn --root-path /digiden behind a reverse proxy), the first
    request for a lazy router's path loads it all the same."""
    app = create_app(sessionmaker())
    with TestClient(app, root_path="/digiden") as c:
        # as uvicorn passes it (ASGI: the path includes the root path)
        r = c.delete("/digiden/api/v1/consultations")
        assert r.status_code == 405, r.text
        assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}


@pytest.mark.sqlite_only
def test_a_router_that_fails_to_load_is_a_500_with_the_edges_headers(monkeypatch) -> None:
    """A broken module (a bad deployment) gives the app's 500 with its security headers, logged,
    not a bare error from outside the edge; the next request tries again."""
    import digiden.web.app as web_app
    from digiden.web.app import LazyRouter
    broken = LazyRouter("digiden.web.no_such_module", frozenset({"/broken"}))
    monkeypatch.setattr(web_app, "LAZY_ROUTERS", (*LAZY_ROUTERS, broken))
    app = create_app(sessionmaker())
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/broken")
        assert r.status_code == 500
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "サーバー内部でエラーが発生しました" in r.text
        assert c.get("/broken").status_code == 500


def test_head_is_answered_like_get_without_a_body(anon) -> None:
    """Uptime monitors and link checkers ask HEAD: the page's status and headers, no body (it was
    405 for every page)."""
    for path in ("/", "/kpis", "/faq", "/api/v1/kpis", "/static/css/app.css"):
        get = anon.get(path)
        head = anon.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["x-content-type-options"] == "nosniff"
    assert anon.head("/no-such-page").status_code == 404
    assert anon.head("/logout").status_code == 405   # POST only
