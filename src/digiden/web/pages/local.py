"""Pages for signing in, the inbox, each local government's strategy and its approval, national
KPIs counted from local records, model-region coverage, and account administration."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from digiden.domain.access import Principal
from digiden.domain.calendar import fiscal_year
from digiden.domain.errors import Conflict, DigidenError, NotFound
from digiden.domain.local import (
    MEASURE_KIND_LABELS_JA,
    SECTION_LABELS_JA,
    STATUS_LABELS_JA,
    SUPPORT_LABELS_JA,
    Change,
    MeasureKind,
    MeasureState,
    Status,
)
from digiden.render.geo import color_for, japan_map
from digiden.services.local import accounts, local_strategies
from digiden.services.local.local_strategies import Choices, Inbox, ReviewView, RevisionDetail, RevisionRef
from digiden.services.national import local_facts
from digiden.services.registry import localgov
from digiden.services.uow import UnitOfWork
from digiden.web import deps
from digiden.web.auth import (
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    Actor,
    check_prelogin,
    cookie_args,
    prelogin_token,
)
from digiden.web.deps import Now, Today, Uow
from digiden.web.edge import INT64_MAX, RevisionPath, RevisionQuery, form_version
from digiden.web.pages import MapContext, render
from digiden.web.pages.own import OwnStrategy, own_strategy

router = APIRouter(include_in_schema=False)

BLANK_ROWS = 2
ROW_SECTIONS = ("issues", "measures", "kpis")


def _safe_next(target: str) -> str:
    """Only a path on this site (its query string kept): never send a signed-in user elsewhere.
    Browsers read a backslash as a slash and drop tabs and newlines, so a path with either
    (``/\\evil``) is refused like ``//evil``; so is anything with a scheme or a host."""
    target = target or "/"
    if (not target.startswith("/") or "\\" in target
            or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return "/"
    return target


# ---------------------------------------------------------------- sign-in


@dataclass(frozen=True)
class LoginContext:
    title: str
    next: str
    token: str
    username: str = ""
    error: DigidenError | None = None


def _login_page(request: Request, ctx: LoginContext, status: int = 200) -> Response:
    resp = render(request, "auth/login.html", ctx, status_code=status)
    resp.set_cookie(PRELOGIN_COOKIE, ctx.token, max_age=3600, **cookie_args(request))
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, LoginContext("サインイン", _safe_next(next), prelogin_token(request)))


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, uow: Uow, now: Now, username: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=1000)] = "", csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    target = _safe_next(next)
    try:
        check_prelogin(request, csrf_token)
        secret, _csrf, _p = accounts.sign_in(uow, username, password, now=now)
    except DigidenError as e:
        return _login_page(request, LoginContext("エラー: サインイン", target, prelogin_token(request),
                                                 username[:64], e), e.status_code)
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(SESSION_COOKIE, secret, max_age=int(accounts.SESSION_TTL.total_seconds()), **cookie_args(request))
    resp.delete_cookie(PRELOGIN_COOKIE, path="/")
    return resp


@router.post("/logout")
def logout(request: Request, uow: Uow, now: Now, actor: Actor) -> Response:
    secret = request.cookies.get(SESSION_COOKIE, "")
    if secret:
        accounts.sign_out(uow, secret, now=now)
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# ---------------------------------------------------------------- inbox


@dataclass(frozen=True)
class InboxContext:
    title: str
    inbox: Inbox


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, uow: Uow, actor: Actor) -> HTMLResponse:
    return render(request, "local/inbox.html", InboxContext("受信箱", local_strategies.inbox(uow, actor)))


@router.post("/inbox/read")
def inbox_read(uow: Uow, actor: Actor, now: Now) -> Response:
    local_strategies.mark_read(uow, actor, now=now)
    return RedirectResponse("/inbox", status_code=303)


# ---------------------------------------------------------------- local strategies


@dataclass(frozen=True)
class ListContext:
    title: str
    rows: tuple[RevisionRef, ...]
    prefecture: str
    status: str
    statuses: dict[Status, str]
    own: OwnStrategy | None = None


@router.get("/local-strategies", response_class=HTMLResponse)
def local_list(request: Request, uow: Uow, actor: Actor, prefecture: str = "", status: str = "") -> HTMLResponse:
    rows = local_strategies.list_revisions(uow, actor, prefecture=prefecture or None, status=status or None)
    return render(request, "local/list.html",
                  ListContext("地方版総合戦略", tuple(rows), prefecture, status, STATUS_LABELS_JA,
                              own_strategy(uow, actor)))


