"""The browser suite: the real pages in Debian's headless chromium, driven by Playwright for Python.

Nothing downloads a browser: Playwright launches the chromium that `.ci/run` installs with apt
(``executable_path``). axe-core is vendored in tests/browser/vendor (see its README), so npm is
not needed either. Under CI=true a missing chromium fails; elsewhere the suite is skipped with
the reason.

Each test module gets one SQLite database (reference data, the synthetic demo data of
``digiden demo`` and a little more, see ``build_site``), one server (tests/live.py) and one
browser; pages of one role share a browser context (its sign-in cookie).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DEMO_PASSWORD = "digiden-demo-2026"
WIDE, PHONE = 1280, 375

# role → demo account (digiden demo); "anonymous" is nobody signed in
ROLES = {
    "anonymous": None,
    "admin": "demo-admin",               # national administrator
    "ministry": "demo-soumu",            # ministry editor (総務省)
    "fukushima": "demo-fukushima",       # prefecture staff, 福島県
    "aizu": "demo-aizuwakamatsu",        # municipality staff, 会津若松市
}


def chromium_path() -> str | None:
    return shutil.which("chromium")


@dataclass
class Site:
    """A running app on a prepared database, and what the setup created (ids for the inventory)."""

    base_url: str
    ids: dict[str, str] = field(default_factory=dict)


def build_site(engine: Any) -> dict[str, str]:
    """Reference data (by the caller), then ``digiden demo`` and what the inventory needs besides:
    会津若松市's submitted revision 2 returned by 福島県 (so its edit form is open), a draft
    practice of 会津若松市, and an import dry run (a job page). All synthetic, marked as such."""
    from digiden.domain.access import system
    from digiden.services.knowledge import practices
    from digiden.services.local import accounts, local_strategies
    from digiden.services.local.demo import create_demo
    from digiden.services.uow import UnitOfWork
    from digiden.store.db import make_session_factory
    now = datetime.now(UTC)
    uow = UnitOfWork(make_session_factory(engine))
    report = create_demo(uow, system("browser-tests"), now=now)
    aizu = accounts.user_principal(uow, "demo-aizuwakamatsu")
    fukushima = accounts.user_principal(uow, "demo-fukushima")
    local_strategies.act(uow, fukushima, "072028", 2, "return", now=now,
                         comment="（合成データ）新しい施策の開始年度を確認してください。")
    draft = practices.add(uow, aizu, {
        "title": "（合成データ）オンライン窓口の予約", "org_units": ["072028"], "field": "P1.4",
        "problem": "（合成データ）窓口の待ち時間が長い", "solution": "（合成データ）来庁予約をオンラインで受け付ける"},
        submit=False, now=now)
    # 重点支援: an open call of the 交付金 (the demo's is closed) with 会津若松市's draft, and the demo's
    # selected region
    from datetime import timedelta

    from digiden.services.support import applications as apps
    from digiden.services.support import programmes as pg
    admin = accounts.user_principal(uow, "demo-admin")
    rounds = [c.round for c in pg.list_calls(uow, programme="digital-garden-city-grant", now=now)]
    open_call = pg.create_call(uow, admin, "digital-garden-city-grant", {
        "round": max(rounds, default=0) + 1, "title": "（合成データ）受付中の公募", "synthetic": True,
        "opens_at": (now - timedelta(days=1)).isoformat(), "closes_at": (now + timedelta(days=30)).isoformat(),
        "budget": 100_000_000,
        "criteria": [{"code": "v", "name": "地域ビジョンとの整合", "weight": 100, "max_points": 5}]}, now=now).id
    app = apps.save_draft(uow, aizu, open_call, {"title": "（合成データ）窓口のオンライン化",
                                                 "requested_amount": 1_000_000}, now=now).id
    region = next(r.key for r in pg.list_selections(uow, "digital-garden-city-grant") if r.synthetic)
    return {"practice": report["practices"][0], "draft_practice": draft.code, "group": str(report["groups"][0]),
            "open_call": str(open_call), "draft_application": str(app), "region": region,
            "consultation": str(report["consultation"]), "plan": str(report["plan"]), "faq": str(report["faq"])}


def start_dry_run(page: Any) -> str:
    """An import dry run through the form's own request, signed in as ``page``'s role: the job's id."""
    import re
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "long_cp932.csv"
    form = page.request.get("/imports").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]  # type: ignore[index]
    r = page.request.post("/imports", max_redirects=0, multipart={
        "csrf_token": token, "dry_run": "1",
        "file": {"name": "long_cp932.csv", "mimeType": "text/csv", "buffer": fixture.read_bytes()}})
    assert r.status == 303, r.text()
    return str(r.headers["location"].rsplit("/", 1)[1])


def copy_of(reference: Any) -> Any:
    """A database of one's own with the reference data, copied from the worker's session database
    (tests/conftest.py's sqlite_db, migrated and loaded once per worker) instead of loading the
    reference data again: SQLite's backup API, so the copy is consistent."""
    import sqlite3

    from digiden.store.db import make_engine, make_session_factory
    from tests.live import LiveDb
    folder = Path(tempfile.mkdtemp(prefix="digiden-browser-"))
    target = folder / "digiden.sqlite3"
    source = sqlite3.connect(str(reference.engine.url.database))
    with sqlite3.connect(str(target)) as dest:
        source.backup(dest)
    source.close()
    engine = make_engine(f"sqlite:///{target}")
    db = LiveDb("sqlite", str(engine.url), engine, make_session_factory(engine))
    db._cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    return db


