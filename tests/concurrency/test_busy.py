"""A write that waits longer than SQLite's busy timeout (another process holding the database,
e.g. a very long import) is told so: 503 with Retry-After and a Japanese message, nothing
written — not a 500."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from digiden.domain.access import system
from digiden.services.local import accounts as acc
from digiden.services.uow import UnitOfWork
from digiden.store import db
from digiden.store.models import Observation
from tests.conftest import FIXED_NOW, fixed_clock, make_client
from tests.live import LiveDb

# SQLite's single writer lock: PostgreSQL writers do not wait on each other here
pytestmark = pytest.mark.sqlite_only


def test_a_write_that_outwaits_the_busy_timeout_is_503_not_500(live_db: LiveDb, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    uow = UnitOfWork(live_db.session_factory)
    acc.create_user(uow, system("t"), username="busy-admin", password="correct horse battery",
                    role="national_admin", now=FIXED_NOW)
    secret, _ = acc.create_token(uow, system("t"), username="busy-admin", name="t", scopes="read write",
                                 now=FIXED_NOW)
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT", 0.3)
    other = sqlite3.connect(live_db.url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")           # another process holds the write lock
    try:
        with make_client(live_db.session_factory, clock=fixed_clock) as c:
            r = c.post("/api/v1/observations", headers={"Authorization": f"Bearer {secret}"}, json={
                "kpi": "satellite-offices", "org_unit": "072028", "as_of": "2024-03-31", "value": "1",
                "source_title": "試験（合成データ）"})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "30" and "保存されていません" in r.json()["error"]["message_ja"]
    with UnitOfWork(live_db.session_factory, read_only=True) as u:
        assert u.session.scalar(select(func.count()).select_from(Observation)
                                .where(Observation.source_title == "試験（合成データ）")) == 0
