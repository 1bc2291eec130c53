"""KPIs with their targets, observations and progress status."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiden.domain.access import Principal, can_manage_accounts, require
from digiden.domain.calendar import AsOf, Precision, fiscal_year_end, fiscal_year_start
from digiden.domain.codes import NATION_CODE
from digiden.domain.errors import NotFound
from digiden.domain.progress import (
    STALE_AFTER_MONTHS,
    Assessment,
    Direction,
    Milestone,
    Point,
    Status,
    Window,
    age_words,
    assess,
    combine,
    date_ja,
    forecast_passed,
    is_stale,
    months_between,
    ratio_words,
)
from digiden.domain.quantities import Qualifier, format_quantity
from digiden.domain.text import bounded, match_key
from digiden.services import audit
from digiden.services.common import ObservationView, observation_view
from digiden.services.uow import UnitOfWork
from digiden.shapes.national import (
    BaselineOut,
    CumulativeOut,
    EquivalentOut,
    KpiOut,
    MilestoneStateOut,
    NextMilestoneOut,
    OutlookOut,
    PartStatusOut,
    StatusOut,
    TargetOut,
    ValueUnitOut,
)
from digiden.store import dataversion
from digiden.store.bulk import rollup_series_rows
from digiden.store.db import engine_key
from digiden.store.models import Area, Kpi, KpiBlock, ModelType, Observation, OrgUnit, Target


@dataclass(frozen=True)
class TargetView:
    breakdown: str
    deadline: date | None
    deadline_kind: str
    deadline_label: str
    approximate: bool
    value: float | None
    low: float | None
    high: float | None
    qualifier: Qualifier
    nationwide: bool
    denominator: tuple[float, str] | None
    equivalent: tuple[float, str, Qualifier] | None
    unit: str

    @property
    def display(self) -> str:
        """As the strategy would say it: 1,000団体, 11〜19か所, 完成, 100か所以上."""
        if self.nationwide:
            return f"全国展開（{format_quantity(self.value, self.unit)}）"
        return format_quantity(self.value, self.unit, self.qualifier, self.low, self.high)

    @property
    def deadline_display(self) -> str:
        if self.deadline is None:
            return "期限の定めなし"
        suffix = "目途" if self.approximate and self.deadline_kind != "within" else "まで"
        d = f"{self.deadline.year}年{self.deadline.month}月{self.deadline.day}日"   # read by people; ISO in `deadline`
        if self.deadline_kind == "within":
            return f"{self.deadline_label}（{d}頃）"
        return f"{self.deadline_label}{suffix}（{d}）"

    def as_milestone(self) -> Milestone:
        return Milestone(self.deadline, self.value, self.qualifier, self.low, self.high)

    def shape(self) -> TargetOut:
        return TargetOut(
            breakdown=self.breakdown or None, deadline=_iso(self.deadline), deadline_kind=self.deadline_kind,
            deadline_label=self.deadline_label or None, deadline_approximate=self.approximate,
            value=self.value, qualifier=self.qualifier.value, low=self.low, high=self.high,
            nationwide=self.nationwide,
            denominator=(ValueUnitOut(value=self.denominator[0], unit=self.denominator[1])
                         if self.denominator else None),
            equivalent=(EquivalentOut(value=self.equivalent[0], unit=self.equivalent[1],
                                      qualifier=self.equivalent[2].value) if self.equivalent else None),
            display=self.display)


@dataclass(frozen=True)
class PartStatus:
    """The assessment of one series of a KPI (a breakdown, or the whole when there is none)."""

    breakdown: str
    assessment: Assessment

    @property
    def ratio_text(self) -> str | None:
        """R in words (「実績のペースは必要なペースの3.9倍」), when there is an R."""
        a = self.assessment
        if a.ratio is None:
            return None
        return ratio_words(a.ratio, a.method)


STALE_NOTE = f"{STALE_AFTER_MONTHS // 12}年以上前の実績"
FORECAST_PASSED_JA = "傾向から見込んだ到達日（{d}）は過ぎました。次の実績の公表を待っています。"


def forecast_text(forecast: date | None, today: date) -> str | None:
    """A forecast as the pages say it; one already behind ``today`` is not shown as a forecast."""
    if forecast is None:
        return None
    if forecast_passed(forecast, today):
        return FORECAST_PASSED_JA.format(d=date_ja(forecast))
    return f"到達見込み: {date_ja(forecast)}"


@dataclass(frozen=True)
class StatusView:
    status: Status
    parts: tuple[PartStatus, ...]
    next_milestone: TargetView | None
    forecast: date | None
    reason: str
    reason_en: str
    today: date | None = None          # the day of assessment (statuses and ages depend on it)
    latest_as_of: AsOf | None = None   # the newest value the status rests on

    @property
    def age_months(self) -> int | None:
        if self.latest_as_of is None or self.today is None:
            return None
        return months_between(self.latest_as_of.date, self.today)

    @property
    def stale(self) -> bool:
        """The latest data are older than the documented limit (STALE_AFTER_MONTHS)."""
        return (self.latest_as_of is not None and self.today is not None
                and is_stale(self.latest_as_of.date, self.today))

    @property
    def age_text(self) -> str:
        """「最新の実績: 2025年3月末（20か月前）」."""
        if self.latest_as_of is None or self.age_months is None:
            return "最新の実績: なし（実績値は登録されていません）"
        return f"最新の実績: {_as_of_ja(self.latest_as_of)}（{age_words(self.age_months)}）"

    @property
    def badge_text(self) -> str:
        """The badge's words: the label, and a note when the data are past the limit."""
        return f"{self.status.label}（{STALE_NOTE}）" if self.stale else self.status.label

    @property
    def forecast_passed(self) -> bool:
        return self.today is not None and forecast_passed(self.forecast, self.today)

    @property
    def forecast_text(self) -> str | None:
        return forecast_text(self.forecast, self.today) if self.today is not None else None

    def shape(self) -> StatusOut:
        nm = self.next_milestone
        return StatusOut(
            key=self.status.value, label=self.status.label,
            next_milestone=(NextMilestoneOut(deadline=_iso(nm.deadline), value=nm.value, qualifier=nm.qualifier.value,
                                             low=nm.low, high=nm.high, breakdown=nm.breakdown or None,
                                             display=nm.display) if nm else None),
            forecast=_iso(self.forecast), reason=self.reason, reason_en=self.reason_en,
            parts=[PartStatusOut(
                breakdown=p.breakdown or None, key=p.assessment.status.value, label=p.assessment.status.label,
                reason=p.assessment.reason, method=p.assessment.method, ratio=_finite(p.assessment.ratio),
                ratio_text=p.ratio_text,
                milestones=[MilestoneStateOut(deadline=_iso(r.milestone.deadline), value=r.milestone.value,
                                              state=r.state.value, label=r.state.label, met_on=_iso(r.met_on),
                                              forecast=_iso(r.forecast),
                                              forecast_passed=(self.today is not None
                                                               and forecast_passed(r.forecast, self.today)))
                            for r in p.assessment.milestones])
                for p in self.parts],
            forecast_passed=self.forecast_passed, forecast_text=self.forecast_text,
            latest_as_of=self.latest_as_of.iso() if self.latest_as_of else None,
            data_age_months=self.age_months, stale=self.stale, stale_after_months=STALE_AFTER_MONTHS,
            age_text=self.age_text, badge_text=self.badge_text)


