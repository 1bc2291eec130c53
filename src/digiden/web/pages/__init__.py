"""Server-rendered Japanese pages. Each page builds a typed context from one service call."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from digiden.domain.errors import DigidenError, InvalidInput
from digiden.domain.progress import STALE_AFTER_MONTHS, MilestoneReport, Status, forecast_passed
from digiden.render.charts import ChartSeries, line_chart
from digiden.render.geo import JapanMap, color_for, japan_map
from digiden.services import audit
from digiden.services.common import ObservationView
from digiden.services.national import kpis, local_facts, observations, strategies
from digiden.services.registry import localgov
from digiden.services.uow import UnitOfWork
from digiden.web.auth import Actor
from digiden.web.cache import PerDataVersion
from digiden.web.deps import Now, Today, Uow, next_page_url
from digiden.web.edge import IdQuery, PageQuery
from digiden.web.pages.own import OwnStrategy, own_strategy
from digiden.web.templating import templates

router = APIRouter(include_in_schema=False)

METHOD_SUMMARY = (
    "進捗は Open SDG（英国統計局・カナダ統計局）の方法に基づき、最初の観測値から最新値までの"
    "年平均成長率と、最初の観測値から次の未達目標までに必要な年平均成長率の比 R で判定します"
    "（R≧0.95 順調、0.6≦R<0.95 要加速、0≦R<0.6 停滞、R<0 悪化）。最終目標に到達済みなら達成、"
    "観測値が1時点のみ・期限のない目標などは判定不能とし理由を示します。累計目標は期間内の"
    "均等ペースと比べ、到達見込み日は同じ傾向の延長で求めます。詳しくは docs/methodology.md。"
)


def render(request: Request, name: str, ctx: Any, status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"page": ctx, "title": ctx.title},
                                      status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def kpi_chart(k: kpis.KpiView, obs: tuple[ObservationView, ...] | list[Any],
              *, compact: bool) -> Markup:
    """Chart series per breakdown: observations, milestones, forecast of the next milestone."""
    series = []
    keys = list(OrderedDict.fromkeys([t.breakdown for t in k.targets] +
                                     [o.breakdown for o in obs]))
    parts = {p.breakdown: p.assessment for p in k.status.parts}
    for key in keys or [""]:
        pts = tuple((o.as_of.date, o.value) for o in obs if o.breakdown == key)
        if key == "" and k.baseline and not any(d == k.baseline[2].date for d, _ in pts):
            pts = tuple(sorted(pts + ((k.baseline[2].date, k.baseline[0]),)))
        ms = tuple((t.deadline, t.as_milestone().threshold, f"{t.display}（{t.deadline_label}）")
                   for t in k.targets if t.breakdown == key and t.deadline is not None)
        a = parts.get(key)
        fc = None
        # a forecast date already behind us is not drawn as a forecast (the next figure is awaited)
        if a and a.forecast and a.next_milestone and not (
                k.status.today is not None and forecast_passed(a.forecast, k.status.today)):
            fc = (a.forecast, a.next_milestone.threshold)
        labels = {o.as_of.date: o.display for o in obs if o.breakdown == key}
        series.append(ChartSeries(key or k.name, pts, fc, ms, labels))
    return line_chart(series, unit=k.unit, title=f"{k.name}の推移と目標", compact=compact,
                      width=240 if compact else 680, height=70 if compact else 300)


# ---------------------------------------------------------------- dashboard

@dataclass(frozen=True)
class DashboardRow:
    kpi: kpis.KpiView
    chart: Markup


@dataclass(frozen=True)
class DashboardGroup:
    block_code: str
    block_name: str
    intro: str
    rows: tuple[DashboardRow, ...]


@dataclass(frozen=True)
class MapContext:
    map: JapanMap
    values: dict[str, float]
    colors: dict[str, str]
    labels: dict[str, str]
    legend: tuple[tuple[str, str], ...]
    caption: str
    source: str


@dataclass(frozen=True)
class DashboardContext:
    title: str
    today: date
    groups: tuple[DashboardGroup, ...]
    counts: tuple[tuple[Status, int], ...]
    choropleth: MapContext
    synthetic: bool = False
    stale_after_months: int = STALE_AFTER_MONTHS


def case_study_map(uow: UnitOfWork) -> MapContext:
    counts = localgov.case_studies_by_prefecture(uow)
    mx = max((c.count for c in counts), default=0)
    values = {c.prefecture_code: float(c.count) for c in counts}
    labels = {c.prefecture_code: f"{c.prefecture}: 事例 {c.count}件"
              + (f"（{'、'.join(c.items)}）" if c.items else "") for c in counts}
    legend = tuple((color_for(v, mx), f"{int(v)}件") for v in range(0, int(mx) + 1))
    return MapContext(japan_map(), values, {k: color_for(v, mx) for k, v in values.items()},
                      labels, legend, "総合戦略で紹介された事例の数（都道府県別）",
                      "出典: デジタル田園都市国家構想総合戦略の全体像（事例の所在地）")


def dashboard_context(uow: UnitOfWork, today: date) -> DashboardContext:
    views = kpis.list_kpis(uow, today=today)
    groups: OrderedDict[str, list[DashboardRow]] = OrderedDict()
    meta: dict[str, tuple[str, str]] = {}
    for k in views:
        groups.setdefault(k.block_code, []).append(DashboardRow(k, kpi_chart(
            k, k.history, compact=True)))
        meta[k.block_code] = (k.block_name, "")
    st = strategies.get_strategy(uow)
    intros = {b.code: b.intro for b in st.blocks}
    counts = tuple((s, sum(1 for k in views if k.status.status is s)) for s in Status)
    return DashboardContext(
        "ダッシュボード", today,
        tuple(DashboardGroup(code, meta[code][0], intros.get(code, ""), tuple(rows))
              for code, rows in groups.items()),
        counts, case_study_map(uow))


# The dashboard's body (_dashboard.html: statuses, a chart per KPI, the map; ~0.6 MB with the
# bench's 68 KPIs) depends on the data and the day only, and took ~35 ms of interpreter time a
# request to build (the charts alone ~20 ms). It is built once per (database, data version,
# day) in each process (web/cache.py), and every request puts the site's header and footer —
# who is signed in, the CSRF token — around it. It is rendered without the request, so nothing
# of a reader can get into what another sees.
_bodies: PerDataVersion[Markup] = PerDataVersion(entries=4)


def _render_body(uow: UnitOfWork, today: date) -> Markup:
    return Markup(templates.get_template("_dashboard.html").render(page=dashboard_context(uow, today)))


def dashboard_body(uow: UnitOfWork, today: date) -> Markup:
    return _bodies.get(uow, today, lambda: _render_body(uow, today))


@dataclass(frozen=True)
class DashboardPage:
    title: str
    body: Markup


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, uow: Uow, today: Today) -> HTMLResponse:
    return render(request, "dashboard.html", DashboardPage("ダッシュボード", dashboard_body(uow, today)))


# ---------------------------------------------------------------- KPI page

@dataclass(frozen=True)
class KpiPageContext:
    title: str
    detail: kpis.KpiDetail
    chart: Markup
    method: str
    saved: bool
    history: tuple[audit.AuditView, ...]
    milestone_rows: tuple[tuple[str, kpis.TargetView, MilestoneReport], ...]
    computed: local_facts.ComputedKpi | None = None
    today: date | None = None
    stale_after_months: int = STALE_AFTER_MONTHS
    selections: SelectionPanel | None = None     # 重点支援: the selections counted live (beside, never mixed)

    def forecast_text(self, forecast: date | None) -> str | None:
        return kpis.forecast_text(forecast, self.today) if self.today is not None else None


def milestone_rows(k: kpis.KpiView) -> tuple[tuple[str, kpis.TargetView, MilestoneReport], ...]:
    """Pair every target with its milestone report (both keyed by breakdown, deadline, value)."""
    rows = []
    for part in k.status.parts:
        for r in part.assessment.milestones:
            t = next(t for t in k.targets if t.breakdown == part.breakdown
                     and t.deadline == r.milestone.deadline and t.value == r.milestone.value)
            rows.append((part.breakdown, t, r))
    return tuple(rows)


@dataclass(frozen=True)
class SelectionPanel:
    """A selection KPI's live count (重点支援): the programme's published selections counted, on a
    prefecture map, with every local government taking part; shown beside the national figure."""

    counted: Any                 # services.support.programmes.SelectionKpi
    choropleth: MapContext | None


def selection_map(by_prefecture: dict[str, int]) -> MapContext | None:
    """Selected regions by the lead's prefecture (the programme page draws the same map)."""
    if not by_prefecture:
        return None
    names = {sh.code: sh.name for sh in japan_map().shapes}
    mx = max(by_prefecture.values())
    values = {k: float(v) for k, v in by_prefecture.items()}
    labels = {k: f"{names.get(k, k)}: 選定 {v}件" for k, v in by_prefecture.items()}
    steps = sorted({0, mx, *(round(mx * i / 4) for i in range(1, 4))})
    legend = tuple((color_for(v, mx), f"{v}件") for v in steps)
    return MapContext(japan_map(), values, {k: color_for(v, mx) for k, v in values.items()}, labels, legend,
                      "選定地域の数（代表団体の都道府県別、取消を除く）",
                      "出典: digiden に登録された選定結果（公表資料および公表済みの採択結果）")


