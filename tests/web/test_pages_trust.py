"""Pages that work for the person in front of them (issue 13 §3): no button that leads to a
refusal, a refusal that says what to do next, a sign-in that returns to the whole address, and a
strategy form whose errors are named as the form names its fields. Each on both databases."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from digiden.services.local import local_strategies as ls
from digiden.services.national import kpis
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW, PASSWORD

OBS_BUTTON = "このKPIの実績値を登録する"
EDIT = "/local-governments/072028/strategy/edit"
SAVE = "/local-governments/072028/strategy"


OWN, OTHER = "5g-population-coverage", "plateau-3d-city-models"


@pytest.fixture
def _ministries(session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    """5G kept by 総務省 (the ministry account's own), PLATEAU by 国土交通省, as the national
    administrator assigns them."""
    uow = UnitOfWork(session_factory)
    kpis.assign_ministry(uow, accounts["admin"], OWN, "総務省", now=FIXED_NOW)
    kpis.assign_ministry(uow, accounts["admin"], OTHER, "国土交通省", now=FIXED_NOW)


def _alert(html: str) -> str:
    m = re.search(r'<div class="alert" role="alert"[^>]*>(.*?)</div>', html, re.S)
    assert m, html[:2000]
    return re.sub(r"<[^>]+>", "", m[1])


def _title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S)[1]  # type: ignore[index]


# ---------------------------------------------------------------- no button that leads to a refusal


@pytest.mark.usefixtures("_ministries")
@pytest.mark.parametrize("role", ["public", "aizu", "fukushima"])
def test_the_register_value_button_is_absent_for_those_who_would_be_refused(client_as, role) -> None:  # type: ignore[no-untyped-def]
    c = client_as(role)
    own, other = OWN, OTHER
    for code in (own, other):
        assert OBS_BUTTON not in c.get(f"/kpis/{code}").text, (role, code)
    if role != "public":     # what the button led to: the POST's refusal
        assert c.get(f"/observations/new?kpi={own}").status_code == 403


@pytest.mark.usefixtures("_ministries")
def test_the_register_value_button_shows_to_those_who_may(client_as) -> None:  # type: ignore[no-untyped-def]
    admin, ministry = client_as("admin"), client_as("ministry")
    own, other = OWN, OTHER
    assert OBS_BUTTON in admin.get(f"/kpis/{own}").text and OBS_BUTTON in admin.get(f"/kpis/{other}").text
    assert OBS_BUTTON in ministry.get(f"/kpis/{own}").text          # its own ministry's KPI
    assert OBS_BUTTON not in ministry.get(f"/kpis/{other}").text    # another ministry's: refused, so absent


def test_editing_a_strategy_under_review_explains_the_state_instead_of_a_bare_409(client_as, session_factory,  # type: ignore[no-untyped-def]
                                                                                   accounts) -> None:
    aizu = client_as("aizu")
    assert aizu.post(SAVE, data={"title": "会津若松市 戦略", "fiscal_year": "R6"},
                     follow_redirects=False).status_code == 303
    ls.act(UnitOfWork(session_factory), accounts["aizu"], "072028", 1, "submit", now=FIXED_NOW)
    r = aizu.get(EDIT)
    assert r.status_code == 409
    assert "会津若松市 戦略" in r.text                       # the strategy as it stands, not an empty error page
    said = _alert(r.text)
    assert "審査中" in said and "差し戻し" in said            # what happened and what to do next


def test_a_403_page_says_what_happened_and_what_to_do_next(client_as) -> None:  # type: ignore[no-untyped-def]
    pref = client_as("fukushima")       # sees 会津若松市's submissions, may not write its strategy
    r = pref.get(EDIT)
    assert r.status_code == 403
    assert "権限" in r.text and "次にできること" in r.text and "fukushima" in r.text


# ---------------------------------------------------------------- sign-in keeps the whole address


def test_signing_in_returns_to_the_whole_address_query_string_included(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/audit?a=1&b=2", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=" + quote("/audit?a=1&b=2", safe="/")
    page = anon.get(r.headers["location"])
    assert 'name="next" value="/audit?a=1&amp;b=2"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
    done = anon.post("/login", data={"username": "aizu", "password": PASSWORD, "csrf_token": token,
                                     "next": "/audit?a=1&b=2"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/audit?a=1&b=2"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example",
                                    "/\t/evil.example", "javascript:alert(1)", "evil.example/x", "http:/x"])
def test_a_return_address_off_this_site_is_refused(anon, target) -> None:  # type: ignore[no-untyped-def]
    page = anon.get("/login", params={"next": target})
    assert 'name="next" value="/"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
    r = anon.post("/login", data={"username": "aizu", "password": PASSWORD, "csrf_token": token,
                                  "next": target}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


# ---------------------------------------------------------------- the strategy edit form


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.legends: list[str] = []
        self._in_legend = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs.append(dict(attrs))
        self._in_legend = tag == "legend"

    def handle_endtag(self, tag: str) -> None:
        if tag == "legend":
            self._in_legend = False

    def handle_data(self, data: str) -> None:
        if self._in_legend:
            self.legends.append(data)


def test_the_edit_form_has_styled_text_inputs_and_grouped_checkboxes(client_as) -> None:  # type: ignore[no-untyped-def]
    html = client_as("aizu").get(EDIT).text
    p = _Inputs()
    p.feed(html)
    assert p.inputs and all(i.get("type") for i in p.inputs), [i for i in p.inputs if not i.get("type")]
    assert {"title", "fiscal_year", "measures-0-title", "kpis-0-name"} <= {
        i["name"] for i in p.inputs if i.get("type") == "text"}
    assert any("地域ビジョンの類型" in text for text in p.legends)
    group = re.search(r'<fieldset id="f-model_types"[^>]*>(.*?)</fieldset>', html, re.S)
    assert group and 'type="checkbox" name="model_types"' in group[1]


@pytest.mark.parametrize(("data", "label", "anchor"), [
    ({"title": "戦略", "fiscal_year": "いつか"}, "対象年度", "f-fiscal_year"),
    ({"title": "戦略", "fiscal_year": "R6", "measures-0-title": "施策A", "measures-0-start_year": "いつか"},
     "施策1の開始年度", "f-measures[0].start_year"),
    ({"title": "戦略", "fiscal_year": "R6", "kpis-0-name": "件数", "kpis-1-name": "人数", "kpis-1-target": "たくさん"},
     "KPI2の目標値", "f-kpis[1].target"),
])
def test_an_invalid_save_is_titled_as_an_error_and_names_the_field_in_japanese(client_as, data, label,  # type: ignore[no-untyped-def]
                                                                               anchor) -> None:
    r = client_as("aizu").post(SAVE, data=data)
    assert r.status_code == 422
    assert _title(r.text).startswith("エラー")
    said = _alert(r.text)
    assert f"該当項目: {label}" in said
    assert not re.search(r"fiscal_year|measures\[|kpis\[|start_year|target", said), said   # never a raw key
    assert f'href="#{anchor}"' in r.text and f'id="{anchor}"' in r.text
    # focus lands on the summary (no script: the CSP allows none inline)
    assert re.search(r'<div class="alert" role="alert" id="form-error" tabindex="-1" autofocus>', r.text)
    field = re.search(rf'<[^>]*id="{re.escape(anchor)}"[^>]*>', r.text)[0]  # type: ignore[index]
    assert 'aria-invalid="true"' in field


def test_a_good_save_is_not_titled_as_an_error(client_as) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    assert not _title(c.get(EDIT).text).startswith("エラー")
    r = c.post(SAVE, data={"title": "戦略", "fiscal_year": "R6"}, follow_redirects=True)
    assert r.status_code == 200 and not _title(r.text).startswith("エラー")


def _form(html: str) -> dict[str, str]:
    """The edit form's fields as a browser would post them (text, hidden, selected options)."""
    field = r'<input type="(?:text|hidden)"[^>]*?name="([^"]+)"[^>]*?value="([^"]*)"'
    data = {m[1]: m[2] for m in re.finditer(field, html)}
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        sel = re.search(r'<option value="([^"]*)" selected', m[2]) or re.search(r'<option value="([^"]*)"', m[2])
        data[m[1]] = sel[1] if sel else ""
    return data


def test_a_row_is_added_without_saving_with_or_without_javascript(client_as) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    form = _form(c.get(EDIT).text)
    assert "measures-1-title" in form and "measures-2-title" not in form        # two blank rows to start
    form |= {"title": "まだ保存しない戦略", "fiscal_year": "R6", "measures-0-title": "書きかけの施策"}
    # without JavaScript: the button submits the form; the page comes back with one more row
    r = c.post(SAVE, data=form | {"add": "measures"}, follow_redirects=False)
    assert r.status_code == 200 and not _title(r.text).startswith("エラー")
    assert 'value="書きかけの施策"' in r.text and 'value="まだ保存しない戦略"' in r.text
    new = re.search(r'<input type="text" id="f-measures\[2\]\.title"[^>]*>', r.text)
    assert new and "autofocus" in new[0]                                      # the new row takes the focus
    assert "f-measures[3].title" not in r.text and "f-kpis[2].name" not in r.text
    assert c.get("/api/v1/local-strategies/072028").status_code == 404        # nothing was saved
    # with htmx: the same request, and the section to swap in is in the answer
    r = c.post(SAVE, data=_form(r.text) | {"add": "kpis"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="kpis-rows"' in r.text and "f-kpis[2].name" in r.text
    assert "f-measures[2].title" in r.text and "f-measures[3].title" not in r.text
    # and saving afterwards still saves what was typed
    done = c.post(SAVE, data=_form(r.text), follow_redirects=False)
    assert done.status_code == 303
    assert [m["title"] for m in c.get("/api/v1/local-strategies/072028").json()["measures"]] == ["書きかけの施策"]


def test_only_who_may_edit_may_add_a_row(client_as) -> None:  # type: ignore[no-untyped-def]
    r = client_as("fukushima").post(SAVE, data={"title": "x", "fiscal_year": "R6", "add": "issues"})
    assert r.status_code == 403


def test_about_says_who_runs_the_site_and_how_to_report_an_error(anon, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from digiden.config import get_settings
    page = anon.get("/about").text
    assert 'id="operator"' in page and 'id="report"' in page and "DIGIDEN_OPERATOR" in page
    assert "データの出典" in page
    monkeypatch.setenv("DIGIDEN_OPERATOR", "福島県 デジタル変革課")
    monkeypatch.setenv("DIGIDEN_CONTACT", "digital@example.jp")
    get_settings.cache_clear()
    try:
        page = anon.get("/about").text
        assert "このサイトは福島県 デジタル変革課が運営しています" in page
        assert 'href="mailto:digital%40example.jp"' in page or 'href="mailto:digital@example.jp"' in page
        monkeypatch.setenv("DIGIDEN_CONTACT", "javascript:alert(1)")
        get_settings.cache_clear()
        page = anon.get("/about").text
        assert "javascript:alert(1)" in page and 'href="javascript' not in page      # shown, never a link
    finally:
        monkeypatch.delenv("DIGIDEN_OPERATOR")
        monkeypatch.delenv("DIGIDEN_CONTACT")
        get_settings.cache_clear()


def test_the_map_is_not_47_tab_stops_and_its_table_is_the_keyboard_path(anon) -> None:  # type: ignore[no-untyped-def]
    import re
    page = anon.get("/map").text
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    links = re.findall(r"<a [^>]*>", svg)
    assert len(links) >= 47 and all('tabindex="-1"' in a for a in links)
    table = page.split("地図のデータを表で見る", 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r'<a href="/local-governments\?prefecture=\d\d"', table)) >= 47


def test_the_focus_ring_is_black_inside_yellow() -> None:
    from pathlib import Path
    css = (Path(__file__).parents[2] / "src/digiden/web/static/css/app.css").read_text(encoding="utf-8")
    rule = css.split("a:focus-visible", 1)[1].split("}", 1)[0]
    assert "outline: 3px solid #000" in rule and "var(--focus)" in rule and "--focus: #ffd43d" in css
