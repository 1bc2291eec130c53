"""Stale saves at the consultation desk, through the JSON API on both databases (issue 15): each
step of a consultation (resolve, close, reopen, reassign, share, escalate, merge) takes the
`version` the responder last read; if someone changed the consultation since, 409 in Japanese and
nothing is written (no state change, move or audit event). Without `version` the steps work as
before; a `version` that is not a whole number is refused, never ignored; and someone who may not
see the consultation learns nothing from a version (404 as before)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultCase, ConsultMessage, ConsultMove
from digiden.store.models import AuditEvent
from tests.web.helpers import Clients, refused
from tests.web.test_api_consult import QUESTION


def ask(as_: Clients, measure: str) -> int:
    r = as_("aizu").post("/api/v1/consultations", json=QUESTION | {"measures": [measure]})
    assert r.status_code == 201, r.text[:500]
    return int(r.json()["summary"]["id"])


def stored(session_factory: sessionmaker[Session], cid: int) -> tuple[str, int, int | None, int, int, int]:
    """What a refused step must leave alone: state, version, office, moves, shares' audit trail."""
    with UnitOfWork(session_factory).for_reading() as u:
        s = u.session
        c = s.get(ConsultCase, cid)
        assert c is not None
        moves = s.scalar(select(func.count()).select_from(ConsultMove).where(ConsultMove.case_id == cid)) or 0
        events = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "consult_case", AuditEvent.entity_key == str(cid))) or 0
        return c.state, c.version, c.merged_into_id, c.office_id, moves, events


def stale(r: Any) -> None:
    err = refused(r, 409, "version")
    assert "他の人が変更しました" in err["message_ja"] and "読み込み直して" in err["message_ja"]


def test_two_responders_the_second_close_from_an_old_version_is_refused(
        as_: Clients, soumu: str, session_factory: sessionmaker[Session]) -> None:
    cid = ask(as_, soumu)
    ministry, admin = as_("ministry"), as_("admin")
    read_by_ministry = ministry.get(f"/api/v1/consultations/{cid}").json()
    read_by_desk = admin.get(f"/api/v1/consultations/{cid}").json()
    assert read_by_ministry["version"] == read_by_desk["version"]
    r = ministry.post(f"/api/v1/consultations/{cid}/resolve",
                      json={"comment": "回答済み", "version": read_by_ministry["version"]})
    assert r.status_code == 200 and r.json()["summary"]["state"] == "resolved"
    assert r.json()["version"] > read_by_desk["version"]
    after_first = stored(session_factory, cid)
    stale(admin.post(f"/api/v1/consultations/{cid}/close",
                     json={"comment": "完了にします", "version": read_by_desk["version"]}))
    assert stored(session_factory, cid) == after_first and after_first[0] == "resolved"
    # reloaded, the desk's close goes through
    fresh = admin.get(f"/api/v1/consultations/{cid}").json()
    r = admin.post(f"/api/v1/consultations/{cid}/close", json={"version": fresh["version"]})
    assert r.status_code == 200 and r.json()["summary"]["state"] == "closed"


def test_every_step_from_an_old_version_writes_nothing(as_: Clients, soumu: str,
                                                       session_factory: sessionmaker[Session]) -> None:
    cid, into = ask(as_, soumu), ask(as_, soumu)
    admin = as_("admin")
    old = admin.get(f"/api/v1/consultations/{cid}").json()["version"]
    r = admin.post(f"/api/v1/consultations/{cid}/replies", json={"body": "確認中です", "note": True})
    assert r.status_code == 201
    before = stored(session_factory, cid)
    assert before[1] != old
    base = f"/api/v1/consultations/{cid}"
    stale(admin.post(f"{base}/resolve", json={"version": old}))
    stale(admin.post(f"{base}/close", json={"version": old}))
    stale(admin.post(f"{base}/reassign", json={"office": "関東総合通信局", "reason": "所管", "version": old}))
    stale(admin.post(f"{base}/share", json={"office": "東北経済産業局", "reason": "併用", "version": old}))
    stale(admin.post(f"{base}/escalate", json={"reason": "急ぎ", "version": old}))
    stale(admin.post(f"{base}/merge", json={"into": into, "version": old}))
    assert stored(session_factory, cid) == before
    # reopen: resolved by the asker in between, the desk's reopen from before is refused
    seen = admin.get(base).json()["version"]
    assert as_("aizu").post(f"{base}/resolve").status_code == 200
    resolved = stored(session_factory, cid)
    stale(admin.post(f"{base}/reopen", json={"version": seen}))
    assert stored(session_factory, cid) == resolved
    # the current version goes through
    now_v = admin.get(base).json()["version"]
    r = admin.post(f"{base}/merge", json={"into": into, "version": now_v})
    assert r.status_code == 200, r.text[:500]
    assert stored(session_factory, cid)[0] == "merged"


