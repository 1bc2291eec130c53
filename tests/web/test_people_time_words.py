"""Issue 13 §3, people's time and words, and search: times in Japan time, audit actions in
Japanese, organisations (not logins) for the public, an inbox count that is its items, KPIs
found by search, an empty search that says so, and no difference between a published total
and a count of records."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from digiden.domain.access import PUBLIC
from digiden.domain.labels import AUDIT_ACTIONS_JA, SYSTEM_ACTOR_JA, audit_action_ja
from digiden.services.local import local_strategies as ls
from digiden.services.local.actors import public_actor_labels
from digiden.services.uow import UnitOfWork
from digiden.web.templating import env
from tests.conftest import FIXED_NOW

LEVEL4 = "level4-autonomous-mobility"
SAVE = "/local-governments/072028/strategy"


def _render(source: str, **ctx: object) -> str:
    return env.from_string(source).render(**ctx)


# ---------------------------------------------------------------- Japan time

@pytest.mark.sqlite_only
def test_a_utc_time_is_shown_in_japan_time() -> None:
    assert _render("{{ t|dt }}", t=datetime(2026, 11, 30, 5, 5, tzinfo=UTC)) == "2026年11月30日 14:05"
    # past midnight in Japan: the date moves on too; a naive time (SQLite) is UTC
    assert _render("{{ t|dt }}", t=datetime(2026, 11, 30, 15, 30)) == "2026年12月1日 00:30"
    assert _render("{{ t|dt }}", t=None) == "—"


def test_pages_show_stored_times_in_japan_time_and_the_api_keeps_iso(anon, client) -> None:  # type: ignore[no-untyped-def]
    # the reference observations were written at FIXED_NOW, 09:00 UTC = 18:00 in Japan
    assert FIXED_NOW.hour == 9
    page = anon.get(f"/kpis/{LEVEL4}").text
    assert "2026年11月29日 18:00" in page and "2026-11-29 09:00" not in page
    audit = client.get("/audit").text
    assert "2026年11月29日 18:00" in audit and "UTC" not in audit
    api = client.get("/api/v1/audit").json()
    events = api if isinstance(api, list) else api.get("events", api.get("items", []))
    # the API is for machines: ISO 8601 in UTC as stored, not converted
    assert events and all(e["at"].startswith("2026-11-29T09:00:00") for e in events)


# ---------------------------------------------------------------- audit actions in Japanese

@pytest.mark.sqlite_only
def test_every_action_the_services_record_has_a_japanese_label() -> None:
    assert audit_action_ja("observation.create") == "実績値の登録"
    assert audit_action_ja("submit", "local_strategy") == "地方版総合戦略の提出"
    assert audit_action_ja("create", "api_token") == "APIトークンの発行"
    assert audit_action_ja("revoke", "api_token") == "APIトークンの失効"
    assert audit_action_ja("practice.publish", "practice") == "優良事例の公開"
    assert audit_action_ja("something.new") == "something.new"        # unknown: the key, not nothing
    assert all(re.search(r"[ぁ-んァ-ヶ一-龥]", v) for v in AUDIT_ACTIONS_JA.values())


def test_the_audit_page_shows_japanese_actions_and_keeps_the_key_for_machines(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/audit").text
    cells = re.findall(r'<span title="([^"]+)" data-action="\1">([^<]+)</span>', html)
    assert cells, "no action cells"
    for key, label in cells:
        assert label != key and re.search(r"[ぁ-んァ-ヶ一-龥]", label), (key, label)
    assert ("observation.create", "実績値の登録") in cells


# ---------------------------------------------------------------- the public sees organisations

def test_the_public_sees_organisations_staff_see_names(session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    labels = public_actor_labels(UnitOfWork(session_factory), ["aizu", "fukushima", "ministry", "admin", "cli"])
    assert labels["aizu"] == "福島県会津若松市" and labels["fukushima"] == "福島県"
    assert labels["ministry"] == "総務省" and "デジタル庁" in labels["admin"]
    assert labels["cli"] == SYSTEM_ACTOR_JA
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(session_factory=session_factory)),
                              state=SimpleNamespace())
    for name in ("aizu", "cli", "reference-data"):
        shown = _render("{{ n|actor }}", n=name, me=PUBLIC, request=request)
        assert name not in shown and shown
    assert _render("{{ n|actor }}", n="aizu", me=accounts["admin"], request=request) == "aizu"


def test_the_audit_page_is_for_staff_only(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/audit", follow_redirects=False)
    assert r.status_code in (302, 303, 401) or "サインイン" in r.text
    assert "reference-data" not in r.text and "observation.create" not in r.text


def test_an_anonymous_kpi_page_shows_no_login_as_the_author(anon) -> None:  # type: ignore[no-untyped-def]
    page = anon.get(f"/kpis/{LEVEL4}").text
    assert "reference-data" not in page and not re.search(r">\s*cli\s*<", page)
    assert SYSTEM_ACTOR_JA in page                   # the reference loader, as the public may read it


# ---------------------------------------------------------------- the inbox

def _header_count(html: str) -> int:
    m = re.search(r'<span class="count"[^>]*>(\d+)</span>', html)
    return int(m.group(1)) if m else 0


def _page_items(html: str) -> int:
    m = re.search(r"対応待ち <strong>(\d+)件</strong>・未読の通知 <strong>(\d+)件</strong>", html)
    assert m, html
    return int(m.group(1)) + int(m.group(2))


def test_the_inbox_count_is_its_items_and_a_done_request_disappears(client_as, session_factory,  # type: ignore[no-untyped-def]
                                                                     accounts) -> None:
    aizu, fukushima = client_as("aizu"), client_as("fukushima")
    assert aizu.post(SAVE, data={"title": "会津若松市 戦略", "fiscal_year": "R6"},
                     follow_redirects=False).status_code == 303
    ls.act(UnitOfWork(session_factory), accounts["aizu"], "072028", 1, "submit", now=FIXED_NOW)
    page = fukushima.get("/inbox").text
    assert _page_items(page) == _header_count(page) >= 2          # the revision to review + its notice
    assert "が提出されました。確認してください" in page
    ls.act(UnitOfWork(session_factory), accounts["fukushima"], "072028", 1, "approve", now=FIXED_NOW)
    page = fukushima.get("/inbox").text
    assert "が提出されました。確認してください" not in page         # done: the request is gone
    assert _page_items(page) == _header_count(page)
    nation = client_as("admin").get("/inbox").text
    assert "受理を判断してください" in nation and _page_items(nation) == _header_count(nation) >= 2
    for c in (aizu, fukushima):
        html = c.get("/about").text
        assert _header_count(html) == _page_items(c.get("/inbox").text)


# ---------------------------------------------------------------- search

def test_search_finds_the_level4_kpi(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/search", params={"q": "自動運転"}).text
    assert f'href="/kpis/{LEVEL4}"' in html
    body = anon.get("/api/v1/search", params={"q": "自動運転"}).json()
    assert any(r["kind"] == "kpi" and r["id"] == LEVEL4 and r["url"] == f"/kpis/{LEVEL4}" for r in body["results"])
    assert "kpi" in {f["value"] for f in body["facets"]["kind"]}


@pytest.mark.parametrize("q", ["空き家", "買い物弱者"])
def test_an_empty_search_says_so_plainly_and_offers_fields(anon, q) -> None:  # type: ignore[no-untyped-def]
    part = anon.get("/search", params={"q": q}, headers={"HX-Request": "true"}).text
    assert "見つかりませんでした" in part
    assert "<ol" not in part and "<li class=\"muted\">見つかりませんでした" not in part   # not item 「1.」
    offered = re.findall(r'href="/search\?(?:pillar|field)=([^"]+)"', part)
    assert offered                                               # somewhere to go next
    first = anon.get(f"/search?pillar={offered[0]}").text
    assert "見つかりませんでした" not in first


def test_a_query_near_a_field_name_offers_that_field(anon) -> None:  # type: ignore[no-untyped-def]
    part = anon.get("/search", params={"q": "観光ＤＸｘｘｑｑ"}, headers={"HX-Request": "true"}).text
    if "見つかりませんでした" in part:
        assert "名前の近い分野" in part and "観光DX" in part


# ---------------------------------------------------------------- a published total and a count

def test_the_facts_page_shows_both_numbers_and_no_difference(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/kpis/digital-implementation/local").text
    assert "全国の公表値" in html and "digidenの記録から数えた団体" in html
    assert "差" not in re.sub(r"差は比べられないため示しません", "", html)
    assert "集計値 − 公表値" not in html


def test_an_accepted_strategy_shows_the_public_organisations_not_logins(client_as, anon, session_factory,  # type: ignore[no-untyped-def]
                                                                          accounts) -> None:
    aizu = client_as("aizu")
    assert aizu.post(SAVE, data={"title": "会津若松市 戦略", "fiscal_year": "R6"},
                     follow_redirects=False).status_code == 303
    for who, action in (("aizu", "submit"), ("fukushima", "approve"), ("admin", "accept")):
        ls.act(UnitOfWork(session_factory), accounts[who], "072028", 1, action, now=FIXED_NOW)
    page = anon.get("/local-governments/072028/strategy").text
    assert "会津若松市 戦略" in page
    for login in ("aizu", "fukushima", "admin"):
        assert not re.search(rf"[>\s（]{login}[:：<\s・]", page), login
    staff = aizu.get("/local-governments/072028/strategy").text
    assert re.search(r"[>\s（]aizu[:：<\s・]", staff)             # staff still see who did it


def test_the_sign_in_link_keeps_the_query(anon) -> None:  # type: ignore[no-untyped-def]
    page = anon.get("/measures", params={"field": "P4", "q": "交通"}).text
    link = re.search(r'href="(/login\?next=[^"]+)"', page)
    assert link is not None
    from urllib.parse import parse_qs, urlsplit
    nxt = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)["next"][0]
    assert nxt.startswith("/measures?") and "field=P4" in nxt and "q=" in nxt
