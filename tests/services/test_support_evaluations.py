"""Selected regions' yearly evaluation reports (選定地域の評価), on both databases: the region's
self-assessment and the nation's assessment of each fiscal year, the progress of every committed
KPI judged by the national KPIs' method (domain.progress.assess), who writes and who sees what,
draft → submitted, and a stale save refused with nothing written."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from digiden.domain.access import PUBLIC
from digiden.domain.calendar import fiscal_year_end
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from digiden.domain.progress import Direction, Milestone, Point, assess
from digiden.services.support import applications as apps
from digiden.services.support import evaluations as ev
from digiden.services.support import programmes as pg
from digiden.services.support import review, selection
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, SupportEvaluation
from tests.conftest import FIXED_NOW as NOW

GRANT = "digital-garden-city-grant"
KPIS = [{"name": "オンライン申請の利用率", "unit": "%", "baseline": 10, "target": 20, "target_fy": 2028},
        {"name": "窓口の待ち時間", "unit": "分", "baseline": 30, "target": 15, "target_fy": 2027},
        {"name": "参加事業者数", "unit": "社"}]


def region_with_kpis(uow: UnitOfWork, a: dict[str, Any], *, round_: int = 7) -> str:
    """A published selection of 会津若松市 with 喜多方市 as member, from an application that
    committed to KPIS; returns its key."""
    crit = [{"code": "vision", "name": "整合", "weight": 100, "max_points": 5}]
    before = NOW - timedelta(days=40)
    call = pg.create_call(uow, a["admin"], GRANT, {
        "round": round_, "title": "合成データ: 評価の公募", "opens_at": (before - timedelta(days=1)).isoformat(),
        "closes_at": (NOW - timedelta(days=1)).isoformat(), "budget": 50_000_000, "joint_allowed": True,
        "joint_bonus": 5, "synthetic": True, "criteria": crit}, now=before).id
    app = apps.save_draft(uow, a["aizu"], call, {"title": "合成データ: 会津の計画", "members": ["072087"],
                                                 "requested_amount": 1_000_000, "kpis": KPIS}, now=before).id
    apps.confirm_membership(uow, a["kitakata"], app, now=before)
    apps.submit(uow, a["aizu"], app, now=before)
    review.assign_reviewer(uow, a["admin"], call, "ministry", now=NOW)
    review.score(uow, a["ministry"], app, {"vision": 4}, now=NOW)
    selection.decide(uow, a["admin"], call, {}, now=NOW)
    selection.publish(uow, a["admin"], call, now=NOW)
    return f"{GRANT}:call{call}:app{app}"


@pytest.fixture
def key(uow: UnitOfWork, accounts: dict[str, Any]) -> str:
    return region_with_kpis(uow, accounts)


VALUES = [{"index": 0, "actual": 14, "note": "窓口で案内"}, {"index": 1, "actual": "31"}]


def test_progress_is_judged_with_the_national_kpis_method(uow, accounts, key) -> None:  # type: ignore[no-untyped-def]
    e = ev.save(uow, accounts["aizu"], key, 2026, "self", {"summary": "順調", "rating": "B", "values": VALUES},
                now=NOW, version=0)
    assert (e.state, e.version, e.kind_ja) == ("draft", 1, "自己評価")
    by = {p.index: p for p in e.progress}
    # the very same call the national KPIs make: baseline at the end of FY2025, actual at the end of FY2026
    want = assess([Point(fiscal_year_end(2025), 10), Point(fiscal_year_end(2026), 14)],
                  [Milestone(fiscal_year_end(2028), 20)], Direction.INCREASE, today=fiscal_year_end(2026))
    assert (by[0].status, by[0].reason) == (want.status.value, want.reason) and by[0].status == "on_track"
    assert by[1].status in ("deteriorating", "stalled") and by[1].status_ja      # 30 → 31 minutes: the wrong way
    assert by[2].actual is None and by[2].status == "not_assessable"
    assert by[0].note == "窓口で案内"


def test_who_writes_and_who_sees(uow, accounts, key) -> None:  # type: ignore[no-untyped-def]
    doc = {"summary": "x", "values": VALUES}
    for who, kind in [("sapporo", "self"), ("fukushima", "self"), ("admin", "self"), ("aizu", "national"),
                      ("ministry", "national")]:     # 総務省 does not run the 交付金 (内閣府)
        with pytest.raises(PermissionDenied):
            ev.save(uow, accounts[who], key, 2026, kind, doc, now=NOW)
    with pytest.raises(Exception) as e:
        ev.save(uow, PUBLIC, key, 2026, "self", doc, now=NOW)
    assert e.value.status_code == 401    # type: ignore[attr-defined]
    ev.save(uow, accounts["kitakata"], key, 2026, "self", doc, now=NOW)          # a member writes it too
    ev.save(uow, accounts["admin"], key, 2026, "national", doc | {"summary": "国の評価"}, now=NOW)

    def seen(who: Any) -> set[tuple[str, str]]:
        return {(x.kind, x.state) for x in ev.get_region(uow, who, key).evaluations}
    assert seen(accounts["aizu"]) == {("self", "draft")}        # the nation's draft is the nation's
    assert seen(accounts["admin"]) == {("self", "draft"), ("national", "draft")}
    assert seen(accounts["ministry"]) == {("national", "draft")}
    assert seen(accounts["fukushima"]) == set() and seen(PUBLIC) == set()
    ev.submit(uow, accounts["aizu"], key, 2026, "self", now=NOW)
    ev.submit(uow, accounts["admin"], key, 2026, "national", now=NOW)
    assert seen(accounts["fukushima"]) == {("self", "submitted"), ("national", "submitted")}   # its prefecture
    assert seen(accounts["sapporo"]) == {("national", "submitted")} == seen(PUBLIC)            # public: the nation's
    assert {e.region for e in ev.list_evaluations(uow, PUBLIC)} == {key}
    assert ev.get_region(uow, PUBLIC, key).kpis[0].target == 20


def test_a_stale_save_is_refused_and_nothing_is_written(uow, accounts, key, session_factory) -> None:  # type: ignore[no-untyped-def]
    e = ev.save(uow, accounts["aizu"], key, 2026, "self", {"summary": "一回目"}, now=NOW, version=0)
    with pytest.raises(Conflict) as err:        # another tab still thinks there is none
        ev.save(uow, accounts["kitakata"], key, 2026, "self", {"summary": "古い"}, now=NOW, version=0)
    assert err.value.field == "version" and "読み込み直して" in (err.value.message_ja or "")
    ev.save(uow, accounts["aizu"], key, 2026, "self", {"summary": "二回目"}, now=NOW, version=e.version)
    with pytest.raises(Conflict):
        ev.save(uow, accounts["kitakata"], key, 2026, "self", {"summary": "古い"}, now=NOW, version=e.version)
    with pytest.raises(Conflict):
        ev.submit(uow, accounts["aizu"], key, 2026, "self", now=NOW, version=e.version)
    with UnitOfWork(session_factory).for_reading() as u:
        row = u.session.scalars(select(SupportEvaluation)).one()
        assert (row.summary, row.version, row.state) == ("二回目", 2, "draft")
        assert len(list(u.session.scalars(select(AuditEvent).where(AuditEvent.action == "evaluation.save")))) == 2
    done = ev.submit(uow, accounts["aizu"], key, 2026, "self", now=NOW, version=2)
    assert done.state == "submitted" and done.submitted_at is not None
    with pytest.raises(Conflict):
        ev.save(uow, accounts["aizu"], key, 2026, "self", {"summary": "提出後"}, now=NOW)


def test_bad_input_is_refused_in_japanese(uow, accounts, key) -> None:  # type: ignore[no-untyped-def]
    aizu = accounts["aizu"]
    for fy, kind, doc, field in [
            (2025, "self", {}, "fiscal_year"),            # before the selection
            (2027, "self", {}, "fiscal_year"),            # a year not yet begun
            (2026, "other", {}, "kind"),
            (2026, "self", {"rating": "S"}, "rating"),
            (2026, "self", {"values": [{"index": 9, "actual": 1}]}, "values[0].index"),
            (2026, "self", {"values": [{"index": 0, "actual": "多い"}]}, "values[0].actual"),
            (2026, "self", {"values": "14"}, "values")]:
        with pytest.raises(InvalidInput) as e:
            ev.save(uow, aizu, key, fy, kind, doc, now=NOW)
        assert e.value.field == field and e.value.message_ja
    with pytest.raises(NotFound):
        ev.get_region(uow, PUBLIC, "no-such-region")
    with pytest.raises(NotFound):
        ev.submit(uow, aizu, key, 2026, "self", now=NOW)       # nothing saved yet
    ev.save(uow, aizu, key, 2026, "self", {}, now=NOW)
    with pytest.raises(InvalidInput) as e:
        ev.submit(uow, aizu, key, 2026, "self", now=NOW)       # no summary
    assert e.value.field == "summary"


def test_a_later_year_builds_on_the_submitted_ones(uow, accounts, key) -> None:  # type: ignore[no-untyped-def]
    aizu = accounts["aizu"]
    ev.save(uow, aizu, key, 2026, "self", {"summary": "初年度", "values": [{"index": 0, "actual": 14}]}, now=NOW)
    ev.submit(uow, aizu, key, 2026, "self", now=NOW)
    later = datetime(2027, 6, 1, tzinfo=NOW.tzinfo)
    e = ev.save(uow, aizu, key, 2027, "self", {"summary": "二年目", "values": [{"index": 0, "actual": 21}]},
                now=later)
    assert e.progress[0].status == "achieved"              # 21 ≥ 20 before FY2028 ends
    region = ev.get_region(uow, aizu, key)
    assert [x.fiscal_year for x in region.evaluations] == [2027, 2026]


def test_a_published_selection_loaded_from_its_source_has_nothing_to_evaluate(uow, accounts) -> None:  # type: ignore[no-untyped-def]
    one = pg.list_selections(uow, "decarbonization-leading")[0]
    with pytest.raises(Conflict) as e:
        ev.save(uow, accounts["admin"], one.key, 2026, "national", {"summary": "x"}, now=NOW)
    assert "KPI" in (e.value.message_ja or "")
    assert ev.get_region(uow, PUBLIC, one.key).kpis == ()


def test_saving_and_submitting_at_once_is_one_change_or_none(uow, accounts, key, session_factory) -> None:  # type: ignore[no-untyped-def]
    aizu = accounts["aizu"]
    with pytest.raises(InvalidInput) as e:          # no summary: cannot be submitted, so not saved either
        ev.save(uow, aizu, key, 2026, "self", {"values": VALUES}, now=NOW, submit_too=True)
    assert e.value.field == "summary"
    with UnitOfWork(session_factory).for_reading() as u:
        assert list(u.session.scalars(select(SupportEvaluation))) == []
    done = ev.save(uow, aizu, key, 2026, "self", {"summary": "順調", "values": VALUES}, now=NOW, version=0,
                   submit_too=True)
    assert (done.state, done.version) == ("submitted", 2) and done.progress[0].actual == 14
    with UnitOfWork(session_factory).for_reading() as u:
        actions = [a.action for a in u.session.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(["evaluation.save", "evaluation.submit"])).order_by(AuditEvent.id))]
    assert actions == ["evaluation.save", "evaluation.submit"]


def test_a_region_without_committed_kpis_says_so_when_a_value_is_given(uow, accounts) -> None:  # type: ignore[no-untyped-def]
    crit = [{"code": "vision", "name": "整合", "weight": 100, "max_points": 5}]
    before = NOW - timedelta(days=40)
    call = pg.create_call(uow, accounts["admin"], GRANT, {
        "round": 8, "title": "合成データ: KPIなし", "opens_at": (before - timedelta(days=1)).isoformat(),
        "closes_at": (NOW - timedelta(days=1)).isoformat(), "budget": 50_000_000, "synthetic": True,
        "criteria": crit}, now=before).id
    app = apps.save_draft(uow, accounts["aizu"], call, {"title": "合成データ: KPIなし", "requested_amount": 1},
                          now=before).id
    apps.submit(uow, accounts["aizu"], app, now=before)
    review.assign_reviewer(uow, accounts["admin"], call, "ministry", now=NOW)
    review.score(uow, accounts["ministry"], app, {"vision": 4}, now=NOW)
    selection.decide(uow, accounts["admin"], call, {}, now=NOW)
    selection.publish(uow, accounts["admin"], call, now=NOW)
    with pytest.raises(InvalidInput) as e:
        ev.save(uow, accounts["aizu"], f"{GRANT}:call{call}:app{app}", 2026, "self",
                {"values": [{"index": 0, "actual": 1}]}, now=NOW)
    assert "約束した KPI はありません" in (e.value.message_ja or "") and "-1" not in (e.value.message_ja or "")
