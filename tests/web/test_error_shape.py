"""One error shape for every JSON API error: ``{"error": {"code", "message", "message_ja",
"details"}}``, across every /api/v1 operation in /openapi.json.

Each operation is called the ways a client gets it wrong: anonymously where it writes (401),
with ids that do not exist (404), with parameters of the wrong type (422), with a method it does
not take (405). Whatever status comes back, a 4xx answer must be the envelope and nothing else.
The database plays no part in the shape (SQLite only; schemathesis checks the same against the
declared schemas, tests/hostile/test_schemathesis.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.sqlite_only

CODES = {"InvalidInput", "NotFound", "PermissionDenied", "Conflict", "SignInRequired", "TooLarge",
         "MethodNotAllowed", "ServiceBusy", "InternalError"}


def assert_envelope(r: Any, where: str) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/json"), (where, r.status_code, r.text[:200])
    body = r.json()
    assert set(body) == {"error"}, (where, body)
    err = body["error"]
    assert set(err) == {"code", "message", "message_ja", "details"}, (where, err)
    assert err["code"] in CODES, (where, err)
    assert isinstance(err["message"], str) and err["message"], (where, err)
    assert isinstance(err["message_ja"], str) and err["message_ja"], (where, err)
    assert isinstance(err["details"], dict), (where, err)
    return err  # type: ignore[no-any-return]


def operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    spec = app.openapi()
    return [(method.upper(), path, op) for path, item in spec["paths"].items()
            if path.startswith("/api/v1") for method, op in item.items()]


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def test_every_operation_answers_its_errors_in_the_one_shape(anon, client) -> None:  # type: ignore[no-untyped-def]
    ops = operations(anon.app)
    assert len(ops) >= 50
    seen: dict[int, int] = {}
    for method, path, op in ops:
        tries: list[tuple[Any, str, str, dict[str, Any]]] = [
            (anon, method, fill(path, "999999999"), {}),        # no such thing, or sign in first
            (client, method, fill(path, "999999999"), {}),      # no such thing / no body
            (client, method, fill(path, "zz%00"), {}),          # a NUL in the path
        ]
        ints = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"
                and p.get("schema", {}).get("type") == "integer"]
        if ints:
            tries.append((client, method, fill(path, "1"), {ints[0]: "not-a-number"}))
        for c, m, url, params in tries:
            kwargs: dict[str, Any] = {"params": params}
            if m in ("POST", "PUT", "PATCH"):
                kwargs["content"] = b"{"          # not JSON
                kwargs["headers"] = {"content-type": "application/json"}
            r = c.request(m, url, **kwargs)
            if r.status_code < 400:
                continue
            assert r.status_code < 500, (m, url, r.status_code, r.text[:300])
            seen[r.status_code] = seen.get(r.status_code, 0) + 1
            assert_envelope(r, f"{m} {url}")
    # the walk reached the kinds of refusal a client meets
    assert {401, 404, 422} <= set(seen), seen


def test_the_field_and_every_problem_are_in_details(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/observations", params={"limit": "0", "offset": "-1"})
    err = assert_envelope(r, "limit=0&offset=-1")
    assert r.status_code == 422 and err["code"] == "InvalidInput"
    assert err["details"]["field"] == "limit" and "1以上" in err["message_ja"]
    assert [p["field"] for p in err["details"]["problems"]] == ["limit", "offset"]
    assert "input" not in err["details"]["problems"][0]      # what was sent is not echoed back


def test_unknown_endpoint_wrong_method_and_signed_out_write(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and assert_envelope(r, "unknown")["code"] == "NotFound"
    r = anon.patch("/api/v1/kpis")
    assert r.status_code == 405 and assert_envelope(r, "405")["code"] == "MethodNotAllowed"
    r = anon.post("/api/v1/observations", json={"kpi": "x", "as_of": "2024-03-31", "value": 1, "source_title": "s"})
    err = assert_envelope(r, "anonymous write")
    assert r.status_code == 401 and err["code"] == "SignInRequired" and r.headers["www-authenticate"] == "Bearer"


def test_an_import_job_that_failed_reports_its_error_in_the_same_inner_shape() -> None:
    from digiden.domain.errors import InvalidInput
    err = InvalidInput("bad", message_ja="だめです", field="file")
    assert err.envelope() == {"error": {"code": "InvalidInput", "message": "bad", "message_ja": "だめです",
                                        "details": {"field": "file"}}}


def test_the_example_in_docs_api_md_is_what_the_server_answers(client) -> None:  # type: ignore[no-untyped-def]
    import json
    from pathlib import Path
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    example = json.loads(text.split("```json", 1)[1].split("```", 1)[0])
    r = client.get("/api/v1/observations", params={"limit": "0"})
    assert r.status_code == 422 and r.json() == example
