"""Fixtures: every database test runs on SQLite and on the PostgreSQL at 127.0.0.1:5432.

Each backend is migrated and loaded with the reference data and one account per role (ACCOUNTS)
once per session, committed; each test then runs inside an outer transaction that is rolled back
at the end (services commit to a savepoint), so tests are isolated and fast. Under CI=true an
unreachable PostgreSQL fails.

A module where the database plays no part (HTML, help text, access decisions) sets
``pytestmark = pytest.mark.sqlite_only``: its tests then run on SQLite only. The PostgreSQL copy
of the web layer is tests/web/test_postgres_smoke.py (one read and one write per router).

Under pytest-xdist every worker has its own SQLite files (tmp_path_factory is per worker) and its
own PostgreSQL schemas (PgSchema names are random), so workers never share a database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.reference import init_reference_data
from digiden.services.uow import UnitOfWork
from digiden.store.db import make_engine, make_session_factory
from digiden.store.migrate import upgrade

FIXED_NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"

# One account per role, committed once per session in each backend's session database.
ACCOUNTS = {
    "admin": ("national_admin", "", ""),
    "ministry": ("ministry_editor", "", "総務省"),
    "fukushima": ("prefecture_staff", "070009", ""),      # 福島県
    "aizu": ("municipality_staff", "072028", ""),         # 会津若松市 (福島県)
    "kitakata": ("municipality_staff", "072087", ""),     # 喜多方市 (福島県)
    "sapporo": ("municipality_staff", "011002", ""),      # 札幌市 (北海道)
    "hokkaido": ("prefecture_staff", "010006", ""),       # 北海道
}


def pytest_configure(config: pytest.Config) -> None:
    # argon2id with small parameters: the suite signs in hundreds of times. Production keeps
    # the library defaults (tests/services/test_accounts.py checks them).
    from argon2 import PasswordHasher

    from digiden.services.local import accounts
    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


ONE_BACKEND_FIXTURES = ("backend", "live_db")


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``sqlite_only``: parametrise ``backend`` and ``live_db`` with SQLite alone. The test's own
    parametrize mark takes precedence over the fixtures' params, so the PostgreSQL copy is never
    generated (nothing is deselected, and no module can end up with zero tests)."""
    if metafunc.definition.get_closest_marker("sqlite_only") is None:
        return
    given = {n.strip() for m in metafunc.definition.iter_markers("parametrize")
             for n in (m.args[0].split(",") if isinstance(m.args[0], str) else m.args[0])}
    for name in ONE_BACKEND_FIXTURES:
        if name in metafunc.fixturenames and name not in given:
            metafunc.definition.add_marker(pytest.mark.parametrize(name, ["sqlite"], indirect=True))


PG_URL = os.environ.get("DIGIDEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fixed_clock() -> datetime:
    return FIXED_NOW


def _prepare(engine: Engine) -> Engine:
    upgrade(engine)
    init_reference_data(UnitOfWork(make_session_factory(engine)), actor="reference-data",
                        now=FIXED_NOW)
    return engine


@dataclass
class SessionDb:
    """A backend's session database: migrated, reference data and ACCOUNTS committed."""

    engine: Engine
    accounts: dict[str, Any] = field(default_factory=dict)


def _prepare_with_accounts(engine: Engine) -> SessionDb:
    from digiden.domain.access import system
    from digiden.services.local import accounts as acc
    _prepare(engine)
    uow = UnitOfWork(make_session_factory(engine))
    db = SessionDb(engine)
    for name, (role, org, ministry) in ACCOUNTS.items():
        acc.create_user(uow, system("test-setup"), username=name, password=PASSWORD, role=role, org_unit=org,
                        ministry=ministry, now=FIXED_NOW)
        db.accounts[name] = acc.user_principal(uow, name)
    return db


@pytest.fixture(scope="session")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionDb]:
    path = tmp_path_factory.mktemp("db") / "digiden.sqlite3"
    db = _prepare_with_accounts(make_engine(f"sqlite:///{path}"))
    yield db
    db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_engine(sqlite_db: SessionDb) -> Engine:
    return sqlite_db.engine


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
def postgresql_db() -> Iterator[SessionDb]:
    require_pg()
    schema = PgSchema()
    db = _prepare_with_accounts(make_engine(schema.url))
    yield db
    db.engine.dispose()
    schema.drop()


@pytest.fixture(scope="session")
def postgresql_engine(postgresql_db: SessionDb) -> Engine:
    return postgresql_db.engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{backend}_db").engine  # type: ignore[no-any-return]


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


@pytest.fixture
def accounts(backend: str, request: pytest.FixtureRequest) -> dict[str, object]:
    """username → Principal, for every role (the accounts of the session database)."""
    return dict(request.getfixturevalue(f"{backend}_db").accounts)


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


def sign_in_directly(c, session_factory: sessionmaker[Session], username: str) -> None:  # type: ignore[no-untyped-def]
    """Open a session as the sign-in form does (services.local.accounts.sign_in, in the test's
    transaction) and hand its cookie and CSRF token to the client, without rendering a page.
    For tests where the form is not under test; test_auth_web.py goes through the form."""
    from digiden.services.local import accounts as acc
    from digiden.web.auth import SESSION_COOKIE
    secret, csrf, _ = acc.sign_in(UnitOfWork(session_factory), username, PASSWORD, now=FIXED_NOW)
    # the domain a cookie set by http://testserver gets in httpx's jar, so the app can replace it
    c.cookies.set(SESSION_COOKIE, secret, domain="testserver.local", path="/")
    c.headers["X-CSRF-Token"] = csrf


@pytest.fixture
def anon(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """The public: no session, no token."""
    with make_client(session_factory) as c:
        yield c


@pytest.fixture
def client(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """A browser signed in as the national administrator."""
    with make_client(session_factory) as c:
        sign_in_directly(c, session_factory, "admin")
        yield c


@pytest.fixture
def client_as(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """client_as("aizu") → a browser signed in as that account."""
    opened = []

    def make(username: str):  # type: ignore[no-untyped-def]
        c = make_client(session_factory)
        c.__enter__()
        opened.append(c)
        if username != "public":
            sign_in_directly(c, session_factory, username)
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
