"""Every page as the signed-in roles that use it: 0 axe violations at WCAG 2.1 AA and no
horizontal scrolling at 1280 or 375 px (tests/browser/inventory.py lists the pages)."""

from __future__ import annotations

import pytest

from tests.browser.checks import check_page
from tests.browser.conftest import Pages, Site
from tests.browser.inventory import Row, case_id, cases

pytestmark = pytest.mark.sqlite_only
CASES = cases({"admin", "ministry", "fukushima", "aizu"})


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_page_is_accessible_and_fits_a_phone(case: tuple[Row, str], browser: object, pages: Pages, site: Site) -> None:
    problems = check_page(pages, site, *case)
    assert not problems, "\n".join(problems)
