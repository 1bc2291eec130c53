"""Progress assessment and forecasts (docs/methodology.md is the full text).

Starts from the Open SDG / Statistics Canada method (sdg-build ``ProgressMeasure``):
compound growth g(v1, v0, t1, t0) = (v1/v0)^(1/(t1−t0)) − 1; with a target, the ratio
R = g(current, base) / g(target, base, target date) against thresholds 0.95 / 0.6 / 0;
without a target, g against 0.015 / 0.005 / 0; "target achieved" is checked first.

Extensions (each documented in the methodology): explicit direction, several dated milestones
(assess against the next unmet one, report every one), cumulative windows, completion
milestones (完成), qualifiers (以上, 程度, 十数), linear fallback when the base is zero, and a
forecast of the date each milestone is reached. The clock is an argument.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from digiden.domain.calendar import add_years, years_between
from digiden.domain.quantities import Qualifier

ON_TRACK_RATIO = 0.95
ACCELERATE_RATIO = 0.6
TREND_ON_TRACK = 0.015
TREND_ACCELERATE = 0.005
ABOUT_TOLERANCE = 0.05      # 程度: within 5 % of the stated value counts as met
FORECAST_HORIZON_YEARS = 50  # beyond this a forecast says "not in sight"
COMPLETE_VALUE = 100.0       # completion milestones are tracked as 進捗率 (%)
STALE_AFTER_MONTHS = 24      # data older than this: the badge says so (one annual release missed)


class Direction(StrEnum):
    """Which way is better. Never defaulted: every KPI states it."""

    INCREASE = "increase"
    DECREASE = "decrease"
    MAINTAIN = "maintain"
    COMPLETE = "complete"

    @property
    def label(self) -> str:
        return {"increase": "増加が望ましい", "decrease": "減少が望ましい",
                "maintain": "維持", "complete": "完成を目指す"}[self.value]


class Status(StrEnum):
    """A KPI's status. Stable English keys; Japanese labels."""

    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    NEEDS_ACCELERATION = "needs_acceleration"
    STALLED = "stalled"
    DETERIORATING = "deteriorating"
    AWAITING_DATA = "awaiting_data"
    NOT_ASSESSABLE = "not_assessable"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


STATUS_LABELS = {
    Status.ACHIEVED: "達成",
    Status.ON_TRACK: "順調",
    Status.NEEDS_ACCELERATION: "要加速",
    Status.STALLED: "停滞",
    Status.DETERIORATING: "悪化",
    Status.AWAITING_DATA: "実績未公表",
    Status.NOT_ASSESSABLE: "判定不能",
}
# 実績未公表 (a deadline passed, no figure since) ranks above 順調 and below the known shortfalls:
# a part whose deadline passed unreported must not let the KPI show 順調.
_SEVERITY = {Status.ACHIEVED: 0, Status.ON_TRACK: 1, Status.AWAITING_DATA: 2,
             Status.NEEDS_ACCELERATION: 3, Status.STALLED: 4, Status.DETERIORATING: 5,
             Status.NOT_ASSESSABLE: -1}


class MilestoneState(StrEnum):
    MET = "met"
    ON_COURSE = "on_course"
    AT_RISK = "at_risk"
    MISSED = "missed"
    NOT_PUBLISHED = "not_published"
    NOT_ASSESSABLE = "not_assessable"

    @property
    def label(self) -> str:
        return {"met": "達成済み", "on_course": "達成見込み", "at_risk": "達成困難のおそれ",
                "missed": "期限内未達", "not_published": "実績未公表",
                "not_assessable": "判定不能"}[self.value]


@dataclass(frozen=True)
class Point:
    """One observed value of a series."""

    as_of: date
    value: float
    qualifier: Qualifier = Qualifier.EXACT


