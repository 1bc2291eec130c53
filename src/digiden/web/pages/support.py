"""Pages of 重点支援 (issue 14): the support programmes with their national KPI and digiden's
live count of selections (shown beside the published national figure, never mixed), a call with
its rubric, the applications the viewer may open, the review progress and the published 採択結果,
the selection proposal for the nation (optimal beside greedy, every outcome explained, policy
switches that re-compute) with the decision and publication, and one application. Each page is
built from the same service calls as the JSON API (web/api/support.py), so an application
someone may not open is 404 here exactly as it is there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from digiden.domain.errors import DigidenError
from digiden.render.geo import color_for, japan_map
from digiden.services.national import kpis
from digiden.services.support import applications as apps
from digiden.services.support import programmes as pg
from digiden.services.support import review
from digiden.services.support.applications import ApplicationView
from digiden.services.support.programmes import CallView, ProgrammeView, SelectionCount, SelectionView
from digiden.web.auth import Actor
from digiden.web.deps import Now, Today, Uow
from digiden.web.edge import IdPath
from digiden.web.pages import MapContext, render

router = APIRouter(include_in_schema=False)

STATE_JA = {"selected": "選定", "realised": "実現", "registered": "登録", "cancelled": "取消"}
PHASE_JA = {"before": "公募前", "open": "公募中", "closed": "締切済み"}
KIND_JA = {"municipality": "市区町村", "prefecture": "都道府県", "special_ward": "特別区"}


def _prefectures() -> dict[str, str]:
    return {s.code: s.name for s in japan_map().shapes}


# ---------------------------------------------------------------- programmes


@dataclass(frozen=True)
class ProgrammeRow:
    programme: ProgrammeView
    kpi: Any | None            # kpis.KpiView: its latest published national figure
    synthetic: int = 0         # of the selections counted, how many are synthetic (合成データ)


@dataclass(frozen=True)
class ProgrammesContext:
    title: str
    rows: tuple[ProgrammeRow, ...]


@router.get("/programmes", response_class=HTMLResponse)
def programmes_page(request: Request, uow: Uow, today: Today) -> HTMLResponse:
    by_code = {k.code: k for k in kpis.list_kpis(uow, today=today)}
    rows = tuple(ProgrammeRow(p, by_code.get(p.national_kpi or ""),
                              sum(1 for x in pg.list_selections(uow, p.code) if x.synthetic and x.state != "cancelled"))
                 for p in pg.list_programmes(uow))
    return render(request, "support/programmes.html", ProgrammesContext("重点支援の制度", rows))


@dataclass(frozen=True)
class ProgrammeContext:
    title: str
    programme: ProgrammeView
    kpi: Any | None
    count: SelectionCount
    calls: tuple[CallView, ...]
    selections: tuple[SelectionView, ...]
    prefectures: dict[str, str]
    choropleth: MapContext | None
    state_ja: dict[str, str] = field(default_factory=lambda: STATE_JA)
    phase_ja: dict[str, str] = field(default_factory=lambda: PHASE_JA)


def _selection_map(count: SelectionCount, names: dict[str, str]) -> MapContext | None:
    if not count.by_prefecture:
        return None
    mx = max(count.by_prefecture.values())
    values = {k: float(v) for k, v in count.by_prefecture.items()}
    labels = {k: f"{names.get(k, k)}: 選定 {v}件" for k, v in count.by_prefecture.items()}
    steps = sorted({0, mx, *(round(mx * i / 4) for i in range(1, 4))})
    legend = tuple((color_for(v, mx), f"{v}件") for v in steps)
    return MapContext(japan_map(), values, {k: color_for(v, mx) for k, v in values.items()}, labels, legend,
                      "選定地域の数（代表団体の都道府県別、取消を除く）",
                      "出典: digiden に登録された選定結果（公表資料および公表済みの採択結果）")


@router.get("/programmes/{code}", response_class=HTMLResponse)
def programme_page(code: str, request: Request, uow: Uow, now: Now, today: Today) -> HTMLResponse:
    p = pg.get_programme(uow, code)
    kpi = {k.code: k for k in kpis.list_kpis(uow, today=today)}.get(p.national_kpi or "")
    count = pg.count_selections(uow, code)
    names = _prefectures()
    ctx = ProgrammeContext(p.name, p, kpi, count, tuple(pg.list_calls(uow, programme=code, now=now)),
                           tuple(pg.list_selections(uow, code)), names, _selection_map(count, names))
    return render(request, "support/programme.html", ctx)


# ---------------------------------------------------------------- calls


@dataclass(frozen=True)
class CallContext:
    title: str
    call: CallView
    applications: tuple[ApplicationView, ...]
    progress: review.Progress | None
    results: tuple[ApplicationView, ...]
    not_selected: tuple[ApplicationView, ...]
    is_admin: bool
    signed_in: bool
    published_now: bool = False
    reasons: dict[int, str] = field(default_factory=dict)    # why each not-selected one the viewer may open
    kind_ja: dict[str, str] = field(default_factory=lambda: KIND_JA)
    phase_ja: dict[str, str] = field(default_factory=lambda: PHASE_JA)


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(call_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
              done: Annotated[str, Query(max_length=20)] = "") -> HTMLResponse:
    from digiden.domain.access import PUBLIC
    call = pg.get_call(uow, call_id, now=now)
    mine = tuple(apps.list_for_call(uow, actor, call_id)) if actor.signed_in else ()
    published = tuple(apps.list_for_call(uow, PUBLIC, call_id)) if call.published_at else ()
    shown = {a.id for a in published}
    not_selected = tuple(a for a in mine if a.status == "not_selected" and a.id not in shown) \
        if call.published_at else ()
    progress = review.progress(uow, actor, call_id) if actor.is_admin else None
    from digiden.services.support import selection
    reasons = selection.decided_reasons(uow, call_id, {a.id for a in not_selected}) if not_selected else {}
    ctx = CallContext(call.title, call, mine, progress, published, not_selected, actor.is_admin,
                      actor.signed_in, done == "published", reasons)
    return render(request, "support/call.html", ctx)


# ---------------------------------------------------------------- selection (the nation)

POLICY_KEYS = ("budget", "min_score", "max_selections", "per_prefecture_cap", "min_joint_share")


@dataclass(frozen=True)
class SelectionContext:
    title: str
    call: CallView
    policy: dict[str, Any]
    proposal: dict[str, Any] | None
    error: DigidenError | None
    notice: str = ""
    may_decide: bool = False


def _selection_page(request: Request, uow: Uow, actor: Actor, now: Any, call_id: int, policy: dict[str, Any],
                    notice: str = "", error: DigidenError | None = None, status: int = 200) -> HTMLResponse:
    from digiden.services.support import selection
    call = pg.get_call(uow, call_id, now=now)
    proposal = None
    try:
        proposal = selection.propose(uow, actor, call_id, policy).as_dict()
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        error = error or e
        status = status if status != 200 else e.status_code
    return render(request, "support/selection.html",
                  SelectionContext(f"選定案: {call.title}", call, policy, proposal, error, notice,
                                   actor.is_admin and actor.can_write_at_all), status_code=status)


def _policy(every_prefecture: str, **values: str) -> dict[str, Any]:
    return {"every_prefecture": every_prefecture in ("1", "on", "true"),
            **{k: (v.strip() or None) for k, v in values.items()}}


Param = Annotated[str, Query(max_length=40)]


@router.get("/calls/{call_id}/selection", response_class=HTMLResponse)
def selection_page(call_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
                   every_prefecture: Param = "", budget: Param = "", min_score: Param = "",
                   max_selections: Param = "", per_prefecture_cap: Param = "", min_joint_share: Param = "",
                   done: Param = "") -> HTMLResponse:
    policy = _policy(every_prefecture, budget=budget, min_score=min_score, max_selections=max_selections,
                     per_prefecture_cap=per_prefecture_cap, min_joint_share=min_joint_share)
    notice = {"decided": "選定を決定しました。採択結果を公表すると選定地域として登録されます。",
              "published": "採択結果を公表しました。"}.get(done, "")
    return _selection_page(request, uow, actor, now, call_id, policy, notice)


@router.post("/calls/{call_id}/decision", response_class=HTMLResponse)
async def decision_form(call_id: IdPath, request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool

    from digiden.services.support import selection
    from digiden.web import deps
    form = await request.form()
    policy = _policy(str(form.get("every_prefecture") or ""),
                     **{k: str(form.get(k) or "")[:40] for k in POLICY_KEYS})
    uow, now = deps.uow(request), deps.now(request)
    try:
        await run_in_threadpool(selection.decide, uow, actor, call_id, policy, now=now)
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        return await run_in_threadpool(_selection_page, request, uow, actor, now, call_id, policy, "", e,
                                       e.status_code)
    return RedirectResponse(f"/calls/{call_id}/selection?done=decided", status_code=303)


@router.post("/calls/{call_id}/publication", response_class=HTMLResponse)
def publication_form(call_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now) -> Response:
    from digiden.services.support import selection
    try:
        selection.publish(uow, actor, call_id, now=now)
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        return _selection_page(request, uow, actor, now, call_id, _policy(""), "", e, e.status_code)
    return RedirectResponse(f"/calls/{call_id}?done=published", status_code=303)


# ---------------------------------------------------------------- an application


@dataclass(frozen=True)
class ApplicationContext:
    title: str
    application: ApplicationView
    call: CallView


@router.get("/applications/{app_id}", response_class=HTMLResponse)
def application_page(app_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now) -> HTMLResponse:
    a = apps.get(uow, actor, app_id)
    call = pg.get_call(uow, a.call_id, now=now)
    return render(request, "support/application.html", ApplicationContext(a.title, a, call))