def selection_panel(uow: UnitOfWork, kpi_code: str) -> SelectionPanel | None:
    from digiden.services.support import programmes as support
    counted = support.selection_kpi(uow, kpi_code)
    return SelectionPanel(counted, selection_map(counted.count.by_prefecture)) if counted else None


@router.get("/kpis", response_class=HTMLResponse)
def kpi_index() -> Response:
    return RedirectResponse("/", status_code=302)


@router.get("/kpis/{code}", response_class=HTMLResponse)
def kpi_page(code: str, request: Request, uow: Uow, today: Today, actor: Actor,
             saved: Annotated[int, Query(ge=0, le=1)] = 0) -> HTMLResponse:
    d = kpis.get_kpi(uow, code, today=today)
    hist = tuple(audit.history(uow, actor, kpi_code=code, limit=20)) if actor.signed_in else ()
    computed = local_facts.computed(uow, d.kpi.code) if d.kpi.local_fact else None
    ctx = KpiPageContext(d.kpi.name, d, kpi_chart(d.kpi, d.observations, compact=False),
                         METHOD_SUMMARY, bool(saved), hist, milestone_rows(d.kpi), computed, today,
                         selections=selection_panel(uow, d.kpi.code))
    return render(request, "kpis/detail.html", ctx)


# ---------------------------------------------------------------- strategy