def _as_of_ja(a: AsOf) -> str:
    """2025年3月末 (a fiscal year's figure), 2023年4月18日, 2025年1月 (month precision)."""
    return date_ja(a.date) if a.precision is Precision.DAY else a.label()


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _finite(x: float | None) -> float | None:
    if x is None or x in (float("inf"), float("-inf")):
        return None
    return round(x, 4)


@dataclass(frozen=True)
class KpiView:
    code: str
    name: str
    unit: str
    unit_note: str
    direction: Direction
    aggregation: str
    block_code: str
    block_name: str
    area_code: str | None
    area_name: str | None
    area_basis: str
    model_type: str | None
    wording: str
    lead: str
    cumulative: tuple[int, int] | None
    breakdowns: tuple[str, ...]
    baseline: tuple[float, Qualifier, AsOf, str] | None
    outlook: tuple[date, str] | None
    headline: bool
    targets: tuple[TargetView, ...]
    status: StatusView
    latest: tuple[ObservationView, ...]   # the newest observation per breakdown
    history: tuple[ObservationView, ...] = ()  # every approved national observation, oldest first
    local_fact: str | None = None    # also counted live from accepted local strategies
    ministry: str | None = None      # the ministry whose editors keep its values

    def shape(self) -> KpiOut:
        return KpiOut(
            code=self.code, name=self.name, unit=self.unit, direction=self.direction.value,
            cumulative=(CumulativeOut(from_fy=self.cumulative[0], to_fy=self.cumulative[1],
                                      from_=fiscal_year_start(self.cumulative[0]).isoformat(),
                                      to=fiscal_year_end(self.cumulative[1]).isoformat())
                        if self.cumulative else None),
            breakdowns=list(self.breakdowns), targets=[t.shape() for t in self.targets],
            status=self.status.shape(), block=self.block_code, area=self.area_code, wording=self.wording,
            aggregation=self.aggregation,
            baseline=(BaselineOut(value=self.baseline[0], qualifier=self.baseline[1].value,
                                  as_of=self.baseline[2].iso(), text=self.baseline[3]) if self.baseline else None),
            outlook=OutlookOut(deadline=self.outlook[0].isoformat(), text=self.outlook[1]) if self.outlook else None,
            latest=[o.shape() for o in self.latest], local_fact=self.local_fact, ministry=self.ministry)

    def as_dict(self) -> dict[str, object]:
        """The JSON of ``shape()``, for callers that want plain data."""
        return self.shape().json_data()


