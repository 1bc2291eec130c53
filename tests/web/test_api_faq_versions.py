"""FAQ edits and steps through the API carry the `version` the editor read: a stale one is 409 in
Japanese and nothing is written (issue 15; the service's check was not reachable through the
API). On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from digiden.services.consult import cases, faq
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent
from tests.conftest import FIXED_NOW as NOW
from tests.web.helpers import Clients, count, refused


def test_a_stale_faq_edit_or_step_through_the_api_is_409(as_: Clients, soumu: str, accounts: dict[str, Any],
                                                         session_factory: sessionmaker[Session]) -> None:
    uow = UnitOfWork(session_factory)
    cid = cases.ask(uow, accounts["aizu"], subject="補助の対象", body="対象ですか", measures=[soumu], now=NOW)
    cases.reply(uow, accounts["ministry"], cid, "対象です。", now=NOW)
    fid = faq.draft_from_case(uow, accounts["ministry"], cid, now=NOW)
    ministry = as_("ministry")
    read = ministry.get(f"/api/v1/faq/{fid}").json()
    assert read["version"] == 1
    ok = ministry.put(f"/api/v1/faq/{fid}", json={"question": "補助の対象ですか", "answer": "対象です。",
                                                 "version": 1})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    events = count(session_factory, AuditEvent)
    err = refused(ministry.put(f"/api/v1/faq/{fid}", json={"question": "別の質問", "answer": "別の回答",
                                                           "version": 1}), 409, "version")
    assert "他の人が変更しました" in err["message_ja"]
    refused(ministry.post(f"/api/v1/faq/{fid}/submit", json={"version": 1}), 409, "version")
    assert count(session_factory, AuditEvent) == events
    assert ministry.get(f"/api/v1/faq/{fid}").json()["question"] == "補助の対象ですか"
    assert ministry.post(f"/api/v1/faq/{fid}/submit", json={"version": 2}).json()["state"] == "in_review"
    assert ministry.post(f"/api/v1/faq/{fid}/withdraw").status_code == 403     # no version: no check, as before
