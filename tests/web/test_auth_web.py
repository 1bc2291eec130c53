"""Sign-in, sessions, CSRF, tokens and abuse through the web, and the approval cycle as people
click through it. Both databases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from digiden.domain.access import system
from digiden.services.local import accounts as acc
from digiden.services.local import local_strategies as ls
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW as NOW
from tests.conftest import PASSWORD, make_client, sign_in

# the web's handling of sessions; sessions and tokens in the database: tests/services/test_accounts.py
pytestmark = pytest.mark.sqlite_only


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]  # type: ignore[index]


def test_session_cookie_is_httponly_samesite_and_secure_over_https(session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from digiden.web.app import create_app
    from tests.conftest import fixed_clock
    with TestClient(create_app(session_factory, clock=fixed_clock), base_url="https://testserver") as c:
        page = c.get("/login")
        r = c.post("/login", data={"username": "aizu", "password": PASSWORD, "csrf_token": form_token(page.text)},
                   follow_redirects=False)
        cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("digiden_session=")][0].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie and "path=/" in cookie


def test_sign_in_then_out_and_wrong_password_is_japanese(anon, accounts) -> None:  # type: ignore[no-untyped-def]
    page = anon.get("/login")
    bad = anon.post("/login", data={"username": "aizu", "password": "nope", "csrf_token": form_token(page.text)})
    assert bad.status_code == 401 and "ユーザー名またはパスワードが正しくない" in bad.text
    sign_in(anon, "aizu")
    assert anon.get("/api/v1/me").json()["org_unit"] == "072028"
    home = anon.get("/").text
    assert "サインアウト" in home and "aizu（市区町村の職員・072028）" in home
    anon.post("/logout")
    assert anon.get("/api/v1/me").json()["signed_in"] is False


def test_sign_in_form_without_its_token_is_refused(anon, accounts) -> None:  # type: ignore[no-untyped-def]
    anon.get("/login")
    r = anon.post("/login", data={"username": "aizu", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403 and "不正な送信" in r.text
    assert anon.get("/api/v1/me").json()["signed_in"] is False


def test_after_sign_in_only_local_paths_are_followed(anon, accounts) -> None:  # type: ignore[no-untyped-def]
    page = anon.get("/login?next=https://evil.example/")
    assert 'value="/"' in page.text
    r = anon.post("/login", data={"username": "aizu", "password": PASSWORD, "csrf_token": form_token(page.text),
                                  "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_forged_or_missing_csrf_token_writes_nothing(client_as, session_factory) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    real = c.headers.pop("X-CSRF-Token")
    body = {"title": "会津若松市 戦略", "fiscal_year": "R6"}
    assert c.put("/api/v1/local-strategies/072028", json=body).status_code == 403
    assert c.put("/api/v1/local-strategies/072028", json=body, headers={"X-CSRF-Token": "x" + real}).status_code == 403
    r = c.post("/local-governments/072028/strategy", data=body | {"csrf_token": "forged"})
    assert r.status_code == 403 and "不正な送信" in r.text
    assert c.get("/api/v1/local-strategies/072028").status_code == 404   # nothing was saved
    r = c.post("/local-governments/072028/strategy", data=body | {"csrf_token": real}, follow_redirects=False)
    assert r.status_code == 303


def test_expired_or_tampered_session_is_anonymous(client_as, session_factory) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    secret = c.cookies.get("digiden_session")
    c.cookies.clear()
    c.cookies.set("digiden_session", secret[:-2] + ("zz" if not secret.endswith("zz") else "yy"))
    assert c.get("/api/v1/me").json()["signed_in"] is False
    assert c.get("/audit", follow_redirects=False).headers["location"] == "/login?next=/audit"
    later = make_client(session_factory, clock=lambda: NOW + acc.SESSION_TTL + timedelta(seconds=1))
    with later:
        later.cookies.set("digiden_session", secret)
        assert later.get("/api/v1/me").json()["signed_in"] is False
        assert later.put("/api/v1/local-strategies/072028", json={}).status_code == 401


def test_bearer_tokens_read_only_tokens_cannot_write_and_bad_tokens_are_401(anon, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    uow = UnitOfWork(session_factory)
    ro, _ = acc.create_token(uow, system("t"), username="aizu", name="ro", scopes="read", now=NOW)
    rw, view = acc.create_token(uow, system("t"), username="aizu", name="rw", scopes="read write", now=NOW)
    body = {"title": "会津若松市 戦略", "fiscal_year": "2024年度"}
    r = anon.put("/api/v1/local-strategies/072028", json=body, headers={"Authorization": f"Bearer {ro}"})
    assert r.status_code == 403
    r = anon.put("/api/v1/local-strategies/072028", json=body, headers={"Authorization": f"Bearer {rw}"})
    assert r.status_code == 200 and r.json()["status"] == "draft"   # no CSRF needed: no cookie
    bad = anon.get("/api/v1/me", headers={"Authorization": "Bearer dgd_nonsense"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    acc.revoke_token(uow, system("t"), view.id, now=NOW)
    assert anon.get("/api/v1/me", headers={"Authorization": f"Bearer {rw}"}).status_code == 401


def test_html_in_free_text_is_escaped_everywhere(client_as, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = c.put("/api/v1/local-strategies/072028", json={
        "title": evil, "fiscal_year": "R6", "vision": evil, "issues": [{"field": "P4.2", "text": evil}],
        "measures": [{"title": evil, "description": evil}], "kpis": [{"name": evil}]})
    assert r.status_code == 200
    # accept revision 1, then draft a revision 2 whose changes carry the same text, so the diff shows it
    uow = UnitOfWork(session_factory)
    ls.act(uow, accounts["aizu"], "072028", 1, "submit", now=NOW)
    ls.act(uow, accounts["fukushima"], "072028", 1, "approve", now=NOW)
    ls.act(uow, accounts["admin"], "072028", 1, "accept", now=NOW)
    assert c.put("/api/v1/local-strategies/072028", json={
        "title": evil + "2", "fiscal_year": "R7", "vision": evil + "2"}).json()["revision"] == 2
    for path in ("/local-governments/072028/strategy", "/local-governments/072028/strategy/edit",
                 "/local-strategies", "/local-governments/072028/strategy/diff?a=1&b=2",
                 "/local-governments/072028/strategy?revision=1"):
        html = c.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;" in html, path


def test_over_long_fields_are_refused_in_japanese_with_the_field(client_as) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    r = c.post("/local-governments/072028/strategy", data={"title": "長" * 201, "fiscal_year": "R6"})
    assert r.status_code == 422 and "200文字以内" in r.text and 'href="#f-title"' in r.text
    assert "長" * 201 in r.text      # the input stays in the form
    r = c.put("/api/v1/local-strategies/072028", json={"title": "x", "fiscal_year": "R6", "vision": "v" * 5000})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "vision"


def test_two_people_edit_the_same_draft_the_second_is_told_and_keeps_their_input(client_as, accounts) -> None:  # type: ignore[no-untyped-def]
    a, b = client_as("aizu"), client_as("admin")
    a.put("/api/v1/local-strategies/072028", json={"title": "会津若松市 戦略", "fiscal_year": "R6"})
    form_a, form_b = a.get("/local-governments/072028/strategy/edit").text, b.get(
        "/local-governments/072028/strategy/edit").text
    va = re.search(r'name="version" value="(\d+)"', form_a)[1]  # type: ignore[index]
    vb = re.search(r'name="version" value="(\d+)"', form_b)[1]  # type: ignore[index]
    assert va == vb
    ok = a.post("/local-governments/072028/strategy", data={"title": "Aの案", "fiscal_year": "令和6年度",
                                                             "version": va}, follow_redirects=False)
    assert ok.status_code == 303
    late = b.post("/local-governments/072028/strategy", data={"title": "Bの案", "fiscal_year": "令和6年度",
                                                               "vision": "Bが書いた長い文章", "version": vb})
    assert late.status_code == 409 and "他の人が" in late.text and "Bが書いた長い文章" in late.text
    assert a.get("/api/v1/local-strategies/072028").json()["title"] == "Aの案"


def test_the_cycle_through_the_pages(client_as, accounts) -> None:  # type: ignore[no-untyped-def]
    aizu, pref, nation, public = client_as("aizu"), client_as("fukushima"), client_as("admin"), client_as("public")
    r = aizu.post("/local-governments/072028/strategy", data={
        "title": "会津若松市 デジタル田園都市国家構想総合戦略", "fiscal_year": "令和6年度", "vision": "データで便利に",
        "model_types": ["smart-city"], "measures-0-title": "オンライン診療", "measures-0-field": "P4.2",
        "measures-0-digital": "1", "measures-0-state": "in_place", "measures-0-start_year": "令和5年度",
        "measures-0-support": "digiden_grant", "kpis-0-name": "オンライン診療の件数", "kpis-0-unit": "件",
        "kpis-0-target": "1,200", "kpis-0-target_year": "R9"}, follow_redirects=True)
    assert "下書きを保存しました" in r.text and "2023年度" in r.text and "1,200件" in r.text
    assert public.get("/local-governments/072028/strategy", follow_redirects=False).status_code == 404
    r = aizu.post("/local-governments/072028/strategy/1/actions", data={"action": "submit"}, follow_redirects=True)
    assert "提出しました" in r.text
    assert 'aria-label="対応待ち・未読 2件"' in pref.get("/").text   # the submission and its notice
    assert "会津若松市" in pref.get("/inbox").text
    r = pref.post("/local-governments/072028/strategy/1/actions", data={"action": "return"})
    assert r.status_code == 422 and "コメントを入力してください" in r.text
    pref.post("/local-governments/072028/strategy/1/actions", data={"action": "approve"})
    r = nation.post("/local-governments/072028/strategy/1/actions", data={"action": "accept"}, follow_redirects=True)
    assert "受理しました" in r.text and "ロックされています" in r.text
    assert "オンライン診療" in public.get("/local-governments/072028/strategy").text
    kpi = public.get("/kpis/digital-implementation").text
    assert "地方公共団体の記録から集計" in kpi and "公表値 1,000団体" in kpi
    drill = public.get("/kpis/digital-implementation/local").text
    assert "福島県会津若松市" in drill and "福島県: 1団体（60団体中）" in drill