def target_view(t: Target, unit: str) -> TargetView:
    return TargetView(
        t.breakdown, t.deadline, t.deadline_kind, t.deadline_label, t.deadline_approximate,
        t.value, t.low, t.high, Qualifier(t.qualifier), t.nationwide,
        (t.denominator_value, t.denominator_unit or "") if t.denominator_value is not None
        else None,
        (t.equivalent_value, t.equivalent_unit or "", Qualifier(t.equivalent_qualifier or "exact"))
        if t.equivalent_value is not None else None, unit)


def assess_kpi(kpi: Kpi, targets: list[TargetView], observations: list[ObservationView],
               today: date) -> StatusView:
    """Assess every series of a KPI (each breakdown that has a target or data) and combine."""
    direction = Direction(kpi.direction)
    window = (Window(fiscal_year_start(kpi.cumulative_from_fy), fiscal_year_end(kpi.cumulative_to_fy))
              if kpi.cumulative_from_fy is not None and kpi.cumulative_to_fy is not None else None)
    series: dict[str, list[Point]] = defaultdict(list)
    latest: AsOf | None = None
    for o in observations:
        series[o.breakdown].append(Point(o.as_of.date, o.value, o.qualifier))
        if o.as_of.date <= today and (latest is None or o.as_of.date >= latest.date):
            latest = o.as_of
    if kpi.baseline_value is not None and kpi.baseline_as_of is not None:
        pts = series[""]
        if not any(p.as_of == kpi.baseline_as_of for p in pts):
            pts.append(Point(kpi.baseline_as_of, kpi.baseline_value,
                             Qualifier(kpi.baseline_qualifier or "exact")))
            if kpi.baseline_as_of <= today and (latest is None or kpi.baseline_as_of > latest.date):
                latest = AsOf(kpi.baseline_as_of, Precision(kpi.baseline_precision or "day"))
    parts_keys = list(dict.fromkeys([t.breakdown for t in targets] + [
        k for k in series if k or not kpi.breakdowns]))
    if not parts_keys:
        parts_keys = [""]
    parts = []
    for key in parts_keys:
        ms = [t.as_milestone() for t in targets if t.breakdown == key]
        a = assess(series.get(key, []), ms, direction, today=today, window=window)
        parts.append(PartStatus(key, a))
    status = combine([p.assessment for p in parts])
    # The next milestone and forecast shown for the KPI: those of the soonest-due open part.
    lead = min((p for p in parts if p.assessment.next_milestone is not None),
               key=lambda p: (p.assessment.next_milestone.deadline or date.max,  # type: ignore[union-attr]
                              -p.assessment.status.severity), default=None)
    next_target = None
    if lead is not None:
        nm = lead.assessment.next_milestone
        next_target = next((t for t in targets if t.breakdown == lead.breakdown
                            and t.deadline == nm.deadline and t.value == nm.value), None)  # type: ignore[union-attr]
    worst = max(parts, key=lambda p: p.assessment.status.severity)
    if status is Status.NOT_ASSESSABLE:
        worst = lead or parts[0]
    reason = worst.assessment.reason
    if len(parts) > 1 and worst.breakdown:
        reason = f"{worst.breakdown}: {reason}"
    return StatusView(status, tuple(parts), next_target,
                      lead.assessment.forecast if lead else None, reason,
                      worst.assessment.reason_en, today, latest)


