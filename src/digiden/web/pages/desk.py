"""Pages of the desk's own work (issue 15): the desk dashboard (open consultations by age,
first-response and resolution times in working days per office, field and month), the offices with
their areas (unconfirmed ones marked, confirmed by the national desk), the routing rules with the
pairs a rule would leave without an office, the service levels, and the support plans (伴走型支援)
with their meetings and action items. Built from the same service calls as the JSON API
(web/api/consult.py), so a plan someone may not open is 404 here exactly as an unknown id, and the
dashboard is 401/403 to whom the API refuses it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from digiden.domain.access import require_signed_in
from digiden.domain.consult import FAMILIES
from digiden.domain.errors import DigidenError, InvalidInput
from digiden.services.consult import desk, offices, plans
from digiden.services.consult.desk import Dashboard
from digiden.services.consult.offices import Gap, LevelView, OfficeView, RuleCoverage
from digiden.services.consult.plans import PlanView
from digiden.web.auth import Actor
from digiden.web.deps import Now, Uow
from digiden.web.edge import IdPath, form_version
from digiden.web.pages import is_htmx, render

router = APIRouter(include_in_schema=False)

Short = Annotated[str, Form(max_length=200)]
Long = Annotated[str, Form(max_length=20_000)]


def _days(x: float | None) -> str:
    """A time in 開庁日 as the tables show it: 2, 2.5, or — for none yet."""
    if x is None:
        return "—"
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _refusable(e: DigidenError) -> bool:
    """Errors a form page shows beside the form (422, 409); 401/403/404 stay the app's pages, as
    the API answers them."""
    return e.status_code not in (401, 403, 404)


# ---------------------------------------------------------------- the dashboard


@dataclass(frozen=True)
class DashboardContext:
    title: str
    board: Dashboard
    open_total: int
    peak: int                    # the largest band (for the bars' widths)
    national: bool

    @staticmethod
    def days(x: float | None) -> str:
        return _days(x)

    def width(self, n: int) -> int:
        return 0 if not self.peak else max(1, round(100 * n / self.peak))


@router.get("/desk", response_class=HTMLResponse)
def dashboard_page(request: Request, uow: Uow, actor: Actor, now: Now) -> HTMLResponse:
    board = desk.dashboard(uow, actor, now=now)
    total = sum(board.open_by_age.values())
    return render(request, "desk/dashboard.html",
                  DashboardContext("相談窓口の集計", board, total, max(board.open_by_age.values(), default=0),
                                   offices.is_desk_admin(uow, actor)))


# ---------------------------------------------------------------- offices


@dataclass(frozen=True)
class OfficesContext:
    title: str
    offices: tuple[OfficeView, ...]
    admin: bool
    families: tuple[str, ...]
    prefectures: tuple[tuple[str, str], ...]
    values: dict[str, Any] = field(default_factory=dict)
    error: DigidenError | None = None
    done: str = ""

    @property
    def unconfirmed(self) -> int:
        return sum(o.unconfirmed for o in self.offices)


DONE_JA = {"confirmed": "管轄を確認済みにしました。", "added": "部局を追加しました。",
           "rule_added": "振り分けルールを追加しました。", "rule_deleted": "振り分けルールを削除しました。",
           "level": "目標を変更しました。", "meeting": "会議を記録しました。", "action": "取組を追加しました。",
           "action_state": "取組の状態を変更しました。", "goal": "目標の達成状況を変更しました。",
           "started": "支援計画を作成しました。担当する職員と目標を加えてください。",
           "staff": "担当する職員を割り当てました。", "new_goal": "目標を加えました。"}


def _offices_page(request: Request, uow: Uow, actor: Actor, *, values: dict[str, Any] | None = None,
                  error: DigidenError | None = None, done: str = "") -> HTMLResponse:
    rows = tuple(offices.list_offices(uow, actor))
    prefs = tuple(sorted({(a.prefecture_code, a.prefecture) for o in rows for a in o.areas}))
    title = "相談窓口の部局と管轄"
    ctx = OfficesContext(f"エラー: {title}" if error else title, rows, offices.is_desk_admin(uow, actor),
                         tuple(FAMILIES), prefs, values or {}, error, DONE_JA.get(done, ""))
    return render(request, "desk/offices.html", ctx, status_code=error.status_code if error else 200)


@router.get("/desk/offices", response_class=HTMLResponse)
def offices_page(request: Request, uow: Uow, actor: Actor,
                 done: Annotated[str, Query(max_length=20)] = "") -> HTMLResponse:
    return _offices_page(request, uow, actor, done=done)


@router.post("/desk/offices/confirm", response_class=HTMLResponse)
def confirm_form(request: Request, uow: Uow, actor: Actor, now: Now,
                 family: Annotated[str, Form(max_length=32)] = "",
                 prefecture: Annotated[str, Form(max_length=6)] = "") -> Response:
    try:
        offices.confirm_area(uow, actor, family, prefecture, now=now)
    except DigidenError as e:
        if not _refusable(e):
            raise
        return _offices_page(request, uow, actor, error=e)
    return RedirectResponse(f"/desk/offices?done=confirmed#area-{quote(family)}-{quote(prefecture)}",
                            status_code=303)


@router.post("/desk/offices", response_class=HTMLResponse)
def add_office_form(request: Request, uow: Uow, actor: Actor, now: Now, name: Short = "", ministry: Short = "",
                    family: Annotated[str, Form(max_length=32)] = "",
                    contact_email: Annotated[str, Form(max_length=254)] = "",
                    prefectures: Annotated[list[str] | None, Form(max_length=6)] = None) -> Response:
    codes = (prefectures or [])[:47]
    values: dict[str, Any] = {"name": name, "ministry": ministry, "family": family, "contact_email": contact_email,
                              "prefectures": codes}
    try:
        offices.add_office(uow, actor, name=name, ministry=ministry, family=family, prefectures=codes,
                           contact_email=contact_email, now=now)
    except DigidenError as e:
        if not _refusable(e):
            raise
        return _offices_page(request, uow, actor, values=values, error=e)
    return RedirectResponse("/desk/offices?done=added", status_code=303)


# ---------------------------------------------------------------- rules and service levels


@dataclass(frozen=True)
class RulesContext:
    title: str
    rules: tuple[RuleCoverage, ...]
    levels: tuple[LevelView, ...]
    ministries: tuple[str, ...]
    families: tuple[str, ...]
    values: dict[str, str]
    gaps: tuple[Gap, ...] = ()
    checked: bool = False        # the rule in the form was checked (gaps, possibly none, are known)
    error: DigidenError | None = None
    done: str = ""

    @property
    def uncovered(self) -> int:
        return sum(len(r.gaps) for r in self.rules)

    @property
    def error_gaps(self) -> list[tuple[str, str]]:
        """The pairs of a refused save, as the service listed them (all, not only the first ten)."""
        pairs = (self.error.details or {}).get("pairs") if self.error is not None else None
        return [(str(k), str(p)) for k, p in pairs] if isinstance(pairs, list) else []


RULE_FIELDS = ("ministry", "field", "measure", "family", "priority")


def _rule_gaps(uow: Uow, actor: Actor, v: dict[str, str]) -> tuple[Gap, ...]:
    return offices.rule_gaps(uow, actor, ministry=v.get("ministry", ""), field_code=v.get("field") or None,
                             measure_code=v.get("measure") or None, family=v.get("family", ""))


def _rules_page(request: Request, uow: Uow, actor: Actor, *, values: dict[str, str] | None = None,
                error: DigidenError | None = None, done: str = "") -> HTMLResponse:
    rows = tuple(offices.coverage(uow, actor))          # 401/403 for whom the API refuses the rules
    v = values or {}
    checked = bool(v.get("ministry") and (v.get("field") or v.get("measure")))
    gaps = _rule_gaps(uow, actor, v) if checked else ()
    ministries = tuple(sorted({o.ministry for o in offices.list_offices(uow, actor)}))
    title = "振り分けルールと目標"
    ctx = RulesContext(f"エラー: {title}" if error else title, rows, tuple(offices.levels(uow)), ministries,
                       tuple(FAMILIES), {k: v.get(k, "") for k in RULE_FIELDS}, gaps, checked, error,
                       DONE_JA.get(done, ""))
    return render(request, "desk/rules.html", ctx, status_code=error.status_code if error else 200)


@router.get("/desk/rules", response_class=HTMLResponse)
def rules_page(request: Request, uow: Uow, actor: Actor,
               done: Annotated[str, Query(max_length=20)] = "") -> HTMLResponse:
    return _rules_page(request, uow, actor, done=done)


Param = Annotated[str, Query(max_length=100)]


@router.get("/desk/rules/check", response_class=HTMLResponse)
def rule_check(request: Request, uow: Uow, actor: Actor, ministry: Param = "", field: Param = "",
               measure: Param = "", family: Param = "") -> HTMLResponse:
    """The pairs the rule being typed would leave without an office (htmx swaps in the fragment;
    without JavaScript the whole page comes back with the same list)."""
    v = {"ministry": ministry, "field": field, "measure": measure, "family": family}
    if not is_htmx(request):
        return _rules_page(request, uow, actor, values=v)
    gaps = _rule_gaps(uow, actor, v)
    ctx = RulesContext("振り分けルールの確認", (), (), (), (), {k: v.get(k, "") for k in RULE_FIELDS}, gaps,
                       bool(ministry and (field or measure)))
    return render(request, "desk/_gaps.html", ctx)


@router.post("/desk/rules", response_class=HTMLResponse)
def add_rule_form(request: Request, uow: Uow, actor: Actor, now: Now, ministry: Short = "", field: Short = "",
                  measure: Short = "", family: Short = "",
                  priority: Annotated[str, Form(max_length=10)] = "100") -> Response:
    v = {"ministry": ministry, "field": field, "measure": measure, "family": family, "priority": priority}
    try:
        text = priority.strip() or "100"
        if not (text.isascii() and text.isdigit()):
            raise InvalidInput("priority must be a whole number", field="priority",
                               message_ja="優先度は0〜10000の整数で指定してください")
        offices.add_rule(uow, actor, ministry=ministry, field_code=field or None, measure_code=measure or None,
                         family=family, priority=int(text), now=now)
    except DigidenError as e:
        if not _refusable(e):
            raise
        return _rules_page(request, uow, actor, values=v, error=e)
    return RedirectResponse("/desk/rules?done=rule_added", status_code=303)


@router.post("/desk/rules/{rule_id}/delete", response_class=HTMLResponse)
def delete_rule_form(rule_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now) -> Response:
    try:
        offices.delete_rule(uow, actor, rule_id, now=now)
    except DigidenError as e:
        if e.status_code in (401, 403):
            raise
        return _rules_page(request, uow, actor, error=e)
    return RedirectResponse("/desk/rules?done=rule_deleted", status_code=303)


@router.post("/desk/service-levels/{kind}", response_class=HTMLResponse)
def level_form(kind: Annotated[str, Path(max_length=20)], request: Request, uow: Uow, actor: Actor, now: Now,
               first_response_days: Annotated[str, Form(max_length=6)] = "",
               resolution_days: Annotated[str, Form(max_length=6)] = "") -> Response:
    try:
        nums = []
        for text, label in ((first_response_days, "初回回答"), (resolution_days, "解決")):
            t = text.strip()
            if not (t.isascii() and t.isdigit()):
                raise InvalidInput(f"{label}: not a whole number", field="first_response_days",
                                   message_ja=f"{label}の目標は1〜250の整数（開庁日）で指定してください")
            nums.append(int(t))
        offices.set_service_level(uow, actor, kind, first_response_days=nums[0], resolution_days=nums[1], now=now)
    except DigidenError as e:
        if not _refusable(e):
            raise
        return _rules_page(request, uow, actor, error=e)
    return RedirectResponse("/desk/rules?done=level#levels", status_code=303)


# ---------------------------------------------------------------- support plans


@dataclass(frozen=True)
class PlansContext:
    title: str
    plans: tuple[PlanView, ...]
    signed_in: bool
    may_start: bool = False             # the national desk opens plans
    values: dict[str, str] = field(default_factory=dict)
    error: DigidenError | None = None


def _plans_page(request: Request, uow: Uow, actor: Actor, now: Any, *, values: dict[str, str] | None = None,
                error: DigidenError | None = None) -> HTMLResponse:
    # as the API: the public is asked to sign in (the list is never public)
    require_signed_in(actor, "支援計画の閲覧にはサインインが必要です")
    title = "伴走型支援の計画"
    return render(request, "desk/plans.html",
                  PlansContext(f"エラー: {title}" if error else title, tuple(plans.list_plans(uow, actor, now=now)),
                               actor.signed_in, offices.is_desk_admin(uow, actor), values or {}, error),
                  status_code=error.status_code if error else 200)


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request, uow: Uow, actor: Actor, now: Now) -> HTMLResponse:
    return _plans_page(request, uow, actor, now)


@router.post("/plans", response_class=HTMLResponse)
def start_plan_form(request: Request, uow: Uow, actor: Actor, now: Now, org_unit: Short = "", title: Short = "",
                    origin: Annotated[str, Form(max_length=16)] = "request", starts_on: Short = "",
                    ends_on: Short = "", case: Annotated[str, Form(max_length=20)] = "") -> Response:
    """The national desk opens a plan for a local government that asked for one or that the nation
    selected; assigning staff and goals follow on the plan's page."""
    v = {"org_unit": org_unit, "title": title, "origin": origin, "starts_on": starts_on, "ends_on": ends_on,
         "case": case}
    try:
        case_id = int(case.strip().lstrip("#")) if case.strip().lstrip("#").isdigit() else None
        if case.strip() and case_id is None:
            raise InvalidInput("case: a consultation number", field="case",
                               message_ja="相談番号は数字で指定してください（例: 12）")
        plan_id = plans.start(uow, actor, org_code=org_unit.strip(), title=title, origin=origin,
                              starts_on=_date(starts_on, field_name="starts_on", label="開始日"),
                              ends_on=_date(ends_on, field_name="ends_on", label="終了日") if ends_on.strip() else None,
                              case_id=case_id, now=now)
    except DigidenError as e:
        if not _refusable(e):
            raise
        return _plans_page(request, uow, actor, now, values=v, error=e)
    return RedirectResponse(f"/plans/{plan_id}?done=started", status_code=303)


