"""Two administrators decide the same call at the same moment, on a database of the module's
own with real connections (SQLite and PostgreSQL): exactly one decision is saved and audited,
the other is told in Japanese that the call is already decided; nothing is half-written."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from digiden.domain.access import Principal, Role, system
from digiden.domain.errors import Conflict
from digiden.services.local import accounts as acc
from digiden.services.support import applications as apps
from digiden.services.support import programmes as pg
from digiden.services.support import review, selection
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, OrgUnit, SupportApplication, SupportCall
from tests.conftest import FIXED_NOW as NOW
from tests.live import LiveDb
from tests.services.test_support import AFTER, app_doc, call_doc


def staff(uow: UnitOfWork, code: str) -> Principal:
    with uow.for_reading() as u:
        o = u.session.scalars(select(OrgUnit).where(OrgUnit.code == code)).one()
        return Principal(Role.MUNICIPALITY, f"staff-{code}", org_unit_id=o.id, org_code=o.code,
                         prefecture_code=o.prefecture_code)


def test_two_simultaneous_decisions_save_one(live_db: LiveDb) -> None:
    uow = UnitOfWork(live_db.session_factory)
    admin = system("admin-a")
    cid = pg.create_call(uow, admin, "digital-garden-city-grant", call_doc(joint_allowed=False, joint_bonus=0,
                         criteria=[{"code": "v", "name": "ビジョン", "weight": 100, "max_points": 5}]), now=NOW).id
    acc.create_user(uow, admin, username="rev", password="correct horse battery", role="ministry_editor",
                    org_unit="", ministry="総務省", now=NOW)
    review.assign_reviewer(uow, admin, cid, "rev", now=NOW)
    rev = acc.user_principal(uow, "rev")
    for code, points in (("072028", 4), ("011002", 3), ("072087", 5)):
        who = staff(uow, code)
        d = apps.save_draft(uow, who, cid, app_doc(title=f"申請 {code}", members=[], requested_amount=40_000_000),
                            now=NOW)
        apps.submit(uow, who, d.id, now=NOW)
        review.score(uow, rev, d.id, {"v": points}, now=NOW)

    barrier = threading.Barrier(2)
    results: list[Any] = []

    def decide(name: str) -> None:
        barrier.wait()
        try:
            results.append(selection.decide(UnitOfWork(live_db.session_factory), system(name), cid,
                                            {"every_prefecture": True}, now=AFTER + timedelta(minutes=1)))
        except Conflict as e:
            results.append(e)

    threads = [threading.Thread(target=decide, args=(n,)) for n in ("admin-a", "admin-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    decided = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(decided) == 1 and len(refused) == 1, results
    assert refused[0].message_ja in ("この公募の選定は既に決定しています",
                                     "開いた後に他の人がこの内容を保存しました。あなたの変更は保存されていません。"
                                     "読み込み直してから、もう一度変更してください")
    with UnitOfWork(live_db.session_factory, read_only=True) as u:
        s = u.session
        call = s.get(SupportCall, cid)
        assert call is not None and call.decision is not None
        assert sorted(call.decision["selected"]) == sorted(decided[0]["selected"])
        statuses = dict(s.execute(select(SupportApplication.id, SupportApplication.status)
                                  .where(SupportApplication.call_id == cid)).all())
        assert {i for i, st in statuses.items() if st == "selected"} == set(decided[0]["selected"])
        assert set(statuses.values()) <= {"selected", "not_selected"}
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "call.decide", AuditEvent.entity_key == str(cid))) == 1
