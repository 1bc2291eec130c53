"""Every page route has a row in the browser suite's inventory (tests/browser/inventory.py)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ROLES
from tests.browser.inventory import NOT_PAGES, PAGES
from tests.web.test_access_matrix import app_routes

pytestmark = pytest.mark.sqlite_only


def page_routes() -> set[str]:
    return {route for method, route in app_routes()
            if method == "GET" and not route.startswith(("/api/", "/static"))}


def test_every_page_route_has_a_row() -> None:
    covered = {row.route for row in PAGES} | NOT_PAGES
    missing = page_routes() - covered
    assert not missing, f"add these pages to tests/browser/inventory.py: {sorted(missing)}"
    stale = {row.route for row in PAGES} - page_routes()
    assert not stale, f"these rows name routes the app no longer has: {sorted(stale)}"


def test_every_row_names_known_roles_and_public_pages_are_visited_anonymously() -> None:
    for row in PAGES:
        assert row.roles and set(row.roles) <= set(ROLES), row
