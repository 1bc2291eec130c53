"""Hostile requests at the web edge (web/edge.py): oversized bodies, NUL characters, numbers out
of range, dates out of range, a route that crashes, a stored javascript: URL. Every one is
answered with 413 or 422 in the app's error shape (or a proper 500), never a dropped connection,
and nothing is written."""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update

from digiden.services.uow import UnitOfWork
from digiden.store.models import Observation
from digiden.web.edge import BODY_LIMIT, INT64_MAX

OBS = {"kpi": "smart-city-selections", "as_of": "2024-03-31", "value": "60", "source_title": "国土交通省 発表"}
HUGE = str(INT64_MAX + 1)        # 9223372036854775808


def count(uow: UnitOfWork) -> int:
    with uow:
        return int(uow.session.scalar(select(func.count()).select_from(Observation)) or 0)


def is_api_error(r, status: int, field: str | None = "") -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "message_ja", "details"}, body
    assert body["error"]["message_ja"] and body["error"]["message"]
    if field != "":
        assert body["error"]["details"]["field"] == field, body
    return body  # type: ignore[no-any-return]


# ---------------------------------------------------------------- body size


def test_a_large_json_body_is_refused_by_its_length_before_it_is_read(anon, client, uow) -> None:  # type: ignore[no-untyped-def]
    n = count(uow)
    big = json.dumps(OBS | {"note": "x" * BODY_LIMIT}).encode()
    for c in (anon, client):
        r = c.post("/api/v1/observations", content=big, headers={"content-type": "application/json"})
        body = is_api_error(r, 413)
        assert "大きすぎます" in body["error"]["message_ja"] and "1 MB" in body["error"]["message_ja"]
    r = anon.post("/login", data={"username": "x" * BODY_LIMIT, "password": "p"})
    assert r.status_code == 413 and "大きすぎます" in r.text and r.headers["content-type"].startswith("text/html")
    assert count(uow) == n


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"a" * min(size, total - sent)
        sent += size


