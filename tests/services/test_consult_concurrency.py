"""The desk with several writers at once, on a database of its own (live_db) on SQLite and
PostgreSQL: simultaneous replies all land and the consultation's version counts them; two overdue
checks running at once escalate each lateness exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from digiden.domain.access import Principal
from digiden.services.consult import cases, desk
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultCase, ConsultMessage, ConsultNotice

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def _together(fns: list[Callable[[], object]]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(fns))

    def run(fn: Callable[[], object]) -> None:
        start.wait()
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)
    threads = [threading.Thread(target=run, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_simultaneous_replies_all_land(desk_db) -> None:  # type: ignore[no-untyped-def]
    db, measure, aizu, soumu = desk_db
    uow = UnitOfWork(db.session_factory)
    cid = cases.ask(uow, aizu, subject="同時返信", body="本文", measures=[measure], now=NOW)

    def by(p: Principal, i: int) -> Callable[[], object]:
        return lambda: cases.reply(UnitOfWork(db.session_factory), p, cid, f"返信{i}", now=NOW)
    errors = _together([by(aizu if i % 2 else soumu, i) for i in range(8)])
    assert errors == []
    with uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(ConsultMessage).where(ConsultMessage.case_id == cid)) == 8
        c = s.get(ConsultCase, cid)
        assert c is not None and c.version == 9 and c.first_response_at is not None


def test_two_overdue_checks_at_once_escalate_once(desk_db) -> None:  # type: ignore[no-untyped-def]
    db, measure, aizu, _ = desk_db
    uow = UnitOfWork(db.session_factory)
    ids = [cases.ask(uow, aizu, subject=f"期限切れ{i}", body="本文", measures=[measure], now=NOW) for i in range(5)]
    late = NOW + timedelta(days=60)
    results: list[list[desk.Escalated]] = []
    errors = _together([lambda: results.append(desk.escalate_overdue(UnitOfWork(db.session_factory), now=late))
                        for _ in range(2)])
    assert errors == []
    escalated = sorted(e.case_id for r in results for e in r if e.case_id in ids)
    assert escalated == ids
    with uow:
        n = uow.session.scalar(select(func.count()).select_from(ConsultNotice).where(
            ConsultNotice.case_id.in_(ids), ConsultNotice.kind == "case_overdue"))
    assert n == len(ids)
