"""Every page the public can read, as nobody signed in: 0 axe violations at WCAG 2.1 AA and no
horizontal scrolling at 1280 or 375 px (tests/browser/inventory.py lists the pages)."""

from __future__ import annotations

import re

import pytest

from tests.browser.checks import check_page
from tests.browser.conftest import PHONE, WIDE, Pages, Site
from tests.browser.inventory import Row, case_id, cases

pytestmark = pytest.mark.sqlite_only
CASES = cases({"anonymous"})


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_page_is_accessible_and_fits_a_phone(case: tuple[Row, str], browser: object, pages: Pages, site: Site) -> None:
    problems = check_page(pages, site, *case)
    assert not problems, "\n".join(problems)


def test_the_header_menu_collapses_on_a_phone_and_opens_from_the_keyboard(browser: object, pages: Pages,
                                                                          site: Site) -> None:
    page = pages.tab("anonymous")
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto("/about")
    menu = page.locator("header.site nav a[href='/strategy']")
    assert not menu.is_visible()                              # collapsed behind 「メニュー」
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    assert page.evaluate("document.activeElement.textContent").strip().endswith("メニュー")
    page.keyboard.press("Enter")
    assert menu.is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/"   # the first item, next
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.goto("/about")
    assert menu.is_visible() and not page.locator("header.site summary").is_visible()   # wide: always open


def test_the_dashboard_is_cards_on_a_phone_with_japanese_deadlines(browser: object, pages: Pages, site: Site) -> None:
    page = pages.tab("anonymous")
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto("/")
    row = page.locator("table.kpi-table tbody tr").first
    assert row.evaluate("e => getComputedStyle(e).display") == "block"
    assert page.locator("table.kpi-table thead").first.bounding_box()["height"] <= 1   # only for screen readers
    assert row.locator(".cell-label", has_text="次の目標").is_visible()   # each value says what it is
    text = page.locator("main").inner_text()
    assert re.search(r"まで（\d{4}年\d{1,2}月\d{1,2}日）", text)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text), re.findall(r".{20}\d{4}-\d{2}-\d{2}.{5}", text)
    page.set_viewport_size({"width": WIDE, "height": 900})
    assert row.evaluate("e => getComputedStyle(e).display") == "table-row"
    assert not row.locator(".cell-label").first.is_visible()


FOCUS_RING = """() => { const e = document.activeElement, s = getComputedStyle(e);
  return {what: e.tagName + (e.id ? '#' + e.id : '') + ' ' + (e.textContent || '').trim().slice(0, 20),
          inSvg: !!e.closest('svg'), outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
          shadow: s.boxShadow}; }"""


@pytest.mark.parametrize("path", ["/", "/map", "/kpis/5g-population-coverage"])
def test_every_tab_stop_shows_the_focus_ring_and_the_map_is_no_tab_trap(path: str, browser: object, pages: Pages,
                                                                        site: Site) -> None:
    """The Digital Agency's ring (black outline inside a yellow shadow) on every tab stop, on the
    blue header and on white; the map's 47 regions are not tab stops (its table is the way)."""
    page = pages.tab("anonymous")
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.goto(path)
    stops = []
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break
        f = page.evaluate(FOCUS_RING)
        stops.append(f)
        assert f["outline"] == "solid" and f["width"] >= 2 and "rgb(255, 212, 61)" in f["shadow"], f
    assert stops and not any(f["inSvg"] for f in stops), [f["what"] for f in stops if f["inSvg"]]


def test_the_kpi_chart_labels_stay_readable_on_a_phone(browser: object, pages: Pages, site: Site) -> None:
    """The chart is drawn 680 units wide and scaled to the screen; on a phone its axis labels are
    enlarged so that they are still drawn at least 9 px tall (11 units would be about 5 px)."""
    page = pages.tab("anonymous")
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto("/kpis/5g-population-coverage")
    heights = page.evaluate("""() => [...document.querySelectorAll('.chart-large svg text.tick')]
        .map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)""")
    assert heights and min(heights) >= 9, heights
