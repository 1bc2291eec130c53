"""The transaction modes of store/db.py, on both databases: a reading unit of work refuses any
write (so a page that writes is found by the tests), a writing one writes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from digiden.services.uow import UnitOfWork
from digiden.store.db import ReadOnlyViolation
from digiden.store.models import AuditEvent


def test_a_write_inside_a_reading_unit_of_work_raises_and_writes_nothing(uow: UnitOfWork) -> None:
    with uow.for_reading() as r:
        before = r.session.scalar(select(func.count()).select_from(AuditEvent))
        with pytest.raises(ReadOnlyViolation):
            r.session.execute(text("DELETE FROM audit_event"))
    with uow.for_reading() as r:
        assert r.session.scalar(select(func.count()).select_from(AuditEvent)) == before
