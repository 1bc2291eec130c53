"""A busy morning on a real server: many people writing at once, on SQLite and PostgreSQL.

Each test runs uvicorn on a loopback port over a database of its own (``live_db``), with one
HTTP client per person in threads — what users do, not a test client. Before the fix, SQLite
answered 500 ("database is locked") to most concurrent writes and even to token reads,
PostgreSQL collided on the rollup's primary key, stale saves of a strategy were silently lost
on PostgreSQL, and parallel wrong passwords never locked the account.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from digiden.domain.access import system
from digiden.services.local import accounts as acc
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, Kpi, Observation, OrgUnit, UserAccount
from tests.live import LiveDb, LiveServer

pytestmark = pytest.mark.timeout(300)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
WRITERS, WRITES = 20, 50
PASSWORD = "correct horse battery"


def clock() -> datetime:
    return NOW


def run_threads(n: int, fn) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def wrap(i: int) -> None:
        try:
            fn(i)
        except BaseException as e:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(e)
    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="module")
def people(live_db: LiveDb) -> dict[str, str]:
    """An administrator token per writer, a municipality account, and the server's data."""
    uow = UnitOfWork(live_db.session_factory)
    op = system("test-setup")
    tokens: dict[str, str] = {}
    for i in range(WRITERS):
        name = f"writer{i:02d}"
        acc.create_user(uow, op, username=name, password=PASSWORD, role="national_admin", now=NOW)
        tokens[name], _ = acc.create_token(uow, op, username=name, name="bench", scopes="read write", now=NOW)
    acc.create_user(uow, op, username="aizu", password=PASSWORD, role="municipality_staff",
                    org_unit="072028", now=NOW)
    tokens["aizu"], _ = acc.create_token(uow, op, username="aizu", name="t", scopes="read write", now=NOW)
    return tokens


