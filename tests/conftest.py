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


def pytest_configure(config: pytest.Config) -> None:
    # argon2id with small parameters: the suite signs in hundreds of times. Production keeps
    # the library defaults (tests/services/test_accounts.py checks them).
    from argon2 import PasswordHasher

    from digiden.services import accounts
    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
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


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live_db(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A database of the test module's own with committed reference data, on each backend, for
    tests that need several connections (concurrency, crashes, backups, a real server)."""
    from tests.live import open_live_db
    if request.param == "postgresql":
        require_pg()
    db = open_live_db(str(request.param), _prepare)
    yield db
    db.close()


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


PASSWORD = "correct horse battery"

# One account per role (created in each test's transaction, so rolled back afterwards).
ACCOUNTS = {
    "admin": ("national_admin", "", ""),
    "ministry": ("ministry_editor", "", "総務省"),
    "fukushima": ("prefecture_staff", "070009", ""),      # 福島県
    "aizu": ("municipality_staff", "072028", ""),         # 会津若松市 (福島県)
    "kitakata": ("municipality_staff", "072087", ""),     # 喜多方市 (福島県)
    "sapporo": ("municipality_staff", "011002", ""),      # 札幌市 (北海道)
    "hokkaido": ("prefecture_staff", "010006", ""),       # 北海道
}


@pytest.fixture
def accounts(session_factory: sessionmaker[Session]) -> dict[str, object]:
    """username → Principal, for every role."""
    from digiden.domain.access import system
    from digiden.services import accounts as acc
    out: dict[str, object] = {}
    for name, (role, org, ministry) in ACCOUNTS.items():
        acc.create_user(UnitOfWork(session_factory), system("test-setup"), username=name, password=PASSWORD,
                        role=role, org_unit=org, ministry=ministry, now=FIXED_NOW)
        out[name] = acc.user_principal(UnitOfWork(session_factory), name)
    return out


def make_client(session_factory: sessionmaker[Session], **kw: object):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from digiden.web.app import create_app
    args: dict[str, object] = {"clock": fixed_clock, "inline_jobs": True, "max_upload_bytes": 2 * 1024 * 1024,
                               "secure_cookies": False} | kw
    return TestClient(create_app(session_factory, **args))  # type: ignore[arg-type]


def sign_in(c, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the form, then send the session's CSRF token on every request (as the
    pages' htmx does)."""
    import re
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    home = c.get("/about")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text)[1]
    c.headers["X-CSRF-Token"] = csrf


@pytest.fixture
def anon(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """The public: no session, no token."""
    with make_client(session_factory) as c:
        yield c


@pytest.fixture
def client(session_factory: sessionmaker[Session], accounts: dict[str, object]):  # type: ignore[no-untyped-def]
    """A browser signed in as the national administrator."""
    with make_client(session_factory) as c:
        sign_in(c, "admin")
        yield c


@pytest.fixture
def client_as(session_factory: sessionmaker[Session], accounts: dict[str, object]):  # type: ignore[no-untyped-def]
    """client_as("aizu") → a browser signed in as that account."""
    opened = []

    def make(username: str):  # type: ignore[no-untyped-def]
        c = make_client(session_factory)
        c.__enter__()
        opened.append(c)
        if username != "public":
            sign_in(c, username)
        return c
    yield make
    for c in opened:
        c.__exit__(None, None, None)


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
