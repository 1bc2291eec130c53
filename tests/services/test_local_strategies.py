"""Local strategies: drafts, the approval cycle, locking, versions, isolation, the inbox, and
national KPIs counted from accepted local records. Both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from digiden.domain.access import PUBLIC, system
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, SignInRequired
from digiden.domain.local import Status
from digiden.services.audit import history
from digiden.services.local import local_strategies as ls
from digiden.services.national import local_facts
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW as NOW

AIZU, KITAKATA, SAPPORO = "072028", "072087", "011002"


def doc(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "会津若松市 デジタル田園都市国家構想総合戦略", "fiscal_year": "令和6年度",
        "vision": "データで暮らしを便利に", "model_types": ["smart-city"],
        "issues": [{"field": "P4.2", "text": "医師不足"}],
        "measures": [{"title": "データ連携基盤", "field": "F1.3", "digital": True, "state": "in_place",
                      "start_year": "R4", "support": "digiden_grant"},
                     {"title": "サテライトオフィス", "kind": "satellite_office", "state": "in_place",
                      "start_year": "2019年度"}],
        "kpis": [{"name": "地域通貨の利用者数", "unit": "人", "baseline": "3,000", "baseline_year": "令和4年度",
                  "target": "1万", "target_year": "2027年度", "national_kpi": "digital-implementation"}],
    }
    return base | kw


def cycle(uow: UnitOfWork, a: dict[str, Any], code: str = AIZU, pref: str = "fukushima") -> None:
    """Draft → submitted → approved by the prefecture → accepted by the nation."""
    d = ls.save(uow, a["aizu" if code == AIZU else "kitakata"], code, doc(), now=NOW)
    rev = d.ref.revision
    ls.act(uow, a["aizu" if code == AIZU else "kitakata"], code, rev, "submit", now=NOW)
    ls.act(uow, a[pref], code, rev, "approve", now=NOW)
    ls.act(uow, a["admin"], code, rev, "accept", now=NOW)


def test_a_draft_is_parsed_as_typed_and_seen_by_its_owner_only(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    d = ls.save(uow, accounts["aizu"], AIZU, doc(), now=NOW)
    assert d.ref.status is Status.DRAFT and d.ref.revision == 1 and d.ref.fiscal_year == 2024
    assert d.measures[0].start_fy == 2022 and d.kpis[0].baseline == 3000 and d.kpis[0].target == 10000
    assert d.can_edit and [a.value for a in d.actions] == ["submit"]
    assert ls.get(uow, accounts["admin"], AIZU).ref.revision == 1
    for who in ("kitakata", "fukushima", "sapporo", "ministry"):
        with pytest.raises(NotFound):      # not even its existence
            ls.get(uow, accounts[who], AIZU)
    with pytest.raises(NotFound):
        ls.get(uow, PUBLIC, AIZU)
    assert ls.list_revisions(uow, PUBLIC) == []


def test_the_whole_cycle_publishes_locks_and_notifies(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    a = accounts
    ls.save(uow, a["aizu"], AIZU, doc(), now=NOW)
    d = ls.act(uow, a["aizu"], AIZU, 1, "submit", now=NOW)
    assert d.ref.status is Status.SUBMITTED and not d.can_edit
    # the prefecture now sees it and has it waiting; the owner cannot edit while under review
    inbox = ls.inbox(uow, a["fukushima"])
    assert [r.org_code for r in inbox.waiting] == [AIZU] and inbox.unread == 1
    assert ls.inbox(uow, a["hokkaido"]).waiting == ()
    with pytest.raises(Conflict):
        ls.save(uow, a["aizu"], AIZU, doc(), now=NOW)
    # a prefecture may not approve another prefecture's municipality, nor a municipality its own
    with pytest.raises(NotFound):
        ls.act(uow, a["hokkaido"], AIZU, 1, "approve", now=NOW)
    with pytest.raises(PermissionDenied):
        ls.act(uow, a["aizu"], AIZU, 1, "approve", now=NOW)
    with pytest.raises(InvalidInput):    # returning needs a comment
        ls.act(uow, a["fukushima"], AIZU, 1, "return", now=NOW)
    ls.act(uow, a["fukushima"], AIZU, 1, "return", now=NOW, comment="KPIの基準年度を確認してください")
    owner = ls.inbox(uow, a["aizu"])
    assert owner.waiting[0].status is Status.RETURNED and "基準年度" in owner.notifications[0].message
    ls.save(uow, a["aizu"], AIZU, doc(vision="改めたビジョン"), now=NOW)
    ls.act(uow, a["aizu"], AIZU, 1, "submit", now=NOW)
    ls.act(uow, a["fukushima"], AIZU, 1, "approve", now=NOW)
    assert [r.org_code for r in ls.inbox(uow, a["admin"]).waiting] == [AIZU]
    with pytest.raises(PermissionDenied):
        ls.act(uow, a["fukushima"], AIZU, 1, "accept", now=NOW)
    d = ls.act(uow, a["admin"], AIZU, 1, "accept", now=NOW + timedelta(hours=1))
    assert d.ref.status is Status.ACCEPTED and d.ref.accepted_at is not None
    # published: the public and other municipalities see it now
    assert ls.get(uow, PUBLIC, AIZU).vision == "改めたビジョン"
    assert [r.org_code for r in ls.list_revisions(uow, accounts["sapporo"])] == [AIZU]
    steps = [(r.action.value, r.actor) for r in d.reviews]
    assert steps == [("submit", "aizu"), ("return", "fukushima"), ("submit", "aizu"), ("approve", "fukushima"),
                     ("accept", "admin")]
    events = [e.action for e in history(uow, a["admin"]) if e.entity == "local_strategy"]
    assert events.count("submit") == 2 and "accept" in events and "return" in events


def test_accepted_data_is_locked_until_reopened_by_its_approver(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    cycle(uow, accounts)
    # a new draft starts a new revision; the accepted one stays readable and public
    d2 = ls.save(uow, accounts["aizu"], AIZU, doc(fiscal_year="令和7年度", model_types=["smart-city", "super-city"]),
                 now=NOW)
    assert d2.ref.revision == 2
    assert ls.get(uow, PUBLIC, AIZU).ref.revision == 1
    changes = ls.diff_revisions(uow, accounts["aizu"], AIZU, 1, 2)
    assert ("header", "fiscal_year") in [(c.section, c.key) for c in changes]
    assert ("model_types", "スーパーシティ", "added") in [(c.section, c.key, c.kind) for c in changes]
    with pytest.raises(NotFound):          # the public cannot diff against a draft
        ls.diff_revisions(uow, PUBLIC, AIZU, 1, 2)
    # re-opening revision 1: only the nation (its approver), with a comment, audited
    with pytest.raises(PermissionDenied):
        ls.act(uow, accounts["aizu"], AIZU, 1, "reopen", now=NOW, comment="直したい")
    with pytest.raises(PermissionDenied):
        ls.act(uow, accounts["fukushima"], AIZU, 1, "reopen", now=NOW, comment="直したい")
    d = ls.act(uow, accounts["admin"], AIZU, 1, "reopen", now=NOW, comment="誤記の訂正のため")
    assert d.ref.status is Status.RETURNED and d.ref.accepted_at is None
    ev = [e for e in history(uow, accounts["admin"]) if e.action == "reopen"][0]
    assert ev.after == {"status": "returned", "comment": "誤記の訂正のため"}


def test_concurrent_edits_the_second_writer_is_told_and_nothing_is_lost(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    d = ls.save(uow, accounts["aizu"], AIZU, doc(), now=NOW)
    v = d.ref.version
    ls.save(uow, accounts["aizu"], AIZU, doc(vision="Aさんの変更"), now=NOW, expected_version=v)
    with pytest.raises(Conflict) as e:
        ls.save(uow, accounts["admin"], AIZU, doc(vision="Bさんの変更"), now=NOW, expected_version=v)
    assert "他の人が" in e.value.message_ja and e.value.field == "version"
    assert ls.get(uow, accounts["aizu"], AIZU).vision == "Aさんの変更"


@pytest.mark.parametrize(("change", "field"), [
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"vision": "v" * 4001}, "vision"),
    ({"fiscal_year": "令和99年度"}, "fiscal_year"),
    ({"fiscal_year": "来年"}, "fiscal_year"),
    ({"model_types": ["atlantis"]}, "model_types[0]"),
    ({"measures": [{"title": "x", "start_year": "平成35年度"}]}, "measures[0].start_year"),
    ({"measures": [{"title": "x", "kind": "castle"}]}, "measures[0].kind"),
    ({"measures": [{"title": "x", "field": "Z9"}]}, "measures[0].field"),
    ({"kpis": [{"name": "x", "target": "たくさん"}]}, "kpis[0].target"),
    ({"kpis": [{"name": "x", "national_kpi": "no-such-kpi"}]}, "kpis[0].national_kpi"),
    ({"issues": [{"text": "bell\x07"}]}, "issues[0].text"),
    ({"measures": [{"title": str(i)} for i in range(101)]}, "measures"),
    # NaN / Infinity from JSON: stored as NULL by SQLite and a 500 on PostgreSQL before (issue 10)
    ({"kpis": [{"name": "x", "target": float("nan")}]}, "kpis[0].target"),
    ({"kpis": [{"name": "x", "baseline": float("inf")}]}, "kpis[0].baseline"),
    ({"kpis": [{"name": "x", "actual": float("-inf")}]}, "kpis[0].actual"),
])
def test_bad_input_names_the_field_and_writes_nothing(uow: UnitOfWork, accounts, change: dict[str, Any],  # type: ignore[no-untyped-def]
                                                      field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        ls.save(uow, accounts["aizu"], AIZU, doc(**change), now=NOW)
    assert e.value.field == field and e.value.message_ja
    with pytest.raises(NotFound):
        ls.get(uow, accounts["aizu"], AIZU)


def test_html_is_kept_as_text(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    d = ls.save(uow, accounts["aizu"], AIZU, doc(vision="<script>alert(1)</script>"), now=NOW)
    assert d.vision == "<script>alert(1)</script>"   # stored as typed; every page escapes it


def test_nobody_writes_another_local_governments_strategy(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    for who in ("kitakata", "sapporo", "ministry"):
        with pytest.raises((PermissionDenied, NotFound)):
            ls.save(uow, accounts[who], AIZU, doc(), now=NOW)
    with pytest.raises(PermissionDenied):   # the prefecture reviews, it does not write
        ls.save(uow, accounts["fukushima"], AIZU, doc(), now=NOW)
    with pytest.raises(SignInRequired):
        ls.save(uow, PUBLIC, AIZU, doc(), now=NOW)
    with pytest.raises(NotFound):
        ls.get(uow, accounts["aizu"], AIZU)


def test_read_only_tokens_cannot_write(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace
    read_only = replace(accounts["aizu"], scopes=frozenset({"read"}))
    with pytest.raises(PermissionDenied):
        ls.save(uow, read_only, AIZU, doc(), now=NOW)


def test_national_kpis_count_accepted_local_records_only(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    before = local_facts.computed(uow, "digital-implementation")
    assert before.value == 0 and before.reported_value == 1000   # the published figure is kept beside it
    ls.save(uow, accounts["kitakata"], KITAKATA, doc(), now=NOW)   # a draft does not count
    cycle(uow, accounts)
    c = local_facts.computed(uow, "digital-implementation")
    assert c.value == 1 and c.codes == [AIZU] and c.difference == 1 - 1000 and c.as_of is not None
    fukushima = next(r for r in c.by_prefecture if r.prefecture_code == "07")
    assert fukushima.count == 1 and fukushima.of == 60
    assert local_facts.computed(uow, "satellite-offices").codes == [AIZU]
    assert local_facts.computed(uow, "new-mobility-services").value == 0
    k = local_facts.computed(uow, "kodomo-katei-center")
    assert k.denominator == 1741    # 全国展開（1,741市区町村）
    with pytest.raises(NotFound):
        local_facts.computed(uow, "fiber-household-coverage")


def test_coverage_shows_prefectures_with_and_without_a_model(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    rows = {r.model_type: r for r in local_facts.coverage(uow)}
    assert len(rows["smart-city"].with_model) + len(rows["smart-city"].without) == 47
    # AiCT (会津若松市) is a seed case study of スマートシティ
    assert "07" in [c for c, _, _ in rows["smart-city"].with_model]
    assert "01" not in [c for c, _, _ in rows["smart-city"].with_model]
    # an accepted 札幌市 strategy declaring smart-city with a digital implementation adds 北海道
    d = ls.save(uow, accounts["sapporo"], SAPPORO, doc(title="札幌市 戦略"), now=NOW)
    ls.act(uow, accounts["sapporo"], SAPPORO, d.ref.revision, "submit", now=NOW)
    ls.act(uow, accounts["hokkaido"], SAPPORO, 1, "approve", now=NOW)
    ls.act(uow, accounts["admin"], SAPPORO, 1, "accept", now=NOW)
    rows = {r.model_type: r for r in local_facts.coverage(uow)}
    places = dict((c, p) for c, _, p in rows["smart-city"].with_model)
    assert "北海道札幌市（地方版総合戦略）" in places["01"]


def test_a_prefectures_own_strategy_goes_straight_to_the_nation(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    ls.save(uow, accounts["fukushima"], "070009", doc(title="福島県 戦略"), now=NOW)
    d = ls.act(uow, accounts["fukushima"], "070009", 1, "submit", now=NOW)
    assert d.ref.status is Status.PREFECTURE_APPROVED
    assert [r.org_code for r in ls.inbox(uow, accounts["admin"]).waiting] == ["070009"]


def test_the_demo_walks_the_cycle_with_synthetic_records(uow: UnitOfWork) -> None:
    from digiden.services.local.demo import create_demo
    report = create_demo(uow, system("t"), now=NOW)
    assert report["synthetic"] and len(report["users"]) == 7
    refs = {r.org_code: r for r in ls.list_revisions(uow, system("t"))}
    assert {c: r.status for c, r in refs.items()} == {AIZU: Status.SUBMITTED, KITAKATA: Status.SUBMITTED,
                                                      "064033": Status.PREFECTURE_APPROVED}
    assert all(r.synthetic for r in refs.values())
    c = local_facts.computed(uow, "digital-implementation")
    assert c.codes == [AIZU] and c.synthetic_count == 1
    from digiden.domain.access import PUBLIC
    from digiden.services.knowledge import practices, similarity
    waiting = practices.list_practices(uow, system("t"), status="submitted")
    assert [p.code for p in waiting] == report["practices"] and waiting[0].synthetic
    spread = practices.get(uow, PUBLIC, "iide-gps-snow-removal").adoptions
    assert [(a.code, a.synthetic) for a in spread] == [(KITAKATA, True)]
    assert similarity.get_group(uow, report["groups"][0]).synthetic
    with pytest.raises(Conflict):
        create_demo(uow, system("t"), now=NOW)
