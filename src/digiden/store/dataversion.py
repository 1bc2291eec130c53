"""The data version: one row (``data_version``) whose random token is replaced in every
transaction that commits a write, on both databases.

Caches of values computed from the data (the national dashboard's statuses, in every process
and worker) are keyed by ``(database, token, …)``. The token is replaced *in the writing
transaction itself*, just before it commits, so a reader sees the new token exactly when it
sees the new data: never the old token with new data that it could then cache, never a token
whose data another process has not committed yet.

Why a token in a row, and not something derived (MAX of an id, a COUNT, a timestamp):

- every kind of change must move it — a value corrected in place, a revert that deletes rows,
  a target edited by reloading the strategy, a rollup recomputed — and no column moves with
  all of them;
- ids come from sequences on PostgreSQL and are handed out in start order, not commit order:
  a reader can see id 101 committed while id 100's transaction is still open, cache under
  "101", and never notice 100 arriving;
- a random token (not a counter) stays right when a transaction rolls back after bumping, and
  when the test suite rolls a whole test back: the token returns together with the data it
  stands for.

Which commits bump it: every commit of a ``Session`` that is not inside a reading unit of work
(``install()`` listens on the ``Session`` class: units of work, and any other session). The
bump runs after the session's last flush, so it is the transaction's final statement: on
PostgreSQL its row lock is held only while the transaction commits, and it cannot deadlock
with the rows the transaction wrote before. Writes that bypass SQLAlchemy's session entirely
(``sqlite3`` on the file, ``psql``, a restore while the app runs) do not bump it; restart the
app after those (a restored backup carries the token of its own data, so even that is safe
unless the data was edited outside the app).
"""

from __future__ import annotations

import uuid

from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from digiden.store.db import reading
from digiden.store.models import DataVersion

ROW_ID = 1


def current(s: Session) -> str | None:
    """The data version as this transaction sees it (None: no write has ever bumped it, so do
    not cache)."""
    return s.execute(select(DataVersion.token).where(DataVersion.id == ROW_ID)).scalar_one_or_none()


def bump(s: Session) -> str:
    """Give the data a new version, in the caller's transaction."""
    token = uuid.uuid4().hex
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(DataVersion).values(id=ROW_ID, token=token)
    s.execute(stmt.on_conflict_do_update(index_elements=[DataVersion.id], set_={"token": token}))
    return token


def unversioned(session: Session) -> None:
    """Mark this session's transaction as bookkeeping that no computed value depends on (an
    import job's progress, a token's last use): its commit leaves the data version alone, so a
    browser polling an import does not make every worker recompute the dashboard. Only for
    transactions that write nothing else."""
    session.info["digiden_unversioned"] = True


def _bump_before_commit(session: Session) -> None:
    if reading.now:
        return   # a reading unit of work writes nothing (and may not)
    if session.info.pop("digiden_unversioned", False):
        return
    session.flush()   # what is pending first: the bump is the transaction's last statement
    bump(session)


def install() -> None:
    """Bump the data version in every committing write session (idempotent)."""
    if not event.contains(Session, "before_commit", _bump_before_commit):
        event.listen(Session, "before_commit", _bump_before_commit)


install()
