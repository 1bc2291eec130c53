"""The progress method (docs/methodology.md), table-driven and with properties."""

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from digiden.domain.progress import (
    STALE_AFTER_MONTHS,
    Direction,
    Milestone,
    MilestoneState,
    Point,
    Status,
    Window,
    age_words,
    assess,
    combine,
    compound_growth,
    date_ja,
    forecast_passed,
    is_stale,
    meets,
    months_between,
    ratio_words,
)
from digiden.domain.quantities import Qualifier

TODAY = date(2026, 11, 29)
BEFORE_DUE = date(2023, 6, 30)   # a day before the 2024-03-31 deadlines of the pace tests
FIVE_G = [Point(date(2022, 3, 31), 93.2), Point(date(2023, 3, 31), 96.6),
          Point(date(2024, 3, 31), 98.1)]
FIVE_G_TARGETS = [Milestone(date(2024, 3, 31), 95), Milestone(date(2026, 3, 31), 97),
                  Milestone(date(2031, 3, 31), 99)]


def test_worked_example_5g() -> None:
    a = assess(FIVE_G, FIVE_G_TARGETS, Direction.INCREASE, today=TODAY)
    assert a.status is Status.ON_TRACK
    assert [r.state for r in a.milestones] == [MilestoneState.MET, MilestoneState.MET,
                                               MilestoneState.ON_COURSE]
    assert a.milestones[0].met_on == date(2023, 3, 31)
    assert a.next_milestone == FIVE_G_TARGETS[2]
    assert a.growth_actual == pytest.approx(0.02593, abs=1e-4)
    assert a.growth_required == pytest.approx(0.006731, abs=1e-5)
    assert a.ratio == pytest.approx(3.853, abs=1e-3)
    assert a.forecast == date(2024, 8, 8)


def test_status_keys_and_labels() -> None:
    assert [(s.value, s.label) for s in Status] == [
        ("achieved", "達成"), ("on_track", "順調"), ("needs_acceleration", "要加速"),
        ("stalled", "停滞"), ("deteriorating", "悪化"), ("awaiting_data", "実績未公表"),
        ("not_assessable", "判定不能")]


def test_achieved_is_checked_first() -> None:
    a = assess([Point(date(2025, 3, 31), 1631)], [Milestone(date(2028, 3, 31), 1500)],
               Direction.INCREASE, today=TODAY)
    assert a.status is Status.ACHIEVED


@pytest.mark.parametrize(("points", "reason"), [
    ([], "観測値がありません"),
    ([Point(date(2023, 6, 30), 1000, Qualifier.OVER)], "1時点のみ"),
])
def test_not_assessable_says_why(points: list[Point], reason: str) -> None:
    a = assess(points, [Milestone(date(2028, 3, 31), 1500)], Direction.INCREASE, today=TODAY)
    assert a.status is Status.NOT_ASSESSABLE and reason in a.reason


def test_undated_target_is_not_assessable_but_forecast() -> None:
    a = assess([Point(date(2024, 5, 1), 876), Point(date(2025, 5, 1), 1240)],
               [Milestone(None, 1741)], Direction.INCREASE, today=TODAY)
    assert a.status is Status.NOT_ASSESSABLE and "期限の定めがない" in a.reason
    assert a.forecast is not None and date(2026, 1, 1) < a.forecast < date(2026, 12, 31)


@pytest.mark.parametrize(("current", "status"), [
    (94.5, Status.ON_TRACK),            # ratio ~1.8
    (92.0, Status.NEEDS_ACCELERATION),  # ~0.7
    (90.5, Status.STALLED),             # small positive progress
    (89.0, Status.DETERIORATING),       # moving away
])
def test_ratio_thresholds(current: float, status: Status) -> None:
    # assessed before the deadline: after it, with no value since, the status is 実績未公表
    pts = [Point(date(2020, 3, 31), 90.0), Point(date(2022, 3, 31), current)]
    a = assess(pts, [Milestone(date(2024, 3, 31), 95.0)], Direction.INCREASE, today=BEFORE_DUE)
    assert a.status is status, a.ratio


def test_decrease_direction_is_never_assumed() -> None:
    pts = [Point(date(2020, 3, 31), 100.0), Point(date(2022, 3, 31), 80.0)]
    down = assess(pts, [Milestone(date(2024, 3, 31), 70.0)], Direction.DECREASE, today=BEFORE_DUE)
    assert down.status is Status.ON_TRACK
    up = assess(pts, [Milestone(date(2024, 3, 31), 120.0)], Direction.INCREASE, today=BEFORE_DUE)
    assert up.status is Status.DETERIORATING