@dataclass(frozen=True)
class Milestone:
    """One target of a series: the value to reach by ``deadline`` (None: no date)."""

    deadline: date | None
    value: float | None
    qualifier: Qualifier = Qualifier.EXACT
    low: float | None = None
    high: float | None = None

    @property
    def threshold(self) -> float:
        """The value an observation must reach to meet this milestone (for increase)."""
        if self.qualifier is Qualifier.RANGE and self.low is not None:
            return self.low
        if self.qualifier is Qualifier.COMPLETE and self.value is None:
            return COMPLETE_VALUE
        if self.value is None:
            raise ValueError("milestone without a value")
        return self.value


@dataclass(frozen=True)
class Window:
    """A cumulative window: values are running totals from ``start`` (230万人 over FY2022–26)."""

    start: date
    end: date


@dataclass(frozen=True)
class MilestoneReport:
    milestone: Milestone
    state: MilestoneState
    met_on: date | None = None
    forecast: date | None = None


@dataclass(frozen=True)
class Assessment:
    """The result of assessing one series against its milestones."""

    status: Status
    reason: str          # Japanese, shown in the UI
    reason_en: str
    method: str          # growth_ratio | linear_ratio | cumulative_pace | trend | overdue |
                         # awaiting_data | achieved | none
    milestones: tuple[MilestoneReport, ...] = ()
    next_milestone: Milestone | None = None
    forecast: date | None = None
    ratio: float | None = None
    growth_actual: float | None = None
    growth_required: float | None = None
    base: Point | None = None
    current: Point | None = None


def compound_growth(v1: float, v0: float, years: float) -> float:
    """g = (v1/v0)^(1/years) − 1. Needs positive values and a positive span."""
    return float((v1 / v0) ** (1.0 / years)) - 1.0


def _sign(direction: Direction) -> float:
    return -1.0 if direction is Direction.DECREASE else 1.0


#: Bounds on the side of progress: "2万人強" says the value is at least that, not what it is.
_PROGRESS_BOUNDS = {Direction.DECREASE: (Qualifier.AT_MOST, Qualifier.UNDER, Qualifier.SLIGHTLY_UNDER)}
_UPWARD_BOUNDS = (Qualifier.AT_LEAST, Qualifier.OVER, Qualifier.SLIGHTLY_OVER)

UNKNOWN_CHANGE_JA = ("最新の値が「強」「超」「以上」などの幅をもった値で、前の値からの変化が"
                     "読み取れないため、傾向を算出できません。")
UNKNOWN_CHANGE_EN = ("The latest value is only a bound (\"more than\") that states no change over "
                     "the first: no trend can be computed.")


def change_unknown(base: Point, current: Point, direction: Direction) -> bool:
    """The latest value is only a bound on the side of progress and states no progress over the
    first ("2万人強" twice): the real change is unknown, so no trend — neither 停滞 nor any
    other — is drawn from the pair."""
    bounds = _PROGRESS_BOUNDS.get(direction, _UPWARD_BOUNDS)
    return current.qualifier in bounds and (current.value - base.value) * _sign(direction) <= 0


def meets(point: Point, milestone: Milestone, direction: Direction) -> bool:
    """Does this observation meet the milestone, given the direction and both qualifiers?"""
    threshold = milestone.threshold
    if direction is Direction.DECREASE:
        if milestone.qualifier is Qualifier.ABOUT:
            threshold *= 1 + ABOUT_TOLERANCE
        if point.value < threshold:
            return True
        return point.value == threshold and point.qualifier not in (
            Qualifier.OVER, Qualifier.SLIGHTLY_OVER)
    if milestone.qualifier is Qualifier.ABOUT:
        threshold *= 1 - ABOUT_TOLERANCE
    if point.value > threshold:
        return True
    return point.value == threshold and point.qualifier not in (
        Qualifier.UNDER, Qualifier.SLIGHTLY_UNDER)


