"""重点支援 rules: calls, rubric, scores, submission, conflicts of interest, normalisation and
the selection model (solved here by exhaustive search; HiGHS is tested in
tests/services/test_support_solver.py). Pure: no database."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digiden.domain.access import OrgRef
from digiden.domain.errors import Conflict, InvalidInput
from digiden.domain.support import (
    AppAction,
    AppStatus,
    CallTerms,
    Candidate,
    Criterion,
    Member,
    Milp,
    Policy,
    ProgrammeKind,
    Review,
    Submission,
    app_transition,
    application_scores,
    build_model,
    check_call,
    check_override,
    check_rubric,
    check_scores,
    check_submission,
    conflict_reason,
    greedy,
    jst_text,
    normalise,
    select,
)

OPEN = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
CLOSE = datetime(2026, 12, 25, 8, 0, tzinfo=UTC)    # 17:00 in Japan
AIZU = OrgRef(1, "072028", "07", False)
KITAKATA = OrgRef(2, "072087", "07", False)
FUKUSHIMA = OrgRef(3, "070009", "07", True)
SAPPORO = OrgRef(4, "011002", "01", False)


def terms(**kw) -> CallTerms:  # type: ignore[no-untyped-def]
    base = dict(round=1, opens_at=OPEN, closes_at=CLOSE, budget=100_000_000, per_application_cap=20_000_000,
                eligible_kinds=frozenset({"city", "town", "village", "prefecture"}), joint_allowed=True,
                joint_bonus=5.0)
    return CallTerms(**(base | kw))  # type: ignore[arg-type]


# ---------------------------------------------------------------- calls and rubric

def test_a_call_is_checked_with_japanese_messages() -> None:
    assert check_call(terms(), kind=ProgrammeKind.GRANT).budget == 100_000_000
    for kw, field, words in [
        (dict(budget=0), "budget", "0や負の額"), (dict(budget=-5), "budget", "0や負の額"),
        (dict(closes_at=OPEN), "closes_at", "より後"),
        (dict(per_application_cap=200_000_000), "per_application_cap", "超えて"),
        (dict(eligible_kinds=frozenset()), "eligible_kinds", "1つ以上"),
        (dict(eligible_kinds=frozenset({"ward"})), "eligible_kinds", "不明"),
        (dict(joint_bonus=25.0), "joint_bonus", "0〜20"),
        (dict(joint_allowed=False), "joint_bonus", "共同提案を認めない"),
        (dict(opens_at=OPEN.replace(tzinfo=None)), "opens_at", "タイムゾーン"),
    ]:
        with pytest.raises(InvalidInput) as e:
            check_call(terms(**kw), kind=ProgrammeKind.GRANT)
        assert e.value.field == field and words in e.value.message_ja, (kw, e.value.message_ja)
    with pytest.raises(InvalidInput, match="budget"):
        check_call(terms(budget=None, per_application_cap=None), kind=ProgrammeKind.GRANT)
    # a selection programme needs no money
    assert check_call(terms(budget=None, per_application_cap=None), kind=ProgrammeKind.SELECTION).budget is None
    assert ProgrammeKind.parse("交付金") is ProgrammeKind.GRANT
    assert ProgrammeKind.parse("registration").label_ja == "登録"


CRITERIA = [Criterion("vision", "地域ビジョンとの整合", 40, 5), Criterion("kpi", "KPIの妥当性", 30, 5),
            Criterion("collab", "地域間連携", 30, 10, regional_collaboration=True)]


def test_rubric_weights_sum_to_100_and_joint_calls_evaluate_collaboration() -> None:
    r = check_rubric(CRITERIA, joint_allowed=True, joint_bonus=0)
    assert r.weighted({"vision": 5, "kpi": 5, "collab": 10}) == pytest.approx(100)
    assert r.weighted({"vision": 2.5, "kpi": 0, "collab": 5}) == pytest.approx(35)
    with pytest.raises(InvalidInput) as e:
        check_rubric(CRITERIA[:2], joint_allowed=False, joint_bonus=0)
    assert "合計が70" in e.value.message_ja and e.value.details["weight_total"] == 70
    plain = [Criterion("a", "A", 50, 5), Criterion("b", "B", 50, 5)]
    with pytest.raises(InvalidInput, match="collaboration"):
        check_rubric(plain, joint_allowed=True, joint_bonus=0)
    assert check_rubric(plain, joint_allowed=True, joint_bonus=5).joint_bonus == 5
    for bad in ([Criterion("a", "A", 100, 0)], [Criterion("a", "A", 0, 5), Criterion("b", "B", 100, 5)],
                [Criterion("a", "A", 50, 5), Criterion("a", "A2", 50, 5)], [],
                [Criterion("a", "A", math.nan, 5)]):
        with pytest.raises(InvalidInput):
            check_rubric(bad, joint_allowed=False, joint_bonus=0)


def test_scores_outside_the_range_are_refused() -> None:
    r = check_rubric(CRITERIA, joint_allowed=True, joint_bonus=0)
    assert check_scores(r, {"vision": "4.5", "kpi": 0, "collab": 10}) == {"vision": 4.5, "kpi": 0.0, "collab": 10.0}
    for scores, field in [({"vision": 6, "kpi": 1, "collab": 1}, "scores.vision"),
                          ({"vision": -1, "kpi": 1, "collab": 1}, "scores.vision"),
                          ({"vision": 1, "kpi": 1}, "scores.collab"),
                          ({"vision": 1, "kpi": "x", "collab": 1}, "scores.kpi"),
                          ({"vision": 1, "kpi": float("inf"), "collab": 1}, "scores.kpi"),
                          ({"vision": True, "kpi": 1, "collab": 1}, "scores.vision"),
                          ({"vision": 1, "kpi": 1, "collab": 1, "extra": 1}, "scores")]:
        with pytest.raises(InvalidInput) as e:
            check_scores(r, scores)
        assert e.value.field == field
    with pytest.raises(InvalidInput) as e:
        check_scores(r, {"vision": 6, "kpi": 1, "collab": 1})
    assert e.value.message_ja.startswith("「地域ビジョンとの整合」の点数は0〜5点の範囲")


# ---------------------------------------------------------------- applications

def sub(members: tuple[Member, ...] = (), amount: int | None = 10_000_000) -> Submission:
    return Submission(AIZU, "city", "会津若松市", members, amount)


def test_submission_is_refused_after_the_deadline_with_the_deadline_in_japan_time() -> None:
    check_submission(terms(), sub(), OPEN + timedelta(days=1))
    check_submission(terms(), sub(), CLOSE)          # the deadline itself is still in time
    with pytest.raises(Conflict) as e:
        check_submission(terms(), sub(), CLOSE + timedelta(seconds=1))
    assert "2026年12月25日 17:00（日本時間）" in e.value.message_ja and "締切" in e.value.message_ja
    with pytest.raises(Conflict, match="not open"):
        check_submission(terms(), sub(), OPEN - timedelta(seconds=1))
    assert jst_text(datetime(2026, 12, 31, 15, 0, tzinfo=UTC)) == "2027年1月1日 00:00（日本時間）"


def test_joint_members_must_confirm_and_be_eligible() -> None:
    now = OPEN + timedelta(days=1)
    kita = Member(KITAKATA, "city", "喜多方市", False)
    with pytest.raises(Conflict) as e:
        check_submission(terms(), sub((kita,)), now)
    assert "喜多方市" in e.value.message_ja and e.value.details["unconfirmed"] == ["喜多方市"]
    check_submission(terms(), sub((Member(KITAKATA, "city", "喜多方市", True),)), now)
    with pytest.raises(InvalidInput, match="no joint"):
        check_submission(terms(joint_allowed=False, joint_bonus=0),
                         sub((Member(KITAKATA, "city", "喜多方市", True),)), now)
    with pytest.raises(InvalidInput) as e:
        check_submission(terms(eligible_kinds=frozenset({"town"})), sub(), now)
    assert "対象外" in e.value.message_ja and e.value.field == "lead"
    with pytest.raises(InvalidInput, match="twice"):
        check_submission(terms(), sub((Member(AIZU, "city", "会津若松市", True),)), now)
    for amount in (None, 0, 20_000_001):
        with pytest.raises(InvalidInput) as e:
            check_submission(terms(), sub(amount=amount), now)
        assert e.value.field == "requested_amount"
    with pytest.raises(InvalidInput):
        check_submission(terms(budget=None, per_application_cap=None), sub(amount=5), now)


def test_application_states() -> None:
    assert app_transition(AppStatus.DRAFT, AppAction.SUBMIT) is AppStatus.SUBMITTED
    assert app_transition(AppStatus.SUBMITTED, AppAction.WITHDRAW) is AppStatus.WITHDRAWN
    assert app_transition(AppStatus.SUBMITTED, AppAction.SELECT) is AppStatus.SELECTED
    assert app_transition(AppStatus.SUBMITTED, AppAction.REJECT) is AppStatus.NOT_SELECTED
    for s, a in [(AppStatus.DRAFT, AppAction.SELECT), (AppStatus.WITHDRAWN, AppAction.SUBMIT),
                 (AppStatus.SELECTED, AppAction.WITHDRAW), (AppStatus.NOT_SELECTED, AppAction.SELECT)]:
        with pytest.raises(Conflict):
            app_transition(s, a)


def test_conflicts_declared_and_automatic() -> None:
    assert conflict_reason(None, [AIZU], None) is None
    assert conflict_reason(AIZU, [AIZU], None) == "審査員の所属団体が申請者です"
    assert conflict_reason(FUKUSHIMA, [KITAKATA], None) == "審査員の所属する都道府県内の申請です"
    assert conflict_reason(AIZU, [FUKUSHIMA], None) is not None       # its own prefecture
    assert conflict_reason(SAPPORO, [AIZU, KITAKATA], None) is None
    assert conflict_reason(SAPPORO, [AIZU, OrgRef(9, "012025", "01", False)], None) is not None
    assert conflict_reason(None, [AIZU], "親族が勤務") == "申告による利益相反: 親族が勤務"
    assert conflict_reason(OrgRef(0, "JP", "00", False, True), [AIZU], None) is None


# ---------------------------------------------------------------- normalisation

def test_normalisation_is_a_z_score_per_reviewer_on_the_calls_scale() -> None:
    rs = [Review(1, "hard", 40), Review(2, "hard", 60), Review(1, "soft", 70), Review(2, "soft", 90),
          Review(3, "once", 55), Review(1, "flat", 80), Review(3, "flat", 80)]
    out = {(n.application, n.reviewer): n for n in normalise(rs)}
    raws = [r.raw for r in rs]
    mu = sum(raws) / len(raws)
    sigma = math.sqrt(sum((x - mu) ** 2 for x in raws) / len(raws))
    # the hard and the soft reviewer ranked 1 and 2 alike: after normalisation they agree
    assert out[(1, "hard")].normalised == pytest.approx(out[(1, "soft")].normalised) == pytest.approx(mu - sigma)
    assert out[(2, "hard")].normalised == pytest.approx(mu + sigma)
    assert out[(1, "hard")].raw == 40        # the raw score is kept
    # one review, or no spread: kept as marked, flagged
    assert (out[(3, "once")].normalised, out[(3, "once")].adjusted) == (55, False)
    assert (out[(1, "flat")].normalised, out[(1, "flat")].adjusted) == (80, False)
    assert normalise([]) == []
    scores = application_scores(normalise(rs), {3: True}, 5.0)
    assert scores[3] == pytest.approx((55 + 80) / 2 + 5)
    assert set(scores) == {1, 2, 3}


@given(st.lists(st.tuples(st.integers(1, 6), st.sampled_from("abc"), st.floats(0, 100)), min_size=1, max_size=30))
def test_normalisation_keeps_each_reviewers_order_and_finite_values(rows) -> None:  # type: ignore[no-untyped-def]
    rs = [Review(a, r, s) for a, r, s in rows]
    out = normalise(rs)
    assert [n.raw for n in out] == [r.raw for r in rs]
    assert all(math.isfinite(n.normalised) for n in out)
    for x, y in itertools.combinations(out, 2):
        if x.reviewer == y.reviewer and x.raw < y.raw:
            assert x.normalised <= y.normalised + 1e-9


# ---------------------------------------------------------------- selection

def brute(m: Milp) -> list[int] | None:
    """Exhaustive search: the reference solver for small models."""
    n = len(m.objective)
    best, best_x = -math.inf, None
    for x in itertools.product((0, 1), repeat=n):
        if any(x[i] > m.upper[i] for i in range(n)):
            continue
        if any(not (r.lb - 1e-9 <= sum(c * x[i] for i, c in r.coefs.items()) <= r.ub + 1e-9) for r in m.rows):
            continue
        v = sum(m.objective[i] * x[i] for i in range(n))
        if v > best + 1e-12:
            best, best_x = v, list(x)
    return best_x


def cand(i: int, score: float | None, amount: int, prefs: str, joint: bool = False) -> Candidate:
    return Candidate(i, f"申請{i}", score, amount, frozenset(prefs.split(",")), joint)


def test_selection_beats_greedy_by_covering_every_prefecture_and_explains_each_outcome() -> None:
    cs = [cand(1, 90, 60, "01"), cand(2, 85, 50, "01"), cand(3, 80, 40, "02"), cand(4, 50, 30, "03"),
          cand(5, 95, 140, "01"), cand(6, None, 10, "02"), cand(7, 30, 10, "03")]
    p = Policy(budget=130, min_score=40, every_prefecture=True)
    s = select(cs, p, brute, {"01": "北海道", "02": "青森県", "03": "岩手県"})
    assert set(s.optimal.chosen) == {1, 3, 4} and s.optimal.budget_used == 130 and s.optimal.feasible
    assert set(s.greedy.chosen) == {1, 2} and not s.greedy.feasible
    missing = next(c for c in s.greedy.constraints if c.key == "every_prefecture")
    assert missing.detail == "選定のない都道府県: 青森県、岩手県"
    assert s.gain == pytest.approx(220 - 175)
    why = {o.application: o for o in s.outcomes}
    assert why[4].reason == "every_prefecture" and "岩手県で唯一の選定" in why[4].reason_ja
    assert why[2].reason == "budget" and why[2].shortfall == 50 and "50円不足" in why[2].reason_ja
    assert why[5].reason == "budget" and why[6].reason == "not_reviewed"
    assert why[7].reason == "below_min_score" and "最低点（40.0点）" in why[7].reason_ja


def test_caps_and_joint_share() -> None:
    cs = [cand(1, 90, 1, "01"), cand(2, 89, 1, "01"), cand(3, 88, 1, "01"), cand(4, 40, 1, "02", joint=True),
          cand(5, 39, 1, "01,02", joint=True)]
    s = select(cs, Policy(per_prefecture_cap=2, min_joint_share=0.5), brute)
    assert s.optimal.feasible and set(s.optimal.chosen) == {1, 4, 5} or set(s.optimal.chosen) == {2, 4, 5}
    why = {o.application: o for o in s.outcomes if not o.selected}
    assert {o.reason for o in why.values()} <= {"per_prefecture_cap", "min_joint_share"}
    s = select(cs, Policy(max_selections=2), brute)
    assert set(s.optimal.chosen) == {1, 2}
    assert {o.reason for o in s.outcomes if not o.selected} == {"max_selections"}


def test_an_infeasible_selection_names_the_constraint() -> None:
    cs = [cand(1, 90, 60, "01"), cand(2, 80, 200, "02")]
    with pytest.raises(InvalidInput) as e:
        select(cs, Policy(budget=100, every_prefecture=True), brute, {"02": "青森県"})
    assert e.value.details["constraints"] == ["every_prefecture", "budget"]
    assert "「全都道府県で1件以上」" in e.value.message_ja and "青森県" in e.value.message_ja
    with pytest.raises(InvalidInput) as e:
        select([cand(1, 90, 1, "01")], Policy(every_prefecture=True, min_joint_share=0.5), brute)
    assert e.value.details["constraints"] == ["every_prefecture", "min_joint_share"]
    assert "選定できる共同提案がありません" in e.value.message_ja
    for bad in (Policy(budget=0), Policy(budget=-1), Policy(min_joint_share=1.5), Policy(max_selections=0)):
        with pytest.raises(InvalidInput):
            select(cs, bad, brute)


def test_an_override_needs_a_reason_and_stays_in_budget() -> None:
    cs = [cand(1, 90, 60, "01"), cand(2, 80, 50, "02"), cand(3, None, 1, "03")]
    p = Policy(budget=100, every_prefecture=True)
    with pytest.raises(InvalidInput, match="reason"):
        check_override(p, cs, {2}, {1}, " ")
    with pytest.raises(InvalidInput, match="budget"):
        check_override(p, cs, {1, 2}, {2}, "理由")
    with pytest.raises(InvalidInput, match="unreviewed"):
        check_override(p, cs, {3}, {3}, "理由")
    warnings = check_override(p, cs, {2}, {1, 2}, "地域の事情", {"01": "北海道"})
    assert warnings == ["全都道府県で1件以上: 選定のない都道府県: 北海道"]


instances = st.lists(
    st.tuples(st.one_of(st.none(), st.floats(0, 100)), st.integers(1, 50),
              st.sets(st.sampled_from(["01", "02", "03", "13"]), min_size=1, max_size=2), st.booleans()),
    min_size=0, max_size=9)
policies = st.builds(Policy, budget=st.one_of(st.none(), st.integers(1, 200)),
                     max_selections=st.one_of(st.none(), st.integers(1, 6)),
                     min_score=st.one_of(st.none(), st.floats(0, 80)), every_prefecture=st.booleans(),
                     per_prefecture_cap=st.one_of(st.none(), st.integers(1, 3)),
                     min_joint_share=st.one_of(st.none(), st.floats(0.05, 1)))


@settings(max_examples=150, deadline=None)
@given(instances, policies)
def test_the_optimum_holds_every_constraint_and_is_never_worse_than_greedy(rows, p) -> None:  # type: ignore[no-untyped-def]
    cs = [Candidate(i, f"a{i}", s, a, frozenset(q), j) for i, (s, a, q, j) in enumerate(rows)]
    try:
        s = select(cs, p, brute)
    except InvalidInput as e:
        assert brute(build_model(cs, p)) is None and e.field == "constraints"
        assert greedy(cs, p) is not None
        return
    assert s.optimal.feasible, s.optimal.constraints
    chosen = [c for c in cs if c.id in s.optimal.chosen]
    if p.budget is not None:
        assert sum(c.amount for c in chosen) <= p.budget
    assert all(c.score is not None and (p.min_score is None or c.score >= p.min_score - 1e-9) for c in chosen)
    if s.greedy.feasible:
        assert s.optimal.total_score >= s.greedy.total_score - 1e-9
    assert {o.application for o in s.outcomes} == {c.id for c in cs}
    assert {o.application for o in s.outcomes if o.selected} == set(s.optimal.chosen)


def test_who_sees_an_unpublished_application() -> None:
    from digiden.domain.access import PUBLIC, Principal, Role, can_see_application
    aizu = Principal(Role.MUNICIPALITY, "aizu", org_unit_id=AIZU.id, prefecture_code="07")
    kita = Principal(Role.MUNICIPALITY, "kita", org_unit_id=KITAKATA.id, prefecture_code="07")
    pref = Principal(Role.PREFECTURE, "fukushima", org_unit_id=FUKUSHIMA.id, prefecture_code="07")
    other = Principal(Role.PREFECTURE, "hokkaido", org_unit_id=9, prefecture_code="01")
    rev = Principal(Role.MINISTRY_EDITOR, "reviewer")
    parties = [AIZU, KITAKATA]

    def sees(p: Principal, **kw: bool) -> bool:
        args = dict(draft=False, published_selection=False, reviewer=False, conflicted=False) | kw
        return can_see_application(p, parties, **args)
    assert sees(aizu, draft=True) and sees(kita, draft=True)
    assert not sees(pref, draft=True) and sees(pref)
    assert not sees(other) and not sees(PUBLIC) and not sees(rev)
    assert sees(rev, reviewer=True) and not sees(rev, reviewer=True, conflicted=True)
    assert not sees(rev, reviewer=True, draft=True)
    assert sees(PUBLIC, published_selection=True)


def test_selected_regions_move_from_selected_to_realised_or_cancelled() -> None:
    from digiden.domain.support import SelectionState as S
    from digiden.domain.support import selection_transition
    assert selection_transition(S.SELECTED, S.REALISED) is S.REALISED
    assert selection_transition(S.REGISTERED, S.CANCELLED) is S.CANCELLED
    for a, b in [(S.CANCELLED, S.SELECTED), (S.REGISTERED, S.REALISED), (S.REALISED, S.SELECTED),
                 (S.SELECTED, S.SELECTED)]:
        with pytest.raises(Conflict) as e:
            selection_transition(a, b)
        assert a.label_ja in e.value.message_ja
