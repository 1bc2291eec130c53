"""Fixtures: every database test runs on SQLite and on the PostgreSQL at 127.0.0.1:5432.

Each backend is migrated and loaded with the reference data once per session; each test then
runs inside an outer transaction that is rolled back at the end (services commit to a
savepoint), so tests are isolated and fast. Under CI=true an unreachable PostgreSQL fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.reference import init_reference_data
from digiden.services.uow import UnitOfWork
from digiden.store.db import make_engine, make_session_factory
from digiden.store.migrate import upgrade

FIXED_NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
PG_URL = os.environ.get("DIGIDEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fixed_clock() -> datetime:
    return FIXED_NOW


def _prepare(engine: Engine) -> Engine:
    upgrade(engine)
    init_reference_data(UnitOfWork(make_session_factory(engine)), actor="reference-data",
                        now=FIXED_NOW)
    return engine


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("db") / "digiden.sqlite3"
    engine = _prepare(make_engine(f"sqlite:///{path}"))
    yield engine
    engine.dispose()


def pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def pg_available() -> str | None:
    """None if PostgreSQL answers, else the reason it does not."""
    try:
        e = make_engine(PG_URL)
        with e.connect() as c:
            c.execute(text("select 1"))
        e.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def require_pg() -> None:
    reason = pg_available()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is required under CI=true: {reason}")
        pytest.skip(f"PostgreSQL not reachable: {reason}")


class PgSchema:
    """A throwaway schema in the `test` database, dropped afterwards."""

    def __init__(self) -> None:
        self.name = f"digiden_t_{uuid.uuid4().hex[:10]}"
        self.admin = make_engine(PG_URL)
        with self.admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{self.name}"'))
        self.url = pg_schema_url(self.name)

    def drop(self) -> None:
        with self.admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[Engine]:
    require_pg()
    schema = PgSchema()
    engine = _prepare(make_engine(schema.url))
    yield engine
    engine.dispose()
    schema.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{backend}_engine")  # type: ignore[no-any-return]


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    conn = engine.connect()
    outer = conn.begin()
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    yield factory
    outer.rollback()
    conn.close()


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> UnitOfWork:
    return UnitOfWork(session_factory)


@pytest.fixture
def client(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from digiden.web.app import create_app
    with TestClient(create_app(session_factory, clock=fixed_clock, inline_jobs=True,
                               max_upload_bytes=2 * 1024 * 1024)) as c:
        yield c


@pytest.fixture
def cli(session_factory: sessionmaker[Session], engine: Engine):  # type: ignore[no-untyped-def]
    """Run `digiden ...` in-process against the test database; returns (exit_code, out, err)."""
    from typer.testing import CliRunner

    from digiden.cli import Runtime, app

    def run(*args: str) -> tuple[int, str, str]:
        runner = CliRunner()
        rt = Runtime(session_factory, engine, fixed_clock, "test-cli")
        result = runner.invoke(app, list(args), obj=rt)
        code = result.exit_code
        if result.exception and not isinstance(result.exception, SystemExit):
            from digiden.cli import error_line, exit_code_for
            from digiden.domain.errors import DigidenError
            if isinstance(result.exception, DigidenError):
                return (exit_code_for(result.exception), result.stdout,
                        error_line(result.exception))
            raise result.exception
        return code, result.stdout, result.stderr
    return run
