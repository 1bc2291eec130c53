"""Pages: search, the measures catalogue and roadmap, the menu book, good practices and their
spread, similar municipalities with recommendations, and collaboration partners and groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from digiden.domain.access import Principal
from digiden.domain.calendar import fiscal_year
from digiden.domain.errors import DigidenError
from digiden.domain.similarity import COMPONENTS, DEFAULT_WEIGHTS, LABELS_JA, MAX_WEIGHT
from digiden.render.geo import JapanMap, japan_map
from digiden.services.knowledge import catalogue, practices, search, similarity
from digiden.services.knowledge.catalogue import SUPPORT_KINDS
from digiden.services.local.local_strategies import choices
from digiden.services.registry import localgov
from digiden.web import deps
from digiden.web.auth import Actor
from digiden.web.deps import Today, Uow
from digiden.web.edge import IdPath, PageQuery, form_version
from digiden.web.pages import is_htmx, render

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- search

@dataclass(frozen=True)
class SearchContext:
    title: str
    q: str
    result: search.SearchResult | None
    error: DigidenError | None
    facet_labels: dict[str, str]
    filters: dict[str, str]

    def url_with(self, facet: str, value: str | None) -> str:
        from urllib.parse import urlencode
        params = {"q": self.q} | {k: v for k, v in self.filters.items() if k != facet}
        if facet == "field":
            params.pop("pillar", None)
        if value:
            params[facet] = value
        return "/search?" + urlencode({k: v for k, v in params.items() if v})


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, uow: Uow, actor: Actor, q: str = "", kind: str = "", field: str = "",
                model_type: str = "", pref: str = "", support: str = "", pillar: str = "") -> Response:
    filters = {k: v for k, v in {"kind": kind, "field": field or pillar, "model_type": model_type, "pref": pref,
                                  "support": support}.items() if v}
    result, error, status = None, None, 200
    try:
        result = search.search(uow, actor, q, limit=30, **filters) if (q or filters) else None
    except DigidenError as e:
        if e.status_code not in (422,):
            raise
        error, status = e, e.status_code
    shown = dict(result.filters) if result else filters
    ctx = SearchContext("検索" + (f"「{q[:40]}」" if q else ""), q[:300], result, error, search.FACET_LABELS, shown)
    name = "search/_results.html" if is_htmx(request) else "search/index.html"
    return render(request, name, ctx, status_code=status)


# ---------------------------------------------------------------- catalogue

@dataclass(frozen=True)
class MeasuresContext:
    title: str
    measures: list[catalogue.MeasureView]
    problems: list[catalogue.ProblemView]
    fields: list[tuple[str, str]]
    supports: dict[str, str]
    selected: dict[str, str]


def _fields(uow: Any) -> list[tuple[str, str]]:
    """Pillars and foundation areas with their fields, in the strategy's order (for selects)."""
    return [(c, f"{c} {n}" if "." not in c else f"　{c} {n}") for c, n in choices(uow).areas
            if any(ch.isdigit() for ch in c)]


@router.get("/measures", response_class=HTMLResponse)
def measures_page(request: Request, uow: Uow, problem: str = "", field: str = "", support: str = "",
                  ministry: str = "") -> Response:
    ms = catalogue.list_measures(uow, problem=problem or None, field=field or None, support=support or None,
                                 ministry=ministry or None)
    ctx = MeasuresContext("施策カタログ", ms, catalogue.problems(uow), _fields(uow), SUPPORT_KINDS,
                          {"problem": problem, "field": field, "support": support, "ministry": ministry})
    return render(request, "catalogue/measures.html", ctx)


@dataclass(frozen=True)
class MeasureContext:
    title: str
    measure: catalogue.MeasureView
    current_fy: int
    faq: list[Any]          # the consultation desk's published FAQ entries about this measure


@router.get("/measures/{code}", response_class=HTMLResponse)
def measure_page(code: str, request: Request, uow: Uow, today: Today) -> Response:
    from digiden.services.consult import faq
    m = catalogue.get_measure(uow, code)
    return render(request, "catalogue/measure.html",
                  MeasureContext(m.title, m, fiscal_year(today), faq.published(uow, measure=m.code, limit=20)))


@dataclass(frozen=True)
class RoadmapContext:
    title: str
    by: str
    groups: list[catalogue.RoadmapGroup]
    years: tuple[int, ...]
    current_fy: int


@router.get("/roadmap", response_class=HTMLResponse)
def roadmap_page(request: Request, uow: Uow, today: Today, by: str = "field") -> Response:
    return render(request, "catalogue/roadmap.html",
                  RoadmapContext("工程表（ロードマップ）", by, catalogue.roadmap(uow, by=by), catalogue.ROADMAP_YEARS,
                                 fiscal_year(today)))