@dataclass(frozen=True)
class StrategyContext:
    title: str
    strategy: strategies.StrategyView
    statuses: dict[str, kpis.KpiView]


@router.get("/strategy", response_class=HTMLResponse)
def strategy_page(request: Request, uow: Uow, today: Today) -> HTMLResponse:
    st = strategies.get_strategy(uow)
    statuses = {k.code: k for k in kpis.list_kpis(uow, today=today)}
    return render(request, "strategy/index.html", StrategyContext("総合戦略", st, statuses))


# ---------------------------------------------------------------- local governments

PAGE_SIZE = 50


@dataclass(frozen=True)
class DirectoryContext:
    title: str
    q: str
    prefecture: str
    kind: str
    page: int
    total: int
    results: tuple[localgov.OrgUnitView, ...]
    prefectures: tuple[tuple[str, str], ...]
    kinds: dict[str, str]
    error: DigidenError | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


@router.get("/local-governments", response_class=HTMLResponse)
def directory(request: Request, uow: Uow, q: str = "", prefecture: str = "", kind: str = "",
              page: PageQuery = 1) -> HTMLResponse:
    error = None
    try:
        rows, total = localgov.search(uow, q, prefecture=prefecture or None, kind=kind or None,
                                      limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    except InvalidInput as e:
        rows, total, error = [], 0, e
    prefs = tuple((p.prefecture_code, p.name) for p in localgov.search(
        uow, "", kind="prefecture", limit=47)[0])
    ctx = DirectoryContext("地方公共団体", q, prefecture, kind, page, total, tuple(rows), prefs,
                           localgov.KINDS, error)
    name = "localgov/_results.html" if is_htmx(request) else "localgov/index.html"
    return render(request, name, ctx, status_code=422 if error else 200)


@dataclass(frozen=True)
class OrgUnitContext:
    title: str
    detail: localgov.OrgUnitDetail
    map: MapContext | None = None
    own: OwnStrategy | None = None      # the viewer's own strategy, on its own local government's page


@router.get("/local-governments/{code}", response_class=HTMLResponse)
def org_unit_page(code: str, request: Request, uow: Uow, actor: Actor) -> HTMLResponse:
    d = localgov.get(uow, code)
    own = own_strategy(uow, actor) if actor.org_code == d.unit.code else None
    return render(request, "localgov/detail.html", OrgUnitContext(d.unit.full_name, d, own=own))


# ---------------------------------------------------------------- map

@dataclass(frozen=True)
class MapPageContext:
    title: str
    choropleth: MapContext
    measure: str
    measures: dict[str, str] = field(default_factory=dict)


MAP_MEASURES = {"case_studies": "総合戦略の事例数", "aging_rate": "高齢化率（65歳以上人口の割合）",
                "municipalities": "市区町村の数"}


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, uow: Uow, measure: str = "case_studies") -> HTMLResponse:
    if measure not in MAP_MEASURES:
        raise InvalidInput(f"unknown measure {measure!r}", message_ja=f"不明な指標です: {measure}",
                           field="measure")
    if measure == "case_studies":
        ctx_map = case_study_map(uow)
    else:
        prefs = {p.prefecture_code: localgov.get(uow, p.code)
                 for p in localgov.search(uow, "", kind="prefecture", limit=47)[0]}
        if measure == "aging_rate":
            values = {c: d.aging_rate_pct or 0.0 for c, d in prefs.items()}
            lo = min(values.values())
            mx = max(values.values()) - lo
            colors = {c: color_for(v - lo + 0.01, mx) for c, v in values.items()}
            labels = {c: f"{prefs[c].unit.name}: {v:.1f}%" for c, v in values.items()}
            legend = ((color_for(0.01, mx), f"{lo:.1f}%"),
                      (color_for(mx, mx), f"{lo + mx:.1f}%"))
            ctx_map = MapContext(japan_map(), values, colors, labels, legend,
                                 "高齢化率（都道府県別、2022年1月1日）",
                                 "出典: 総務省「住民基本台帳に基づく人口、人口動態及び世帯数」令和4年1月1日")
        else:
            values = {c: float(len(d.municipalities)) for c, d in prefs.items()}
            mx = max(values.values())
            ctx_map = MapContext(japan_map(), values,
                                 {c: color_for(v, mx) for c, v in values.items()},
                                 {c: f"{prefs[c].unit.name}: {int(v)}市区町村"
                                  for c, v in values.items()},
                                 ((color_for(1, mx), "少"), (color_for(mx, mx), f"{int(mx)}")),
                                 "市区町村の数（都道府県別）", "出典: 総務省「全国地方公共団体コード」")
    return render(request, "map.html", MapPageContext("地図", ctx_map, measure, MAP_MEASURES))


