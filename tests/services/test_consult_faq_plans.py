"""FAQ entries from answered consultations (identity removed, reviewed by another person, public
once published, linked from measures) and support plans (伴走型支援), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from digiden.domain.access import PUBLIC, Principal
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from digiden.services.common import LoadReport
from digiden.services.consult import cases, faq, offices, plans, suggest
from digiden.services.uow import UnitOfWork
from digiden.shapes.consult import FaqOut, PlanOut
from digiden.store.consult_models import ConsultNotice, ConsultRule
from digiden.store.models import AuditEvent, Kpi

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
def measure(uow: UnitOfWork, accounts: dict[str, Principal]) -> str:
    with uow:
        offices.load_reference_offices(uow.session, LoadReport(), actor="reference-data", now=NOW)
        uow.commit()
    offices.add_responder(uow, accounts["admin"], "東北総合通信局", "ministry", now=NOW)
    with uow:
        rule = uow.session.scalars(select(ConsultRule).where(ConsultRule.ministry == "総務省")).first()
        assert rule is not None and rule.measure_code
        return rule.measure_code


def test_an_answered_consultation_becomes_a_public_faq_without_the_asker(
        uow: UnitOfWork, accounts: dict[str, Principal], measure: str) -> None:
    aizu, ministry, admin = accounts["aizu"], accounts["ministry"], accounts["admin"]
    cid = cases.ask(uow, aizu, subject="会津若松市の光回線整備",
                    body="会津若松市の山田です。電話 0242-39-1111。補助の対象ですか。", measures=[measure],
                    asker_name="山田", asker_email="yamada@example.lg.jp", now=NOW)
    with pytest.raises(InvalidInput) as e:
        faq.draft_from_case(uow, ministry, cid, now=NOW)
    assert "回答済みの相談だけ" in e.value.message_ja
    cases.reply(uow, ministry, cid, "会津若松市の場合も対象です。yamada@example.lg.jp 宛に資料を送ります。", now=NOW)
    with pytest.raises(PermissionDenied):
        faq.draft_from_case(uow, aizu, cid, now=NOW)
    fid = faq.draft_from_case(uow, ministry, cid, now=NOW)
    draft = faq.get(uow, ministry, fid)
    for secret in ("会津若松市", "山田", "0242", "yamada@"):
        assert secret not in draft.question + draft.answer
    assert draft.measures == (measure,) and draft.state == "draft"
    with pytest.raises(NotFound):
        faq.get(uow, PUBLIC, fid)          # not public before publication
    assert faq.act(uow, ministry, fid, "submit", now=NOW) == "in_review"
    with pytest.raises(PermissionDenied):
        faq.act(uow, ministry, fid, "publish", now=NOW)    # the desk reviews
    faq.act(uow, admin, fid, "return", now=NOW)
    # an edit that puts the asker back is refused at publication, naming what is left
    faq.edit(uow, ministry, fid, question="山田さんの質問: 補助の対象ですか", answer=draft.answer, now=NOW)
    faq.act(uow, ministry, fid, "submit", now=NOW)
    with pytest.raises(InvalidInput) as e:
        faq.act(uow, admin, fid, "publish", now=NOW)
    assert "相談者を特定できる情報が残っています" in e.value.message_ja
    faq.act(uow, admin, fid, "return", now=NOW)
    faq.edit(uow, ministry, fid, question="光回線整備の補助の対象になりますか", answer=draft.answer, now=NOW)
    faq.act(uow, ministry, fid, "submit", now=NOW)
    assert faq.act(uow, admin, fid, "publish", now=NOW) == "published"
    public = faq.get(uow, PUBLIC, fid)
    assert public.state == "published" and not hasattr(public, "case_id")
    shaped = FaqOut.model_validate(public).json_data()
    assert "case_id" not in shaped and shaped["measures"] == [measure]
    assert [f.id for f in faq.published(uow, measure=measure)] == [fid]
    assert faq.published(uow, measure="no-such-measure") == []
    with uow:
        actions = list(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "consult_faq")))
    assert actions.count("consult.faq_publish") == 1 and "consult.faq_draft" in actions


def test_the_author_cannot_publish_their_own_faq(uow: UnitOfWork, accounts: dict[str, Principal],
                                                 measure: str) -> None:
    admin = accounts["admin"]
    cid = cases.ask(uow, accounts["aizu"], subject="件名", body="本文", measures=[measure], now=NOW)
    cases.reply(uow, admin, cid, "回答", now=NOW)
    fid = faq.draft_from_case(uow, admin, cid, now=NOW)
    faq.act(uow, admin, fid, "submit", now=NOW)
    with pytest.raises(Conflict) as e:
        faq.act(uow, admin, fid, "publish", now=NOW)
    assert "作成者以外" in e.value.message_ja


def test_a_support_plan_with_staff_goals_meetings_and_action_items(uow: UnitOfWork, accounts: dict[str, Principal],
                                                                   measure: str) -> None:
    admin, ministry, aizu, pref = accounts["admin"], accounts["ministry"], accounts["aizu"], accounts["fukushima"]
    with pytest.raises(PermissionDenied):
        plans.start(uow, aizu, org_code="072028", title="DX伴走", origin="request", starts_on=date(2026, 12, 1),
                    now=NOW)
    with pytest.raises(InvalidInput) as e:
        plans.start(uow, admin, org_code="072028", title="DX伴走", origin="request", starts_on=date(2026, 12, 1),
                    ends_on=date(2026, 11, 1), now=NOW)
    assert "終了日（2026-11-01）が開始日（2026-12-01）より前です" in e.value.message_ja
    pid = plans.start(uow, admin, org_code="072028", title="DX伴走", origin="request", starts_on=date(2026, 12, 1),
                      ends_on=date(2027, 3, 31), now=NOW)
    # the ministry's official is not yet on the plan
    with pytest.raises(NotFound):
        plans.get(uow, ministry, pid, now=NOW)
    plans.assign_staff(uow, admin, pid, "ministry", side="regional", office="東北総合通信局",
                       role_note="地方創生コンシェルジュ", now=NOW)
    with uow:
        kpi_code = uow.session.scalars(select(Kpi.code).limit(1)).one()
    gid = plans.add_goal(uow, ministry, pid, title="光回線の整備", measure=measure, kpi=kpi_code,
                         local_measure="市内全域の光回線", now=NOW)
    mid = plans.add_meeting(uow, aizu, pid, held_on=date(2026, 12, 3), title="第1回打合せ", minutes="現状を共有",
                            now=NOW)
    with pytest.raises(InvalidInput) as e:
        plans.add_action(uow, ministry, pid, title="資料送付", owner="東北総合通信局", due_on=date(2026, 11, 30),
                         now=NOW)
    assert "期限（2026-11-30）が開始日（2026-12-01）より前です" in e.value.message_ja
    a1 = plans.add_action(uow, ministry, pid, title="資料送付", owner="東北総合通信局", due_on=date(2026, 12, 10),
                          meeting_id=mid, now=NOW)
    plans.add_action(uow, aizu, pid, title="庁内調整", owner="会津若松市 企画課", due_on=date(2027, 1, 15), now=NOW)
    with pytest.raises(PermissionDenied):
        plans.add_action(uow, pref, pid, title="県の確認", owner="福島県", due_on=date(2027, 1, 15), now=NOW)
    plans.set_action(uow, ministry, a1, state="done", now=NOW + timedelta(days=5))
    plans.set_goal(uow, aizu, gid, achieved=True, now=NOW)
    later = datetime(2027, 1, 20, tzinfo=UTC)
    view = plans.get(uow, pref, pid, now=later)          # the prefecture follows it
    assert not view.may_edit and view.staff[0].office == "東北総合通信局"
    assert (view.progress.goals_achieved, view.progress.actions, view.progress.actions_done,
            view.progress.actions_overdue) == (1, 2, 1, 1)
    assert [a.overdue for a in view.actions] == [False, True]
    assert view.timeline[0].kind == "start" and "done" in [e.kind for e in view.timeline]
    assert view.goals[0].measure == measure and view.goals[0].kpi == kpi_code
    body = PlanOut.model_validate(view).json_data()
    assert body["progress"]["percent"] == 50.0 and body["timeline"][0]["kind"] == "start"
    assert body["starts_on"] == "2026-12-01" and body["staff"][0]["role_note"] == "地方創生コンシェルジュ"
    for who in ("kitakata", "sapporo", "hokkaido"):
        with pytest.raises(NotFound):
            plans.get(uow, accounts[who], pid, now=NOW)
        assert plans.list_plans(uow, accounts[who], now=NOW) == []
    assert [p.id for p in plans.list_plans(uow, ministry, now=NOW)] == [pid]
    assert [p.id for p in plans.list_plans(uow, pref, now=NOW)] == [pid]
    with uow:
        assert uow.session.scalars(select(ConsultNotice.kind).where(ConsultNotice.plan_id == pid)).all() == [
            "plan_started"]
        n = len(uow.session.scalars(select(AuditEvent.id).where(AuditEvent.entity == "consult_plan")).all())
    assert n == 8


def test_suggestions_while_typing(uow: UnitOfWork, accounts: dict[str, Principal], measure: str) -> None:
    aizu, admin = accounts["aizu"], accounts["admin"]
    cid = cases.ask(uow, aizu, subject="自動運転バスの導入", body="自動運転の実証に使える支援は", measures=[measure],
                    now=NOW)
    cases.reply(uow, accounts["ministry"], cid, "自動運転の実証には交付金が使えます。", now=NOW)
    fid = faq.draft_from_case(uow, accounts["ministry"], cid, now=NOW)
    faq.act(uow, accounts["ministry"], fid, "submit", now=NOW)
    faq.act(uow, admin, fid, "publish", now=NOW)
    got = suggest.suggest(uow, accounts["kitakata"], "自動運転の支援について")
    assert got.measures and all(h.kind == "measure" for h in got.measures)
    assert [f.id for f in got.faq] == [fid]
    assert got.similar and all(x.code != "072087" for x in got.similar)     # others like 喜多方市
    assert suggest.suggest(uow, accounts["fukushima"], "自動運転").similar == ()   # a prefecture: none
    assert suggest.suggest(uow, aizu, "   ").query == ""