def _breakdown_order(breakdowns: list[str] | None):  # type: ignore[no-untyped-def]
    """Sort key: the KPI's own order (小学校 before 中学校), unknown parts last."""
    order = {b: i for i, b in enumerate(breakdowns or [])}
    return lambda b: (order.get(b, len(order)), b)


def _load(session: Session, today: date, codes: list[str] | None = None) -> list[KpiView]:
    q = (select(Kpi, KpiBlock, Area, ModelType)
         .join(KpiBlock, KpiBlock.id == Kpi.block_id, isouter=True)
         .join(Area, Area.id == Kpi.area_id, isouter=True)
         .join(ModelType, ModelType.id == Kpi.model_type_id, isouter=True)
         .order_by(KpiBlock.position, Kpi.position))
    if codes is not None:
        q = q.where(Kpi.code.in_(codes))
    rows = session.execute(q).all()
    kpi_ids = [k.id for k, *_ in rows]
    targets: dict[int, list[Target]] = defaultdict(list)
    for t in session.scalars(select(Target).where(Target.kpi_id.in_(kpi_ids))
                             .order_by(Target.kpi_id, Target.position)):
        targets[t.kpi_id].append(t)
    obs = _national_series(session, {k.id: k for k, *_ in rows})
    derived = _rollup_series(session, [k for k, *_ in rows if not obs.get(k.id)])
    out = []
    for kpi, block, area, mt in rows:
        tv = [target_view(t, kpi.unit) for t in targets[kpi.id]]
        ov = obs.get(kpi.id) or derived.get(kpi.id, [])
        latest: dict[str, ObservationView] = {}
        for view in ov:
            latest[view.breakdown] = view
        out.append(KpiView(
            kpi.code, kpi.name, kpi.unit, kpi.unit_note, Direction(kpi.direction),
            kpi.aggregation, block.code if block else "", block.name if block else "",
            area.code if area else None, area.name if area else None, kpi.area_basis,
            mt.name if mt else None, kpi.wording, kpi.lead,
            (kpi.cumulative_from_fy, kpi.cumulative_to_fy)
            if kpi.cumulative_from_fy is not None and kpi.cumulative_to_fy is not None else None,
            tuple(kpi.breakdowns or ()),
            (kpi.baseline_value, Qualifier(kpi.baseline_qualifier or "exact"),
             AsOf(kpi.baseline_as_of, Precision(kpi.baseline_precision or "day")),
             kpi.baseline_text or "") if kpi.baseline_value is not None
            and kpi.baseline_as_of is not None else None,
            (kpi.outlook_deadline, kpi.outlook_text or "") if kpi.outlook_deadline else None,
            kpi.headline, tuple(tv), assess_kpi(kpi, tv, ov, today),
            tuple(latest[k] for k in sorted(latest, key=_breakdown_order(kpi.breakdowns))), tuple(ov),
            kpi.local_fact, kpi.ministry))
    return out


AGGREGATION_LABELS = {"count_org_units": "値が0より大きい団体の数", "sum": "合計",
                      "ratio": "団体の平均", "latest": "合計"}