def _forecast(base: Point, current: Point, target: float, direction: Direction,
              window: Window | None) -> date | None:
    """The date the trend from base to current reaches ``target`` (None if never in sight)."""
    if window is not None:
        elapsed = years_between(window.start, current.as_of)
        if elapsed <= 0 or current.value <= 0:
            return None
        pace = current.value / elapsed
        return _bounded(window.start, target / pace)
    span = years_between(base.as_of, current.as_of)
    if span <= 0:
        return None
    gap = target - current.value
    if gap == 0:
        return current.as_of
    if base.value > 0 and current.value > 0 and target > 0:
        g = compound_growth(current.value, base.value, span)
        if g == 0 or (g > 0) != (gap > 0):
            return None
        years = math.log(target / current.value) / math.log1p(g)
    else:
        rate = (current.value - base.value) / span
        if rate == 0 or (rate > 0) != (gap > 0):
            return None
        years = gap / rate
    del direction  # the sign of the gap already encodes it
    return _bounded(current.as_of, years)


def _bounded(start: date, years: float) -> date | None:
    if years < 0 or years > FORECAST_HORIZON_YEARS or math.isnan(years):
        return None
    return add_years(start, years)


def _sort_milestones(milestones: Iterable[Milestone]) -> list[Milestone]:
    return sorted(milestones, key=lambda m: (m.deadline is None, m.deadline or date.max))


def date_ja(d: date) -> str:
    """A date as the pages say it: 2025年3月末 for a month's last day (how fiscal-year figures and
    deadlines are dated), else 2023年4月18日."""
    if (d + timedelta(days=1)).month != d.month:
        return f"{d.year}年{d.month}月末"
    return f"{d.year}年{d.month}月{d.day}日"


def months_between(earlier: date, later: date) -> int:
    """Calendar months from one date to a later one (2025-03-31 → 2026-11-30: 20)."""
    return max(0, (later.year - earlier.year) * 12 + later.month - earlier.month)


def is_stale(latest: date, today: date) -> bool:
    """Are the latest data older than the documented limit (STALE_AFTER_MONTHS)?"""
    return months_between(latest, today) > STALE_AFTER_MONTHS


def age_words(months: int) -> str:
    return "今月" if months == 0 else f"{months}か月前"


def forecast_passed(forecast: date | None, today: date) -> bool:
    """A forecast reach date already behind us is no longer a forecast: the next figure is awaited."""
    return forecast is not None and forecast < today


def ratio_words(ratio: float, method: str = "growth_ratio") -> str:
    """R in words, for the reader who does not know what R is (「必要なペースの3.9倍」)."""
    if math.isinf(ratio):
        return ("実績は目標と逆の方向に動いています" if ratio < 0
                else "必要な伸びはなく、実績は保たれています")
    if ratio < 0:
        return "実績は目標と逆の方向に動いています"
    if ratio == 0:
        return "実績は最初の観測値から動いていません"
    shown = f"{ratio:.1f}" if ratio >= 1 else f"{ratio:.2f}"
    if method == "cumulative_pace":
        return f"累計は期間内の均等なペースの{shown}倍"
    return f"実績のペースは必要なペースの{shown}倍"


def _passed(m: Milestone, today: date) -> bool:
    return m.deadline is not None and today > m.deadline


def _awaiting_reason(m: Milestone) -> tuple[str, str]:
    assert m.deadline is not None
    return (f"期限（{date_ja(m.deadline)}）を過ぎましたが、期限以降の実績値はまだ公表されていません。",
            f"The deadline {m.deadline.isoformat()} has passed and no value at or after it is published yet.")


def _pace(base: Point, current: Point, target: float, deadline: date,
          window: Window | None) -> tuple[float, str, float | None, float | None]:
    """(R, method, actual growth, required growth) of the series against one dated target."""
    if window is not None:
        total = years_between(window.start, deadline)
        elapsed = years_between(window.start, current.as_of)
        expected = target * elapsed / total if total > 0 else target
        ratio = current.value / expected if expected > 0 else math.inf
        return ratio, "cumulative_pace", None, None
    if base.value > 0 and current.value > 0 and target > 0:
        g_act = compound_growth(current.value, base.value, years_between(base.as_of, current.as_of))
        g_req = compound_growth(target, base.value, years_between(base.as_of, deadline))
        return _ratio(g_act, g_req), "growth_ratio", g_act, g_req
    g_act = (current.value - base.value) / years_between(base.as_of, current.as_of)
    g_req = (target - base.value) / years_between(base.as_of, deadline)
    return _ratio(g_act, g_req), "linear_ratio", g_act, g_req


