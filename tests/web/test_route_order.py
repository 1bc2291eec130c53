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
    from digiden.web.api.imports import router as a2
    from digiden.web.api.knowledge import router as a3
    from digiden.web.api.local import router as a4
    from digiden.web.pages import router as p1
    from digiden.web.pages.imports import router as p2
    from digiden.web.pages.knowledge import router as p3
    from digiden.web.pages.local import router as p4
    named = {"pages": p1, "pages.imports": p2, "pages.knowledge": p3, "pages.local": p4,
             "api": a1, "api.imports": a2, "api.knowledge": a3, "api.local": a4}
    return {name: [r for r in router.routes if isinstance(r, APIRoute)] for name, router in named.items()}


def _sample(path: str) -> str:
    return re.sub(r"\{[^}:]+(:[^}]+)?\}", "x1", path)


def test_no_route_answers_a_path_of_another_router() -> None:
    routers = _routers()
    assert sum(len(v) for v in routers.values()) > 90
    clashes = [(n, a.path, m, b.path) for n, ra in routers.items() for m, rb in routers.items() if n != m
               for a in ra for b in rb if a.methods & b.methods and a.path_regex.match(_sample(b.path))]
    assert clashes == []

