"""The unit of work: one session, one transaction per use case; only services commit.

A unit of work is a *writer* unless it is opened for reading. The difference matters on SQLite,
which allows one writer at a time: a writer's transaction starts as ``BEGIN IMMEDIATE``, so it
queues for the write lock at its first statement (waiting up to the busy timeout) instead of
starting as a reader and failing with "database is locked" when it later tries to write. A
reader starts as ``BEGIN`` (deferred) and never blocks anyone in WAL mode; a write statement
inside a reading unit of work is a programming error and raises at once, on every database
(see ``digiden.store.db``).
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from digiden.domain.errors import Conflict
from digiden.store.db import reading

STALE = Conflict("someone else saved this record after you opened it; nothing was saved",
                 message_ja="開いた後に他の人がこの内容を保存しました。あなたの変更は保存されていません。"
                            "読み込み直してから、もう一度変更してください", field="version")


class UnitOfWork:
    """``with uow: ... uow.commit()``. Leaving the block without commit rolls back."""

    def __init__(self, session_factory: sessionmaker[Session], *, read_only: bool = False,
                 wait_seconds: float | None = None):
        self._factory = session_factory
        self._session: Session | None = None
        self.read_only = read_only
        self.wait_seconds = wait_seconds
        self._mode: object | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its `with` block")
        return self._session

    def for_reading(self) -> UnitOfWork:
        """A unit of work on the same database that only reads."""
        return UnitOfWork(self._factory, read_only=True)

    def for_writing(self, *, wait_seconds: float | None = None) -> UnitOfWork:
        """A unit of work on the same database that may write; ``wait_seconds`` bounds how long
        it queues for SQLite's write lock (default ``store.db.SQLITE_BUSY_TIMEOUT``)."""
        return UnitOfWork(self._factory, wait_seconds=wait_seconds)

    def __enter__(self) -> UnitOfWork:
        self._mode = reading(self.read_only, self.wait_seconds)
        self._session = self._factory()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self._session = None
            reading.reset(self._mode)
            self._mode = None
        if isinstance(exc, StaleDataError):
            # an optimistic-lock UPDATE matched no row: a stale save, reported as a conflict
            raise Conflict(STALE.message, message_ja=STALE.message_ja, field=STALE.field) from exc

    def commit(self) -> None:
        self.session.commit()
