"""Keyboard only: Tab, Shift+Tab, Enter and Space, never a mouse click.

The whole cycle of a local strategy on one database (conftest.build_site: 会津若松市's
revision 2 was returned by 福島県, so its form is open): sign in; 会津若松市 edits and submits;
福島県 approves; the nation accepts; the nation runs an import dry run. Every control is reached
with Tab and checked to have the focus before a key acts on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import DEMO_PASSWORD, ROLES, WIDE, Site, serve_site

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def site(sqlite_db: Any) -> Iterator[Site]:
    """A database of this module's own: the flows change it."""
    yield from serve_site(sqlite_db)

FOCUSED = """() => { const e = document.activeElement; if (!e || e === document.body) return '';
  return (e.tagName + ' ' + (e.id || '') + ' ' + (e.getAttribute('name') || '') + ' ' + (e.getAttribute('value') || '')
          + ' ' + (e.textContent || '').trim().slice(0, 40)).trim(); }"""


def focused(page: Any) -> str:
    return str(page.evaluate(FOCUSED))


def tab_to(page: Any, selector: str, limit: int = 400) -> None:
    """Press Tab until the element ``selector`` has the focus (it must be reachable in order)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus with Tab on {page.url} (last: {focused(page)})")


@pytest.fixture
def tab(browser: Any, site: Site) -> Any:
    opened = []

    def make() -> Any:
        ctx = browser.new_context(viewport={"width": WIDE, "height": 900}, locale="ja-JP",
                                  timezone_id="Asia/Tokyo", base_url=site.base_url)
        opened.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(60_000)   # a loaded CI machine: generous, never relied on
        return page
    yield make
    for ctx in opened:
        ctx.close()


def keyboard_sign_in(page: Any, role: str) -> None:
    page.goto("/login")
    assert page.evaluate("document.activeElement.id") == "f-username"   # autofocus: type at once
    page.keyboard.type(ROLES[role])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-password"
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Tab")
    assert "サインイン" in focused(page) and page.evaluate("document.activeElement.type") == "submit"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url, page.content()[:2000]
    assert page.locator("header.site .who").count() == 1


def act(page: Any, value: str, done: str) -> None:
    """Tab to the review button ``value`` on a strategy page and press Space."""
    tab_to(page, f'button[name="action"][value="{value}"]')
    with page.expect_navigation():
        page.keyboard.press("Space")
    assert done in page.locator("main").inner_text(), page.locator("main").inner_text()[:800]


def test_sign_in_with_the_keyboard(tab: Any) -> None:
    page = tab()
    keyboard_sign_in(page, "fukushima")
    # the sign-out button is reachable too, and Enter signs out
    tab_to(page, "header.site form[action='/logout'] button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("header.site .who").count() == 0


def test_the_strategy_cycle_and_an_import_dry_run_with_the_keyboard(tab: Any) -> None:
    strategy = "/local-governments/072028/strategy"
    aizu = tab()
    keyboard_sign_in(aizu, "aizu")
    aizu.goto(strategy)
    tab_to(aizu, f'main a[href="{strategy}/edit"]')
    with aizu.expect_navigation():
        aizu.keyboard.press("Enter")
    assert aizu.url.endswith("/strategy/edit")
    tab_to(aizu, "#f-title")
    aizu.keyboard.press("Control+A")
    aizu.keyboard.type("会津若松市 デジタル田園都市国家構想総合戦略（デモ・キーボードで編集）")
    tab_to(aizu, "#f-vision")
    aizu.keyboard.press("End")
    aizu.keyboard.type("（合成データ）キーボードだけで追記した一文。")
    tab_to(aizu, "main form.stack button[type=submit]:not([name]):not([tabindex='-1'])")
    with aizu.expect_navigation():
        aizu.keyboard.press("Space")
    assert "下書きを保存しました" in aizu.locator("main").inner_text()
    assert "キーボードで編集" in aizu.locator("h1").inner_text()
    act(aizu, "submit", "提出しました")

    fukushima = tab()
    keyboard_sign_in(fukushima, "fukushima")
    fukushima.goto(strategy)
    act(fukushima, "approve", "承認し、国へ進めました")

    admin = tab()
    keyboard_sign_in(admin, "admin")
    admin.goto(strategy)
    act(admin, "accept", "受理しました")
    assert "キーボードで編集" in tab().goto(strategy).text()   # published: the public reads it

    # an import dry run: the file chooser opens from the keyboard, the dry-run box is ticked
    admin.goto("/imports")
    admin.wait_for_load_state("networkidle")
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "long_cp932.csv"
    chooser = None
    for _ in range(3):      # on a loaded CI machine a key press has once been lost (no chooser in 60 s)
        tab_to(admin, "#f-file")
        assert admin.evaluate("document.activeElement.id") == "f-file"
        try:
            with admin.expect_file_chooser(timeout=20_000) as opened:
                admin.keyboard.press("Space")
            chooser = opened.value
            break
        except PlaywrightTimeout:
            admin.keyboard.press("Escape")
    assert chooser is not None, "Space on the focused file input never opened the file chooser"
    chooser.set_files(str(fixture))
    tab_to(admin, "input[name=dry_run]")
    assert admin.evaluate("document.activeElement.checked")
    tab_to(admin, "main form button[type=submit]")
    with admin.expect_navigation():
        admin.keyboard.press("Enter")
    admin.wait_for_function("document.querySelector('main').innerText.includes('確認が終わりました')")
    assert "/imports/jobs/" in admin.url
    assert "新規 5件" in admin.locator("main").inner_text()


def test_a_consultation_asked_answered_and_resolved_with_the_keyboard(tab: Any) -> None:
    """会津若松市 asks the desk, the nation (the national desk) answers, 会津若松市 resolves it."""
    aizu = tab()
    keyboard_sign_in(aizu, "aizu")
    aizu.goto("/consultations/new")
    tab_to(aizu, "#f-subject")
    aizu.keyboard.type("（合成データ）キーボードだけで送る相談")
    tab_to(aizu, "#f-body")
    aizu.keyboard.type("（合成データ）窓口のオンライン予約に使える制度はありますか。")
    tab_to(aizu, "#ask-form button[type=submit]:not([name]):not([tabindex='-1'])")
    with aizu.expect_navigation():
        aizu.keyboard.press("Space")
    assert "相談を受け付けました" in aizu.locator("main").inner_text(), aizu.locator("main").inner_text()[:800]
    case = aizu.url.split("?")[0]

    desk = tab()
    keyboard_sign_in(desk, "admin")
    desk.goto(case)
    tab_to(desk, "#f-reply")
    desk.keyboard.type("（合成データ）デジタル田園都市国家構想交付金の対象になります。")
    tab_to(desk, "form:has(#f-reply) button[type=submit]")
    with desk.expect_navigation():
        desk.keyboard.press("Enter")
    assert "交付金の対象になります" in desk.locator("main").inner_text()

    aizu.goto(case)
    assert "回答済" in aizu.locator("main").inner_text()
    tab_to(aizu, 'button[name="action"][value="resolve"]')
    with aizu.expect_navigation():
        aizu.keyboard.press("Space")
    assert "解決にしました" in aizu.locator("main").inner_text()