def serve_site(reference: Any) -> Iterator[Site]:
    from tests.live import LiveServer
    db = copy_of(reference)
    ids = build_site(db.engine)
    server = LiveServer(db.session_factory, inline_jobs=True)
    with server:
        yield Site(server.base_url, ids)
    db.close()


@pytest.fixture(scope="session")
def site(sqlite_db: Any) -> Iterator[Site]:
    """One database and one server per worker for the modules that only read (a module that
    writes, such as test_keyboard.py, overrides this with a module-scoped one of its own)."""
    yield from serve_site(sqlite_db)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium; without it: a failure under CI=true (.ci/run installs it), a skip elsewhere.
    One per module: Playwright's sync API keeps an event loop running in the thread while it is
    open, so a session-wide browser made asyncio.run() fail in whichever module of another
    directory ran after it in the same worker (tests/hostile's raw ASGI uploads)."""
    from playwright.sync_api import sync_playwright
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI=true (.ci/run installs it with apt): not found on PATH")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="digiden-fonts-") as tmp:
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"],
                                   env=dict(os.environ) | {"FONTCONFIG_FILE": fontconfig(Path(tmp))})
            yield b
            b.close()


def fontconfig(folder: Path) -> str:
    """A fontconfig file that adds the package's own Japanese font (IPAexGothic, static/fonts) to
    the system's, so text is measured and drawn with Japanese glyphs on a machine that has no
    Japanese font installed (Debian's chromium does not pull one in). Nothing is installed."""
    fonts = Path(__file__).resolve().parents[2] / "src" / "digiden" / "web" / "static" / "fonts"
    conf = folder / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include><dir>{fonts}</dir>
<cachedir>{folder / "cache"}</cachedir></fontconfig>""", encoding="utf-8")
    return str(conf)


class Pages:
    """One browser context (and one tab) per role, signed in through the form once."""

    def __init__(self, browser: Any, site: Site) -> None:
        self.browser, self.site, self.tabs = browser, site, {}

    def tab(self, role: str) -> Any:
        if role not in self.tabs:
            ctx = self.browser.new_context(viewport={"width": WIDE, "height": 900}, locale="ja-JP",
                                           timezone_id="Asia/Tokyo", base_url=self.site.base_url)
            ctx.add_init_script(path=str(AXE))   # devtools-injected, so the page's CSP does not block it
            page = ctx.new_page()
            page.set_default_timeout(60_000)   # a loaded CI machine: generous, never relied on
            if ROLES[role]:
                sign_in(page, ROLES[role])
            self.tabs[role] = page
        return self.tabs[role]

    def close(self) -> None:
        for page in self.tabs.values():
            page.context.close()


def sign_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("#f-username", username)
    page.fill("#f-password", DEMO_PASSWORD)
    page.press("#f-password", "Enter")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"sign-in as {username} failed: {page.url}"


@pytest.fixture(scope="module")
def pages(browser: Any, site: Site) -> Iterator[Pages]:
    p = Pages(browser, site)
    site.ids["job"] = start_dry_run(p.tab("admin"))
    yield p
    p.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core at WCAG 2.1 AA: [{id, impact, help, targets}] of the page as it is now."""
    result = page.evaluate("""async (tags) => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 8).map(n => n.target.join(' ')),
            summary: (v.nodes[0] && v.nodes[0].failureSummary || '').split('\\n').slice(0, 3).join(' ')}));
    }""", AXE_TAGS)
    return list(result)


def overflow(page: Any) -> dict[str, Any] | None:
    """None, or how far the page scrolls sideways and the outermost elements that stick out."""
    return page.evaluate("""() => {
        const de = document.documentElement, w = de.clientWidth;
        if (de.scrollWidth <= w) return null;
        const out = [];
        for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.right > w + 1 && r.width > 0) {
                let p = el.parentElement, inside = false;
                while (p && p !== document.body) {
                    const pr = p.getBoundingClientRect();
                    if (pr.right > w + 1) { inside = true; break; }
                    const ov = getComputedStyle(p).overflowX;
                    if (ov === 'auto' || ov === 'scroll' || ov === 'hidden') { inside = true; break; }
                    p = p.parentElement;
                }
                if (!inside) {
                    let s = el.tagName.toLowerCase();
                    if (el.id) s += '#' + el.id;
                    if (el.classList.length) s += '.' + [...el.classList].join('.');
                    let a = el.parentElement, path = [];
                    for (let i = 0; a && a !== document.body && i < 3; i++, a = a.parentElement) {
                        let t = a.tagName.toLowerCase(); if (a.className && typeof a.className === 'string')
                            t += '.' + a.className.trim().split(/\\s+/).join('.');
                        path.unshift(t);
                    }
                    out.push(path.concat([s]).join(' > ') + ` (right ${Math.round(r.right)}px)`);
                    if (out.length >= 5) break;
                }
            }
        }
        return {scroll_width: de.scrollWidth, client_width: w, elements: out};
    }""")  # type: ignore[no-any-return]


def record(finding: dict[str, Any]) -> None:
    """Append one finding (JSON line) to $DIGIDEN_BROWSER_FINDINGS, when set (tests/browser/report.py)."""
    target = os.environ.get("DIGIDEN_BROWSER_FINDINGS")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps(finding, ensure_ascii=False) + "\n")
