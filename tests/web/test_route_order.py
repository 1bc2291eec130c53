"""No route of one router answers the path of a route of another router (with a method both
take), so the order in which web/app.py includes its routers changes no answer — within a
router, its file orders its routes. web/app.py is then free to include the pages first, which
makes a cold start cheaper (issue 12 goal 6: FastAPI prepares an included router's routes when
a request first walks past it)."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

pytestmark = pytest.mark.sqlite_only   # the routing table; no database involved


def _routers() -> dict[str, list[APIRoute]]:
    from digiden.web.api import router as a1
    from digiden.web.api.consult import router as a6
    from digiden.web.api.imports import router as a2
    from digiden.web.api.knowledge import router as a3
    from digiden.web.api.local import router as a4
    from digiden.web.api.support import router as a5
    from digiden.web.pages import router as p1
    from digiden.web.pages.consult import router as p6
    from digiden.web.pages.desk import router as p7
    from digiden.web.pages.imports import router as p2
    from digiden.web.pages.knowledge import router as p3
    from digiden.web.pages.local import router as p4
    from digiden.web.pages.support import router as p5
    named = {"pages": p1, "pages.imports": p2, "pages.knowledge": p3, "pages.local": p4, "pages.support": p5,
             "pages.consult": p6, "pages.desk": p7,
             "api": a1, "api.imports": a2, "api.knowledge": a3, "api.local": a4, "api.support": a5,
             "api.consult": a6}
    # a router included into another (support and consult inside /api/v1) carries the outer prefix
    prefix = {"api.support": a1.prefix, "api.consult": a1.prefix}
    out = {}
    for name, router in named.items():
        routes = [r for r in router.routes if isinstance(r, APIRoute)]
        if name in prefix:
            routes = [APIRoute(prefix[name] + r.path, r.endpoint, methods=r.methods) for r in routes]
        out[name] = routes
    return out


def test_every_route_of_the_app_belongs_to_a_named_router() -> None:
    """A router added to the app without a name here would escape the clash check."""
    from digiden.web.app import create_app
    from tests.web.test_access_matrix import leaf_routes
    own = {"/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc"}   # the app's own, not a router's
    app = create_app()
    app.load_all_routers()
    app_paths = {(m, r.path) for r in leaf_routes(app.router.routes)
                 for m in (getattr(r, "methods", None) or ()) if m != "HEAD" and r.path not in own}
    named = {(m, r.path) for routes in _routers().values() for r in routes for m in r.methods}
    assert app_paths - named == set()


def _sample(path: str) -> str:
    return re.sub(r"\{[^}:]+(:[^}]+)?\}", "x1", path)


def test_no_route_answers_a_path_of_another_router() -> None:
    routers = _routers()
    assert sum(len(v) for v in routers.values()) > 90
    clashes = [(n, a.path, m, b.path) for n, ra in routers.items() for m, rb in routers.items() if n != m
               for a in ra for b in rb if a.methods & b.methods and a.path_regex.match(_sample(b.path))]
    assert clashes == []

