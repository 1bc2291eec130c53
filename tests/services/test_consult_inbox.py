"""The consultation desk's notices in the inbox (the service, GET /api/v1/inbox and the /inbox page),
on both databases: each recipient sees its own — the office's responders a new consultation, the
asker's local government the answer, the national desk its escalations — and nobody else's; the
count in the navigation includes them; marking read works for them and touches only the reader's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from digiden.domain.errors import PermissionDenied
from digiden.services.consult import cases, desk
from digiden.services.local import local_strategies as ls
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW as NOW
from tests.conftest import make_client, sign_in_directly
from tests.web.test_access_matrix import consult_fixture


def desk_subjects(uow: UnitOfWork, who: Any) -> list[str]:
    return [n.subject for n in ls.inbox(uow, who).desk]


def test_each_recipient_sees_its_own_desk_notices_in_the_inbox(uow: UnitOfWork, accounts: dict[str, Any]) -> None:
    ids = consult_fixture(uow, accounts)
    case = ids["case"]
    ministry = ls.inbox(uow, accounts["ministry"])
    # 東北総合通信局's responder: the two new consultations routed to it
    assert [n.kind for n in ministry.desk] == ["case_new", "case_new"] and ministry.desk_unread == 2
    assert ministry.total == ministry.desk_unread        # a ministry account has nothing else waiting
    aizu = ls.inbox(uow, accounts["aizu"])
    # the answer (not the internal note) and the support plan started for it
    assert sorted((n.kind, n.case_id, n.plan_id) for n in aizu.desk) == [
        ("case_reply", int(case), None), ("plan_started", None, int(ids["plan"]))]
    assert aizu.total >= aizu.desk_unread == 2
    # nobody else: not another town, not its prefecture (a notice is addressed to the asker itself)
    assert desk_subjects(uow, accounts["kitakata"]) == desk_subjects(uow, accounts["fukushima"]) == []
    assert desk_subjects(uow, accounts["sapporo"]) == []
    # the national desk gets what is addressed to the desk: an escalation by the asker
    cases.escalate(uow, accounts["aizu"], int(case), reason="回答を急いでいます", now=NOW)
    assert [n.kind for n in ls.inbox(uow, accounts["admin"]).desk] == ["case_escalated"]
    assert "case_escalated" not in [n.kind for n in ls.inbox(uow, accounts["ministry"]).desk]


def test_marking_read_marks_only_the_readers_desk_notices(uow: UnitOfWork, accounts: dict[str, Any]) -> None:
    consult_fixture(uow, accounts)
    # the ministry account had no inbox before it answered for an office; now it marks its notices
    assert ls.mark_read(uow, accounts["ministry"], now=NOW) == 2
    assert ls.inbox(uow, accounts["ministry"]).desk_unread == 0
    assert ls.inbox(uow, accounts["aizu"]).desk_unread == 2              # the asker's are untouched
    # given ids: the strategy messages' ids and the desk's are apart; another's desk id changes nothing
    mine, other = ls.inbox(uow, accounts["aizu"]).desk
    assert ls.mark_read(uow, accounts["kitakata"], now=NOW, desk_ids=[mine.id]) == 0
    assert ls.mark_read(uow, accounts["aizu"], now=NOW, ids=[]) == 0       # strategy messages only: none
    assert ls.inbox(uow, accounts["aizu"]).desk_unread == 2
    assert ls.mark_read(uow, accounts["aizu"], now=NOW, desk_ids=[mine.id]) == 1
    assert {n.id: n.read for n in ls.inbox(uow, accounts["aizu"]).desk} == {mine.id: True, other.id: False}
    assert ls.mark_read(uow, accounts["aizu"], now=NOW) == 1
    assert all(n.read for n in desk.notices(uow, accounts["aizu"]))


def test_a_ministry_account_without_an_office_still_has_no_inbox_to_mark(uow: UnitOfWork,
                                                                          accounts: dict[str, Any]) -> None:
    assert ls.inbox(uow, accounts["ministry"]).desk == ()
    with pytest.raises(PermissionDenied):
        ls.mark_read(uow, accounts["ministry"], now=NOW)


def test_the_api_and_the_page_show_the_desk_notices(session_factory: sessionmaker[Session],
                                                     accounts: dict[str, Any]) -> None:
    ids = consult_fixture(UnitOfWork(session_factory), accounts)
    with make_client(session_factory) as c:
        sign_in_directly(c, session_factory, "aizu")
        doc = c.get("/api/v1/inbox").json()
        assert doc["desk_unread"] == 2 and int(ids["case"]) in [n["case_id"] for n in doc["desk_notices"]]
        assert {"waiting", "counts", "unread", "practices", "notifications"} <= doc.keys()   # as before
        page = c.get("/inbox").text
        assert "相談窓口からの通知" in page and f'href="/consultations/{ids["case"]}"' in page
        assert f'href="/plans/{ids["plan"]}"' in page and "未読の通知 <strong>2件" in page
        r = c.post("/api/v1/inbox/read", json={"desk_ids": [doc["desk_notices"][0]["id"]]})
        assert r.status_code == 200 and r.json() == {"marked": 1}
        assert c.get("/api/v1/inbox").json()["desk_unread"] == 1
        r = c.post("/api/v1/inbox/read", json={"desk_ids": ["x"]})
        assert r.status_code == 422 and r.json()["error"]["message_ja"]
    with make_client(session_factory) as c:
        sign_in_directly(c, session_factory, "ministry")
        assert c.get("/api/v1/inbox").json()["desk_unread"] == 2
        assert c.post("/api/v1/inbox/read").json() == {"marked": 2}
    with make_client(session_factory) as c:
        sign_in_directly(c, session_factory, "kitakata")
        assert c.get("/api/v1/inbox").json()["desk_notices"] == []