@dataclass(frozen=True)
class StrategyContext:
    title: str
    d: RevisionDetail
    actions: tuple[tuple[str, str], ...]
    kinds: dict[MeasureKind, str]
    done: str = ""
    error: DigidenError | None = None
    # an accepted newest revision of the viewer's own strategy: editing starts the next revision
    next_revision: OwnStrategy | None = None


@router.get("/local-governments/{code}/strategy", response_class=HTMLResponse)
def local_view(code: str, request: Request, uow: Uow, actor: Actor, revision: RevisionQuery | None = None,
               done: str = "") -> HTMLResponse:
    d = local_strategies.get(uow, actor, code, revision)
    ctx = _view_ctx(d, done)
    if d.ref.status is Status.ACCEPTED and actor.org_code == d.ref.org_code:
        own = own_strategy(uow, actor)
        if own is not None and own.accepted and own.revision == d.ref.revision:
            ctx = dataclasses.replace(ctx, next_revision=own)
    return render(request, "local/view.html", ctx)


def _view_ctx(d: RevisionDetail, done: str = "", error: DigidenError | None = None) -> StrategyContext:
    # A refused step (editing under review, a stale version) shows the strategy with what
    # happened; the title says so first, as the edit form's does.
    title = f"{d.ref.org_name} 地方版総合戦略（第{d.ref.revision}版）"
    return StrategyContext(f"エラー: {title}" if error else title, d,
                           tuple((a.value, a.label_ja) for a in d.actions), MEASURE_KIND_LABELS_JA, done, error)


@router.post("/local-governments/{code}/strategy/{revision}/actions", response_class=HTMLResponse)
def local_act(code: str, revision: RevisionPath, request: Request, uow: Uow, actor: Actor, now: Now,
              action: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = "",
              version: Annotated[int | None, Form(ge=0, le=INT64_MAX)] = None) -> Response:
    try:
        d = local_strategies.act(uow, actor, code, revision, action, now=now, comment=comment,
                                 expected_version=version)
    except DigidenError as e:
        if e.status_code in (403, 404):
            raise
        d = local_strategies.get(uow, actor, code, revision)
        return render(request, "local/view.html", _view_ctx(d, error=e), status_code=e.status_code)
    return RedirectResponse(f"/local-governments/{d.ref.org_code}/strategy?revision={d.ref.revision}&done={action}",
                            status_code=303)


_TOP_LABELS_JA = {"title": "戦略の名称", "fiscal_year": "対象年度", "vision": "地域ビジョン",
                  "model_types": "地域ビジョンの類型", "version": "編集中の版", "status": "戦略の状態"}
_ROW_LABELS_JA = {
    "issues": ("社会課題", {"field": "分野", "text": "内容"}),
    "measures": ("施策", {"title": "名称", "field": "分野", "kind": "種類", "digital": "デジタル実装",
                          "state": "状況", "start_year": "開始年度", "support": "国の支援", "description": "説明"}),
    "kpis": ("KPI", {"name": "名称", "unit": "単位", "baseline": "基準値", "baseline_year": "基準値の年度",
                     "target": "目標値", "target_year": "目標値の年度", "actual": "実績値",
                     "actual_year": "実績値の年度", "national_kpi": "関連する国のKPI", "pillar": "関連する柱・分野"}),
}
_PATH = re.compile(r"^(issues|measures|kpis)\[(\d{1,3})\](?:\.([a-z_]+))?$")


def field_label_ja(path: str | None) -> str:
    """An error's field path as the form names it: ``measures[0].field`` → 「施策1の分野」,
    ``fiscal_year`` → 「対象年度」; never the raw key (an unknown one is 「入力内容」)."""
    if not path:
        return ""
    top = path.split("[", 1)[0]
    if top in _TOP_LABELS_JA:
        return _TOP_LABELS_JA[top]
    if path in _ROW_LABELS_JA:          # the section as a whole (e.g. too many rows)
        return _ROW_LABELS_JA[path][0]
    m = _PATH.match(path)
    if m is None:
        return "入力内容"
    row, sub = _ROW_LABELS_JA[m[1]]
    item = f"{row}{int(m[2]) + 1}"
    return f"{item}の{sub[m[3]]}" if m[3] in sub else item