def test_missed_milestone_with_progress_needs_acceleration() -> None:
    pts = [Point(date(2022, 3, 31), 31), Point(date(2026, 6, 30), 60)]
    a = assess(pts, [Milestone(date(2026, 3, 31), 70)], Direction.INCREASE, today=TODAY)
    assert a.milestones[0].state is MilestoneState.MISSED
    assert a.status is Status.NEEDS_ACCELERATION


def test_qualifiers_decide_whether_a_milestone_is_met() -> None:
    inc = Direction.INCREASE
    assert meets(Point(date(2023, 6, 30), 1000, Qualifier.OVER), Milestone(None, 1000), inc)
    assert not meets(Point(date(2023, 6, 30), 1000, Qualifier.SLIGHTLY_UNDER),
                     Milestone(None, 1000), inc)
    # 50か所程度: 48 is "about 50"
    assert meets(Point(date(2025, 6, 30), 48), Milestone(None, 50, Qualifier.ABOUT), inc)
    assert not meets(Point(date(2025, 6, 30), 45), Milestone(None, 50, Qualifier.ABOUT), inc)
    # 十数か所 = 11–19
    assert meets(Point(date(2025, 6, 30), 11), Milestone(None, None, Qualifier.RANGE, 11, 19), inc)
    assert not meets(Point(date(2025, 6, 30), 10),
                     Milestone(None, None, Qualifier.RANGE, 11, 19), inc)
    # 完成 is 100 % progress
    assert meets(Point(date(2025, 6, 30), 100), Milestone(None, None, Qualifier.COMPLETE),
                 Direction.COMPLETE)
    assert not meets(Point(date(2025, 6, 30), 99), Milestone(None, None, Qualifier.COMPLETE),
                     Direction.COMPLETE)


def test_cumulative_window_is_judged_on_even_pace() -> None:
    window = Window(date(2022, 4, 1), date(2027, 3, 31))
    target = [Milestone(date(2027, 3, 31), 2_300_000)]
    # Half the window gone, half the total reached: on track.
    half = [Point(date(2022, 9, 30), 200_000), Point(date(2024, 9, 30), 1_150_000)]
    assert assess(half, target, Direction.INCREASE, today=TODAY,
                  window=window).status is Status.ON_TRACK
    slow = [Point(date(2022, 9, 30), 100_000), Point(date(2024, 9, 30), 500_000)]
    a = assess(slow, target, Direction.INCREASE, today=TODAY, window=window)
    assert a.method == "cumulative_pace" and a.status is Status.STALLED


def test_base_of_zero_uses_linear_growth() -> None:
    pts = [Point(date(2023, 3, 31), 0), Point(date(2024, 3, 31), 10)]
    a = assess(pts, [Milestone(date(2026, 3, 31), 30)], Direction.INCREASE, today=date(2025, 6, 30))
    assert a.method == "linear_ratio" and a.status is Status.ON_TRACK
    assert a.forecast is not None and abs((a.forecast - date(2026, 3, 31)).days) <= 3


def test_no_target_falls_back_to_trend() -> None:
    pts = [Point(date(2020, 3, 31), 100), Point(date(2022, 3, 31), 110)]
    a = assess(pts, [], Direction.INCREASE, today=TODAY)
    assert a.method == "trend" and a.status is Status.ON_TRACK


def test_combine_takes_the_least_favourable_assessable_part() -> None:
    mk = lambda s: assess([], [], Direction.INCREASE, today=TODAY).__class__(s, "", "", "x")  # noqa: E731
    assert combine([mk(Status.ON_TRACK), mk(Status.STALLED)]) is Status.STALLED
    assert combine([mk(Status.ON_TRACK), mk(Status.NOT_ASSESSABLE)]) is Status.ON_TRACK
    assert combine([mk(Status.NOT_ASSESSABLE)]) is Status.NOT_ASSESSABLE


def test_future_observations_are_ignored() -> None:
    pts = [Point(date(2022, 3, 31), 10), Point(date(2030, 3, 31), 100)]
    a = assess(pts, [Milestone(date(2031, 3, 31), 50)], Direction.INCREASE, today=TODAY)
    assert a.current == pts[0]


positive = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)


@given(positive, positive, st.floats(min_value=0.25, max_value=20))
def test_compound_growth_inverts(v0: float, v1: float, years: float) -> None:
    assume(0.1 <= v1 / v0 <= 10)  # beyond that, (1+g) underflows towards 0 in floating point
    g = compound_growth(v1, v0, years)
    assert v0 * (1 + g) ** years == pytest.approx(v1, rel=1e-6)


@given(positive, st.floats(min_value=1.01, max_value=3), st.floats(min_value=1.01, max_value=3),
       st.floats(min_value=0.1, max_value=1000))
