"""The consultation desk's pure rules: 開庁日 arithmetic (with the real holiday library), states,
routing, service levels, statistics, FAQ anonymisation, attachments and support plans."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digiden.domain.access import OrgRef, Principal, Role
from digiden.domain.consult import (
    ATTACHMENT_MAX_BYTES,
    DEFAULT_SERVICE_LEVELS,
    ActionItem,
    ActionState,
    CaseReach,
    CaseTimes,
    Desk,
    FaqState,
    Kind,
    OfficeKind,
    OfficeRef,
    Overdue,
    PlanReach,
    Router,
    RouteRequest,
    Rule,
    ServiceLevel,
    State,
    Step,
    Timing,
    WorkingCalendar,
    age_band,
    anonymize,
    check_attachment,
    check_dates,
    check_rule,
    desk_statistics,
    family_of,
    faq_transition,
    identity_left,
    is_year_end_closure,
    japan_date,
    may_edit_plan,
    may_see_case,
    may_see_personal,
    may_see_plan,
    merge_check,
    overdue,
    percentile,
    percentile_counts,
    plan_progress,
    statistics_of_rows,
    text_field,
    transition,
)
from digiden.domain.errors import Conflict, InvalidInput

JP = holidays.Japan(language="ja")
CAL = WorkingCalendar(lambda d: d in JP)
DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))


def test_closed_days_are_weekends_holidays_and_the_year_end() -> None:
    assert not CAL.is_open(date(2026, 11, 28))            # Saturday
    assert not CAL.is_open(date(2026, 11, 23))            # 勤労感謝の日 (Monday)
    assert not CAL.is_open(date(2026, 5, 6))              # 振替休日 (憲法記念日 fell on a Sunday)
    assert not CAL.is_open(date(2026, 9, 22))             # 国民の休日 between 敬老の日 and 秋分の日
    for d in (date(2026, 12, 29), date(2026, 12, 31), date(2027, 1, 2), date(2027, 1, 3)):
        assert is_year_end_closure(d) and not CAL.is_open(d)
    assert CAL.is_open(date(2026, 12, 28)) and CAL.is_open(date(2027, 1, 4))
    assert CAL.is_open(date(2026, 11, 30))                # Monday


def test_counting_and_adding_examples() -> None:
    # received on Friday 2026-12-25: one working day later is Monday 12-28, two is 2027-01-04
    assert CAL.add(date(2026, 12, 25), 1) == date(2026, 12, 28)
    assert CAL.add(date(2026, 12, 25), 2) == date(2027, 1, 4)
    # Golden Week 2026: 4/29 昭和の日, 5/3–5/6 closed
    assert CAL.count(date(2026, 4, 28), date(2026, 5, 7)) == 3
    assert CAL.count(date(2026, 11, 30), date(2026, 11, 30)) == 0
    assert CAL.count(date(2026, 11, 28), date(2026, 11, 30)) == 1   # Saturday → Monday
    # instants are counted in Japan time: 23:30 UTC on Sunday is Monday morning in Japan
    sunday_night_utc = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert japan_date(sunday_night_utc) == date(2026, 11, 30)
    assert CAL.count_between(sunday_night_utc, datetime(2026, 12, 1, 1, 0, tzinfo=UTC)) == 1
    with pytest.raises(InvalidInput) as e:
        CAL.add(date(2026, 1, 1), -1)
    assert "0以上" in e.value.message_ja


@settings(max_examples=300, deadline=None)
@given(DAYS, st.integers(min_value=0, max_value=400))
def test_add_then_count_round_trips_and_never_lands_on_a_closed_day(start: date, n: int) -> None:
    end = CAL.add(start, n)
    assert CAL.count(start, end) == n
    if n >= 1:
        assert CAL.is_open(end)
        assert end > start
        # and it is the first such day: the day before has one fewer working day after start
        assert CAL.count(start, end - timedelta(days=1)) == n - 1


@settings(max_examples=300, deadline=None)
@given(DAYS, DAYS, st.integers(min_value=1, max_value=250))
def test_the_receipt_date_threshold_says_the_same_as_counting(received: date, today: date, n: int) -> None:
    # "at least n working days old" and "past the due day" as one comparison with the receipt date
    assert (CAL.count(received, today) >= n) == (received <= CAL.latest_start(today, n))
    due = CAL.add(received, n)
    assert (today > due) == (received <= CAL.overdue_if_received_by(today, n))


@settings(max_examples=300, deadline=None)
@given(DAYS, DAYS)
def test_count_is_the_number_of_open_days_in_between(a: date, b: date) -> None:
    if b < a:
        a, b = b, a
    if (b - a).days > 200:
        b = a + timedelta(days=200)
    brute = sum(1 for i in range(1, (b - a).days + 1) if CAL.is_open(a + timedelta(days=i)))
    assert CAL.count(a, b) == brute
    assert CAL.count(b, a) == -brute


def test_states_follow_the_desk_cycle() -> None:
    s = transition(State.RECEIVED, Step.ASSIGN)
    assert s is State.ASSIGNED
    s = transition(s, Step.RESPONDER_REPLY)
    assert s is State.ANSWERED
    assert transition(s, Step.ASKER_REPLY) is State.ASSIGNED          # a reply reopens
    assert transition(State.RESOLVED, Step.ASKER_REPLY) is State.ASSIGNED
    assert transition(s, Step.RESOLVE) is State.RESOLVED
    assert transition(State.RESOLVED, Step.CLOSE) is State.CLOSED
    assert transition(State.CLOSED, Step.REOPEN) is State.ASSIGNED
    with pytest.raises(Conflict) as e:
        transition(State.CLOSED, Step.ASKER_REPLY)
    assert "終了した相談には返信できません" in e.value.message_ja
    with pytest.raises(Conflict) as e:
        transition(State.MERGED, Step.RESPONDER_REPLY)
    assert "統合" in e.value.message_ja
    with pytest.raises(Conflict):
        transition(State.RECEIVED, Step.REOPEN)


def test_merge_only_within_one_local_government() -> None:
    merge_check(1, 1, 10, 11, State.ANSWERED)
    with pytest.raises(InvalidInput, match="same local government"):
        merge_check(1, 2, 10, 11, State.ANSWERED)
    with pytest.raises(InvalidInput):
        merge_check(1, 1, 10, 10, State.ANSWERED)
    with pytest.raises(InvalidInput):
        merge_check(1, 1, 10, 11, State.MERGED)


def test_an_empty_question_and_bad_attachments_are_refused_in_japanese() -> None:
    with pytest.raises(InvalidInput) as e:
        text_field("  \n ", max_len=100, field="body", label_ja="相談内容")
    assert e.value.message_ja == "相談内容を入力してください"
    assert check_attachment("資料.pdf", b"%PDF-1.7 ...") == "application/pdf"
    with pytest.raises(InvalidInput) as e:
        check_attachment("big.pdf", b"%PDF-" + b"0" * ATTACHMENT_MAX_BYTES)
    assert "5MBを超えています" in e.value.message_ja
    with pytest.raises(InvalidInput) as e:
        check_attachment("run.exe", b"MZ...")
    assert "受け付けていません" in e.value.message_ja
    with pytest.raises(InvalidInput) as e:
        check_attachment("fake.pdf", b"MZ not a pdf")
    assert "一致しません" in e.value.message_ja


def _offices() -> list[OfficeRef]:
    return [
        OfficeRef(1, "国の相談窓口", "内閣官房", OfficeKind.DESK),
        OfficeRef(2, "総務省", "総務省", OfficeKind.MINISTRY),
        OfficeRef(3, "東北総合通信局", "総務省", OfficeKind.REGIONAL, "総合通信局", frozenset({"02", "07"})),
        OfficeRef(4, "北海道総合通信局", "総務省", OfficeKind.REGIONAL, "総合通信局", frozenset({"01"}),
                  frozenset({"01"})),
        OfficeRef(5, "東北経済産業局", "経済産業省", OfficeKind.REGIONAL, "経済産業局", frozenset({"07"})),
    ]


def test_routing_by_measure_then_field_then_the_desk() -> None:
    rules = [Rule(1, "総務省", field_code="digital", family="総合通信局"),
             Rule(2, "経済産業省", measure_code="M-SME", family="経済産業局"),
             Rule(3, "環境省", field_code="green")]
    r = Router(rules, _offices())
    got = r.route(RouteRequest("07", "digital", ("M-SME",)))
    assert (got.office_name, got.rule_id) == ("東北経済産業局", 2)
    got = r.route(RouteRequest("07", "digital"))
    assert got.office_name == "東北総合通信局" and not got.unconfirmed
    got = r.route(RouteRequest("01", "digital"))
    assert got.office_name == "北海道総合通信局" and got.unconfirmed and "未確認" in got.reason_ja
    # no office of the family in that prefecture: the ministry
    assert r.route(RouteRequest("13", "digital")).office_name == "総務省"
    # a ministry without any office, and no rule at all: the national desk
    assert r.route(RouteRequest("13", "green")).office_name == "国の相談窓口"
    assert r.route(RouteRequest("13", None)).office_name == "国の相談窓口"


def test_a_rule_that_leaves_pairs_without_an_office_says_which() -> None:
    prefs = {"01": "北海道", "07": "福島県", "13": "東京都"}
    offices = [o for o in _offices() if o.kind is not OfficeKind.MINISTRY]
    with pytest.raises(InvalidInput) as e:
        check_rule(Rule(0, "総務省", field_code="digital", family="総合通信局"), offices, prefs)
    assert "digital×東京都" in e.value.message_ja and e.value.details["pairs"] == [["digital", "13"]]
    check_rule(Rule(0, "総務省", field_code="digital", family="総合通信局"), _offices(), prefs)   # the ministry covers
    with pytest.raises(InvalidInput) as e:
        check_rule(Rule(0, "総務省", field_code="digital", family="経済産業局"), _offices(), prefs)
    assert "経済産業省の部局" in e.value.message_ja
    with pytest.raises(InvalidInput):
        check_rule(Rule(0, "総務省"), _offices(), prefs)


def test_families_of_the_reference_offices() -> None:
    assert family_of("国土交通省", "神戸運輸監理部") == "地方運輸局"
    assert family_of("国土交通省", "北海道開発局") == "地方整備局"
    assert family_of("内閣府", "沖縄総合事務局 財務部") == "財務局"
    assert family_of("厚生労働省", "四国厚生支局") == "地方厚生局"


def test_service_levels_and_overdue_in_working_days() -> None:
    lvl = ServiceLevel(2, 5)
    received = datetime(2026, 12, 24, 1, 0, tzinfo=UTC)     # Thursday 10:00 JST
    t = Timing(received, None, None, State.ASSIGNED)
    # due 12/28 (Mon) for the first response
    assert overdue(CAL, t, lvl, datetime(2026, 12, 28, 14, 0, tzinfo=UTC)) == []
    assert overdue(CAL, t, lvl, datetime(2027, 1, 4, 0, 0, tzinfo=UTC)) == [Overdue.FIRST_RESPONSE]
    # the resolution target (5) is due 2027-01-06 because 12/29–1/3 are closed
    assert overdue(CAL, t, lvl, datetime(2027, 1, 6, 14, 59, tzinfo=UTC)) == [Overdue.FIRST_RESPONSE]
    assert overdue(CAL, t, lvl, datetime(2027, 1, 6, 15, 0, tzinfo=UTC)) == [Overdue.FIRST_RESPONSE, Overdue.RESOLUTION]
    answered = Timing(received, datetime(2026, 12, 25, tzinfo=UTC), None, State.ANSWERED)
    assert overdue(CAL, answered, lvl, datetime(2027, 1, 8, 0, 0, tzinfo=UTC)) == [Overdue.RESOLUTION]
    done = Timing(received, None, datetime(2026, 12, 25, tzinfo=UTC), State.RESOLVED)
    assert overdue(CAL, done, lvl, datetime(2027, 3, 1, tzinfo=UTC)) == []
    with pytest.raises(InvalidInput):
        ServiceLevel(5, 2)
    assert all(v.first_response_days <= v.resolution_days for v in DEFAULT_SERVICE_LEVELS.values())
    assert Kind.parse("法令・規制") is Kind.LEGAL


def test_percentiles_and_statistics() -> None:
    assert percentile([], 50) is None
    assert percentile([3], 90) == 3
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    mon = datetime(2026, 11, 30, 1, tzinfo=UTC)
    def days(days: int) -> int:
        return CAL.count_between(mon, mon + timedelta(days=days))
    cases = [CaseTimes("A局", "digital", mon, days(1), days(3), State.RESOLVED),
             CaseTimes("A局", "green", mon, days(2), None, State.ANSWERED),
             CaseTimes("B局", "digital", mon, None, None, State.RECEIVED)]
    by_office = desk_statistics(cases, by="office")
    assert [(s.group, s.received, s.open) for s in by_office] == [("A局", 2, 1), ("B局", 1, 1)]
    assert by_office[0].first_response_median == 1.5 and by_office[0].resolution_median == 3
    assert by_office[1].first_response_median is None
    by_field = desk_statistics(cases, by="field")
    assert [s.group for s in by_field] == ["digital", "green"]
    assert [(s.group, s.received) for s in desk_statistics(cases, by="month")] == [("2026-11", 3)]
    with pytest.raises(InvalidInput):
        desk_statistics(cases, by="kind")
    assert age_band(0) == "0〜2開庁日" and age_band(25) == "21開庁日以上"


ORG = OrgRef(10, "072028", "07", False)


def test_who_sees_a_consultation() -> None:
    case = CaseReach(ORG, frozenset({3}))
    owner = Principal(Role.MUNICIPALITY, "aizu", user_id=1, org_unit_id=10, prefecture_code="07")
    other = Principal(Role.MUNICIPALITY, "kitakata", user_id=2, org_unit_id=11, prefecture_code="07")
    pref = Principal(Role.PREFECTURE, "fukushima", user_id=3, org_unit_id=12, prefecture_code="07")
    responder = Principal(Role.MINISTRY_EDITOR, "soumu", user_id=4, ministry="総務省")
    admin = Principal(Role.NATIONAL_ADMIN, "admin", user_id=5)
    public = Principal(Role.PUBLIC, "public")
    assert may_see_case(owner, Desk(), case) and not may_see_case(other, Desk(), case)
    assert may_see_case(pref, Desk(), case)
    assert not may_see_case(pref, Desk(), CaseReach(ORG, frozenset({3}), share_with_prefecture=False))
    assert may_see_case(responder, Desk(frozenset({3})), case)
    assert not may_see_case(responder, Desk(frozenset({4})), case)
    assert may_see_case(admin, Desk(), case) and not may_see_case(public, Desk(), case)
    assert not may_see_personal(pref, Desk(), case) and may_see_personal(owner, Desk(), case)


def test_faq_text_loses_the_askers_identity_and_needs_a_second_person() -> None:
    text = "会津若松市の山田太郎です。連絡は yamada@example.lg.jp または 0242-39-1111 まで。"
    out = anonymize(text, ["山田太郎", "会津若松市"])
    assert "山田" not in out and "会津若松市" not in out and "@" not in out and "1111" not in out
    assert identity_left(out, ["山田太郎", "会津若松市"]) == []
    assert identity_left(text, ["山田太郎"]) == ["メールアドレス", "電話番号", "「山田太郎」"]
    s = faq_transition(FaqState.DRAFT, "submit", author="a", actor="a")
    with pytest.raises(Conflict) as e:
        faq_transition(s, "publish", author="a", actor="a")
    assert "作成者以外" in e.value.message_ja
    assert faq_transition(s, "publish", author="a", actor="b") is FaqState.PUBLISHED


def test_support_plans_dates_progress_and_access() -> None:
    with pytest.raises(InvalidInput) as e:
        check_dates(date(2026, 4, 1), date(2026, 3, 31))
    assert "開始日（2026-04-01）より前です" in e.value.message_ja
    items = [ActionItem(date(2026, 5, 1), ActionState.DONE), ActionItem(date(2026, 5, 1), ActionState.OPEN),
             ActionItem(date(2026, 12, 1), ActionState.OPEN), ActionItem(date(2026, 1, 1), ActionState.DROPPED)]
    p = plan_progress([True, False], items, date(2026, 6, 1))
    assert (p.goals, p.goals_achieved, p.actions, p.actions_done, p.actions_overdue) == (2, 1, 3, 1, 1)
    assert p.percent == 33.3
    plan = PlanReach(ORG, frozenset({4}))
    staff = Principal(Role.MINISTRY_EDITOR, "soumu", user_id=4)
    pref = Principal(Role.PREFECTURE, "fukushima", user_id=3, org_unit_id=12, prefecture_code="07")
    other = Principal(Role.MUNICIPALITY, "kitakata", user_id=2, org_unit_id=11, prefecture_code="07")
    assert may_see_plan(staff, Desk(), plan) and may_edit_plan(staff, Desk(), plan)
    assert may_see_plan(pref, Desk(), plan) and not may_edit_plan(pref, Desk(), plan)
    assert not may_see_plan(other, Desk(), plan)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), max_size=60), st.sampled_from([0, 10, 50, 90, 100]))
def test_percentile_of_a_histogram_is_the_percentile_of_its_values(values: list[int], q: int) -> None:
    counts: dict[int, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    expected = percentile(values, q)
    got = percentile_counts(counts, q)
    assert got == expected if expected is None else got == pytest.approx(expected)


ROWS = st.lists(st.tuples(st.sampled_from(["A局", "B局"]), st.sampled_from(["P1.1", "P4.3"]),
                          st.sampled_from(["2026-01", "2026-02"]), st.none() | st.integers(0, 30),
                          st.none() | st.integers(0, 60), st.booleans()), max_size=40)


@settings(max_examples=100, deadline=None)
@given(ROWS)
def test_the_one_pass_statistics_equal_the_list_based_ones(rows: list[tuple]) -> None:  # type: ignore[type-arg]
    fast = statistics_of_rows(rows)
    at = {"2026-01": datetime(2026, 1, 15, tzinfo=UTC), "2026-02": datetime(2026, 2, 15, tzinfo=UTC)}
    cases = [CaseTimes(o, f, at[m], a, b, State.ANSWERED if is_open else State.RESOLVED)
             for o, f, m, a, b, is_open in rows]
    for by in ("office", "field", "month"):
        assert fast[by] == desk_statistics(cases, by=by)