def _national_series(session: Session, kpis: dict[int, Kpi]) -> dict[int, list[ObservationView]]:
    """The approved national observations of these KPIs, oldest first, read as plain rows (the
    columns an ``ObservationView`` shows, not ORM entities)."""
    if not kpis:
        return {}
    out: dict[int, list[ObservationView]] = defaultdict(list)
    o = Observation
    for (kpi_id, oid, as_of, precision, breakdown, value, qualifier, source_title, source_url, status,
         created_by, created_at, batch_id, note, unit_code, unit_name) in session.execute(
            select(o.kpi_id, o.id, o.as_of, o.as_of_precision, o.breakdown, o.value, o.qualifier,
                   o.source_title, o.source_url, o.status, o.created_by, o.created_at, o.batch_id, o.note,
                   OrgUnit.code, OrgUnit.full_name)
            .join(OrgUnit, OrgUnit.id == o.org_unit_id)
            .where(o.kpi_id.in_(list(kpis)), OrgUnit.code == NATION_CODE, o.status == "approved")
            .order_by(o.as_of, o.id)):
        kpi = kpis[kpi_id]
        out[kpi_id].append(ObservationView(
            oid, kpi.code, unit_code, unit_name, AsOf(as_of, Precision(precision)), breakdown, value,
            kpi.unit, Qualifier(qualifier), source_title, source_url, status, created_by, created_at,
            batch_id, note))
    return out


def _rollup_series(session: Session, kpis: list[Kpi]) -> dict[int, list[ObservationView]]:
    """National series computed from local governments' values (the series rollup), for KPIs
    that have no national figure of their own."""
    if not kpis:
        return {}
    out: dict[int, list[ObservationView]] = {}
    # Plain tuples from the store (only the rollup's columns), ordered by KPI: at national scale
    # a few thousand rows per call. What is the same for a KPI (its code, unit, how its value is
    # made), a date or a count of local governments is made once, not per row.
    rows = rollup_series_rows(session.connection(), [k.id for k in kpis])
    by_id = {k.id: k for k in kpis}
    exact, name, view = Qualifier.EXACT, "地方公共団体の値の集計", ObservationView
    as_ofs: dict[date, AsOf] = {}
    sources: dict[tuple[str, int], str] = {}
    current_id, series, code, unit, aggregation, label = None, [], "", "", "", ""
    for kpi_id, as_of, breakdown, n, total, positive in rows:
        if kpi_id != current_id:
            k = by_id[kpi_id]
            current_id, code, unit, aggregation = kpi_id, k.code, k.unit, k.aggregation
            label = AGGREGATION_LABELS.get(aggregation, "合計")
            series = out[kpi_id] = []
        if aggregation == "count_org_units":
            value = float(positive)
        elif aggregation == "ratio":
            value = total / n if n else 0.0
        else:
            value = total
        when = as_ofs.get(as_of)
        if when is None:
            when = as_ofs[as_of] = AsOf(as_of, Precision.DAY)
        source = sources.get((label, n))
        if source is None:
            source = sources[label, n] = f"{name}（{label}、{n:,}団体）"
        series.append(view(0, code, NATION_CODE, name, when, breakdown, value, unit, exact, source, None,
                           "derived", "digiden", None, None, ""))
    return out


# The statuses of every KPI, computed once per (database, data version, day) in each process.
# The data version (store/dataversion.py) is replaced by every transaction that commits a write,
# in every process, so an entry is never used after a change it does not include.
_cache: dict[tuple[object, str, date], tuple[KpiView, ...]] = {}
_cache_lock = threading.Lock()
_compute_lock = threading.Lock()
_CACHE_ENTRIES = 8


def _cached_views(session: Session, today: date) -> tuple[KpiView, ...]:
    """Every KPI's view if the cache holds them for the data this session sees, else nothing."""
    token = dataversion.current(session)
    return _cache.get((engine_key(session), token, today), ()) if token is not None else ()


def _all_views(session: Session, today: date) -> list[KpiView]:
    """``_load(session, today)`` for every KPI, from the cache when the data has not changed."""
    token = dataversion.current(session)   # before the data: an entry may be newer, never older
    if token is None:
        return _load(session, today)
    key = (engine_key(session), token, today)
    hit = _cache.get(key)
    if hit is not None:
        return list(hit)
    # After a write, the requests that arrive together compute it once: the others wait here
    # (the work holds the interpreter lock anyway) and then find it in the cache.
    with _compute_lock:
        hit = _cache.get(key)
        if hit is not None:
            return list(hit)
        views = _load(session, today)
        # On PostgreSQL each statement of a read may see a later commit than the token did;
        # keep the result only if no write committed meanwhile.
        if dataversion.current(session) == token:
            with _cache_lock:
                if len(_cache) >= _CACHE_ENTRIES:
                    _cache.clear()
                _cache[key] = tuple(views)
    return views


