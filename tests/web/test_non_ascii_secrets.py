"""A non-ASCII character where a secret or check digits are compared is refused like any wrong
value, never a 500 (audit of 2026-11-30: ``hmac.compare_digest`` raises TypeError on str with
non-ASCII characters, so 「é」 in a cursor or a CSRF field answered 500 and logged a traceback).
On both databases: the cursors of the observation listing and the audit trail (422), the CSRF
field of the sign-in form (before anyone is signed in) and of a signed-in form (403)."""

from __future__ import annotations

import pytest

from digiden.domain.text import same_secret


@pytest.mark.sqlite_only
def test_same_secret() -> None:
    assert same_secret("abc", "abc")
    assert not same_secret("abc", "abd")
    assert not same_secret("é", "abc")
    assert not same_secret("AAAA", "\udcff")   # a lone surrogate is compared, not an error
    assert same_secret("会津", "会津")


@pytest.mark.parametrize("path", ["/api/v1/observations?kpi=smart-city-selections&after=AAAA.%C3%A9",
                                  "/api/v1/audit?after=AAAA.%C3%A9"])
def test_a_cursor_with_a_non_ascii_check_is_a_clear_422(client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["message"].startswith("after is not a cursor")
    assert err["message_ja"].startswith("after の値が正しくありません")


def test_sign_in_with_a_non_ascii_csrf_field_is_refused_not_500(anon) -> None:
    anon.get("/login")
    r = anon.post("/login", data={"csrf_token": "é", "username": "admin", "password": "x"},
                  follow_redirects=False)
    assert r.status_code == 403, r.text
    assert "フォームの有効期限が切れたか" in r.text


def test_a_signed_in_form_with_a_non_ascii_csrf_field_is_refused_not_500(client) -> None:
    del client.headers["X-CSRF-Token"]   # the form's field, as a browser sends it
    r = client.post("/logout", data={"csrf_token": "é"}, follow_redirects=False)
    assert r.status_code == 403, r.text
    assert client.get("/api/v1/me").json()["name"] == "admin"   # still signed in