def assess(points: Sequence[Point], milestones: Sequence[Milestone], direction: Direction, *,
           today: date, window: Window | None = None) -> Assessment:
    """Assess one series (one KPI, one breakdown) on ``today``."""
    pts = sorted((p for p in points if p.as_of <= today), key=lambda p: p.as_of)
    ms = _sort_milestones(milestones)
    if not pts:
        empty = tuple(MilestoneReport(m, MilestoneState.NOT_PUBLISHED if _passed(m, today)
                                      else MilestoneState.NOT_ASSESSABLE) for m in ms)
        due = next((r.milestone for r in empty if r.state is MilestoneState.NOT_PUBLISHED), None)
        if due is not None:
            ja, en = _awaiting_reason(due)
            return Assessment(Status.AWAITING_DATA, ja + "実績値はまだ1件も登録されていません。",
                              en + " No value is recorded at all.",
                              "awaiting_data", empty, next_milestone=due)
        return Assessment(Status.NOT_ASSESSABLE, "観測値がありません。", "No observations yet.",
                          "none", empty, next_milestone=ms[0] if ms else None)
    base, current = pts[0], pts[-1]
    unknown = len(pts) >= 2 and base.as_of < current.as_of and change_unknown(base, current, direction)
    two_points = len(pts) >= 2 and base.as_of < current.as_of and not unknown
    if not ms:
        if unknown:
            return Assessment(Status.NOT_ASSESSABLE, UNKNOWN_CHANGE_JA, UNKNOWN_CHANGE_EN, "none",
                              base=base, current=current)
        return _trend_only(pts, direction, base, current, two_points)

    reports = []
    for m in ms:
        met_on = next((p.as_of for p in pts if meets(p, m, direction)), None)
        if met_on is not None:
            reports.append(MilestoneReport(m, MilestoneState.MET, met_on=met_on))
            continue
        fc = _forecast(base, current, m.threshold, direction, window) if two_points else None
        if m.deadline is not None and current.as_of >= m.deadline:
            state = MilestoneState.MISSED        # judged on the data at (or after) the deadline
        elif _passed(m, today):
            state = MilestoneState.NOT_PUBLISHED  # due, and nothing published since
        elif not two_points:
            state = MilestoneState.NOT_ASSESSABLE
        elif fc is not None and (m.deadline is None or fc <= m.deadline):
            state = MilestoneState.ON_COURSE
        else:
            state = MilestoneState.AT_RISK
        reports.append(MilestoneReport(m, state, forecast=fc))

    final = ms[-1]
    proto = Assessment(Status.NOT_ASSESSABLE, "", "", "none", milestones=tuple(reports),
                       base=base, current=current)
    if meets(current, final, direction):
        return replace(proto, status=Status.ACHIEVED, reason="最終目標に到達しています。",
                       reason_en="The final target has been reached.", method="achieved")

    unmet = [r for r in reports if r.state is not MilestoneState.MET]
    upcoming = [r for r in unmet if r.state is not MilestoneState.MISSED]
    nxt = (upcoming or unmet)[0]
    proto = replace(proto, next_milestone=nxt.milestone, forecast=nxt.forecast)

    if nxt.milestone.deadline is None:
        return replace(proto, reason="期限の定めがない目標のため、進捗の速さを判定できません。",
                       reason_en="The target has no date, so the pace cannot be judged.")
    if nxt.state is MilestoneState.NOT_PUBLISHED:
        # Never 順調 (or any pace) on data from before a deadline that has passed: the result
        # at the deadline is what counts, and it is not out yet. The pace the data showed
        # before the deadline is told, as history, in the reason.
        ja, en = _awaiting_reason(nxt.milestone)
        ratio = g_act = g_req = None
        if two_points:
            ratio, method, g_act, g_req = _pace(base, current, nxt.milestone.threshold,
                                                nxt.milestone.deadline, window)
            shown = "∞" if math.isinf(ratio) else f"{ratio:.2f}"
            ja += (f"期限前の最新の実績（{date_ja(current.as_of)}）の時点では、{ratio_words(ratio, method)}"
                   f"でした（R = {shown}、当時のペースでは{_status_from_ratio(ratio).label}）。")
            en += f" Before the deadline the ratio of actual to required pace was {shown}."
        return replace(proto, status=Status.AWAITING_DATA, reason=ja, reason_en=en, method="awaiting_data",
                       ratio=ratio, growth_actual=g_act, growth_required=g_req)
    if unknown:
        return replace(proto, reason=UNKNOWN_CHANGE_JA, reason_en=UNKNOWN_CHANGE_EN)
    if not two_points:
        return replace(proto, reason="観測値が1時点のみのため、傾向を算出できません。",
                       reason_en="Only one observation: no trend can be computed.")
    if nxt.state is MilestoneState.MISSED:
        moved = (current.value - base.value) * _sign(direction)
        status = (Status.NEEDS_ACCELERATION if moved > 0 else
                  Status.STALLED if moved == 0 else Status.DETERIORATING)
        return replace(proto, status=status,
                       reason=f"期限（{date_ja(nxt.milestone.deadline)}）を過ぎて未達です。",
                       reason_en=f"The milestone due {nxt.milestone.deadline.isoformat()} was missed.",
                       method="overdue")

    ratio, method, g_act, g_req = _pace(base, current, nxt.milestone.threshold, nxt.milestone.deadline,
                                        window)
    status = _status_from_ratio(ratio)
    reason, reason_en = _ratio_reason(ratio, status, method), f"Ratio of actual to required pace: {ratio:.2f}."
    return replace(proto, status=status, reason=reason, reason_en=reason_en, method=method,
                   ratio=ratio, growth_actual=g_act, growth_required=g_req)