@dataclass(frozen=True)
class PlanContext:
    title: str
    plan: PlanView
    values: dict[str, str] = field(default_factory=dict)
    error: DigidenError | None = None
    form: str = ""               # which form the error belongs to (meeting | action | state | goal | staff | new_goal)
    done: str = ""
    desk: bool = False           # the national desk: assigns staff
    states: tuple[tuple[str, str], ...] = (("open", "未完了"), ("done", "完了"), ("dropped", "取りやめ"))

    def meeting_title(self, meeting_id: int | None) -> str:
        return next((m.title for m in self.plan.meetings if m.id == meeting_id), "")


def _plan_page(request: Request, uow: Uow, actor: Actor, now: Any, plan_id: int, *,
               values: dict[str, str] | None = None, error: DigidenError | None = None, form: str = "",
               done: str = "") -> HTMLResponse:
    view = plans.get(uow, actor, plan_id, now=now)
    title = f"支援計画: {view.title}"
    return render(request, "desk/plan.html",
                  PlanContext(f"エラー: {title}" if error else title, view, values or {}, error, form,
                              DONE_JA.get(done, ""), desk=offices.is_desk_admin(uow, actor)),
                  status_code=error.status_code if error else 200)


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(plan_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
              done: Annotated[str, Query(max_length=20)] = "") -> HTMLResponse:
    return _plan_page(request, uow, actor, now, plan_id, done=done)


