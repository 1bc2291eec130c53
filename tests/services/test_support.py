"""重点支援 services on both databases: programmes and calls (admin), applications and joint
membership (local staff), visibility, review with conflicts of interest, progress, the selection
proposal, the decision with an override reason, publication, and the packaged programmes and
published 脱炭素先行地域 selections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from digiden.domain.access import PUBLIC
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, SignInRequired
from digiden.services.support import applications as apps
from digiden.services.support import programmes as pg
from digiden.services.support import review, selection
from digiden.services.uow import UnitOfWork
from digiden.shapes.support import ApplicationOut, CallOut, ReviewProgressOut, SupportReviewOut
from digiden.store.models import AuditEvent, SupportApplication, SupportCall, SupportReview
from tests.conftest import FIXED_NOW as NOW

AIZU, KITAKATA, SAPPORO = "072028", "072087", "011002"
CLOSE = NOW + timedelta(days=10)
AFTER = CLOSE + timedelta(days=1)


def call_doc(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "round": 1, "title": "合成データ: テスト公募", "opens_at": (NOW - timedelta(days=1)).isoformat(),
        "closes_at": CLOSE.isoformat(), "budget": "100,000,000", "per_application_cap": 60_000_000,
        "eligible_kinds": ["city", "town", "village", "prefecture", "designated_city"], "joint_allowed": True,
        "joint_bonus": 5, "synthetic": True,
        "criteria": [{"code": "vision", "name": "地域ビジョンとの整合", "weight": 60, "max_points": 5},
                     {"code": "collab", "name": "地域間連携", "weight": 40, "max_points": 5,
                      "regional_collaboration": True}]}
    return base | kw


def app_doc(**kw: Any) -> dict[str, Any]:
    return {"title": "会津・喜多方 データ連携", "members": [KITAKATA], "requested_amount": 50_000_000,
            "kpis": [{"name": "利用者数", "unit": "人", "target": 1000, "national_kpi": "digital-implementation"}],
            "measures": [{"title": "データ連携基盤", "digital": True}]} | kw


def count(uow: UnitOfWork, model: type) -> int:
    with uow.for_reading() as u:
        return u.session.scalar(select(func.count()).select_from(model)) or 0


def test_the_packaged_programmes_and_published_selections(uow: UnitOfWork) -> None:
    progs = {p.code: p for p in pg.list_programmes(uow)}
    assert {p.name for p in progs.values()} == {
        "スマートシティ", "「デジ活」中山間地域", "脱炭素先行地域", "地域限定型の無人自動運転移動サービス",
        "デジタル田園都市国家構想交付金"}
    assert progs["decarbonization-leading"].kind_ja == "選定" and progs["decarbonization-leading"].ministry == "環境省"
    assert progs["dejikatsu-chusankan"].kind_ja == "登録"
    assert progs["decarbonization-leading"].national_kpi == "decarbonization-leading-areas"
    assert progs["decarbonization-leading"].selections == 77 and progs["smart-city"].selections == 0
    sels = pg.list_selections(uow, "decarbonization-leading")
    assert len(sels) == 77 and {x.round for x in sels} == {1, 2, 3, 4, 5, 6}
    kk = next(x for x in sels if x.lead_name == "福岡県北九州市")
    assert len(kk.members) == 17 and kk.source_url.startswith("https://") and kk.origin == "published"
    assert pg.unmatched_selection_rows(uow) == []
    n = pg.count_selections(uow, "decarbonization-leading")
    assert (n.total, n.by_state, n.national_kpi) == (77, {"selected": 77}, "decarbonization-leading-areas")
    assert sum(n.by_prefecture.values()) == 77 and n.by_prefecture["01"] == 7      # 北海道: 7 leads
    assert "401005" in n.local_governments and "402044" in n.local_governments   # 北九州市 and 直方市 (member)
    assert pg.list_calls(uow, now=NOW) == []          # no invented rounds


def test_calls_are_the_nations_and_bad_terms_are_refused_in_japanese(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    for who in ("aizu", "fukushima", "ministry"):
        with pytest.raises(PermissionDenied):
            pg.create_call(uow, accounts[who], "digital-garden-city-grant", call_doc(), now=NOW)
    with pytest.raises(SignInRequired):
        pg.create_call(uow, PUBLIC, "digital-garden-city-grant", call_doc(), now=NOW)
    for kw, field in [({"budget": 0}, "budget"), ({"budget": "-5"}, "budget"),
                      ({"closes_at": "2026-11-01"}, "closes_at"),
                      ({"criteria": [{"code": "a", "name": "A", "weight": 50, "max_points": 5}]}, "criteria"),
                      ({"budget": "百万"}, "budget")]:
        with pytest.raises(InvalidInput) as e:
            pg.create_call(uow, accounts["admin"], "digital-garden-city-grant", call_doc(**kw), now=NOW)
        assert e.value.field == field and e.value.message_ja
    assert count(uow, SupportCall) == 0
    c = pg.create_call(uow, accounts["admin"], "digital-garden-city-grant", call_doc(), now=NOW)
    assert c.budget == 100_000_000 and c.phase == "open" and c.rubric.joint_bonus == 5
    assert CallOut.model_validate(c).json_data()["criteria"][1]["regional_collaboration"] is True
    assert pg.get_call(uow, c.id, now=AFTER).phase == "closed"
    big = pg.create_call(uow, accounts["admin"], "digital-garden-city-grant",
                         call_doc(round=2, budget="12,000,000,000", per_application_cap=3_000_000_000), now=NOW)
    assert pg.get_call(uow, big.id, now=NOW).budget == 12_000_000_000      # past 2^31: BIGINT on both databases
    with pytest.raises(Conflict):
        pg.create_call(uow, accounts["admin"], "digital-garden-city-grant", call_doc(), now=NOW)
    # a date without a time is Japan time; a deadline given as a date is that day's 23:59
    d = pg.create_call(uow, accounts["admin"], "smart-city", call_doc(budget=None, per_application_cap=None,
                                                                       opens_at="2026-12-01", closes_at="2026/12/25"),
                       now=NOW)
    assert d.closes_at == datetime(2026, 12, 25, 14, 59, tzinfo=UTC)
    assert d.opens_at == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def _open_call(uow: UnitOfWork, a: dict[str, Any]) -> int:
    return pg.create_call(uow, a["admin"], "digital-garden-city-grant", call_doc(), now=NOW).id


def test_a_joint_application_is_submitted_once_every_member_confirms(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    cid = _open_call(uow, accounts)
    d = apps.save_draft(uow, accounts["aizu"], cid, app_doc(), now=NOW)
    assert d.status == "draft" and d.joint and d.members[0].confirmed is False
    # who sees a draft: its lead and members, and the nation
    assert apps.get(uow, accounts["kitakata"], d.id).title == d.title
    for who in ("fukushima", "sapporo", "hokkaido", "ministry"):
        with pytest.raises(NotFound):
            apps.get(uow, accounts[who], d.id)
    with pytest.raises(NotFound):
        apps.get(uow, PUBLIC, d.id)
    with pytest.raises(Conflict) as e:
        apps.submit(uow, accounts["aizu"], d.id, now=NOW)
    assert "喜多方市" in e.value.message_ja and apps.get(uow, accounts["aizu"], d.id).status == "draft"
    with pytest.raises(PermissionDenied):          # the lead cannot confirm for its member
        apps.confirm_membership(uow, accounts["aizu"], d.id, KITAKATA, now=NOW)
    apps.confirm_membership(uow, accounts["kitakata"], d.id, now=NOW)
    with pytest.raises(PermissionDenied):          # nor the member submit for the lead
        apps.submit(uow, accounts["kitakata"], d.id, now=NOW)
    s = apps.submit(uow, accounts["aizu"], d.id, now=NOW)
    assert s.status == "submitted" and s.members[0].confirmed
    assert ApplicationOut.model_validate(s).json_data()["members"][0]["code"] == KITAKATA
    assert apps.get(uow, accounts["fukushima"], d.id).status == "submitted"     # their prefecture
    for who in ("sapporo", "hokkaido", "ministry"):
        with pytest.raises(NotFound):
            apps.get(uow, accounts[who], d.id)
    with pytest.raises(Conflict):
        apps.save_draft(uow, accounts["aizu"], cid, app_doc(title="変更"), now=NOW, app_id=d.id)
    d2 = apps.save_draft(uow, accounts["aizu"], cid, app_doc(title="二つ目", members=[]), now=NOW)
    apps.save_draft(uow, accounts["aizu"], cid, app_doc(title="二つ目（改）", members=[]), now=NOW, app_id=d2.id,
                    version=d2.version)
    with pytest.raises(Conflict) as stale:      # saved from a copy opened before that save
        apps.save_draft(uow, accounts["aizu"], cid, app_doc(title="古い版から", members=[]), now=NOW, app_id=d2.id,
                        version=d2.version)
    assert stale.value.field == "version" and apps.get(uow, accounts["aizu"], d2.id).title == "二つ目（改）"
    # a collaboration group is the starting point of a joint proposal: its members, the lead aside
    from digiden.services.knowledge.similarity import save_group
    g = save_group(uow, accounts["aizu"], {"name": "会津地域連携", "members": [AIZU, KITAKATA, "072079"]}, now=NOW)
    d3 = apps.save_draft(uow, accounts["aizu"], cid, app_doc(title="会津 連携", members=[], collaboration_group=g.id),
                         now=NOW)
    assert [m.code for m in d3.members] == sorted([KITAKATA, "072079"]) and not any(m.confirmed for m in d3.members)
    with pytest.raises(InvalidInput):
        apps.save_draft(uow, accounts["aizu"], cid, app_doc(collaboration_group=999999), now=NOW)
    with uow.for_reading() as u:
        actions = [e.action for e in u.session.scalars(select(AuditEvent).where(
            AuditEvent.entity == "support_application", AuditEvent.entity_key == str(d.id)).order_by(AuditEvent.id))]
    assert actions == ["application.save", "application.confirm", "application.submit"]


def test_after_the_deadline_submission_is_refused_with_the_deadline(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    cid = _open_call(uow, accounts)
    d = apps.save_draft(uow, accounts["sapporo"], cid, app_doc(title="札幌", members=[]), now=NOW)
    with pytest.raises(Conflict) as e:
        apps.submit(uow, accounts["sapporo"], d.id, now=AFTER)
    assert "締切（2026年12月9日 18:00（日本時間））を過ぎているため提出できません" == e.value.message_ja
    assert apps.get(uow, accounts["sapporo"], d.id).status == "draft"
    with pytest.raises(InvalidInput) as e2:
        apps.save_draft(uow, accounts["sapporo"], cid, app_doc(title="多すぎ", members=[], requested_amount=70_000_000),
                        now=NOW)
    assert e2.value.field == "requested_amount"
    with pytest.raises(PermissionDenied):
        apps.save_draft(uow, accounts["sapporo"], cid, app_doc(lead=AIZU), now=NOW)
    w = apps.withdraw(uow, accounts["sapporo"], d.id, now=NOW, reason="計画見直し")
    assert w.status == "withdrawn"


def _submitted(uow: UnitOfWork, a: dict[str, Any], cid: int) -> tuple[int, int, int]:
    j = apps.save_draft(uow, a["aizu"], cid, app_doc(), now=NOW)
    apps.confirm_membership(uow, a["kitakata"], j.id, now=NOW)
    apps.submit(uow, a["aizu"], j.id, now=NOW)
    s1 = apps.save_draft(uow, a["sapporo"], cid, app_doc(title="札幌 スマート除雪", members=[],
                                                       requested_amount=40_000_000), now=NOW)
    apps.submit(uow, a["sapporo"], s1.id, now=NOW)
    s2 = apps.save_draft(uow, a["kitakata"], cid, app_doc(title="喜多方 蔵オフィス", members=[],
                                                        requested_amount=30_000_000), now=NOW)
    apps.submit(uow, a["kitakata"], s2.id, now=NOW)
    return j.id, s1.id, s2.id


def listed_equals_opened(uow: UnitOfWork, a: dict[str, Any], cid: int) -> None:
    """The list of a call shows exactly the applications each principal may open one by one."""
    with uow.for_reading() as u:
        ids = list(u.session.scalars(select(SupportApplication.id).where(SupportApplication.call_id == cid)))
    for who in [PUBLIC, *a.values()]:
        opened = []
        for i in ids:
            try:
                apps.get(uow, who, i)
                opened.append(i)
            except NotFound:
                pass
        assert [x.id for x in apps.list_for_call(uow, who, cid)] == sorted(opened), who.name


def test_review_respects_conflicts_and_ranges(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    a = accounts
    cid = _open_call(uow, a)
    joint, sapporo, kitakata = _submitted(uow, a, cid)
    with pytest.raises(PermissionDenied):
        review.assign_reviewer(uow, a["fukushima"], cid, "ministry", now=NOW)
    review.assign_reviewer(uow, a["admin"], cid, "ministry", now=NOW)
    review.assign_reviewer(uow, a["admin"], cid, "hokkaido", now=NOW)     # works for 北海道
    with pytest.raises(Conflict):
        review.assign_reviewer(uow, a["admin"], cid, "ministry", now=NOW)
    # the reviewer sees submitted applications; 北海道's staff are conflicted with 札幌市's
    assert apps.get(uow, a["ministry"], joint).title
    with pytest.raises(PermissionDenied) as e:
        review.score(uow, a["hokkaido"], sapporo, {"vision": 3, "collab": 1}, now=NOW)
    assert "利益相反" in e.value.message_ja and "都道府県" in e.value.message_ja
    # a declared conflict hides the application from the reviewer and refuses its scores
    review.declare_conflict(uow, a["ministry"], kitakata, "元職員", now=NOW)
    with pytest.raises(NotFound):
        apps.get(uow, a["ministry"], kitakata)
    with pytest.raises(PermissionDenied, match="conflict"):
        review.score(uow, a["ministry"], kitakata, {"vision": 3, "collab": 1}, now=NOW)
    with pytest.raises(InvalidInput) as e2:
        review.score(uow, a["ministry"], joint, {"vision": 6, "collab": 1}, now=NOW)
    assert e2.value.field == "scores.vision"
    assert count(uow, SupportReview) == 0
    with pytest.raises((NotFound, PermissionDenied)):
        review.score(uow, a["sapporo"], joint, {"vision": 3, "collab": 1}, now=NOW)
    r = review.score(uow, a["ministry"], joint, {"vision": 5, "collab": 2.5}, {"vision": "明確"}, now=NOW)
    assert r.total == pytest.approx(60 + 20)
    r = review.score(uow, a["ministry"], joint, {"vision": 4, "collab": 5}, now=NOW)     # replaced
    assert r.total == pytest.approx(48 + 40) and count(uow, SupportReview) == 1
    assert SupportReviewOut.model_validate(r).json_data()["total"] == pytest.approx(88)
    prog = review.progress(uow, a["admin"], cid)
    assert ReviewProgressOut.model_validate(prog).json_data()["submitted"] == 3
    assert prog.submitted == 3 and prog.reviewed == 1
    by = {x.reviewer: x for x in prog.reviewers}
    assert (by["ministry"].assigned, by["ministry"].done, by["ministry"].conflicts) == (2, 1, 1)
    assert (by["hokkaido"].assigned, by["hokkaido"].conflicts) == (2, 1)
    with pytest.raises(PermissionDenied):
        review.progress(uow, a["ministry"], cid)
    apps.save_draft(uow, a["kitakata"], cid, app_doc(title="下書きのまま", members=[AIZU]), now=NOW)
    listed_equals_opened(uow, a, cid)


def test_selection_decision_override_and_publication(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    a = accounts
    cid = _open_call(uow, a)
    joint, sapporo, kitakata = _submitted(uow, a, cid)
    review.assign_reviewer(uow, a["admin"], cid, "ministry", now=NOW)
    review.score(uow, a["ministry"], joint, {"vision": 3, "collab": 4}, now=NOW)       # 36 + 32 = 68
    review.score(uow, a["ministry"], sapporo, {"vision": 5, "collab": 0}, now=NOW)     # 60
    review.score(uow, a["ministry"], kitakata, {"vision": 4, "collab": 0}, now=NOW)    # 48
    with pytest.raises(PermissionDenied):
        selection.propose(uow, a["fukushima"], cid, {})
    prop = selection.propose(uow, a["admin"], cid, {"every_prefecture": True}).as_dict()
    # budget 100M: joint (50M, 福島) + sapporo (40M, 北海道) = 90M covers both prefectures
    assert set(prop["selected"]) == {joint, sapporo} and prop["budget_used"] == 90_000_000
    assert prop["greedy"]["feasible"] and prop["total_score"] >= prop["greedy"]["total_score"]
    why = {o["application"]: o for o in prop["not_selected"]}
    assert why[kitakata]["reason"] == "budget" and why[kitakata]["shortfall"] == 20_000_000
    with pytest.raises(InvalidInput) as e:
        selection.propose(uow, a["admin"], cid, {"every_prefecture": True, "budget": 45_000_000})
    assert "全都道府県で1件以上" in e.value.message_ja
    with pytest.raises(Conflict):                               # before the deadline
        selection.decide(uow, a["admin"], cid, {}, now=NOW)
    with pytest.raises(InvalidInput, match="reason"):
        selection.decide(uow, a["admin"], cid, {"every_prefecture": True}, now=AFTER, selected=[joint, kitakata])
    with pytest.raises(InvalidInput, match="budget"):
        selection.decide(uow, a["admin"], cid, {}, now=AFTER, selected=[joint, sapporo, kitakata], override_reason="x")
    d = selection.decide(uow, a["admin"], cid, {"every_prefecture": True}, now=AFTER, selected=[joint, kitakata],
                         override_reason="既存事業との重複を避けるため")
    assert d["changed"] == sorted([sapporo, kitakata])
    assert d["warnings"] == ["全都道府県で1件以上: 選定のない都道府県: 北海道"]
    with uow.for_reading() as u:
        st = {x.id: x.status for x in u.session.scalars(select(SupportApplication))}
    assert (st[joint], st[kitakata], st[sapporo]) == ("selected", "selected", "not_selected")
    with pytest.raises(Conflict):
        selection.decide(uow, a["admin"], cid, {}, now=AFTER)
    # before publication the public sees nothing; afterwards the selected ones
    with pytest.raises(NotFound):
        apps.get(uow, PUBLIC, joint)
    assert selection.publish(uow, a["admin"], cid, now=AFTER) == 2
    assert apps.get(uow, PUBLIC, joint).status == "selected"
    with pytest.raises(NotFound):
        apps.get(uow, PUBLIC, sapporo)
    listed_equals_opened(uow, a, cid)
    sels = [x for x in pg.list_selections(uow, "digital-garden-city-grant")]
    assert {x.lead_code for x in sels} == {AIZU, KITAKATA} and all(x.origin == "decision" for x in sels)
    assert next(x for x in sels if x.lead_code == AIZU).members == ((KITAKATA, "福島県喜多方市"),)
    with uow.for_reading() as u:
        acts = set(u.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "support_call")))
    assert {"call.create", "call.reviewer", "call.decide", "call.publish"} <= acts


def test_every_support_audit_action_has_a_japanese_label() -> None:
    import re
    from pathlib import Path

    from digiden.domain.labels import AUDIT_ACTIONS_JA
    root = Path(__file__).parents[2] / "src/digiden/services/support"
    actions = set()
    for path in root.glob("*.py"):
        actions |= set(re.findall(r'action=f?"([a-z_]+\.[a-z_{}.]+)"', path.read_text(encoding="utf-8")))
    expanded = {a.replace("{action.value}", v) for a in actions for v in ("submit", "withdraw")}
    assert expanded and expanded <= set(AUDIT_ACTIONS_JA), expanded - set(AUDIT_ACTIONS_JA)


def test_a_selected_region_is_realised_or_cancelled_by_the_nation(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    key = pg.list_selections(uow, "decarbonization-leading")[0].key
    with pytest.raises(PermissionDenied):
        pg.set_selection_state(uow, accounts["fukushima"], key, "realised", reason="報告", now=NOW)
    with pytest.raises(InvalidInput):
        pg.set_selection_state(uow, accounts["admin"], key, "realised", reason=" ", now=NOW)
    with pytest.raises(InvalidInput):
        pg.set_selection_state(uow, accounts["admin"], key, "done", reason="x", now=NOW)
    v = pg.set_selection_state(uow, accounts["admin"], key, "realised", reason="環境省の発表（合成データの例）",
                               now=NOW)
    assert v.state == "realised" and "実現: 環境省の発表" in v.note
    assert pg.count_selections(uow, "decarbonization-leading").by_state == {"selected": 76, "realised": 1}
    pg.set_selection_state(uow, accounts["admin"], key, "cancelled", reason="取消の例", now=NOW)
    assert pg.count_selections(uow, "decarbonization-leading").total == 76
    with pytest.raises(Conflict):
        pg.set_selection_state(uow, accounts["admin"], key, "selected", reason="戻す", now=NOW)