def test_ratio_is_unchanged_by_the_unit_of_measure(base: float, f1: float, f2: float,
                                                   scale: float) -> None:
    """Counting in 人 or 万人 must not change a status."""
    def run(k: float):  # type: ignore[no-untyped-def]
        pts = [Point(date(2022, 3, 31), base * k), Point(date(2024, 3, 31), base * f1 * k)]
        return assess(pts, [Milestone(date(2028, 3, 31), base * f1 * f2 * k)],
                      Direction.INCREASE, today=TODAY)
    a, b = run(1.0), run(scale)
    assert a.status is b.status
    assert a.ratio == pytest.approx(b.ratio, rel=1e-6)


@given(positive, st.floats(min_value=1.0, max_value=2.0), st.floats(min_value=1.0, max_value=2.0),
       st.floats(min_value=2.01, max_value=4))
def test_faster_progress_never_gives_a_worse_status(base: float, f1: float, f2: float,
                                                    goal: float) -> None:
    assume(f1 < f2 < goal)
    target = [Milestone(date(2030, 3, 31), base * goal)]

    def status(f: float) -> Status:
        pts = [Point(date(2022, 3, 31), base), Point(date(2024, 3, 31), base * f)]
        return assess(pts, target, Direction.INCREASE, today=TODAY).status
    assert status(f2).severity <= status(f1).severity


@given(positive, st.floats(min_value=1.01, max_value=2.0))
def test_reaching_the_final_target_is_always_achieved(base: float, f: float) -> None:
    pts = [Point(date(2022, 3, 31), base), Point(date(2024, 3, 31), base * f)]
    ms = [Milestone(date(2023, 3, 31), base * 0.5), Milestone(date(2030, 3, 31), base * f)]
    assert assess(pts, ms, Direction.INCREASE, today=TODAY).status is Status.ACHIEVED


@given(positive, st.floats(min_value=1.2, max_value=1.5), st.floats(min_value=1.6, max_value=3))
def test_forecast_is_where_the_trend_reaches_the_target(base: float, f: float, goal: float) -> None:
    pts = [Point(date(2022, 3, 31), base), Point(date(2024, 3, 31), base * f)]
    a = assess(pts, [Milestone(date(2040, 3, 31), base * goal)], Direction.INCREASE, today=TODAY)
    assert a.forecast is not None
    g = a.growth_actual
    assert g is not None
    years = (a.forecast - date(2024, 3, 31)).days / 365.25
    assert base * f * (1 + g) ** years == pytest.approx(base * goal, rel=0.01)


@pytest.mark.parametrize("targets", [[Milestone(date(2028, 3, 31), 50000)], []])
def test_a_bound_that_states_no_progress_is_not_read_as_a_stall(targets: list[Milestone]) -> None:
    """デジタル推進委員: 「2万人強」 at the baseline and again half a year later. Both say only
    "more than 20,000"; the real change is unknown — not 停滞 (R = 0)."""
    pts = [Point(date(2022, 12, 31), 20000, Qualifier.SLIGHTLY_OVER),
           Point(date(2023, 6, 30), 20000, Qualifier.SLIGHTLY_OVER)]
    a = assess(pts, targets, Direction.INCREASE, today=TODAY)
    assert a.status is Status.NOT_ASSESSABLE and "変化が読み取れない" in a.reason
    # an exact second value, or a bound above the first, still makes a trend
    exact = assess([pts[0], Point(date(2023, 6, 30), 20000)], targets, Direction.INCREASE, today=TODAY)
    assert exact.status is Status.STALLED
    higher = assess([pts[0], Point(date(2023, 6, 30), 30000, Qualifier.OVER)], targets,
                    Direction.INCREASE, today=TODAY)
    assert higher.status is not Status.NOT_ASSESSABLE
    # "under" is the bound on the side of progress where smaller is better
    down = [Point(date(2022, 12, 31), 100), Point(date(2023, 6, 30), 100, Qualifier.UNDER)]
    assert assess(down, [Milestone(date(2028, 3, 31), 50)], Direction.DECREASE,
                  today=TODAY).status is Status.NOT_ASSESSABLE


# ---------------------------------------------------------------- statuses that do not mislead (issue 13)

SCHOOL = [Point(date(2022, 4, 19), 55.4), Point(date(2023, 4, 18), 65.3)]   # 小学校, 2022 and 2023
SCHOOL_TARGET = [Milestone(date(2026, 3, 31), 100)]                          # 100% by FY2025
NOV_2026 = date(2026, 11, 30)


