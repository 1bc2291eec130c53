"""The unit of work: one session, one transaction per use case; only services commit.

A unit of work is a *writer* unless it is opened for reading. The difference matters on SQLite,
which allows one writer at a time: a writer's transaction starts as ``BEGIN IMMEDIATE``, so it
queues for the write lock at its first statement (waiting up to the busy timeout) instead of
starting as a reader and failing with "database is locked" when it later tries to write. A
reader starts as ``BEGIN`` (deferred) and never blocks anyone in WAL mode; a write statement
inside a reading unit of work is a programming error and raises at once, on every database
(see ``digiden.store.db``).

Side effects are wired once. A service says what happened with ``uow.emit(event)`` (the events
are in ``digiden.domain.events``); ``commit()`` hands the events to the handlers registered in
``digiden.services.handlers`` in two phases:

- *in the transaction*, after a flush and just before the commit: handlers that write (search
  indexing). They run in the same transaction as the change, so both are saved or neither is;
  an error in one rolls the whole unit of work back and reaches the caller.
- *after the commit*: pure notifications that write nothing to this database. An error there is
  logged and does not undo or fail the change, which is already saved.

Consecutive events of one class go to a handler together (an import publishing 500 practices
indexes them in batches, not one by one). The handler table is found by its module name on the
first commit that has events (``HANDLERS_MODULE``): the handlers use services that use this
module, so importing them here would be a cycle, and no entry point has to remember to install
them. Tests may pass their own table (``UnitOfWork(factory, handlers=...)``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, cast

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from digiden.domain.errors import Conflict
from digiden.domain.events import Event
from digiden.store import dataversion
from digiden.store.db import reading

STALE = Conflict("someone else saved this record after you opened it; nothing was saved",
                 message_ja="開いた後に他の人がこの内容を保存しました。あなたの変更は保存されていません。"
                            "読み込み直してから、もう一度変更してください", field="version")

HANDLERS_MODULE = "digiden.services.handlers"
# Every committing write session replaces the data version (store/dataversion.py), the key of
# the caches computed from the data (the national dashboard's statuses).
dataversion.install()
log = logging.getLogger(__name__)

# A handler gets a run of consecutive events of one class (as emitted, at least one).
InTransaction = Callable[[Session, Sequence[Any]], None]
AfterCommit = Callable[[Sequence[Any]], None]


@dataclass(frozen=True)
class Handlers:
    """Event class → the handlers of each phase (exact class; no inheritance)."""

    in_transaction: Mapping[type[Event], Sequence[InTransaction]] = field(default_factory=dict)
    after_commit: Mapping[type[Event], Sequence[AfterCommit]] = field(default_factory=dict)


def registered_handlers() -> Handlers:
    """The application's handler table, ``HANDLERS`` of ``HANDLERS_MODULE``."""
    return cast(Handlers, importlib.import_module(HANDLERS_MODULE).HANDLERS)


def runs(events: Sequence[Event]) -> Iterator[tuple[type[Event], list[Event]]]:
    """The events in order, cut into runs of consecutive events of one class."""
    run: list[Event] = []
    for e in events:
        if run and type(e) is not type(run[0]):
            yield type(run[0]), run
            run = []
        run.append(e)
    if run:
        yield type(run[0]), run


class UnitOfWork:
    """``with uow: ... uow.emit(event) ... uow.commit()``. Leaving the block without commit
    rolls back and drops the events emitted since the last commit."""

    def __init__(self, session_factory: sessionmaker[Session], *, read_only: bool = False,
                 wait_seconds: float | None = None, handlers: Handlers | None = None):
        self._factory = session_factory
        self._session: Session | None = None
        self.read_only = read_only
        self.wait_seconds = wait_seconds
        self._mode: object | None = None
        self._handlers = handlers
        self._events: list[Event] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its `with` block")
        return self._session

    def for_reading(self) -> UnitOfWork:
        """A unit of work on the same database that only reads."""
        return UnitOfWork(self._factory, read_only=True, handlers=self._handlers)

    def for_writing(self, *, wait_seconds: float | None = None) -> UnitOfWork:
        """A unit of work on the same database that may write; ``wait_seconds`` bounds how long
        it queues for SQLite's write lock (default ``store.db.SQLITE_BUSY_TIMEOUT``)."""
        return UnitOfWork(self._factory, wait_seconds=wait_seconds, handlers=self._handlers)

    def __enter__(self) -> UnitOfWork:
        self._mode = reading(self.read_only, self.wait_seconds)
        self._session = self._factory()
        self._events = []
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._events = []
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

    def emit(self, event: Event) -> None:
        """Record that something happened; its handlers run when this unit of work commits."""
        if self.read_only:
            raise RuntimeError(f"{type(event).__name__} emitted in a unit of work opened for reading")
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its `with` block")
        self._events.append(event)

    def commit(self) -> None:
        """Run the in-transaction handlers of the events emitted so far, commit, then run the
        after-commit handlers."""
        events, table = self._events, None
        if events:
            table = self._handlers or registered_handlers()
            self.session.flush()
            for cls, run in runs(events):
                for handle in table.in_transaction.get(cls, ()):
                    handle(self.session, run)
        self.session.commit()
        self._events = []
        if table is None:
            return
        for cls, run in runs(events):
            for notify in table.after_commit.get(cls, ()):
                try:
                    notify(run)
                except Exception:  # noqa: BLE001 - the change is saved; a notice must not fail it
                    log.exception("after-commit handler %s failed for %s", getattr(notify, "__name__", notify),
                                  cls.__name__)