def list_kpis(uow: UnitOfWork, *, today: date) -> list[KpiView]:
    """Every KPI of the national strategy with its targets and status on ``today``."""
    with uow:
        return _all_views(uow.session, today)


@dataclass(frozen=True)
class KpiDetail:
    kpi: KpiView
    observations: tuple[ObservationView, ...]   # national series, oldest first
    local_observations: tuple[ObservationView, ...]
    area_path: tuple[tuple[str, str], ...]       # (code, name) from the half down


def get_kpi(uow: UnitOfWork, code: str, *, today: date) -> KpiDetail:
    with uow:
        s = uow.session
        views = [v for v in _cached_views(s, today) if v.code == code] or _load(s, today, [code])
        if not views:
            raise NotFound(f"unknown KPI {code!r}", message_ja=f"KPI「{code}」は見つかりません",
                           field="kpi")
        kpi = s.scalars(select(Kpi).where(Kpi.code == code)).one()
        # National rows in full; local rows only the most recent few hundred (at national scale
        # a KPI has ~100,000 local values, which belong in an export, not on a page).
        rows = list(s.execute(select(Observation, OrgUnit)
                              .join(OrgUnit, OrgUnit.id == Observation.org_unit_id)
                              .where(Observation.kpi_id == kpi.id, OrgUnit.code == NATION_CODE)
                              .order_by(Observation.as_of, Observation.breakdown)).all())
        rows += s.execute(select(Observation, OrgUnit)
                          .join(OrgUnit, OrgUnit.id == Observation.org_unit_id)
                          .where(Observation.kpi_id == kpi.id, OrgUnit.code != NATION_CODE)
                          .order_by(Observation.as_of.desc(), OrgUnit.code).limit(LOCAL_ROWS_SHOWN)).all()
        national = tuple(observation_view(o, kpi, u) for o, u in rows if u.code == NATION_CODE) \
            or views[0].history
        local = tuple(observation_view(o, kpi, u) for o, u in rows if u.code != NATION_CODE)
        path: list[tuple[str, str]] = []
        area = s.get(Area, kpi.area_id) if kpi.area_id else None
        while area is not None:
            path.insert(0, (area.code, area.name))
            area = s.get(Area, area.parent_id) if area.parent_id else None
        return KpiDetail(views[0], national, local, tuple(path))


LOCAL_ROWS_SHOWN = 300


def find_kpi(session: Session, code_or_name: str) -> Kpi:
    """A KPI by its code or its exact name (full/half width alike)."""
    kpi = session.scalars(select(Kpi).where(Kpi.code == code_or_name.strip())).one_or_none()
    if kpi is None:
        kpi = session.scalars(select(Kpi).where(Kpi.name_key == match_key(code_or_name))
                              ).one_or_none()
    if kpi is None:
        raise NotFound(f"unknown KPI {code_or_name!r}",
                       message_ja=f"KPI「{code_or_name}」は見つかりません", field="kpi")
    return kpi


def assign_ministry(uow: UnitOfWork, actor: Principal, code: str, ministry: str, *, now: datetime) -> str | None:
    """Make a ministry responsible for a KPI: its editors may then record the KPI's values.
    An empty ministry removes the assignment. National administrators only; audited."""
    require(actor, can_manage_accounts(actor), message="only a national administrator assigns KPIs to ministries",
            message_ja="KPIの担当府省は国の管理者だけが設定できます", sign_in_ja="サインインが必要です")
    m = bounded(ministry, 64, field="ministry", label_ja="府省名") or None
    with uow:
        s = uow.session
        k = find_kpi(s, code)
        before = k.ministry
        k.ministry = m
        audit.record(s, actor=actor.name, action="assign", entity="kpi", entity_key=k.code, at=now, kpi_id=k.id,
                     before={"ministry": before}, after={"ministry": m},
                     summary=f"KPI「{k.name}」の担当府省: {before or '未設定'} → {m or '未設定'}")
        uow.commit()
        return m