def field_anchor(path: str | None) -> str:
    """The id of the form control an error's field path points at ("" when there is none)."""
    if not path:
        return ""
    if path.startswith("model_types"):
        return "f-model_types"
    if path in ("title", "fiscal_year", "vision"):
        return f"f-{path}"
    m = _PATH.match(path)
    if m is None:
        return ""
    if m[3] is None or m[3] not in _ROW_LABELS_JA[m[1]][1] or m[3] == "digital":
        return f"f-{m[1]}[{m[2]}].{'text' if m[1] == 'issues' else 'name' if m[1] == 'kpis' else 'title'}"
    return f"f-{path}"


@dataclass(frozen=True)
class EditContext:
    title: str
    org_code: str
    org_name: str
    v: dict[str, Any]
    version: int
    choices: Choices
    kinds: dict[MeasureKind, str]
    states: tuple[tuple[str, str], ...]
    supports: dict[str, str]
    error: DigidenError | None = None
    heading: str = ""
    added: str = ""          # the section a row was just added to (nothing saved)
    returned: ReviewView | None = None   # why the strategy came back (差し戻し), shown above the form
    synthetic: bool = False              # demo data: said on the form as on the strategy's page

    def rows(self, key: str) -> list[dict[str, Any]]:
        items = list(self.v.get(key) or [])
        if self.added:       # the rows as posted, blank ones included, and one more where asked
            return items + ([{}] if key == self.added else [])
        return items + [{} for _ in range(BLANK_ROWS)]

    def new_row(self, key: str, index: int) -> bool:
        """The row just added (its first field takes the focus)."""
        return key == self.added and index == len(self.v.get(key) or [])

    @property
    def error_label(self) -> str:
        return field_label_ja(self.error.field if self.error else None)

    @property
    def error_anchor(self) -> str:
        return field_anchor(self.error.field if self.error else None)


def _edit_ctx(uow: UnitOfWork, code: str, name: str, v: dict[str, Any], version: int,
              error: DigidenError | None = None, added: str = "", actor: Principal | None = None) -> EditContext:
    heading = f"{name} 地方版総合戦略の編集"
    # A screen reader announces the title first: an error says so before anything else.
    title = f"エラー: {heading}" if error else heading
    returned, synthetic = None, False
    if actor is not None:
        try:
            d = local_strategies.get(uow, actor, code, None)
        except NotFound:
            d = None
        if d is not None:
            synthetic = d.ref.synthetic
            if d.ref.status is Status.RETURNED:
                returned = next((e for e in reversed(d.reviews) if e.to_status is Status.RETURNED), None)
    return EditContext(title, code, name, v, version, local_strategies.choices(uow),
                       MEASURE_KIND_LABELS_JA, tuple((s.value, s.label_ja) for s in MeasureState),
                       SUPPORT_LABELS_JA, error, heading, added, returned, synthetic)


@router.get("/local-governments/{code}/strategy/edit", response_class=HTMLResponse)
def local_edit(code: str, request: Request, uow: Uow, actor: Actor, today: Today) -> HTMLResponse:
    try:
        v, version = local_strategies.editable_start(uow, actor, code, fiscal_year=fiscal_year(today))
    except Conflict as e:
        # Under review: not a bare refusal but the strategy as it stands, with what happened and
        # what to do next (the edit links only lead here from a list that cannot know the state).
        d = local_strategies.get(uow, actor, code, None)
        why = Conflict(e.message, field=e.field, message_ja=(
            f"{e.message_ja}。審査が終わる（受理される）か差し戻されると、また編集できます。"
            "急いで直す必要があるときは、審査している都道府県（または国）の担当者に差し戻しを依頼してください"))
        return render(request, "local/view.html", _view_ctx(d, error=why), status_code=e.status_code)
    o = localgov.get(uow, code)
    return render(request, "local/edit.html", _edit_ctx(uow, o.unit.code, o.unit.full_name, v, version, actor=actor))


_ROW = re.compile(r"^(issues|measures|kpis)-(\d{1,3})-([a-z_]+)$")


def form_to_doc(form: Any) -> dict[str, Any]:
    """The edit form's flat fields (``measures-2-title``) as the nested input the service takes."""
    doc: dict[str, Any] = {"title": form.get("title", ""), "fiscal_year": form.get("fiscal_year", ""),
                           "vision": form.get("vision", ""), "model_types": list(form.getlist("model_types"))}
    rows: dict[str, dict[int, dict[str, Any]]] = {"issues": {}, "measures": {}, "kpis": {}}
    for key, value in form.multi_items():
        m = _ROW.match(key)
        if m and isinstance(value, str):
            rows[m[1]].setdefault(int(m[2]), {})[m[3]] = value
    for section, items in rows.items():
        doc[section] = [items[i] for i in sorted(items)]
    return doc


