"""Two imports at once, on SQLite and PostgreSQL: the second waits its turn (its page says
「順番待ち（1番目）」, the API gives queue_position 1), then both succeed; an import held up by
another process past its wait answers 409 in Japanese, never a 500."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from digiden.domain.access import system
from digiden.domain.errors import Conflict
from digiden.services.data.imports import PG_IMPORT_LOCK, ImportOptions, run_import
from digiden.services.local.accounts import create_user
from digiden.services.uow import UnitOfWork
from digiden.web.app import create_app
from tests.conftest import FIXED_NOW, PASSWORD, fixed_clock, sign_in


@contextlib.contextmanager
def another_process_importing(live_db: Any) -> Iterator[None]:
    """Hold the database the way a CLI import in another process does."""
    if live_db.backend == "sqlite":
        raw = sqlite3.connect(live_db.url.split("///", 1)[1], isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            raw.execute("ROLLBACK")
            raw.close()
    else:
        with live_db.engine.connect() as c:
            tx = c.begin()
            # the blocking form of the lock imports take (same key: this database and schema)
            assert c.exec_driver_sql(f"SELECT {PG_IMPORT_LOCK}").scalar()
            try:
                yield
            finally:
                tx.rollback()


def _file(tmp_path: Path, name: str, month: str) -> bytes:
    rows = "".join(f"satellite-offices,{code},{month},1\n" for code in ("011002", "072028", "130001"))
    return ("KPI,団体コード,時点,値\n" + rows).encode()


def _wait(cond: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.timeout(120)
def test_two_imports_at_once_queue_and_both_succeed(live_db: Any, tmp_path: Path) -> None:
    user = f"queue-{uuid.uuid4().hex[:8]}"
    create_user(UnitOfWork(live_db.session_factory), system("t"), username=user, password=PASSWORD,
                role="national_admin", now=FIXED_NOW)
    month = {"sqlite": "2010-0", "postgresql": "2011-0"}[live_db.backend]
    with TestClient(create_app(live_db.session_factory, clock=fixed_clock, secure_cookies=False)) as client:
        sign_in(client, user)
        with another_process_importing(live_db):
            jobs = []
            for i, m in enumerate(("1", "2")):
                r = client.post("/imports", files={"file": (f"f{i}.csv", _file(tmp_path, f"f{i}", month + m))},
                                follow_redirects=False)
                assert r.status_code == 303
                jobs.append(r.headers["location"].rsplit("/", 1)[1])
            first, second = jobs

            def api(job: str) -> dict[str, Any]:
                r = client.get(f"/api/v1/imports/jobs/{job}")
                assert r.status_code == 200, r.text
                return r.json()  # type: ignore[no-any-return]

            _wait(lambda: api(first)["state"] == "running")
            if live_db.backend == "postgresql":     # it says why it does not move
                _wait(lambda: api(first)["waiting_for_other_import"])
                page = client.get(f"/imports/jobs/{first}", headers={"HX-Request": "true"}).text
                assert "別の取込が終わるのを待っています" in page
            time.sleep(0.3)
            j2 = api(second)
            assert (j2["state"], j2["queue_position"]) == ("queued", 1)
            page = client.get(f"/imports/jobs/{second}", headers={"HX-Request": "true"}).text
            assert "順番待ち（1番目）" in page
        _wait(lambda: api(second)["state"] in ("done", "failed"))
        a, b = api(first), api(second)
        assert a["state"] == b["state"] == "done", (a, b)
        assert a["report"]["created"] == b["report"]["created"] == 3
        assert a["report"]["batch_id"] < b["report"]["batch_id"]
        assert b["queue_position"] is None
        # someone else's job is not visible
        assert client.get("/api/v1/imports/jobs/nosuchjob").status_code == 404


@pytest.mark.timeout(60)
def test_an_import_held_up_past_its_wait_says_another_import_is_running(live_db: Any, tmp_path: Path) -> None:
    f = tmp_path / "one.csv"
    f.write_bytes(_file(tmp_path, "one", "2012-01"))
    factory = live_db.session_factory
    with another_process_importing(live_db), pytest.raises(Conflict) as e:
        run_import(UnitOfWork(factory), f, ImportOptions(lock_wait=0.5), actor=system("t"), now=FIXED_NOW)
    assert "別の取込を実行中です" in e.value.message_ja
    report = run_import(UnitOfWork(factory), f, ImportOptions(lock_wait=0.5), actor=system("t"), now=FIXED_NOW)
    assert report.created == 3
