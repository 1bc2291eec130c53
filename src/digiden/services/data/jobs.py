"""Import jobs as every worker of the app sees them (the ``import_job`` table).

A web import runs in the worker that received the upload, but the browser that follows its
progress, and the dry run's "apply" button, may reach any worker (``digiden serve --workers N``
or several servers behind a proxy). So a job's state, progress, report and error are written
here, and a worker that does not hold the job in memory reads them from here.

Progress is written in short transactions that give way when the database is busy (SQLite: an
import holds the write lock while it writes, so there another worker sees the progress of the
parsing stage and then the result); states and results are always written.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from digiden.domain.access import Principal, Role
from digiden.services.uow import UnitOfWork
from digiden.store.dataversion import unversioned
from digiden.store.models import ImportJob

#: Finished jobs older than this are forgotten (their batches stay).
KEEP_FINISHED = timedelta(days=7)


def principal_dict(p: Principal) -> dict[str, Any]:
    d = dataclasses.asdict(p)
    return d | {"role": p.role.value, "scopes": sorted(p.scopes)}


def principal_from(d: dict[str, Any]) -> Principal:
    return Principal(**(d | {"role": Role(d["role"]), "scopes": frozenset(d["scopes"])}))


def record(uow: UnitOfWork, fields: dict[str, Any], *, now: datetime) -> None:
    """Insert or update one job (``fields`` holds the columns of ``ImportJob`` but the times)."""
    with uow:
        unversioned(uow.session)      # progress, not data: the dashboard's cache stays
        row = uow.session.get(ImportJob, fields["id"])
        if row is None:
            uow.session.add(ImportJob(**fields, created_at=now, updated_at=now))
        else:
            for k, v in fields.items():
                setattr(row, k, v)
            row.updated_at = now
        uow.commit()


def find(uow: UnitOfWork, job_id: str) -> dict[str, Any] | None:
    """The columns of one job, or None."""
    if not job_id or len(job_id) > 32:
        return None
    with uow.for_reading() as r:
        row = r.session.get(ImportJob, job_id)
        if row is None:
            return None
        return {c.key: getattr(row, c.key) for c in ImportJob.__table__.columns}


def forget_finished(uow: UnitOfWork, *, now: datetime) -> list[str]:
    """Delete finished jobs older than ``KEEP_FINISHED``; the paths of their files. Reads
    first and writes only when there is something to forget, giving way (OperationalError)
    when the database is busy."""
    old = (ImportJob.state.in_(("done", "failed")), ImportJob.updated_at < now - KEEP_FINISHED)
    with uow.for_reading() as r:
        rows = r.session.execute(select(ImportJob.id, ImportJob.path).where(*old)).all()
    if not rows:
        return []
    with uow.for_writing(wait_seconds=0.2) as w:
        unversioned(w.session)
        w.session.execute(delete(ImportJob).where(ImportJob.id.in_([row.id for row in rows])))
        w.commit()
    return [row.path for row in rows]
