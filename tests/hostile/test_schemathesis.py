"""Schemathesis over /openapi.json as three principals: anonymous, a national administrator
(token) and municipality staff (token). Every generated request must be answered without a
server error and with a response that matches the documented status codes and schemas.

SQLite only (the edge and the routes are the same on both databases; the database-specific
failures have their own tests), on a database of this module's own (``live_db``), so that what
schemathesis writes does not reach other tests. Derandomized: the same examples on every run.
Sized to run in about a minute; raise ``DIGIDEN_SCHEMATHESIS_EXAMPLES`` for a deeper run."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("DIGIDEN_SCHEMATHESIS_EXAMPLES", "4"))
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
# Operations whose answers are binary or slow to build and carry no parameters worth fuzzing
SKIP = {"/api/v1/menubook.pdf"}


# SQLite only (see the module docstring): the PostgreSQL database is never built for this module
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def fuzz_db(live_db):  # type: ignore[no-untyped-def]
    return live_db


@pytest.fixture(scope="module")
def app(fuzz_db):  # type: ignore[no-untyped-def]
    from digiden.web.app import create_app
    from tests.conftest import fixed_clock
    return create_app(fuzz_db.session_factory, clock=fixed_clock, inline_jobs=True,
                      max_upload_bytes=2 * 1024 * 1024, secure_cookies=False)


@pytest.fixture(scope="module")
def principals(fuzz_db) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    from digiden.domain.access import system
    from digiden.services.local import accounts
    from digiden.services.uow import UnitOfWork
    factory = fuzz_db.session_factory
    setup = system("schemathesis-setup")
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, role, org in (("fuzz-admin", "national_admin", ""), ("fuzz-aizu", "municipality_staff", "072028")):
        accounts.create_user(UnitOfWork(factory), setup, username=name, password="correct horse battery",
                             role=role, org_unit=org, now=NOW)
        secret, _ = accounts.create_token(UnitOfWork(factory), setup, username=name, name="fuzz",
                                          scopes="read write", now=NOW)
        headers[role] = {"Authorization": f"Bearer {secret}"}
    return headers


@pytest.fixture(scope="module")
def api_schema(app):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_asgi("/openapi.json", app)


CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance,
          response_headers_conformance]
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])


def runner(op, headers: dict[str, str], checks: list[object]):  # type: ignore[no-untyped-def]
    @given(case=op.as_strategy())
    @FUZZ
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=checks)
    return run


def fuzz(api_schema, headers: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Every operation, EXAMPLES generated requests each; the failures, one line each."""
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        op = result.ok()
        if op.path in SKIP:
            continue
        checks = CHECKS

        try:
            runner(op, headers, checks)()
        except (Exception, BaseExceptionGroup) as e:     # collected, reported together below
            first = str(e).strip().splitlines()
            failures.append(f"{op.method.upper()} {op.path}: {' | '.join(first[:6])[:600]}")
    return failures


@pytest.mark.timeout(600)
@pytest.mark.parametrize("who", ["anonymous", "national_admin", "municipality_staff"])
def test_api_contract_holds_for(api_schema, principals, who: str) -> None:  # type: ignore[no-untyped-def]
    failures = fuzz(api_schema, principals[who])
    assert not failures, "\n".join(failures)


def test_a_wrong_method_lists_every_allowed_one(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    with TestClient(app) as c:
        r = c.patch("/api/v1/observations")
        assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
        assert r.json()["error"]["code"] == "MethodNotAllowed" and "PATCH" in r.json()["error"]["message_ja"]
        r = c.delete("/api/v1/local-strategies/072028")
        assert r.status_code == 405 and r.headers["allow"] == "GET, PUT"
        r = c.delete("/")
        assert r.status_code == 405 and r.headers["allow"] == "GET" and "使えません" in r.text


def test_every_api_error_status_is_documented_in_the_error_shape(api_schema) -> None:  # type: ignore[no-untyped-def]
    spec = api_schema.raw_schema
    schemas = spec["components"]["schemas"]
    assert set(schemas["ErrorOut"]["properties"]) == {"error"} and schemas["ErrorOut"]["required"] == ["error"]
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "message_ja", "details"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for status in ("401", "403", "404", "409", "413", "422", "503"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                if (method, path, status) == ("post", "/api/v1/imports", "422"):
                    # the same shape, with the report of every problem of every row in details
                    assert ref.endswith("/ImportFailedOut")
                    continue
                assert ref.endswith("/ErrorOut"), (method, path, status)
