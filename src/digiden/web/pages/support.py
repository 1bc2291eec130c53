"""Pages of 重点支援 (issue 14): the support programmes with their national KPI and digiden's
live count of selections (shown beside the published national figure, never mixed), a call with
its rubric, the applications the viewer may open, the review progress and the published 採択結果,
the selection proposal for the nation (optimal beside greedy, every outcome explained, policy
switches that re-compute) with the decision and publication, and one application. Each page is
built from the same service calls as the JSON API (web/api/support.py), so an application
someone may not open is 404 here exactly as it is there."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from digiden.domain.access import Principal
from digiden.domain.errors import DigidenError
from digiden.render.geo import japan_map
from digiden.services.national import kpis
from digiden.services.support import applications as apps
from digiden.services.support import attachments, evaluations, review
from digiden.services.support import programmes as pg
from digiden.services.support.applications import ApplicationView
from digiden.services.support.programmes import CallView, ProgrammeView, SelectionCount, SelectionView
from digiden.services.uow import UnitOfWork
from digiden.web.auth import Actor
from digiden.web.deps import Now, Today, Uow
from digiden.web.edge import IdPath
from digiden.web.pages import MapContext, render, selection_map

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


@router.get("/programmes/{code}", response_class=HTMLResponse)
def programme_page(code: str, request: Request, uow: Uow, now: Now, today: Today) -> HTMLResponse:
    p = pg.get_programme(uow, code)
    kpi = {k.code: k for k in kpis.list_kpis(uow, today=today)}.get(p.national_kpi or "")
    count = pg.count_selections(uow, code)
    names = _prefectures()
    ctx = ProgrammeContext(p.name, p, kpi, count, tuple(pg.list_calls(uow, programme=code, now=now)),
                           tuple(pg.list_selections(uow, code)), names, selection_map(count.by_prefecture))
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
    may_apply: bool = False                                   # a local government's staff (or the nation)
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
                      actor.signed_in, done == "published", reasons,
                      may_apply=actor.can_write_at_all and (actor.is_admin or actor.org_unit_id is not None))
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

DONE_JA = {"saved": "下書きを保存しました。", "submitted": "申請を提出しました。",
           "withdrawn": "申請を取り下げました。", "confirmed": "参加を確認しました。",
           "attached": "資料を添付しました。", "deleted": "添付資料を削除しました。"}


@dataclass(frozen=True)
class ApplicationContext:
    title: str
    application: ApplicationView
    call: CallView
    files: tuple[attachments.AttachmentView, ...] = ()
    actions: apps.Actions | None = None
    notice: str = ""
    error: DigidenError | None = None
    max_mb: int = attachments.MAX_BYTES // (1024 * 1024)
    max_files: int = attachments.MAX_FILES


def _application_page(request: Request, uow: UnitOfWork, actor: Principal, now: datetime, app_id: int,
                      notice: str = "", error: DigidenError | None = None, status: int = 200) -> HTMLResponse:
    a = apps.get(uow, actor, app_id)
    call = pg.get_call(uow, a.call_id, now=now)
    ctx = ApplicationContext(a.title, a, call, tuple(attachments.list_for(uow, actor, app_id)),
                             apps.actions(uow, actor, app_id) if actor.signed_in else None, notice, error)
    return render(request, "support/application.html", ctx, status_code=status)


@router.get("/applications/{app_id}", response_class=HTMLResponse)
def application_page(app_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
                     done: Annotated[str, Query(max_length=20)] = "") -> HTMLResponse:
    return _application_page(request, uow, actor, now, app_id, DONE_JA.get(done, ""))


async def _step(request: Request, actor: Principal, app_id: int, run: Any, done: str) -> Response:
    """One step taken from the application page: done → back to the page with what happened;
    refused (not a matter of access) → the page again with why, nothing written."""
    from fastapi.concurrency import run_in_threadpool

    from digiden.web import deps
    uow, now = deps.uow(request), deps.now(request)
    try:
        await run_in_threadpool(run, uow, now)
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        return await run_in_threadpool(_application_page, request, uow, actor, now, app_id, "", e, e.status_code)
    return RedirectResponse(f"/applications/{app_id}?done={done}", status_code=303)


@router.post("/applications/{app_id}/submit", response_class=HTMLResponse)
async def submit_form(app_id: IdPath, request: Request, actor: Actor) -> Response:
    return await _step(request, actor, app_id, lambda uow, now: apps.submit(uow, actor, app_id, now=now), "submitted")


@router.post("/applications/{app_id}/withdraw", response_class=HTMLResponse)
async def withdraw_form(app_id: IdPath, request: Request, actor: Actor) -> Response:
    reason = str((await request.form()).get("reason") or "")
    return await _step(request, actor, app_id,
                       lambda uow, now: apps.withdraw(uow, actor, app_id, now=now, reason=reason), "withdrawn")


@router.post("/applications/{app_id}/confirm", response_class=HTMLResponse)
async def confirm_form(app_id: IdPath, request: Request, actor: Actor) -> Response:
    member = str((await request.form()).get("member") or "").strip() or None
    return await _step(request, actor, app_id,
                       lambda uow, now: apps.confirm_membership(uow, actor, app_id, member, now=now), "confirmed")


@router.post("/applications/{app_id}/attachments", response_class=HTMLResponse)
async def attach_form(app_id: IdPath, request: Request, actor: Actor) -> Response:
    form = await request.form()
    try:
        files = [attachments.Upload(f.filename or "", await f.read(attachments.MAX_BYTES + 1))
                 for f in form.getlist("files") if not isinstance(f, str) and (f.filename or f.size)]
    finally:
        await form.close()     # the spooled files, now read
    return await _step(request, actor, app_id,
                       lambda uow, now: attachments.add(uow, actor, app_id, files, now=now), "attached")


@router.post("/applications/{app_id}/attachments/{attachment_id}/delete", response_class=HTMLResponse)
async def detach_form(app_id: IdPath, attachment_id: IdPath, request: Request, actor: Actor) -> Response:
    return await _step(request, actor, app_id,
                       lambda uow, now: attachments.delete(uow, actor, app_id, attachment_id, now=now), "deleted")


# ---------------------------------------------------------------- the application form

ROWS = {"measures": ("title", "description", "digital"), "kpis": ("name", "unit", "baseline", "target", "target_fy")}
_ROW = re.compile(r"^(measures|kpis)-(\d{1,2})-([a-z_]+)$")
BLANK_ROWS = 2


@dataclass(frozen=True)
class ApplicationFormContext:
    title: str
    call: CallView
    v: dict[str, Any]                  # the values shown (as loaded, or as posted)
    action: str                        # where the form posts
    version: int
    app_id: int | None = None
    error: DigidenError | None = None
    synthetic: bool = False

    def rows(self, key: str) -> list[dict[str, Any]]:
        have = [r for r in self.v.get(key) or [] if isinstance(r, dict)]
        return have + [{} for _ in range(BLANK_ROWS)]


def application_form_to_doc(form: Any) -> dict[str, Any]:
    """The form's flat fields (``kpis-1-target``) as the application the service takes; rows left
    blank are dropped."""
    def split(text: str) -> list[str]:
        return [x for x in re.split(r"[\s,、，]+", text) if x]
    doc: dict[str, Any] = {k: str(form.get(k) or "") for k in ("title", "lead", "summary", "issues",
                                                                "requested_amount")}
    doc["members"] = split(str(form.get("members") or ""))
    doc["fields"] = split(str(form.get("fields") or ""))
    rows: dict[str, dict[int, dict[str, Any]]] = {"measures": {}, "kpis": {}}
    for key, value in form.multi_items():
        m = _ROW.match(key)
        if m and isinstance(value, str) and m[3] in ROWS[m[1]]:
            rows[m[1]].setdefault(int(m[2]), {})[m[3]] = value
    for section, items in rows.items():
        doc[section] = [r for i in sorted(items) for r in [items[i]]
                        if any(str(v).strip() for k, v in r.items() if k != "digital")]
        for r in doc[section]:
            if section == "measures":
                r["digital"] = r.get("digital") in ("1", "on")
    if not doc["lead"].strip():
        doc.pop("lead")
    return doc


def _view_values(a: ApplicationView) -> dict[str, Any]:
    return {"title": a.title, "lead": a.lead_code, "members": " ".join(m.code for m in a.members),
            "summary": a.summary, "fields": "、".join(a.fields), "issues": a.issues,
            "requested_amount": "" if a.requested_amount is None else f"{a.requested_amount:,}",
            "measures": [dict(m) for m in a.measures], "kpis": [dict(k) for k in a.kpis]}


def _posted_values(doc: dict[str, Any]) -> dict[str, Any]:
    return doc | {"members": " ".join(doc.get("members") or []), "fields": "、".join(doc.get("fields") or [])}


@router.get("/calls/{call_id}/applications/new", response_class=HTMLResponse)
def new_application(call_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now) -> HTMLResponse:
    call = pg.get_call(uow, call_id, now=now)
    apps.require_may_start(actor)
    ctx = ApplicationFormContext(f"申請を作成: {call.title}", call, {"lead": actor.org_code or ""},
                                 f"/calls/{call_id}/applications", 0, synthetic=call.synthetic)
    return render(request, "support/application_form.html", ctx)


@router.post("/calls/{call_id}/applications", response_class=HTMLResponse)
async def create_application_form(call_id: IdPath, request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool

    from digiden.web import deps
    doc = application_form_to_doc(await request.form())
    uow, now = deps.uow(request), deps.now(request)
    call = await run_in_threadpool(pg.get_call, uow, call_id, now=now)
    apps.require_may_start(actor)
    try:
        a = await run_in_threadpool(lambda: apps.save_draft(uow, actor, call_id, doc, now=now))
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        ctx = ApplicationFormContext(f"申請を作成: {call.title}", call, _posted_values(doc),
                                     f"/calls/{call_id}/applications", 0, None, e, call.synthetic)
        return render(request, "support/application_form.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/applications/{a.id}?done=saved", status_code=303)


@router.get("/applications/{app_id}/edit", response_class=HTMLResponse)
def edit_application(app_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now) -> HTMLResponse:
    a = apps.get(uow, actor, app_id)
    acts = apps.actions(uow, actor, app_id)
    if not acts.lead:
        from digiden.domain import access
        access.require(actor, False, message="you may not edit this application",
                       sign_in_ja="申請の編集にはログインが必要です",
                       message_ja="申請を編集できるのは代表団体の職員だけです")
    if not acts.edit:
        from digiden.domain.errors import Conflict
        return _application_page(request, uow, actor, now, app_id, "", Conflict(
            "only a draft can be changed", message_ja=f"「{a.status_ja}」の申請は編集できません", field="status"), 409)
    call = pg.get_call(uow, a.call_id, now=now)
    ctx = ApplicationFormContext(f"申請を編集: {a.title}", call, _view_values(a), f"/applications/{app_id}/edit",
                                 a.version, app_id, synthetic=a.synthetic or call.synthetic)
    return render(request, "support/application_form.html", ctx)


@router.post("/applications/{app_id}/edit", response_class=HTMLResponse)
async def save_application_form(app_id: IdPath, request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool

    from digiden.web import deps
    from digiden.web.edge import form_version
    form = await request.form()
    doc = application_form_to_doc(form)
    uow, now = deps.uow(request), deps.now(request)
    a = await run_in_threadpool(apps.get, uow, actor, app_id)
    call = await run_in_threadpool(pg.get_call, uow, a.call_id, now=now)
    try:
        version = form_version(form.get("version"))
        await run_in_threadpool(lambda: apps.save_draft(uow, actor, a.call_id, doc, now=now, app_id=app_id,
                                                        version=version))
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        loaded = str(form.get("version") or "")        # kept: a stale copy stays stale until reloaded
        ctx = ApplicationFormContext(f"申請を編集: {a.title}", call, _posted_values(doc),
                                     f"/applications/{app_id}/edit",
                                     int(loaded) if loaded.isascii() and loaded.isdigit() and len(loaded) < 19 else 0,
                                     app_id, e, a.synthetic or call.synthetic)
        return render(request, "support/application_form.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/applications/{app_id}?done=saved", status_code=303)


# ---------------------------------------------------------------- a selected region and its evaluation


@dataclass(frozen=True)
class RegionContext:
    title: str
    region: evaluations.RegionView
    fiscal_years: tuple[int, ...]      # years one may write a report for
    prefectures: dict[str, str]
    notice: str = ""
    error: DigidenError | None = None
    posted: dict[str, Any] | None = None
    ratings: dict[str, str] = field(default_factory=lambda: evaluations.RATINGS_JA)
    state_ja: dict[str, str] = field(default_factory=lambda: STATE_JA)

    def current(self, kind: str, fy: int) -> evaluations.EvaluationView | None:
        return next((e for e in self.region.evaluations if e.kind == kind and e.fiscal_year == fy), None)


def _region_page(request: Request, uow: UnitOfWork, actor: Principal, now: datetime, key: str, notice: str = "",
                 error: DigidenError | None = None, posted: dict[str, Any] | None = None,
                 status: int = 200) -> HTMLResponse:
    from digiden.domain.calendar import fiscal_year, japan_date
    r = evaluations.get_region(uow, actor, key)
    first, last = fiscal_year(r.selected_on), fiscal_year(japan_date(now))
    years = tuple(range(last, first - 1, -1)) if last >= first else ()
    return render(request, "support/region.html",
                  RegionContext(r.title or r.lead_name, r, years, _prefectures(), notice, error, posted),
                  status_code=status)


@router.get("/regions/{key}", response_class=HTMLResponse)
def region_page(key: Annotated[str, Path(max_length=64)], request: Request, uow: Uow, actor: Actor, now: Now,
                done: Annotated[str, Query(max_length=20)] = "") -> HTMLResponse:
    notice = {"saved": "評価を保存しました（下書き）。", "submitted": "評価を提出しました。"}.get(done, "")
    return _region_page(request, uow, actor, now, key, notice)


@router.post("/regions/{key}/evaluations", response_class=HTMLResponse)
async def evaluation_form(key: Annotated[str, Path(max_length=64)], request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool

    from digiden.web import deps
    from digiden.web.edge import form_version
    form = await request.form()
    uow, now = deps.uow(request), deps.now(request)
    kind, fy = str(form.get("kind") or ""), str(form.get("fiscal_year") or "")
    values = []
    for k, v in form.multi_items():
        m = re.fullmatch(r"actual-(\d{1,3})", k)
        if m and isinstance(v, str):
            i = int(m[1])
            values.append({"index": i, "actual": v, "note": str(form.get(f"note-{i}") or "")})
    doc = {"summary": str(form.get("summary") or ""), "rating": str(form.get("rating") or ""), "values": values}
    submit = form.get("action") == "submit"
    try:
        version = form_version(form.get("version"))

        def run() -> None:
            e = evaluations.save(uow, actor, key, fy, kind, doc, now=now, version=version)
            if submit:
                evaluations.submit(uow, actor, key, fy, kind, now=now, version=e.version)
        await run_in_threadpool(run)
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        posted = doc | {"kind": kind, "fiscal_year": fy, "version": str(form.get("version") or "")}
        return await run_in_threadpool(_region_page, request, uow, actor, now, key, "", e, posted, e.status_code)
    return RedirectResponse(f"/regions/{quote(key)}?done={'submitted' if submit else 'saved'}", status_code=303)