def test_without_a_version_the_steps_work_as_before(as_: Clients, soumu: str) -> None:
    cid = ask(as_, soumu)
    ministry, admin = as_("ministry"), as_("admin")
    base = f"/api/v1/consultations/{cid}"
    assert ministry.post(f"{base}/resolve").json()["summary"]["state"] == "resolved"
    assert admin.post(f"{base}/close", json={"comment": "対応終了"}).json()["summary"]["state"] == "closed"
    assert ministry.post(f"{base}/reopen", json={}).json()["summary"]["state"] == "assigned"
    r = ministry.post(f"{base}/share", json={"office": "東北経済産業局", "reason": "併用"})
    assert r.status_code == 200
    r = admin.post(f"{base}/reassign", json={"office": "関東総合通信局", "reason": "所管"})
    assert r.status_code == 200 and r.json()["visible"] is True


def test_a_version_that_is_not_a_whole_number_is_refused(as_: Clients, soumu: str,
                                                         session_factory: sessionmaker[Session]) -> None:
    cid, into = ask(as_, soumu), ask(as_, soumu)
    admin = as_("admin")
    before = stored(session_factory, cid)
    base = f"/api/v1/consultations/{cid}"
    for bad in ("1", True, 1.5, -1):
        refused(admin.post(f"{base}/resolve", json={"version": bad}), 422)
        refused(admin.post(f"{base}/merge", json={"into": into, "version": bad}), 422, "version")
        refused(admin.post(f"{base}/escalate", json={"reason": "急ぎ", "version": bad}), 422, "version")
    assert stored(session_factory, cid) == before


def test_someone_who_may_not_see_it_learns_nothing_from_a_version(as_: Clients, soumu: str) -> None:
    cid = ask(as_, soumu)
    kitakata = as_("kitakata")
    for version in (0, 1, 999):
        refused(kitakata.post(f"/api/v1/consultations/{cid}/close", json={"version": version}), 404)


def test_a_reply_from_an_old_version_writes_nothing(as_: Clients, soumu: str,
                                                    session_factory: sessionmaker[Session]) -> None:
    """The reply takes the same optional ``version`` as the steps (JSON and multipart)."""
    cid = ask(as_, soumu)
    ministry, aizu = as_("ministry"), as_("aizu")
    base = f"/api/v1/consultations/{cid}"
    old = ministry.get(base).json()["version"]
    assert aizu.post(f"{base}/replies", json={"body": "補足です", "version": old}).status_code == 201
    before = stored(session_factory, cid)
    with UnitOfWork(session_factory).for_reading() as u:
        messages = u.session.scalar(select(func.count()).select_from(ConsultMessage)) or 0
    stale(ministry.post(f"{base}/replies", json={"body": "古い画面から", "version": old}))
    stale(ministry.post(f"{base}/replies", json={"body": "古い画面から", "note": True, "version": old}))
    stale(ministry.post(f"{base}/replies/files", data={"body": "古い画面から", "version": str(old)},
                        files=[("files", ("a.txt", b"text", "text/plain"))]))
    for bad in ("1", True, 1.5, -1):
        refused(ministry.post(f"{base}/replies", json={"body": "x", "version": bad}), 422)
    assert stored(session_factory, cid) == before
    with UnitOfWork(session_factory).for_reading() as u:
        assert u.session.scalar(select(func.count()).select_from(ConsultMessage)) == messages
    now_v = ministry.get(base).json()["version"]
    r = ministry.post(f"{base}/replies/files", data={"body": "回答します", "version": str(now_v)},
                      files=[("files", ("a.txt", b"text", "text/plain"))])
    assert r.status_code == 201 and r.json()["summary"]["state"] == "answered"
    assert ministry.post(f"{base}/replies", json={"body": "追記"}).status_code == 201     # no version: no check