# ---------------------------------------------------------------- observations

@dataclass(frozen=True)
class ObservationFormContext:
    title: str
    kpis: tuple[kpis.KpiView, ...]
    values: dict[str, str]
    error: DigidenError | None = None


FORM_FIELDS = ("kpi", "org_unit", "as_of", "value", "breakdown", "qualifier", "source_title",
               "source_url", "note")


@router.get("/observations/new", response_class=HTMLResponse)
def observation_form(request: Request, uow: Uow, today: Today, actor: Actor, kpi: str = "") -> HTMLResponse:
    observations.require_may_record(actor)
    ctx = ObservationFormContext("実績値の登録", tuple(kpis.list_kpis(uow, today=today)),
                                 {"kpi": kpi, "org_unit": "JP"})
    return render(request, "observations/new.html", ctx)


@router.post("/observations", response_class=HTMLResponse)
def observation_submit(
    request: Request, uow: Uow, today: Today, now: Now, actor: Actor,
    kpi: Annotated[str, Form()] = "", org_unit: Annotated[str, Form()] = "JP",
    as_of: Annotated[str, Form()] = "", value: Annotated[str, Form()] = "",
    breakdown: Annotated[str, Form()] = "", qualifier: Annotated[str, Form()] = "",
    source_title: Annotated[str, Form()] = "", source_url: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    values = dict(kpi=kpi, org_unit=org_unit, as_of=as_of, value=value, breakdown=breakdown,
                  qualifier=qualifier, source_title=source_title, source_url=source_url,
                  note=note)
    try:
        if not kpi:
            raise InvalidInput("kpi is required", message_ja="KPIを選んでください", field="kpi")
        view, _ = observations.add_observation(
            uow, observations.ObservationInput(kpi, as_of, value, org_unit or "JP", breakdown,
                                               qualifier, source_title, source_url, note),
            actor=actor, now=now, today=today)
    except DigidenError as e:
        ctx = ObservationFormContext("実績値の登録", tuple(kpis.list_kpis(uow, today=today)),
                                     values, e)
        return render(request, "observations/new.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/kpis/{view.kpi_code}?saved=1", status_code=303)


# ---------------------------------------------------------------- audit

@dataclass(frozen=True)
class AuditContext:
    title: str
    events: tuple[audit.AuditView, ...]
    kpi: str
    org_unit: str
    older_url: str | None = None     # the next page (older events), when one the reader may see follows
    newest_url: str | None = None    # back to the newest events, on a later page


AUDIT_PAGE_SIZE = 200


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, uow: Uow, actor: Actor, kpi: str = "", org_unit: str = "",
               batch: IdQuery | None = None,
               after: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    page = audit.history_page(uow, actor, kpi_code=kpi or None, org_unit_code=org_unit or None,
                              batch_id=batch, limit=AUDIT_PAGE_SIZE, after=after or None)
    older = next_page_url(request, page.next_after) if page.next_after else None
    url = request.url.remove_query_params("after")
    newest = (f"{url.path}?{url.query}" if url.query else url.path) if after else None
    return render(request, "audit.html", AuditContext("変更履歴", tuple(page.items), kpi, org_unit, older, newest))


@router.get("/about", response_class=HTMLResponse)
def about(request: Request) -> HTMLResponse:
    from digiden.config import get_settings

    @dataclass(frozen=True)
    class About:
        title: str
        method: str
        operator: str
        contact: str
    settings = get_settings()
    return render(request, "about.html", About("このサイトについて", METHOD_SUMMARY, settings.operator.strip(),
                                               settings.contact.strip()))
