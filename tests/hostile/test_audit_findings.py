"""What the attack audit of the issue-10 fixes still found, on a real server (each of these was
reproduced against `digiden serve` on SQLite and PostgreSQL, and failed before its fix)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from digiden.services.uow import UnitOfWork
from digiden.store.models import Observation
from tests.conftest import make_client

OBS = {"kpi": "satellite-offices", "org_unit": "072028", "as_of": "2024-03-31", "value": "1",
       "source_title": "試験（合成データ）"}


def count(uow: UnitOfWork) -> int:
    with uow:
        return uow.session.scalar(select(func.count()).select_from(Observation)) or 0


@pytest.mark.parametrize("field", ["source_title", "note", "breakdown"])
def test_a_lone_surrogate_in_json_is_422_not_500(client, uow, field: str) -> None:  # type: ignore[no-untyped-def]
    n = count(uow)
    body = ('{"kpi": "satellite-offices", "org_unit": "072028", "as_of": "2024-03-31", "value": "1", '
            '"source_title": "ok", "' + field + '": "x\\ud800y"}')
    r = client.post("/api/v1/observations", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field and "サロゲート" in r.json()["error"]["message_ja"]
    assert count(uow) == n


@pytest.mark.parametrize("stale", ['"1"', "1.0", "1"])
def test_a_stale_version_is_409_whatever_json_type_it_comes_in(client_as, stale: str) -> None:  # type: ignore[no-untyped-def]
    """"version": "3" or 3.0 was ignored, so a stale save overwrote a newer one."""
    c = client_as("aizu")
    first = c.put("/api/v1/local-strategies/072028", json={"title": "第一版", "fiscal_year": "2025"})
    assert first.status_code == 200 and first.json()["version"] == 1
    newer = c.put("/api/v1/local-strategies/072028", json={"title": "新しい版", "fiscal_year": "2025", "version": 1})
    assert newer.status_code == 200 and newer.json()["version"] == 2
    body = '{"title": "古い版から", "fiscal_year": "2025", "version": ' + stale + '}'
    r = c.put("/api/v1/local-strategies/072028", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 409, r.text
    assert c.get("/api/v1/local-strategies/072028").json()["title"] == "新しい版"


@pytest.mark.parametrize("bad", ['"abc"', "true", "-1", "1.5", '[1]'])
def test_a_version_that_is_not_a_whole_number_is_422(client_as, bad: str) -> None:  # type: ignore[no-untyped-def]
    c = client_as("aizu")
    body = '{"title": "t", "fiscal_year": "2025", "version": ' + bad + '}'
    r = c.put("/api/v1/local-strategies/072028", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "version", r.text


@pytest.mark.parametrize(("field", "value"), [("source_title", "ctl\x01\x1b[31m"), ("note", "n\x07"),
                                              ("breakdown", "\x1b")])
def test_the_observation_api_refuses_control_characters_the_importer_refuses(
        client, uow, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Stored through the API, they made the export impossible to import back."""
    n = count(uow)
    r = client.post("/api/v1/observations", json=OBS | {field: value})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field, r.text
    assert "制御文字" in r.json()["error"]["message_ja"]
    assert count(uow) == n


@pytest.mark.parametrize("body", ["{not json", "[" * 100_000, '{"kpi": '])
def test_a_body_that_is_not_json_is_422_as_documented_not_400(client, body: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/observations", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] and r.json()["error"]["message_ja"]


def test_a_path_written_out_in_full_lists_only_its_own_methods(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.request("OPTIONS", "/api/v1/practices/import")
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_the_observation_limit_documented_is_the_limit_enforced(anon) -> None:  # type: ignore[no-untyped-def]
    spec = anon.get("/openapi.json").json()
    params = spec["paths"]["/api/v1/observations"]["get"]["parameters"]
    limit = next(p for p in params if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 5000
    assert anon.get("/api/v1/observations", params={"limit": 5000}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/imports", "/api/v1/practices/import", "/imports"])
def test_an_upload_from_someone_signed_out_is_refused_before_its_body_is_read(session_factory, path: str) -> None:  # type: ignore[no-untyped-def]
    """Before, up to 200 MB was received and spooled, and only then answered 401."""
    with make_client(session_factory) as c:
        app = c.app
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the edge read the body of a signed-out upload")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for headers in ([], [(b"authorization", b"Bearer dgd_not-a-token")],
                    [(b"cookie", b"digiden_session=forged")]):
        sent.clear()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
                 "headers": [(b"content-type", b"multipart/form-data; boundary=x"),
                             (b"transfer-encoding", b"chunked"), *headers]}
        asyncio.run(app(scope, receive, send))
        assert sent[0]["status"] == 401, (headers, sent)