@router.get("/menubook", response_class=HTMLResponse)
def menubook_page(request: Request, uow: Uow, today: Today, pillar: str = "") -> Response:
    from digiden.render.menubook import render_html
    from digiden.services.knowledge.menubook import build
    return HTMLResponse(render_html(build(uow, today=today, pillar=pillar or None)))


@router.get("/menubook.pdf")
def menubook_pdf(uow: Uow, today: Today, pillar: str = "") -> Response:
    from digiden.web.menubook import pdf_response
    return pdf_response(uow, today, pillar)


# ---------------------------------------------------------------- practices

@dataclass(frozen=True)
class PracticesContext:
    title: str
    rows: list[practices.PracticeRow]
    fields: list[tuple[str, str]]
    selected: dict[str, str]
    page: int = 1
    more: bool = False

    def page_url(self, page: int) -> str:
        from urllib.parse import urlencode
        return "/practices?" + urlencode({k: v for k, v in self.selected.items() if v} | {"page": page})


PAGE_SIZE = 100


@router.get("/practices", response_class=HTMLResponse)
def practices_page(request: Request, uow: Uow, actor: Actor, field: str = "", model_type: str = "",
                   status: str = "", page: PageQuery = 1) -> Response:
    page = max(1, min(page, 10_000))
    rows = practices.list_practices(uow, actor, field=field or None, model_type=model_type or None,
                                    status=status or None, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render(request, "practices/list.html", PracticesContext(
        "優良事例", rows[:PAGE_SIZE], _fields(uow), {"field": field, "model_type": model_type, "status": status},
        page, len(rows) > PAGE_SIZE))


@dataclass(frozen=True)
class SpreadMap:
    map: JapanMap
    origin: list[tuple[str, float, float]]
    adopters: list[tuple[str, float, float, int]]
    view: tuple[float, float, float, float]     # the part of Japan around the points (SVG viewBox)

    @property
    def r(self) -> float:
        return round(self.view[2] / 90, 2)


@dataclass(frozen=True)
class PracticeContext:
    title: str
    practice: practices.PracticeView
    spread: SpreadMap
    allowed: practices.Allowed
    done: str
    error: DigidenError | None = None
    form: dict[str, str] = field(default_factory=dict)


def _spread(p: practices.PracticeView) -> SpreadMap:
    m = japan_map()
    origin = [(n, *m.point(lat, lng)) for _, n, lat, lng in p.org_units if lat is not None and lng is not None]
    adopters = [(a.name, *m.point(a.lat, a.lng), a.fiscal_year) for a in p.adoptions
                if a.lat is not None and a.lng is not None]
    xs = [x for _, x, _ in origin] + [x for _, x, _, _ in adopters]
    ys = [y for _, _, y in origin] + [y for _, _, y, _ in adopters]
    if not xs:
        return SpreadMap(m, origin, adopters, (0, 0, m.width, m.height))
    # zoom to the points, but never closer than a fifth of Japan, keeping the map's proportions
    w = max(max(xs) - min(xs), m.width / 5) * 1.4
    h = max(max(ys) - min(ys), w * m.height / m.width) * 1.2
    w = max(w, h * m.width / m.height)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return SpreadMap(m, origin, adopters, (round(cx - w / 2, 1), round(cy - h / 2, 1), round(w, 1), round(h, 1)))


def _practice_ctx(uow: Any, actor: Principal, p: practices.PracticeView, done: str = "",
                  error: DigidenError | None = None, form: dict[str, str] | None = None) -> PracticeContext:
    return PracticeContext(p.title, p, _spread(p), practices.allowed(uow, actor, p.code), done, error, form or {})


@router.get("/practices/new", response_class=HTMLResponse)
def practice_new(request: Request, uow: Uow, actor: Actor) -> Response:
    practices.require_may_propose(actor)
    return render(request, "practices/new.html", _new_ctx(uow, actor, {}))


@dataclass(frozen=True)
class NewPracticeContext:
    title: str
    form: dict[str, str]
    fields: list[tuple[str, str]]
    model_types: list[tuple[str, str]]
    measures: list[tuple[str, str]]
    error: DigidenError | None = None
    action: str = "/practices/new"
    version: int | None = None


def _new_ctx(uow: Any, actor: Principal, form: dict[str, str], error: DigidenError | None = None, *,
             code: str | None = None, version: int | None = None) -> NewPracticeContext:
    defaults = {"org_units": actor.org_code or ""} | form
    return NewPracticeContext("優良事例の編集" if code else "優良事例の登録", defaults, _fields(uow),
                              list(choices(uow).model_types),
                              [(m.code, m.title) for m in catalogue.list_measures(uow)], error,
                              f"/practices/{code}/edit" if code else "/practices/new", version)


FORM_KEYS = ("title", "org_units", "field", "model_types", "problem", "solution", "results", "figures", "fy_from",
             "fy_to", "support", "measures", "sources", "partners")


def _form_doc(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as the service's input, and as the strings to show again after an error."""
    doc: dict[str, Any] = {k: str(form.get(k) or "") for k in FORM_KEYS}
    doc["model_types"] = [str(x) for x in form.getlist("model_types")]
    doc["measures"] = [str(x) for x in form.getlist("measures")]
    doc["sources"] = [line.strip() for line in doc["sources"].splitlines() if line.strip()]
    shown = {k: str(form.get(k) or "") for k in FORM_KEYS}
    shown["model_types"] = ",".join(doc["model_types"])
    shown["measures"] = ",".join(doc["measures"])
    return doc, shown


@router.post("/practices/new", response_class=HTMLResponse)
async def practice_create(request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool
    form = await request.form()
    doc, shown = _form_doc(form)
    submit = form.get("submit") != "draft"
    uow, now = deps.uow(request), deps.now(request)
    try:
        p = await run_in_threadpool(practices.add, uow, actor, doc, submit=submit, now=now)
    except DigidenError as e:
        if e.status_code in (401, 403):
            raise
        ctx = await run_in_threadpool(_new_ctx, uow, actor, shown, e)
        return render(request, "practices/new.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/practices/{p.code}?done={'submit' if submit else 'draft'}", status_code=303)


def _as_form(p: practices.PracticeView) -> dict[str, str]:
    figures = "; ".join(f"{f.label}={f.value:g}{f.unit}" + (f"@{f.year}" if f.year else "") for f in p.figures)
    return {"title": p.title, "org_units": ",".join(c for c, *_ in p.org_units), "field": p.field[0] if p.field else "",
            "model_types": ",".join(c for c, _ in p.model_types), "problem": p.problem, "solution": p.solution,
            "results": p.results, "figures": figures,
            "fy_from": str(p.fy_from or ""), "fy_to": str(p.fy_to or ""), "support": p.support_text,
            "measures": ",".join(c for c, _ in p.measures), "sources": "\n".join(u or t for t, u in p.sources),
            "partners": ",".join(p.partners)}


@router.get("/practices/{code}/edit", response_class=HTMLResponse)
def practice_edit(code: str, request: Request, uow: Uow, actor: Actor) -> Response:
    p = practices.editable(uow, actor, code)
    return render(request, "practices/new.html", _new_ctx(uow, actor, _as_form(p), code=code, version=p.version))


@router.post("/practices/{code}/edit", response_class=HTMLResponse)
async def practice_save(code: str, request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool
    form = await request.form()
    doc, shown = _form_doc(form)
    submit = form.get("submit") != "draft"
    version = form_version(form.get("version"))
    uow, now = deps.uow(request), deps.now(request)
    try:
        await run_in_threadpool(lambda: practices.update(uow, actor, code, doc, expected_version=version,
                                                         submit=submit, now=now))
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        ctx = await run_in_threadpool(partial(_new_ctx, uow, actor, shown, e, code=code, version=version))
        return render(request, "practices/new.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/practices/{code}?done={'submit' if submit else 'draft'}", status_code=303)


@router.get("/practices/{code}", response_class=HTMLResponse)
def practice_page(code: str, request: Request, uow: Uow, actor: Actor, done: str = "") -> Response:
    p = practices.get(uow, actor, code)
    return render(request, "practices/detail.html", _practice_ctx(uow, actor, p, done))


@router.post("/practices/{code}/review", response_class=HTMLResponse)
async def practice_review(code: str, request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool
    form = await request.form()
    action, comment = str(form.get("action") or ""), str(form.get("comment") or "")
    uow, now = deps.uow(request), deps.now(request)
    try:
        await run_in_threadpool(practices.review, uow, actor, code, action, comment, now=now)
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        p = await run_in_threadpool(practices.get, uow, actor, code)
        ctx = await run_in_threadpool(partial(_practice_ctx, uow, actor, p, error=e, form={"comment": comment}))
        return render(request, "practices/detail.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/practices/{code}?done={action}", status_code=303)


@router.post("/practices/{code}/adopt", response_class=HTMLResponse)
async def practice_adopt(code: str, request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool
    form = await request.form()
    vals = {k: str(form.get(k) or "") for k in ("org_unit", "fiscal_year", "adaptation", "result")}
    uow, now = deps.uow(request), deps.now(request)
    try:
        await run_in_threadpool(lambda: practices.record_adoption(
            uow, actor, code, org_code=vals["org_unit"], fiscal_year=vals["fiscal_year"],
            adaptation=vals["adaptation"], result=vals["result"], now=now))
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        p = await run_in_threadpool(practices.get, uow, actor, code)
        ctx = await run_in_threadpool(partial(_practice_ctx, uow, actor, p, error=e, form=vals))
        return render(request, "practices/detail.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/practices/{code}?done=adopt#spread", status_code=303)


# ---------------------------------------------------------------- similar municipalities

@dataclass(frozen=True)
class SimilarContext:
    title: str
    result: similarity.SimilarResult | None
    recs: similarity.Recommendations | None
    code: str
    name: str
    weights: dict[str, str]
    labels: dict[str, str]
    components: tuple[str, ...]
    max_weight: float
    same_prefecture: bool
    error: DigidenError | None = None


@router.get("/local-governments/{code}/similar", response_class=HTMLResponse)
def similar_page(code: str, request: Request, uow: Uow, actor: Actor, same_prefecture: bool = False) -> Response:
    raw = {k: request.query_params.get(f"w_{k}", "") for k in COMPONENTS}
    shown = {k: raw[k] or f"{DEFAULT_WEIGHTS[k]:g}" for k in COMPONENTS}
    o = localgov.get(uow, code)
    result, error, status = None, None, 200
    try:
        result = similarity.similar(uow, actor, code, weights=raw, limit=20, same_prefecture=same_prefecture)
    except DigidenError as e:
        if e.status_code != 422:
            raise
        error, status = e, e.status_code
    recs = similarity.recommendations(uow, actor, code, limit=10) if result else None
    ctx = SimilarContext(f"{o.unit.full_name}の類似団体", result, recs, o.unit.code, o.unit.full_name, shown,
                         LABELS_JA, COMPONENTS, MAX_WEIGHT, same_prefecture, error)
    return render(request, "collab/similar.html", ctx, status_code=status)


# ---------------------------------------------------------------- partners and groups

@dataclass(frozen=True)
class PartnersContext:
    title: str
    problems: list[catalogue.ProblemView]
    fields: list[tuple[str, str]]
    issue: str
    within_km: str
    anchor: str
    result: similarity.Partners | None
    groups: list[similarity.GroupView]
    error: DigidenError | None = None
    form: dict[str, str] = field(default_factory=dict)


def _partners_ctx(uow: Any, actor: Principal, issue: str, within_km: str, anchor: str,
                  error: DigidenError | None = None, form: dict[str, str] | None = None) -> PartnersContext:
    result = None
    if issue and error is None:
        try:
            km = float(within_km or 30)
        except ValueError:
            km = -1.0
        try:
            result = similarity.partners(uow, actor, issue, within_km=km, anchor=anchor or None)
        except DigidenError as e:
            if e.status_code != 422:
                raise
            error = e
    return PartnersContext("地域間連携の相手さがし", catalogue.problems(uow), _fields(uow), issue, within_km or "30",
                           anchor, result, similarity.list_groups(uow), error, form or {})


@router.get("/collaboration", response_class=HTMLResponse)
def partners_page(request: Request, uow: Uow, actor: Actor, issue: str = "", within_km: str = "30",
                  anchor: str = "") -> Response:
    ctx = _partners_ctx(uow, actor, issue, within_km, anchor)
    return render(request, "collab/partners.html", ctx, status_code=ctx.error.status_code if ctx.error else 200)


@router.post("/collaboration/groups", response_class=HTMLResponse)
async def group_create(request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool
    form = await request.form()
    vals = {k: str(form.get(k) or "") for k in ("name", "issue", "members", "description", "initiatives")}
    uow, now = deps.uow(request), deps.now(request)
    try:
        g = await run_in_threadpool(similarity.save_group, uow, actor, vals, now=now)
    except DigidenError as e:
        if e.status_code in (401, 403):
            raise
        ctx = await run_in_threadpool(_partners_ctx, uow, actor, vals["issue"], "30", "", e, vals)
        return render(request, "collab/partners.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/collaboration/groups/{g.id}", status_code=303)


@dataclass(frozen=True)
class GroupContext:
    title: str
    group: similarity.GroupView


@router.get("/collaboration/groups/{group_id}", response_class=HTMLResponse)
def group_page(group_id: IdPath, request: Request, uow: Uow) -> Response:
    g = similarity.get_group(uow, group_id)
    return render(request, "collab/group.html", GroupContext(g.name, g))