def _date(text: str, *, field_name: str, label: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{field_name} is a date (YYYY-MM-DD)", field=field_name,
                           message_ja=f"{label}は YYYY-MM-DD の形で指定してください（例: 2026-12-01）") from None


def _version(text: str) -> str | None:
    v = form_version(text)
    return None if v is None else str(v)


def _plan_write(request: Request, uow: Uow, actor: Actor, now: Any, plan_id: int, write: Callable[[], object], *,
                form: str, done: str, anchor: str, values: dict[str, str] | None = None,
                show_404: bool = False) -> Response:
    """A plan form's write: refused input shows the plan again with the message beside that form
    and what was typed, nothing written (``show_404``: a 404 of the write too, as an unknown
    account); otherwise back to the plan at the part that changed."""
    try:
        write()
    except DigidenError as e:
        if not (_refusable(e) or (show_404 and e.status_code == 404)):
            raise
        return _plan_page(request, uow, actor, now, plan_id, values=values, error=e, form=form)
    return RedirectResponse(f"/plans/{plan_id}?done={done}#{anchor}", status_code=303)


def _of_plan(item_id: int, ids: set[int], what_en: str, what_ja: str, *, field: str) -> None:
    if item_id not in ids:
        raise InvalidInput(f"the {what_en} is not of this plan", field=field,
                           message_ja=f"{what_ja} {item_id} はこの支援計画の{what_ja}ではありません")


