"""Pages a planner uses, as issue 13 §3 asks: the roadmap shows which years hold something, the
filters keep their labels with their controls, no button leads to a refusal, and error pages
name fields in Japanese. (axe and 375 px overflow are checked in a real browser by
tests/browser; these tests pin the markup those checks rely on.)"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from digiden.domain.access import PUBLIC
from digiden.services.local import local_strategies as ls
from digiden.services.uow import UnitOfWork
from digiden.web.templating import env
from tests.conftest import FIXED_NOW


def cells(html: str) -> list[str]:
    return re.findall(r'<li class="rm-year ([^"]+)">', html)


def test_the_roadmap_fills_only_years_with_a_milestone_or_activity(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/roadmap").text
    found = cells(html)
    assert len(found) == 33 * 5                      # five fiscal years of each of the 33 measures
    kinds = [c.split()[0] for c in found]
    assert kinds.count("is-empty") > 0 and kinds.count("is-milestone") > 0   # not one solid bar each
    assert 'class="run"' not in html and "gantt" not in html
    # every cell says its year and what it holds, in words, for screen readers
    assert html.count('<span class="visually-hidden">年度') == 33 * 5
    assert '年度：記録なし</span>' in html and '年度：KPIの目標期限' in html
    assert 'aria-label="凡例"' in html and "太枠は今年度（2026年度）" in html
    assert "style=" not in html.split("<main", 1)[1]        # no inline styles (strict CSP)


def test_a_measure_page_lists_what_fills_each_year(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/measures/digital-promotion-commissioners").text
    assert cells(html)[-1].startswith("is-milestone")
    assert '2027年度</span> <span aria-hidden="true">◆</span><span class="visually-hidden">目標期限：</span> ' \
           "KPI「デジタル推進委員の取組」目標 50,000人（2027年度）" in html
    empty = anon.get("/measures/resas").text
    assert set(c.split()[0] for c in cells(empty)) == {"is-empty"}
    assert "目標期限も、記録された実績・事例もありません" in empty


# ---------------------------------------------------------------- filters: labels with their controls

FILTER_PAGES = ["/measures", "/collaboration", "/local-strategies", "/local-governments/072028/similar"]


def filter_form(html: str) -> str:
    m = re.search(r'<form[^>]*class="filters[^"]*"[^>]*>(.*?)</form>', html, re.S)
    assert m, "no filter form"
    return m[1]


@pytest.mark.parametrize("path", FILTER_PAGES)
def test_every_filter_control_sits_inside_its_visible_label(anon, path) -> None:  # type: ignore[no-untyped-def]
    form = filter_form(anon.get(path).text)
    labels = re.findall(r"<label[^>]*>(.*?)</label>", form, re.S)
    controls = re.findall(r"<(?:select|input)\b[^>]*>", form)
    controls = [c for c in controls if 'type="hidden"' not in c]
    assert controls
    for c in controls:       # each control is wrapped by a label with words of its own
        owner = [lab for lab in labels if c in lab]
        assert owner, (path, c)
        words = re.sub(r"<select.*?</select>|<[^>]+>", "", owner[0], flags=re.S).strip()
        assert words, (path, c)
        if c.startswith("<input"):
            assert re.search(r'type="(text|number|checkbox)"', c), (path, c)   # styled like the rest


# ---------------------------------------------------------------- no button that leads to a refusal

EDIT_BUTTONS = re.compile(r'<a class="button" href="(/local-governments/\d+/strategy/edit)">([^<]+)</a>')


def own_section(html: str) -> str:
    m = re.search(r'<section class="own-strategy"[^>]*>(.*?)</section>', html, re.S)
    return m[1] if m else ""


@pytest.mark.parametrize("role", ["public", "admin", "ministry"])
def test_no_edit_button_for_those_without_a_strategy_of_their_own(client_as, role) -> None:  # type: ignore[no-untyped-def]
    html = client_as(role).get("/local-strategies").text
    assert "/strategy/edit" not in html and "自団体の戦略" not in html and not own_section(html)


def test_the_edit_button_follows_the_state_of_the_own_strategy(client_as, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    aizu, uow = client_as("aizu"), UnitOfWork(session_factory)

    def button() -> tuple[str, str] | None:
        found = EDIT_BUTTONS.findall(aizu.get("/local-strategies").text)
        return found[0] if found else None

    # nothing yet: a button that creates it, and where it leads is not refused
    assert button() == ("/local-governments/072028/strategy/edit", "自団体の戦略を作成する")
    assert aizu.get("/local-governments/072028/strategy/edit").status_code == 200
    ls.save(uow, accounts["aizu"], "072028", {"title": "会津若松市 戦略", "fiscal_year": "R6"}, now=FIXED_NOW)
    assert button() == ("/local-governments/072028/strategy/edit", "自団体の戦略を編集する")
    # under review: no button (it led to a 409), but what is happening and what to do next
    ls.act(uow, accounts["aizu"], "072028", 1, "submit", now=FIXED_NOW)
    html = aizu.get("/local-strategies").text
    assert button() is None and "/strategy/edit" not in html
    said = re.sub(r"<[^>]+>", "", own_section(html))
    assert "第1版は「提出済み（都道府県の確認待ち）」で審査中のため、今は編集できません" in said
    assert "差し戻し" in said and 'href="/local-governments/072028/strategy"' in own_section(html)
    refused = aizu.get("/local-governments/072028/strategy/edit")       # what the button led to
    assert refused.status_code == 409
    assert re.search(r"<title>エラー: 福島県会津若松市 地方版総合戦略（第1版）", refused.text)  # said first
    # accepted: editing starts the next revision, which is allowed again
    ls.act(uow, accounts["fukushima"], "072028", 1, "approve", now=FIXED_NOW)
    assert button() is None
    ls.act(uow, accounts["admin"], "072028", 1, "accept", now=FIXED_NOW)
    assert button() == ("/local-governments/072028/strategy/edit", "自団体の戦略を編集する")
    assert "第2版の下書き" in own_section(aizu.get("/local-strategies").text)
    assert aizu.get("/local-governments/072028/strategy/edit").status_code == 200


def test_prefecture_staff_get_the_button_for_their_own_prefecture(client_as) -> None:  # type: ignore[no-untyped-def]
    pref = client_as("fukushima")
    found = EDIT_BUTTONS.findall(pref.get("/local-strategies").text)
    assert found == [("/local-governments/070009/strategy/edit", "自団体の戦略を作成する")]
    assert pref.get(found[0][0]).status_code == 200


# ---------------------------------------------------------------- error pages

def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize(("path", "label", "key"), [
    ("/roadmap?by=colour", "並べ方", "by"),
    ("/measures?problem=boredom", "社会課題", "problem"),
    ("/measures?support=cash", "支援の種類", "support"),
])
def test_an_error_page_names_the_field_in_japanese_never_by_its_key(anon, path, label, key) -> None:  # type: ignore[no-untyped-def]
    r = anon.get(path)
    assert r.status_code == 422
    main = main_of(r.text)
    assert f"該当項目: {label}" in main and f"項目: {key}" not in main
    assert "<h1>入力内容を確認してください</h1>" in main and "何も保存されていません" in main
    assert f'<a href="{path.split("?")[0]}">条件を指定せずにこのページを開く</a>' in main     # a way on
    assert re.search(r"<title>エラー", r.text)


def _field_label(field: str) -> str:
    req = Request({"type": "http", "method": "GET", "path": "/x", "query_string": b"", "headers": []})
    err = SimpleNamespace(status_code=422, field=field, message_ja="")
    module = env.get_template("error.html").make_module(
        vars={"request": req, "error": err, "title": "エラー", "me": PUBLIC})
    return str(module.field_label(field)).strip()      # type: ignore[attr-defined]


@pytest.mark.parametrize(("field", "label"), [
    ("measures[0].title", "施策1の名称"), ("kpis[1].target_year", "KPI2の目標値の年度"),
    ("sources[2].url", "出典3のURL"), ("fiscal_year", "年度"), ("as_of", "時点"),
    ("w_population", ""), ("scores.x", ""), ("measures[x].title", ""),   # unknown: not shown at all
])
def test_error_page_field_labels(field, label) -> None:  # type: ignore[no-untyped-def]
    assert _field_label(field) == label


def test_a_403_page_offers_a_way_on(client_as) -> None:  # type: ignore[no-untyped-def]
    r = client_as("fukushima").get("/local-governments/072028/strategy/edit")
    assert r.status_code == 403
    main = main_of(r.text)
    assert "<h1>この操作はできません（権限がありません）</h1>" in main and "次にできること" in main
    assert 'href="/login?next=/local-governments/072028/strategy/edit"' in main
    assert 'href="/local-governments/070009"' in main and 'href="/"' in main


@pytest.mark.parametrize(("path", "label"), [
    ("measures", "施策"), ("kpis", "KPI"), ("issues", "社会課題"),            # a whole section (too many rows)
    ("measures[0].title", "施策1の名称"), ("kpis[2].national_kpi", "KPI3の関連する国のKPI"),
    ("fiscal_year", "対象年度"), ("model_types[3]", "地域ビジョンの類型"), ("nonsense", "入力内容"),
])
def test_the_edit_form_names_every_field_in_japanese(path, label) -> None:  # type: ignore[no-untyped-def]
    from digiden.web.pages.local import field_label_ja
    assert field_label_ja(path) == label