def test_twenty_writers_fifty_writes_each_no_errors_nothing_lost_all_audited(live_db: LiveDb, people) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(live_db.session_factory, read_only=True) as u:
        codes = list(u.session.scalars(select(OrgUnit.code).where(OrgUnit.kind != "nation")
                                       .order_by(OrgUnit.code).limit(WRITERS * 5)))
        audits_before = u.session.scalar(select(func.count()).select_from(AuditEvent)
                                         .where(AuditEvent.entity == "observation"))
    statuses: Counter[int] = Counter()
    reads: Counter[int] = Counter()
    lock = threading.Lock()
    sent: list[tuple[str, str, str]] = []
    with LiveServer(live_db.session_factory, clock=clock) as server:
        def writer(i: int) -> None:
            token = people[f"writer{i:02d}"]
            with httpx.Client(base_url=server.base_url, timeout=120,
                              headers={"Authorization": f"Bearer {token}"}) as c:
                for j in range(WRITES):
                    # five local governments per writer, ten dates each; every writer also
                    # writes dates that others write, so the same rollup rows are hit at once
                    org = codes[i * 5 + j % 5]
                    as_of = (date(2024, 1, 31) + timedelta(days=31 * (j // 5))).replace(day=1) - timedelta(days=1)
                    r = c.post("/api/v1/observations", json={
                        "kpi": "satellite-offices", "org_unit": org, "as_of": as_of.isoformat(),
                        "value": "1", "source_title": "同時書き込み試験（合成データ）"})
                    g = c.get("/api/v1/me")
                    with lock:
                        statuses[r.status_code] += 1
                        reads[g.status_code] += 1
                        if r.status_code == 201:
                            sent.append((org, as_of.isoformat(), r.json()["created_by"]))
        run_threads(WRITERS, writer)
    assert statuses == Counter({201: WRITERS * WRITES}), statuses
    assert reads == Counter({200: WRITERS * WRITES}), reads
    with UnitOfWork(live_db.session_factory, read_only=True) as u:
        kpi_id = u.session.scalar(select(Kpi.id).where(Kpi.code == "satellite-offices"))
        stored = u.session.scalar(select(func.count()).select_from(Observation).where(
            Observation.kpi_id == kpi_id, Observation.source_title == "同時書き込み試験（合成データ）"))
        audited = u.session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.entity == "observation")) - audits_before
        # the national rollup counts every value, though all writers added to the same rows
        from digiden.store.models import SeriesRollup
        n = u.session.scalar(select(func.coalesce(func.sum(SeriesRollup.n), 0)).where(SeriesRollup.kpi_id == kpi_id))
    assert stored == len(sent) == WRITERS * WRITES
    assert audited == WRITERS * WRITES
    assert n == WRITERS * WRITES


def _strategy_doc(version: int | None, n: int) -> dict[str, object]:
    doc: dict[str, object] = {"title": f"会津若松市 戦略（編集者{n}）", "fiscal_year": "2025年度"}
    if version is not None:
        doc["version"] = version
    return doc


def test_eight_stale_saves_of_one_strategy_one_wins_seven_conflict(live_db: LiveDb, people) -> None:  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"Bearer {people['aizu']}"}
    with LiveServer(live_db.session_factory, clock=clock) as server:
        with httpx.Client(base_url=server.base_url, timeout=60, headers=auth) as c:
            r = c.put("/api/v1/local-strategies/072028", json=_strategy_doc(None, 0))
            assert r.status_code == 200, r.text
            version = r.json()["version"]
        barrier = threading.Barrier(8)
        results: list[tuple[int, int, str]] = []
        lock = threading.Lock()

        def editor(i: int) -> None:
            with httpx.Client(base_url=server.base_url, timeout=60, headers=auth) as c:
                barrier.wait()
                r = c.put("/api/v1/local-strategies/072028", json=_strategy_doc(version, i + 1))
                with lock:
                    results.append((r.status_code, i + 1, r.text))
        run_threads(8, editor)
        codes = Counter(s for s, _, _ in results)
        assert codes == Counter({200: 1, 409: 7}), results
        winner = next(n for s, n, _ in results if s == 200)
        assert all("版" in t or "保存" in t for s, _, t in results if s == 409)
        with httpx.Client(base_url=server.base_url, timeout=60, headers=auth) as c:
            now = c.get("/api/v1/local-strategies/072028").json()
        # the one edit that was acknowledged is what is stored; nothing else slipped in
        assert now["title"] == f"会津若松市 戦略（編集者{winner}）"
        assert now["version"] == version + 1


def test_parallel_wrong_passwords_lock_the_account(live_db: LiveDb, people) -> None:  # type: ignore[no-untyped-def]
    uow = UnitOfWork(live_db.session_factory)
    acc.create_user(uow, system("test-setup"), username="target", password=PASSWORD, role="prefecture_staff",
                    org_unit="070009", now=NOW)
    outcomes: Counter[int] = Counter()
    lock = threading.Lock()
    with LiveServer(live_db.session_factory, clock=clock) as server:
        def guesser(i: int) -> None:
            with httpx.Client(base_url=server.base_url, timeout=60) as c:
                for k in range(2):
                    page = c.get("/login")
                    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
                    r = c.post("/login", data={"username": "target", "password": f"wrong-{i}-{k}",
                                               "csrf_token": token}, follow_redirects=False)
                    with lock:
                        outcomes[r.status_code] += 1
        run_threads(15, guesser)
        assert sum(outcomes.values()) == 30 and 500 not in outcomes, outcomes
        assert set(outcomes) <= {200, 401, 422}, outcomes     # refused, never an error
        with httpx.Client(base_url=server.base_url, timeout=60) as c:
            page = c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
            r = c.post("/login", data={"username": "target", "password": PASSWORD, "csrf_token": token},
                       follow_redirects=False)
            assert r.status_code != 303, "the right password worked on an account that should be locked"
    with UnitOfWork(live_db.session_factory, read_only=True) as u:
        user = u.session.scalars(select(UserAccount).where(UserAccount.username == "target")).one()
        assert user.locked_until is not None
        failed = u.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity_key == "target", AuditEvent.action == "sign_in_failed"))
        locks = u.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity_key == "target", AuditEvent.action == "lock"))
    assert failed == 30 and locks == 30 // acc.MAX_FAILURES
