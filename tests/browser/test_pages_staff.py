"""Every page as the signed-in roles that use it: 0 axe violations at WCAG 2.1 AA and no
horizontal scrolling at 1280 or 375 px (tests/browser/inventory.py lists the pages)."""

from __future__ import annotations

import pytest

from tests.browser.checks import check_loaded, check_page
from tests.browser.conftest import WIDE, Pages, Site
from tests.browser.inventory import Row, case_id, cases

pytestmark = pytest.mark.sqlite_only
CASES = cases({"admin", "ministry", "fukushima", "aizu"})


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_page_is_accessible_and_fits_a_phone(case: tuple[Row, str], browser: object, pages: Pages, site: Site) -> None:
    problems = check_page(pages, site, *case)
    assert not problems, "\n".join(problems)


# Pages that are not a route of their own: the error pages (error.html) and a form sent back
# with a mistake. (path, role, expected status)
ERRORS = [("/no-such-page", "anonymous", 404), ("/admin/users", "aizu", 403),
          ("/local-governments/999999", "anonymous", 422)]


@pytest.mark.parametrize(("path", "role", "status"), ERRORS, ids=[f"{r}:{p}" for p, r, _ in ERRORS])
def test_error_pages_are_accessible_and_fit_a_phone(path: str, role: str, status: int, browser: object,
                                                     pages: Pages, site: Site) -> None:
    problems = check_page(pages, site, Row(path, path, (role,), "error.html"), role, status)
    assert not problems, "\n".join(problems)


def test_the_strategy_form_sent_back_with_a_mistake(browser: object, pages: Pages, site: Site) -> None:
    """An empty name: the page comes back titled 「エラー」 with the focus on the summary, which
    names the field in Japanese, and it passes the same checks as every page."""
    page = pages.tab("aizu")
    path = "/local-governments/072028/strategy/edit"
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.goto(path)
    page.fill("#f-title", "")
    page.evaluate("document.querySelector('#f-title').removeAttribute('required')")   # as a browser without validation
    with page.expect_navigation():
        page.locator("main form.stack button[type=submit]:not([name]):not([tabindex='-1'])").press("Enter")
    assert page.title().startswith("エラー"), page.title()
    assert page.evaluate("document.activeElement.id") == "form-error"
    summary = page.locator("#form-error").inner_text()
    assert "戦略の名称" in summary or "名称" in summary, summary
    assert "title" not in summary
    problems = check_loaded(page, Row("/local-governments/{code}/strategy", path, ("aizu",), "local/edit.html"),
                            "aizu", path + " (sent back with an empty name)")
    assert not problems, "\n".join(problems)


def test_a_row_added_to_the_strategy_form_without_saving(browser: object, pages: Pages, site: Site) -> None:
    """「施策の行を追加する」 from the keyboard: htmx swaps in the section with one more row, the new
    row's first field has the focus, nothing else on the page changed, and it passes the checks."""
    page = pages.tab("aizu")
    path = "/local-governments/072028/strategy/edit"
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.goto(path)
    page.fill("#f-title", "まだ保存しない名前")
    rows = page.locator("#measures-rows input[id$='.title']")
    before = rows.count()
    page.locator("button[name=add][value=measures]").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("(n) => document.querySelectorAll('#measures-rows input[id$=\".title\"]').length > n",
                           arg=before)
    assert page.url.endswith(path)                                   # no navigation: htmx swapped the section
    assert page.input_value("#f-title") == "まだ保存しない名前"        # the rest of the form is as typed
    assert page.evaluate("document.activeElement.id") == f"f-measures[{before}].title"
    problems = check_loaded(page, Row("/local-governments/{code}/strategy/edit", path, ("aizu",), "local/edit.html"),
                            "aizu", path + " (a row added)")
    assert not problems, "\n".join(problems)
