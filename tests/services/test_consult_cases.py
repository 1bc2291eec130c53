"""Consultations end to end through the services, on SQLite and PostgreSQL: asking and automatic
routing, who sees what (notes, personal details), replies and the state cycle, re-assign / share /
escalate / merge with every move recorded and audited, bad input refused with nothing written,
the overdue check in working days and the desk's dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from digiden.domain.access import PUBLIC, Principal
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, SignInRequired
from digiden.services.consult import cases, desk, offices
from digiden.services.consult.cases import Attachment
from digiden.services.uow import UnitOfWork
from digiden.shapes.consult import CaseOut, CaseSummaryOut, DashboardOut
from digiden.store.consult_models import ConsultCase, ConsultMove, ConsultNotice
from digiden.store.models import AuditEvent

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)    # Monday 10:00 in Japan


def _ask(uow: UnitOfWork, p: Principal, measure: str, **kw: object) -> int:
    args: dict[str, object] = {"subject": "光ファイバ整備の補助について", "body": "補助の対象になりますか。",
                               "kind": "programme", "measures": [measure], "asker_name": "山田太郎",
                               "asker_email": "yamada@example.lg.jp", "now": NOW} | kw
    return cases.ask(uow, p, **args)  # type: ignore[arg-type]


def test_a_question_is_routed_to_the_regional_office_and_seen_only_by_those_it_concerns(
        uow: UnitOfWork, accounts: dict[str, Principal], soumu_measure: str) -> None:
    cid = _ask(uow, accounts["aizu"], soumu_measure)
    d = cases.get(uow, accounts["ministry"], cid, now=NOW)
    assert d.summary.office == "東北総合通信局" and d.summary.state == "assigned"
    assert d.asker_name == "山田太郎" and d.may_respond
    assert [m.action for m in d.moves] == ["route"] and "東北総合通信局" in d.moves[0].reason
    # the asking local government, its prefecture (without personal details) and the desk see it
    assert cases.get(uow, accounts["aizu"], cid, now=NOW).asker_email == "yamada@example.lg.jp"
    pref = cases.get(uow, accounts["fukushima"], cid, now=NOW)
    assert pref.asker_name is None and pref.asker_email is None and not pref.may_respond
    shaped = CaseOut.model_validate(pref).json_data()
    assert shaped["asker_email"] is None and shaped["summary"]["office"] == "東北総合通信局"
    assert shaped["summary"]["received_at"].endswith("+00:00") and shaped["moves"][0]["action"] == "route"
    assert "asker_email" not in CaseSummaryOut.model_fields
    assert cases.get(uow, accounts["admin"], cid, now=NOW).summary.id == cid
    # another local government, another prefecture and the public do not
    for who in ("kitakata", "sapporo", "hokkaido"):
        with pytest.raises(NotFound):
            cases.get(uow, accounts[who], cid, now=NOW)
        assert cid not in [c.id for c in cases.list_cases(uow, accounts[who], now=NOW)]
    # the public too is told "not found", exactly as for an id that does not exist (no sign-in
    # prompt that only real ids would get)
    with pytest.raises(NotFound) as real:
        cases.get(uow, PUBLIC, cid, now=NOW)
    with pytest.raises(NotFound) as unknown:
        cases.get(uow, PUBLIC, cid + 10_000, now=NOW)
    assert type(real.value) is type(unknown.value) and real.value.status_code == unknown.value.status_code == 404
    assert cid in [c.id for c in cases.list_cases(uow, accounts["fukushima"], now=NOW)]
    assert cid in [c.id for c in cases.list_cases(uow, accounts["ministry"], now=NOW)]
    # a consultation not shared with the prefecture is not the prefecture's
    private = _ask(uow, accounts["aizu"], soumu_measure, share_with_prefecture=False)
    with pytest.raises(NotFound):
        cases.get(uow, accounts["fukushima"], private, now=NOW)
    with uow:
        notice = uow.session.scalars(select(ConsultNotice).where(ConsultNotice.case_id == cid)).one()
        assert notice.kind == "case_new" and "山田" not in notice.message
        ev = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "consult.ask",
                                                          AuditEvent.entity_key == str(cid))).one()
        assert "山田" not in str(ev.after) and "補助の対象" not in str(ev.after)


def test_no_rule_goes_to_the_national_desk_as_received(uow: UnitOfWork, accounts: dict[str, Principal],
                                                       soumu_measure: str) -> None:
    cid = cases.ask(uow, accounts["aizu"], subject="何でも相談", body="どこに聞けばよいか分かりません", now=NOW)
    d = cases.get(uow, accounts["admin"], cid, now=NOW)
    assert d.summary.office == offices.DESK_NAME and d.summary.state == "received"
    with pytest.raises(NotFound):
        cases.get(uow, accounts["ministry"], cid, now=NOW)


def test_bad_input_is_refused_in_japanese_and_nothing_is_written(uow: UnitOfWork, accounts: dict[str, Principal],
                                                                 soumu_measure: str) -> None:
    def count() -> int:
        with uow:
            return int(uow.session.scalar(select(func.count()).select_from(ConsultCase)) or 0)
    before = count()
    with pytest.raises(InvalidInput) as e:
        _ask(uow, accounts["aizu"], soumu_measure, body="   ")
    assert e.value.message_ja == "相談内容を入力してください"
    with pytest.raises(InvalidInput) as e:
        _ask(uow, accounts["aizu"], soumu_measure, attachments=[Attachment("a.pdf", b"%PDF-" + b"0" * (6 << 20))])
    assert "5MBを超えています" in e.value.message_ja
    with pytest.raises(InvalidInput) as e:
        _ask(uow, accounts["aizu"], soumu_measure, attachments=[Attachment("x.exe", b"MZ")])
    assert "受け付けていません" in e.value.message_ja
    with pytest.raises(InvalidInput):
        _ask(uow, accounts["aizu"], "no-such-measure")
    with pytest.raises(InvalidInput):
        _ask(uow, accounts["aizu"], soumu_measure, field="no-such-field")
    with pytest.raises(PermissionDenied):
        _ask(uow, accounts["ministry"], soumu_measure)
    assert count() == before


def test_thread_notes_states_and_reopening(uow: UnitOfWork, accounts: dict[str, Principal],
                                           soumu_measure: str) -> None:
    aizu, ministry = accounts["aizu"], accounts["ministry"]
    cid = _ask(uow, aizu, soumu_measure, attachments=[Attachment("資料.pdf", b"%PDF-1.7 test")])
    cases.reply(uow, ministry, cid, "担当者間の確認事項", note=True, now=NOW,
                attachments=[Attachment("内部.txt", "内部の資料".encode())])
    with pytest.raises(PermissionDenied):
        cases.reply(uow, aizu, cid, "メモ", note=True, now=NOW)
    later = NOW + timedelta(days=1)
    cases.reply(uow, ministry, cid, "対象になります。", now=later)
    seen = cases.get(uow, aizu, cid, now=later)
    assert [m.body for m in seen.messages] == ["対象になります。"]          # the note is not the asker's
    assert [a.file_name for a in seen.attachments] == ["資料.pdf"]
    with pytest.raises(NotFound):
        cases.attachment(uow, aizu, cid, [a.id for a in cases.get(uow, ministry, cid, now=later).attachments
                                          if a.file_name == "内部.txt"][0])
    assert seen.summary.state == "answered" and seen.summary.first_response_at is not None
    assert cases.get(uow, accounts["fukushima"], cid, now=later).messages[0].body == "対象になります。"
    assert len(cases.get(uow, ministry, cid, now=later).messages) == 2
    cases.reply(uow, aizu, cid, "追加で質問です", now=later)
    assert cases.get(uow, aizu, cid, now=later).summary.state == "assigned"     # reopened by the reply
    cases.reply(uow, ministry, cid, "回答します", now=later)
    assert cases.resolve(uow, aizu, cid, now=later) == "resolved"
    cases.reply(uow, aizu, cid, "やはりもう一点", now=later)
    assert cases.get(uow, aizu, cid, now=later).summary.state == "assigned"
    assert cases.close(uow, ministry, cid, comment="対応終了", now=later) == "closed"
    with pytest.raises(Conflict) as e:
        cases.reply(uow, aizu, cid, "まだあります", now=later)
    assert "終了した相談には返信できません" in e.value.message_ja
    assert cases.reopen(uow, aizu, cid, now=later) == "assigned"
    with pytest.raises(PermissionDenied):
        cases.reply(uow, accounts["fukushima"], cid, "県から", now=later)
    with uow:
        actions = list(uow.session.scalars(select(AuditEvent.action).where(
            AuditEvent.entity == "consult_case", AuditEvent.entity_key == str(cid)).order_by(AuditEvent.id)))
    assert actions == ["consult.ask", "consult.note", "consult.reply", "consult.reply", "consult.reply",
                       "consult.resolve", "consult.reply", "consult.close", "consult.reopen"]


def test_reassign_share_escalate_and_merge_are_recorded(uow: UnitOfWork, accounts: dict[str, Principal],
                                                         soumu_measure: str) -> None:
    admin, ministry, aizu = accounts["admin"], accounts["ministry"], accounts["aizu"]
    cid = _ask(uow, aizu, soumu_measure)
    cases.share(uow, ministry, cid, "東北経済産業局", reason="補助制度の併用", now=NOW)
    with pytest.raises(InvalidInput):
        cases.share(uow, ministry, cid, "東北経済産業局", reason="二度目", now=NOW)
    with pytest.raises(InvalidInput) as e:
        cases.reassign(uow, ministry, cid, "東北総合通信局", reason="同じ", now=NOW)
    assert "既に" in e.value.message_ja
    cases.escalate(uow, aizu, cid, reason="急ぎです", now=NOW)
    cases.reassign(uow, admin, cid, "関東総合通信局", reason="所管の確認", now=NOW)
    # the old office no longer answers it
    with pytest.raises(NotFound):
        cases.get(uow, ministry, cid, now=NOW)
    d = cases.get(uow, admin, cid, now=NOW)
    assert [m.action for m in d.moves] == ["route", "share", "escalate", "reassign"]
    assert d.summary.office == "関東総合通信局" and offices.DESK_NAME in d.shared_with
    dup = _ask(uow, aizu, soumu_measure)
    other = _ask(uow, accounts["kitakata"], soumu_measure)
    with pytest.raises(InvalidInput) as e:
        cases.merge(uow, admin, other, dup, now=NOW)
    assert "別の地方公共団体" in e.value.message_ja
    cases.merge(uow, admin, dup, cid, now=NOW)
    merged = cases.get(uow, aizu, dup, now=NOW)
    assert merged.summary.state == "merged" and merged.merged_into == cid and not merged.may_reply
    with pytest.raises(Conflict):
        cases.reply(uow, aizu, dup, "続き", now=NOW)
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(ConsultMove).where(
            ConsultMove.case_id == cid, ConsultMove.action == "merge")) == 1


def test_overdue_in_working_days_escalates_once_and_the_dashboard_counts_it(
        uow: UnitOfWork, accounts: dict[str, Principal], soumu_measure: str) -> None:
    # received Thursday 2026-12-24; 交付金・補助金・制度: first response within 2 開庁日 (12/28)
    received = datetime(2026, 12, 24, 1, 0, tzinfo=UTC)
    cid = _ask(uow, accounts["aizu"], soumu_measure, now=received)
    answered = _ask(uow, accounts["aizu"], soumu_measure, now=received)
    cases.reply(uow, accounts["ministry"], answered, "回答", now=received + timedelta(days=1))
    # 12/28 23:00 in Japan is still on time; 00:30 on 12/29 in Japan (15:30 UTC on 12/28) is late
    assert desk.escalate_overdue(uow, now=datetime(2026, 12, 28, 14, 0, tzinfo=UTC)) == []
    got = desk.escalate_overdue(uow, now=datetime(2026, 12, 28, 15, 30, tzinfo=UTC))
    assert [(e.case_id, e.overdue) for e in got] == [(cid, ("first_response",))]
    assert desk.escalate_overdue(uow, now=datetime(2027, 1, 4, 4, tzinfo=UTC)) == []    # once
    d = cases.get(uow, accounts["admin"], cid, now=datetime(2027, 1, 4, 3, tzinfo=UTC))
    assert d.moves[-1].action == "escalate" and offices.DESK_NAME in d.shared_with
    assert d.summary.overdue == ("first_response",)
    overdue_ids = [c.id for c in cases.list_cases(uow, accounts["admin"], now=datetime(2027, 1, 4, 3, tzinfo=UTC),
                                                  only_overdue=True)]
    assert cid in overdue_ids and answered not in overdue_ids
    board = desk.dashboard(uow, accounts["admin"], now=datetime(2027, 1, 4, 3, tzinfo=UTC),
                           since=datetime(2026, 12, 1, tzinfo=UTC))
    office = {s.group: s for s in board.by_office}["東北総合通信局"]
    assert office.received == 2 and office.first_response_median == 1.0 and board.overdue == 1
    assert sum(board.open_by_age.values()) == 2
    assert DashboardOut.model_validate(board).json_data()["overdue"] == 1
    mine = desk.dashboard(uow, accounts["ministry"], now=datetime(2027, 1, 4, 3, tzinfo=UTC))
    assert {s.group for s in mine.by_office} == {"東北総合通信局"}
    with pytest.raises(PermissionDenied):
        desk.dashboard(uow, accounts["aizu"], now=NOW)
    with uow:
        kinds = set(uow.session.scalars(select(ConsultNotice.kind).where(ConsultNotice.case_id == cid)))
    assert {"case_overdue", "case_escalated"} <= kinds


def test_each_side_reads_its_own_notices(uow: UnitOfWork, accounts: dict[str, Principal], soumu_measure: str) -> None:
    aizu, ministry = accounts["aizu"], accounts["ministry"]
    cid = _ask(uow, aizu, soumu_measure)
    cases.reply(uow, ministry, cid, "回答", now=NOW)
    office_side = desk.notices(uow, ministry)
    assert [(n.kind, n.case_id) for n in office_side] == [("case_new", cid)]
    asker_side = desk.notices(uow, aizu)
    assert [(n.kind, n.case_id) for n in asker_side] == [("case_reply", cid)]
    assert desk.notices(uow, accounts["kitakata"]) == [] and desk.notices(uow, accounts["fukushima"]) == []
    # the national desk's notices: nothing routed to it here
    assert all(n.case_id != cid for n in desk.notices(uow, accounts["admin"]))
    assert desk.mark_notices_read(uow, aizu, now=NOW) == 1
    assert desk.notices(uow, aizu, unread_only=True) == []
    assert desk.notices(uow, ministry, unread_only=True)[0].case_id == cid     # the office's stays unread


def test_a_stale_reply_is_refused_and_writes_nothing(uow: UnitOfWork, accounts: dict[str, Principal],
                                                     soumu_measure: str) -> None:
    aizu, ministry = accounts["aizu"], accounts["ministry"]
    cid = _ask(uow, aizu, soumu_measure)
    read = cases.get(uow, ministry, cid, now=NOW).version
    cases.reply(uow, aizu, cid, "補足です", now=NOW, expected_version=read)      # as read: accepted
    with uow:
        before = (uow.session.scalar(select(func.count()).select_from(AuditEvent)),
                  uow.session.scalar(select(func.count()).select_from(ConsultNotice)))
    for note in (False, True):
        with pytest.raises(Conflict) as e:
            cases.reply(uow, ministry, cid, "古い画面からの回答", note=note, now=NOW, expected_version=read)
        assert e.value.field == "version" and "他の人が変更しました" in e.value.message_ja
    d = cases.get(uow, ministry, cid, now=NOW)
    assert [m.body for m in d.messages] == ["補足です"] and d.summary.first_response_at is None
    with uow:
        assert (uow.session.scalar(select(func.count()).select_from(AuditEvent)),
                uow.session.scalar(select(func.count()).select_from(ConsultNotice))) == before
    cases.reply(uow, ministry, cid, "回答します", now=NOW, expected_version=d.version)
    assert cases.get(uow, aizu, cid, now=NOW).summary.state == "answered"


def test_the_public_gets_the_same_not_found_for_a_real_and_an_unknown_consultation(
        uow: UnitOfWork, accounts: dict[str, Principal], soumu_measure: str) -> None:
    cid = _ask(uow, accounts["aizu"], soumu_measure)
    missing = cid + 10_000

    def answer(fn: object, case_id: int) -> tuple[type, int, str]:
        with pytest.raises(NotFound) as e:
            fn(case_id)  # type: ignore[operator]
        return type(e.value), e.value.status_code, e.value.message_ja.replace(str(case_id), "#")

    for fn in (lambda i: cases.get(uow, PUBLIC, i, now=NOW),
               lambda i: cases.reply(uow, PUBLIC, i, "返信", now=NOW),
               lambda i: cases.resolve(uow, PUBLIC, i, now=NOW),
               lambda i: cases.escalate(uow, PUBLIC, i, reason="急ぎ", now=NOW),
               lambda i: cases.attachment(uow, PUBLIC, i, 1)):
        assert answer(fn, cid) == answer(fn, missing)


def test_the_list_filters_by_field_with_its_sub_fields_in_sql(uow: UnitOfWork, accounts: dict[str, Principal],
                                                              soumu_measure: str) -> None:
    aizu = accounts["aizu"]
    sub = _ask(uow, aizu, soumu_measure, field="P4.3")
    top = _ask(uow, aizu, soumu_measure, field="P4")
    _ask(uow, aizu, soumu_measure, field="P1")
    _ask(uow, aizu, soumu_measure)
    ids = lambda **kw: [c.id for c in cases.list_cases(uow, aizu, now=NOW, **kw)]  # noqa: E731
    assert ids(field="P4") == [top, sub]                  # newest first, P4.3 included
    assert ids(field="P4.3") == [sub]
    assert ids(field="P4.1") == [] and ids(field="P") == [] and ids(field="P4%") == []
    assert ids(field="P4", limit=1, offset=1) == [sub]    # paged by the database
    assert ids(field="P4", state="assigned") == [top, sub]
    assert cases.list_cases(uow, accounts["kitakata"], now=NOW, field="P4") == []


def test_the_list_of_plans_asks_the_public_to_sign_in(uow: UnitOfWork, accounts: dict[str, Principal]) -> None:
    from digiden.services.consult import plans
    with pytest.raises(SignInRequired) as e:
        plans.list_plans(uow, PUBLIC, now=NOW)
    assert e.value.status_code == 401 and "サインイン" in e.value.message_ja
    assert plans.list_plans(uow, accounts["kitakata"], now=NOW) == []