@router.post("/plans/{plan_id}/meetings", response_class=HTMLResponse)
def meeting_form(plan_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now, held_on: Short = "",
                 title: Short = "", minutes: Long = "", version: Annotated[str, Form(max_length=24)] = "") -> Response:
    return _plan_write(
        request, uow, actor, now, plan_id,
        lambda: plans.add_meeting(uow, actor, plan_id, held_on=_date(held_on, field_name="held_on", label="開催日"),
                                  title=title, minutes=minutes, now=now, expected_version=_version(version)),
        values={"held_on": held_on, "meeting_title": title, "minutes": minutes}, form="meeting", done="meeting",
        anchor="meetings")


@router.post("/plans/{plan_id}/actions", response_class=HTMLResponse)
def action_form(plan_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now, title: Short = "",
                owner: Short = "", due_on: Short = "", meeting: Annotated[str, Form(max_length=20)] = "",
                version: Annotated[str, Form(max_length=24)] = "") -> Response:
    return _plan_write(
        request, uow, actor, now, plan_id,
        lambda: plans.add_action(uow, actor, plan_id, title=title, owner=owner,
                                 due_on=_date(due_on, field_name="due_on", label="期限"),
                                 meeting_id=int(meeting) if meeting.strip().isdigit() else None, now=now,
                                 expected_version=_version(version)),
        values={"action_title": title, "owner": owner, "due_on": due_on, "meeting": meeting}, form="action",
        done="action", anchor="actions")


