"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

#: How long a writer waits for SQLite's write lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT = 60

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE")


class ReadOnlyViolation(RuntimeError):
    """A write statement ran inside a unit of work opened for reading: a programming error."""


class _Reading:
    """Whether the unit of work running in this context only reads, and how long a writer may
    wait for SQLite's lock (None: the default). Set by ``UnitOfWork.__enter__`` and restored by
    ``__exit__``; read by the engine events below."""

    def __init__(self) -> None:
        self._var: ContextVar[tuple[bool, float | None]] = ContextVar("digiden_tx_mode", default=(False, None))

    def __call__(self, read_only: bool, wait_seconds: float | None = None) -> object:
        previous = self._var.get()
        self._var.set((read_only, wait_seconds))
        return previous

    def reset(self, previous: object) -> None:
        self._var.set(previous)  # type: ignore[arg-type]

    @property
    def now(self) -> bool:
        return self._var.get()[0]

    @property
    def wait_ms(self) -> int:
        w = self._var.get()[1]
        return int(SQLITE_BUSY_TIMEOUT * 1000 if w is None else w * 1000)


reading = _Reading()


def _guard_writes(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _no_write_when_reading(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
                               executemany: bool) -> None:
        if reading.now and statement.lstrip()[:8].upper().startswith(_WRITES):
            raise ReadOnlyViolation(f"write in a read-only unit of work: {statement[:80]}")


def as_utc(t: datetime) -> datetime:
    """SQLite hands back DateTime(timezone=True) columns without their zone; everything digiden
    stores is UTC, so say so before comparing with an aware clock."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine. SQLite gets foreign keys, WAL, a busy timeout, and transactions that
    begin as writers (``BEGIN IMMEDIATE``) unless the unit of work only reads, so concurrent
    writers queue for the lock instead of failing; PostgreSQL gets pre-ping. On both, a write
    inside a reading unit of work raises ``ReadOnlyViolation``."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
            # BEGIN/SAVEPOINT behave as on PostgreSQL (SQLAlchemy's documented pysqlite recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        # Writers of this process take turns on a lock of their own before they ask SQLite for
        # its write lock. SQLite's busy handler retries with growing sleeps, so under many
        # writers some keep losing (p99 over a second at 16 writers); a blocked lock hands over
        # at once. Other processes still meet SQLite's busy timeout.
        turn = threading.Lock()

        def _release(info: dict[str, Any]) -> None:
            if info.pop("digiden_turn", None) is not None:
                turn.release()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A writer takes the write lock up front, where the busy timeout applies; a
            # deferred transaction that later upgrades gets SQLITE_BUSY at once instead.
            if reading.now:
                conn.exec_driver_sql("BEGIN")
                return
            wait = reading.wait_ms
            info = conn.connection.info
            if turn.acquire(timeout=wait / 1000):
                info["digiden_turn"] = True
                busy = wait
            else:
                busy = 0    # our own writer kept it all this time: let SQLite say "locked" now
            if info.get("busy_ms") != busy:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {busy}")
                info["busy_ms"] = busy
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(info)
                raise

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _end(conn: Any) -> None:
            _release(conn.connection.info)

        @event.listens_for(engine, "checkin")
        def _returned(_dbapi_conn: Any, record: Any) -> None:
            _release(record.info)   # a transaction ended by the pool's reset, not by us

        _guard_writes(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    _guard_writes(engine)
    return engine


def engine_key(s: Session) -> int:
    """The identity of the engine behind a session, for caches kept per process and database
    (a test's session is bound to a connection, an app's to the engine)."""
    bind = s.get_bind()
    return id(bind.engine) if hasattr(bind, "engine") else id(bind)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