def _ratio(actual: float, required: float) -> float:
    if required == 0:
        return math.inf if actual >= 0 else -math.inf
    return actual / required


def _status_from_ratio(ratio: float) -> Status:
    if ratio >= ON_TRACK_RATIO:
        return Status.ON_TRACK
    if ratio >= ACCELERATE_RATIO:
        return Status.NEEDS_ACCELERATION
    if ratio >= 0:
        return Status.STALLED
    return Status.DETERIORATING


def _ratio_reason(ratio: float, status: Status, method: str) -> str:
    shown = "∞" if math.isinf(ratio) else f"{ratio:.2f}"
    return f"{ratio_words(ratio, method)}（R = {shown}、{status.label}）。"


def _trend_only(pts: Sequence[Point], direction: Direction, base: Point, current: Point,
                two_points: bool) -> Assessment:
    if not two_points:
        return Assessment(Status.NOT_ASSESSABLE,
                          "目標がなく、観測値も1時点のみのため判定できません。",
                          "No target and only one observation.", "none",
                          base=base, current=current)
    span = years_between(base.as_of, current.as_of)
    if base.value > 0 and current.value > 0:
        g = compound_growth(current.value, base.value, span)
    else:
        g = (current.value - base.value) / span / max(abs(base.value), 1.0)
    g *= _sign(direction)
    if g >= TREND_ON_TRACK:
        status = Status.ON_TRACK
    elif g >= TREND_ACCELERATE:
        status = Status.NEEDS_ACCELERATION
    elif g >= 0:
        status = Status.STALLED
    else:
        status = Status.DETERIORATING
    return Assessment(status, f"目標がないため年平均成長率 {g:.1%} で判定しました。",
                      f"No target: judged on the annual growth rate {g:.1%}.", "trend",
                      growth_actual=g, base=base, current=current)


def combine(assessments: Sequence[Assessment]) -> Status:
    """The status of a KPI with several parts (小学校/中学校, 選定/実現): the least favourable
    assessable part (実績未公表 ranks between 順調 and 要加速); 判定不能 only when no part can be
    assessed."""
    assessable = [a.status for a in assessments if a.status is not Status.NOT_ASSESSABLE]
    if not assessable:
        return Status.NOT_ASSESSABLE
    return max(assessable, key=lambda s: s.severity)