@router.post("/plans/{plan_id}/actions/{action_id}/state", response_class=HTMLResponse)
def action_state_form(plan_id: IdPath, action_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
                      state: Annotated[str, Form(max_length=20)] = "",
                      version: Annotated[str, Form(max_length=24)] = "") -> Response:
    view = plans.get(uow, actor, plan_id, now=now)          # 404 first for whom may not open the plan

    def write() -> None:
        _of_plan(action_id, {a.id for a in view.actions}, "action item", "取組", field="action")
        plans.set_action(uow, actor, action_id, state=state, now=now, expected_version=_version(version))
    return _plan_write(request, uow, actor, now, plan_id, write, form="state", done="action_state",
                       anchor="actions")


@router.post("/plans/{plan_id}/staff", response_class=HTMLResponse)
def staff_form(plan_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now, username: Short = "",
               side: Annotated[str, Form(max_length=16)] = "national", office: Short = "",
               role_note: Short = "") -> Response:
    plans.get(uow, actor, plan_id, now=now)          # 404 first for whom may not open the plan
    return _plan_write(
        request, uow, actor, now, plan_id,
        lambda: plans.assign_staff(uow, actor, plan_id, username.strip(), side=side, office=office.strip() or None,
                                   role_note=role_note, now=now),
        values={"username": username, "side": side, "office": office, "role_note": role_note}, form="staff",
        done="staff", anchor="staff", show_404=True)          # an unknown account is said beside the form


@router.post("/plans/{plan_id}/goals", response_class=HTMLResponse)
def add_goal_form(plan_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now, title: Short = "",
                  measure: Short = "", kpi: Short = "", local_measure: Short = "", local_kpi: Short = "",
                  version: Annotated[str, Form(max_length=24)] = "") -> Response:
    return _plan_write(
        request, uow, actor, now, plan_id,
        lambda: plans.add_goal(uow, actor, plan_id, title=title, measure=measure.strip() or None,
                               kpi=kpi.strip() or None, local_measure=local_measure, local_kpi=local_kpi, now=now,
                               expected_version=_version(version)),
        values={"goal_title": title, "measure": measure, "kpi": kpi, "local_measure": local_measure,
                "local_kpi": local_kpi}, form="new_goal", done="new_goal", anchor="goals")


@router.post("/plans/{plan_id}/goals/{goal_id}", response_class=HTMLResponse)
def goal_form(plan_id: IdPath, goal_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
              achieved: Annotated[str, Form(max_length=5)] = "",
              version: Annotated[str, Form(max_length=24)] = "") -> Response:
    view = plans.get(uow, actor, plan_id, now=now)

    def write() -> None:
        _of_plan(goal_id, {g.id for g in view.goals}, "goal", "目標", field="goal")
        plans.set_goal(uow, actor, goal_id, achieved=achieved in ("1", "true", "on"), now=now,
                       expected_version=_version(version))
    return _plan_write(request, uow, actor, now, plan_id, write, form="goal", done="goal", anchor="goals")