def test_a_passed_deadline_with_nothing_published_since_is_awaiting_data_not_on_track() -> None:
    """The school-device KPI: a FY2025 target judged in November 2026 on April 2023 data."""
    before = assess(SCHOOL, SCHOOL_TARGET, Direction.INCREASE, today=date(2025, 6, 30))
    assert before.status is Status.ON_TRACK
    a = assess(SCHOOL, SCHOOL_TARGET, Direction.INCREASE, today=NOV_2026)
    assert a.status is Status.AWAITING_DATA and a.status.label == "実績未公表"
    assert a.milestones[0].state is MilestoneState.NOT_PUBLISHED
    assert a.milestones[0].state.label == "実績未公表"
    assert "2026年3月末" in a.reason and "まだ公表されていません" in a.reason
    # the pace the data showed before the deadline is told as history, in words
    assert "2023年4月18日" in a.reason and "必要なペースの" in a.reason
    assert a.ratio is not None and a.ratio > 1


def test_a_passed_deadline_is_judged_on_the_data_at_the_deadline() -> None:
    met = assess(SCHOOL + [Point(date(2026, 3, 31), 100)], SCHOOL_TARGET + [Milestone(date(2031, 3, 31), 100.5)],
                 Direction.INCREASE, today=NOV_2026)
    assert met.milestones[0].state is MilestoneState.MET
    missed = assess(SCHOOL + [Point(date(2026, 3, 31), 80)], SCHOOL_TARGET, Direction.INCREASE, today=NOV_2026)
    assert missed.milestones[0].state is MilestoneState.MISSED
    assert missed.status is Status.NEEDS_ACCELERATION and "2026年3月末" in missed.reason


def test_no_observation_at_all_after_a_deadline_is_awaiting_data_with_its_reason() -> None:
    due = assess([], [Milestone(date(2025, 12, 31), 700)], Direction.INCREASE, today=NOV_2026)
    assert due.status is Status.AWAITING_DATA
    assert "2025年12月末" in due.reason and "実績値はまだ1件も登録されていません" in due.reason
    assert due.milestones[0].state is MilestoneState.NOT_PUBLISHED
    future = assess([], [Milestone(date(2028, 3, 31), 150)], Direction.INCREASE, today=NOV_2026)
    assert future.status is Status.NOT_ASSESSABLE and "観測値がありません" in future.reason


def test_awaiting_data_outranks_on_track_but_not_a_known_shortfall() -> None:
    mk = lambda s: assess([], [], Direction.INCREASE, today=TODAY).__class__(s, "", "", "x")  # noqa: E731
    assert combine([mk(Status.ON_TRACK), mk(Status.AWAITING_DATA)]) is Status.AWAITING_DATA
    assert combine([mk(Status.STALLED), mk(Status.AWAITING_DATA)]) is Status.STALLED
    assert combine([mk(Status.AWAITING_DATA), mk(Status.NOT_ASSESSABLE)]) is Status.AWAITING_DATA


@given(st.floats(min_value=1.0, max_value=1e6), st.floats(min_value=1.01, max_value=3),
       st.floats(min_value=1.01, max_value=3), st.integers(min_value=1, max_value=2000))
def test_never_a_pace_status_on_data_older_than_a_passed_deadline(base: float, f: float, goal: float,
                                                                  days_after: int) -> None:
    pts = [Point(date(2021, 3, 31), base), Point(date(2023, 3, 31), base * f)]
    deadline = date(2024, 3, 31)
    today = date.fromordinal(deadline.toordinal() + days_after)
    a = assess(pts, [Milestone(deadline, base * f * goal)], Direction.INCREASE, today=today)
    assert a.status is Status.AWAITING_DATA


def test_the_ratio_is_explained_in_words() -> None:
    assert ratio_words(3.853) == "実績のペースは必要なペースの3.9倍"
    assert ratio_words(0.46) == "実績のペースは必要なペースの0.46倍"
    assert ratio_words(0.0) == "実績は最初の観測値から動いていません"
    assert ratio_words(-0.3) == "実績は目標と逆の方向に動いています"
    assert ratio_words(1.2, "cumulative_pace") == "累計は期間内の均等なペースの1.2倍"
    a = assess(FIVE_G, FIVE_G_TARGETS, Direction.INCREASE, today=TODAY)
    assert "必要なペースの3.9倍" in a.reason and "R = 3.85" in a.reason


def test_age_of_data_and_the_staleness_limit() -> None:
    assert date_ja(date(2025, 3, 31)) == "2025年3月末" and date_ja(date(2023, 4, 18)) == "2023年4月18日"
    assert date_ja(date(2024, 2, 29)) == "2024年2月末"
    assert months_between(date(2025, 3, 31), NOV_2026) == 20
    assert age_words(0) == "今月" and age_words(20) == "20か月前"
    assert STALE_AFTER_MONTHS == 24
    assert not is_stale(date(2024, 11, 30), NOV_2026)          # 24 months: within the limit
    assert is_stale(date(2024, 10, 31), NOV_2026)              # 25 months
    assert forecast_passed(date(2025, 8, 1), NOV_2026) and not forecast_passed(date(2027, 1, 1), NOV_2026)
    assert not forecast_passed(None, NOV_2026)