@router.post("/local-governments/{code}/strategy", response_class=HTMLResponse)
async def local_save(code: str, request: Request, actor: Actor) -> Response:
    from fastapi.concurrency import run_in_threadpool
    form = await request.form()
    doc = form_to_doc(form)
    version = form_version(form.get("version"))
    uow = deps.uow(request)
    now = deps.now(request)
    add = str(form.get("add") or "")
    if add in ROW_SECTIONS and len(doc[add]) < local_strategies.MAX_ITEMS:
        # 「行を追加」: nothing is saved; the form comes back as posted with one more row in that
        # section (htmx swaps in just that section; without JavaScript the whole page reloads).
        # Only who may open the form may do this (the same check as opening it).
        today = deps.today(request)
        await run_in_threadpool(local_strategies.editable_start, uow, actor, code, fiscal_year=fiscal_year(today))
        o = await run_in_threadpool(localgov.get, uow, code)
        ctx = await run_in_threadpool(_edit_ctx, uow, o.unit.code, o.unit.full_name, doc, version or 0, None, add,
                                      actor)
        return render(request, "local/edit.html", ctx)
    try:
        d = await run_in_threadpool(local_strategies.save, uow, actor, code, doc, now=now, expected_version=version)
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        o = await run_in_threadpool(localgov.get, uow, code)
        ctx = await run_in_threadpool(_edit_ctx, uow, o.unit.code, o.unit.full_name, doc, version or 0, e, "", actor)
        return render(request, "local/edit.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/local-governments/{d.ref.org_code}/strategy?revision={d.ref.revision}&done=save",
                            status_code=303)


@dataclass(frozen=True)
class DiffContext:
    title: str
    org_code: str
    a: int
    b: int
    changes: tuple[Change, ...]
    sections: dict[str, str]


@router.get("/local-governments/{code}/strategy/diff", response_class=HTMLResponse)
def local_diff(code: str, request: Request, uow: Uow, actor: Actor, a: RevisionQuery, b: RevisionQuery) -> HTMLResponse:
    changes = local_strategies.diff_revisions(uow, actor, code, a, b)
    return render(request, "local/diff.html",
                  DiffContext(f"第{a}版 → 第{b}版の変更点", code, a, b, tuple(changes), SECTION_LABELS_JA))


# ---------------------------------------------------------------- national KPIs from local facts


@dataclass(frozen=True)
class FactsContext:
    title: str
    c: local_facts.ComputedKpi
    choropleth: MapContext


def facts_map(c: local_facts.ComputedKpi) -> MapContext:
    top = max((r.count for r in c.by_prefecture), default=0)
    return MapContext(
        japan_map(), {r.prefecture_code: float(r.count) for r in c.by_prefecture},
        {r.prefecture_code: color_for(r.count, top) for r in c.by_prefecture},
        {r.prefecture_code: f"{r.prefecture}: {r.count}団体（{r.of}団体中）" for r in c.by_prefecture},
        ((color_for(0, top), "0"), (color_for(top, top), f"{top}団体")),
        f"{c.kpi_name}（都道府県別、受理済みの地方版総合戦略から集計）",
        "出典: 各地方公共団体の地方版総合戦略（digiden で受理されたもの）")


@router.get("/kpis/{code}/local", response_class=HTMLResponse)
def kpi_local(code: str, request: Request, uow: Uow) -> HTMLResponse:
    c = local_facts.computed(uow, code)
    ctx = FactsContext(f"{c.kpi_name}（地方公共団体の記録から集計）", c, facts_map(c))
    return render(request, "local/facts.html", ctx)


@dataclass(frozen=True)
class CoverageContext:
    title: str
    rows: tuple[local_facts.CoverageRow, ...]


@router.get("/coverage", response_class=HTMLResponse)
def coverage_page(request: Request, uow: Uow) -> HTMLResponse:
    return render(request, "local/coverage.html",
                  CoverageContext("地域ビジョンのモデルの全国展開状況", tuple(local_facts.coverage(uow))))


# ---------------------------------------------------------------- accounts


@dataclass(frozen=True)
class UsersContext:
    title: str
    users: tuple[accounts.UserView, ...]
    tokens: tuple[accounts.TokenView, ...]


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, uow: Uow, actor: Actor) -> HTMLResponse:
    return render(request, "local/users.html", UsersContext(
        "アカウントとAPIトークン", tuple(accounts.list_users(uow, actor)), tuple(accounts.list_tokens(uow, actor))))