def test_a_large_chunked_body_is_refused_while_it_streams(client, uow) -> None:  # type: ignore[no-untyped-def]
    n = count(uow)
    # a generator has no length: httpx sends it chunked, so only counting can catch it
    r = client.post("/api/v1/observations", content=chunks(BODY_LIMIT + 1),
                    headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    is_api_error(r, 413)
    assert count(uow) == n


def multipart(total: int) -> Iterator[bytes]:
    yield (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
           b"Content-Type: text/csv\r\n\r\n")
    yield from chunks(total)
    yield b"\r\n--xyz--\r\n"


def test_an_oversized_chunked_upload_answers_413_not_400(client) -> None:  # type: ignore[no-untyped-def]
    headers = {"content-type": "multipart/form-data; boundary=xyz"}
    r = client.post("/api/v1/imports", content=multipart(3 * 1024 * 1024), headers=headers)
    body = is_api_error(r, 413, "file")
    assert "ファイルが大きすぎます" in body["error"]["message_ja"]
    r = client.post("/imports", content=multipart(3 * 1024 * 1024), headers=headers)
    assert r.status_code == 413 and "大きすぎます" in r.text


def test_bodies_within_the_limit_still_work(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/observations", json=OBS | {"note": "x" * 400})
    assert r.status_code == 201, r.text


# ---------------------------------------------------------------- NUL characters


def test_nul_in_the_path_or_query_is_422(anon) -> None:  # type: ignore[no-untyped-def]
    is_api_error(anon.get("/api/v1/kpis/abc%00def"), 422)
    is_api_error(anon.get("/api/v1/local-governments", params={"q": "a\x00b"}), 422)
    is_api_error(anon.get("/api/v1/observations", params={"kpi": "\x00"}), 422)
    for url in ("/kpis/abc%00def", "/local-governments?q=%00", "/search?q=a%00"):
        r = anon.get(url)
        assert r.status_code == 422 and "NUL文字" in r.text, url
        assert r.headers["content-type"].startswith("text/html")


def test_nul_in_a_sign_in_form_is_422(anon) -> None:  # type: ignore[no-untyped-def]
    anon.get("/login")
    r = anon.post("/login", data={"username": "admin\x00", "password": "x", "csrf_token": "x"})
    assert r.status_code == 422 and "NUL文字" in r.text


def test_nul_in_json_is_422_and_names_the_field(client, uow) -> None:  # type: ignore[no-untyped-def]
    n = count(uow)
    is_api_error(client.post("/api/v1/observations", json=OBS | {"source_title": "a\x00b"}), 422, "source_title")
    is_api_error(client.put("/api/v1/local-strategies/072028",
                            json={"title": "t", "issues": [{"title": "\x00"}]}), 422, "issues[0].title")
    assert count(uow) == n


def test_nul_in_a_multipart_form_field_is_422(client_as) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    r = c.post("/practices/new", files={"title": (None, "a\x00b"), "problem": (None, "p")})
    assert r.status_code == 422 and "NUL文字" in r.text


# ---------------------------------------------------------------- numbers out of range


@pytest.mark.parametrize("url", [
    f"/api/v1/collaboration-groups/{HUGE}",
    f"/api/v1/audit?batch={HUGE}",
    f"/api/v1/observations?offset={HUGE}",
    "/api/v1/observations?offset=-1",
    "/api/v1/observations?limit=-1",
    f"/api/v1/observations?limit={HUGE}",
    f"/api/v1/local-strategies/072028?revision={HUGE}",
    f"/api/v1/local-strategies/072028/diff?a=1&b={HUGE}",
    "/api/v1/partners?issue=mobility&within_km=nan",
    "/api/v1/partners?issue=mobility&within_km=inf",
])
def test_api_numbers_out_of_range_are_422(client, url: str) -> None:  # type: ignore[no-untyped-def]
    is_api_error(client.get(url), 422)


def test_api_ids_out_of_range_in_writes_are_422(client) -> None:  # type: ignore[no-untyped-def]
    is_api_error(client.post(f"/api/v1/tokens/{HUGE}/revoke"), 422)
    is_api_error(client.post(f"/api/v1/local-strategies/072028/revisions/{HUGE}/actions",
                             json={"action": "submit"}), 422)
    is_api_error(client.post("/api/v1/local-strategies/072028/revisions/1/actions",
                             json={"action": "submit", "version": int(HUGE)}), 422)


@pytest.mark.parametrize("url", [
    f"/local-governments?page={HUGE}", "/local-governments?page=0",
    f"/practices?page={HUGE}", f"/audit?batch={HUGE}", f"/collaboration/groups/{HUGE}",
    f"/local-governments/072028/strategy?revision={HUGE}",
    f"/local-governments/072028/strategy/diff?a={HUGE}&b=1",
    f"/kpis/5g-population-coverage?saved={HUGE}",
])
def test_page_numbers_out_of_range_are_422(client, url: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get(url)
    assert r.status_code == 422, (url, r.status_code, r.text[:200])


@pytest.mark.parametrize("raw", ['NaN', 'Infinity', '-Infinity', '1e999', HUGE, "-" + HUGE])
def test_non_finite_or_huge_json_numbers_are_422_and_nothing_is_written(client, uow, raw: str) -> None:  # type: ignore[no-untyped-def]
    n = count(uow)
    body = json.dumps(OBS)[:-1] + f', "value": {raw}' + "}"
    is_api_error(client.post("/api/v1/observations", content=body,
                             headers={"content-type": "application/json"}), 422)
    assert count(uow) == n


def test_a_local_kpi_of_nan_is_422(client_as, uow) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    body = ('{"title": "会津若松市デジタル田園都市構想", "fiscal_year": "2024", '
            '"kpis": [{"name": "利用者数", "unit": "人", "baseline": NaN, "target": 100}]}')
    r = c.put("/api/v1/local-strategies/072028", content=body, headers={"content-type": "application/json"})
    is_api_error(r, 422)
    with uow:
        from digiden.store.models import LocalKpi
        assert uow.session.scalar(select(func.count()).select_from(LocalKpi)) == 0


def test_a_tampered_form_version_is_422(client_as) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    r = c.post("/local-governments/072028/strategy", data={"title": "t", "version": HUGE})
    assert r.status_code == 422 and "版番号" in r.text


@pytest.mark.parametrize("as_of", ["0001-01-01", "1899-12-31", "2201-01-01", "9999-12"])
def test_dates_out_of_range_are_422(client, uow, as_of: str) -> None:  # type: ignore[no-untyped-def]
    n = count(uow)
    body = is_api_error(client.post("/api/v1/observations", json=OBS | {"as_of": as_of}), 422)
    assert "1900" in body["error"]["message_ja"] and "2200" in body["error"]["message_ja"]
    is_api_error(client.get("/api/v1/observations", params={"from": as_of}), 422, "date_from")
    assert count(uow) == n


# ---------------------------------------------------------------- stored javascript: URLs


def test_a_stored_javascript_url_is_never_a_link(client, uow) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/observations", json=OBS | {"source_url": "https://www.mlit.go.jp/x",
                                                        "source_title": "出典XSS"})
    assert r.status_code == 201, r.text
    for bad in ("javascript:alert(7)", " JavaScript:alert(7)", "data:text/html,<script>alert(7)</script>",
                "//evil.example/x", "vbscript:x"):
        with uow:
            uow.session.execute(update(Observation).where(Observation.source_title == "出典XSS")
                                .values(source_url=bad))
            uow.commit()
        page = client.get("/kpis/smart-city-selections").text
        assert "出典XSS" in page
        assert 'href="javascript' not in page.lower() and 'href=" javascript' not in page.lower()
        assert 'href="data:' not in page and 'href="//evil' not in page and "vbscript" not in page
    with uow:
        uow.session.execute(update(Observation).where(Observation.source_title == "出典XSS")
                            .values(source_url="https://www.mlit.go.jp/x"))
        uow.commit()
    assert 'href="https://www.mlit.go.jp/x"' in client.get("/kpis/smart-city-selections").text


# ---------------------------------------------------------------- a crash in the middle


@pytest.fixture(scope="module")
def crashing_server(live_db):  # type: ignore[no-untyped-def]
    from tests.live import LiveServer
    server = LiveServer(live_db.session_factory)

    @server.app.get("/api/v1/test-crash", include_in_schema=False)
    def crash_api() -> None:
        raise RuntimeError("boom in the API")

    @server.app.get("/test-crash", include_in_schema=False)
    def crash_page() -> None:
        raise RuntimeError("boom in a page")

    with server:
        yield server


def test_an_unexpected_error_is_a_proper_500_and_the_connection_stays_usable(
        crashing_server, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", crashing_server.port, timeout=10)
    with caplog.at_level(logging.ERROR, logger="digiden.web"):
        conn.request("GET", "/api/v1/test-crash")
        r = conn.getresponse()
        body = json.loads(r.read())
        deadline = time.monotonic() + 5     # logged by the server thread once the answer is out
        while "boom in the API" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert r.status == 500 and body["error"]["code"] == "InternalError" and body["error"]["message_ja"]
    assert set(body["error"]) == {"code", "message", "message_ja", "details"}
    assert r.getheader("x-frame-options") == "DENY" and r.getheader("x-content-type-options") == "nosniff"
    assert "boom in the API" in caplog.text and "Traceback" in caplog.text
    sock = conn.sock
    conn.request("GET", "/test-crash")          # the same keep-alive connection
    r = conn.getresponse()
    page = r.read().decode()
    assert conn.sock is sock
    assert r.status == 500 and "サーバー内部でエラー" in page and r.getheader("content-security-policy")
    conn.request("GET", "/api/v1/kpis")         # and it still serves
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read())
    assert conn.sock is sock
    conn.close()


# ---------------------------------------------------------------- the domain rules behind them


@pytest.mark.parametrize("text", ["0001-01-01", "1899-12-31", "2201-01", "0001/3末", "FY1800", "明治20年",
                                  "9999年3月"])
def test_periods_and_dates_outside_1900_to_2200_are_refused(text: str) -> None:
    from digiden.domain.calendar import parse_as_of
    from digiden.domain.errors import InvalidInput
    from digiden.domain.periods import parse_period
    for parse in (parse_as_of, parse_period):
        with pytest.raises(InvalidInput) as e:
            parse(text)
        assert "1900" in e.value.message_ja or "読めません" in e.value.message_ja
    assert parse_as_of("1900-01-01").date.year == 1900 and parse_period("2200年12月末").date.year == 2200


@pytest.mark.parametrize(("url", "ok"), [
    ("https://www.digital.go.jp/", True), ("http://example.jp/a?b=c", True),
    ("javascript:alert(7)", False), ("JAVASCRIPT:alert(7)", False), (" javascript:alert(7)", False),
    ("java\tscript:alert(7)", False), ("data:text/html,x", False), ("//evil.example/", False),
    ("/relative", False), ("https://", False), ("", False), (None, False), ("https://a.jp/\x00", False),
])
def test_only_http_urls_become_links(url: str | None, ok: bool) -> None:
    from digiden.domain.text import http_url
    assert (http_url(url) is not None) is ok


def test_local_kpi_numbers_must_be_finite() -> None:
    from digiden.domain.errors import InvalidInput
    from digiden.domain.local import finite_number
    assert finite_number(1.5, field="kpis[0].baseline", label_ja="基準値") == 1.5
    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(InvalidInput) as e:
            finite_number(bad, field="kpis[0].baseline", label_ja="基準値")
        assert e.value.field == "kpis[0].baseline" and "有限" in e.value.message_ja
