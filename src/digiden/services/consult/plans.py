"""伴走型支援: support plans for one local government, opened by the national desk on the local
government's request or on the nation's choice. Assigned national and regional staff (the 地方創生
コンシェルジュ idea), goals linked to national measures and KPIs and to the local strategy's own,
meetings with minutes, action items with owners and due dates, progress and a timeline.

Visible to the local government, its prefecture, the assigned staff and the national desk; written
by the staff, the local government and the desk (``domain.consult.may_see_plan`` /
``may_edit_plan``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import Principal, require
from digiden.domain.calendar import japan_date
from digiden.domain.consult import (
    ActionItem,
    ActionState,
    PlanReach,
    PlanState,
    Progress,
    StaffSide,
    check_dates,
    is_national_desk,
    may_edit_plan,
    may_see_plan,
    may_start_plan,
    plan_progress,
    text_field,
    timeline,
)
from digiden.domain.errors import Conflict, InvalidInput, NotFound
from digiden.services import audit
from digiden.services.common import org_ref
from digiden.services.consult import notify, offices
from digiden.services.registry.localgov import resolve_org
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import (
    ConsultCase,
    ConsultOffice,
    ConsultPlan,
    ConsultPlanAction,
    ConsultPlanGoal,
    ConsultPlanMeeting,
    ConsultPlanStaff,
)
from digiden.store.models import Kpi, Measure, OrgUnit, UserAccount

TITLE_MAX, MINUTES_MAX, OWNER_MAX = 200, 20_000, 100


@dataclass(frozen=True)
class StaffView:
    username: str
    display_name: str
    side: str
    office: str | None
    role_note: str


@dataclass(frozen=True)
class GoalView:
    id: int
    title: str
    measure: str | None
    kpi: str | None
    local_measure: str
    local_kpi: str
    achieved: bool


@dataclass(frozen=True)
class MeetingView:
    id: int
    held_on: date
    title: str
    minutes: str
    recorded_by: str


@dataclass(frozen=True)
class ActionView:
    id: int
    title: str
    owner: str
    due_on: date
    state: str
    state_ja: str
    overdue: bool
    meeting_id: int | None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str        # start | meeting | action | done
    text: str


@dataclass(frozen=True)
class PlanView:
    id: int
    org_unit: str
    org_unit_name: str
    title: str
    origin: str
    state: str
    state_ja: str
    starts_on: date
    ends_on: date | None
    case_id: int | None
    staff: tuple[StaffView, ...]
    goals: tuple[GoalView, ...]
    meetings: tuple[MeetingView, ...]
    actions: tuple[ActionView, ...]
    progress: Progress
    timeline: tuple[TimelineEntry, ...]
    may_edit: bool
    synthetic: bool
    version: str = ""     # what a form sends back so a stale save is refused (plan_version)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def plan_version(plan: ConsultPlan) -> str:
    """The plan's version as last changed: its ``updated_at`` in microseconds (every change of the
    plan, its goals, meetings, action items and staff sets it, see ``_audit``). A form carries it,
    and a save on a plan changed since is refused (409) instead of silently writing over the other
    person's change; without one nothing is checked (the API's existing clients)."""
    at = plan.updated_at if plan.updated_at.tzinfo is not None else plan.updated_at.replace(tzinfo=UTC)
    return str((at - _EPOCH) // timedelta(microseconds=1))


def _reach(s: Session, plan: ConsultPlan) -> PlanReach:
    org = s.get(OrgUnit, plan.org_unit_id)
    assert org is not None
    staff = frozenset(s.scalars(select(ConsultPlanStaff.user_id).where(ConsultPlanStaff.plan_id == plan.id)))
    return PlanReach(org_ref(org), staff)


def _plan(s: Session, p: Principal, plan_id: int, *, edit: bool = False,
          expected_version: str | None = None) -> ConsultPlan:
    # signed in first: the public is told to sign in whether or not the plan exists (answering 404
    # for an unknown id and 401 for a real one would tell which ids exist)
    access.require_signed_in(p, "支援計画の閲覧にはサインインが必要です")
    # a change locks the plan first, so the version compared is the one the change replaces
    plan = s.get(ConsultPlan, plan_id, with_for_update=True) if edit else s.get(ConsultPlan, plan_id)
    hidden = NotFound(f"no support plan {plan_id}", field="plan", message_ja=f"支援計画 {plan_id} は見つかりません")
    if plan is None:
        raise hidden
    reach, desk = _reach(s, plan), offices.desk_of(s, p)
    if not may_see_plan(p, desk, reach):
        raise hidden
    if edit:
        require(p, may_edit_plan(p, desk, reach), message="you may not change this plan",
                message_ja="この支援計画を変更する権限がありません（都道府県は閲覧のみです）",
                sign_in_ja="サインインしてください")
    if expected_version is not None and expected_version != plan_version(plan):
        raise Conflict("the plan was changed by someone else since you read it", field="version",
                       message_ja=f"支援計画 {plan.id} は読み込んだ後に他の人が変更しました。"
                                  "読み込み直してから操作してください")
    return plan


def _item_plan(s: Session, p: Principal, plan_id: int | None, missing: NotFound,
               expected_version: str | None) -> ConsultPlan:
    """The plan of a goal or action item, for a change: an item of a plan the principal may not
    see is answered exactly as an unknown item (not by the plan's number, which would say it
    exists)."""
    access.require_signed_in(p, "支援計画の閲覧にはサインインが必要です")
    if plan_id is None:
        raise missing
    try:
        return _plan(s, p, plan_id, edit=True, expected_version=expected_version)
    except NotFound:
        raise missing from None


def _audit(s: Session, p: Principal, plan: ConsultPlan, action: str, at: datetime, summary: str,
           after: dict[str, object] | None = None) -> None:
    plan.updated_at = at
    audit.record(s, actor=p.name, action=f"consult.plan_{action}", entity="consult_plan", entity_key=str(plan.id),
                 at=at, org_unit_id=plan.org_unit_id, after=after, summary=summary)


def start(uow: UnitOfWork, p: Principal, *, org_code: str, title: str, origin: str, starts_on: date,
          ends_on: date | None = None, case_id: int | None = None, now: datetime, synthetic: bool = False) -> int:
    """Open a plan for a local government: ``origin`` request (it asked, e.g. by a consultation of
    kind 伴走型支援) or selected (the nation chose it)."""
    title = text_field(title, max_len=TITLE_MAX, field="title", label_ja="計画名", one_line=True)
    if origin not in ("request", "selected"):
        raise InvalidInput(f"unknown origin {origin}", field="origin",
                           message_ja="支援のきっかけは request（団体の申し出）か selected（国の選定）です")
    check_dates(starts_on, ends_on, field="ends_on", label_ja="終了日")
    with uow:
        s = uow.session
        require(p, may_start_plan(p, offices.desk_of(s, p)), message="the national desk opens support plans",
                message_ja="支援計画は国の相談窓口が作成します", sign_in_ja="サインインしてください")
        org = resolve_org(s, org_code)
        if org.code == "JP":
            raise InvalidInput("a plan is for a local government", field="org_unit",
                               message_ja="支援計画は地方公共団体について作成します")
        if case_id is not None:
            c = s.get(ConsultCase, case_id)
            if c is None or c.org_unit_id != org.id:
                raise InvalidInput("the consultation is not this local government's", field="case",
                                   message_ja=f"相談 {case_id} はこの団体の相談ではありません")
        plan = ConsultPlan(org_unit_id=org.id, title=title, origin=origin, case_id=case_id,
                           state=PlanState.ACTIVE.value, starts_on=starts_on, ends_on=ends_on, created_by=p.name,
                           created_at=now, updated_at=now, synthetic=synthetic)
        s.add(plan)
        s.flush()
        notify.record(s, kind="plan_started", subject=f"伴走型支援の計画「{title}」が始まりました",
                      message=f"{org.full_name}の伴走型支援の計画「{title}」が{starts_on.isoformat()}から始まります。",
                      at=now, plan_id=plan.id, org_unit_id=org.id)
        _audit(s, p, plan, "start", now, f"{org.full_name}の支援計画「{title}」を作成しました",
               {"origin": origin, "starts_on": starts_on.isoformat()})
        uow.commit()
        return plan.id


def assign_staff(uow: UnitOfWork, p: Principal, plan_id: int, username: str, *, side: str,
                 office: str | None = None, role_note: str = "", now: datetime) -> None:
    """Assign an official (national or regional) to the plan: the desk does this."""
    if side not in StaffSide._value2member_map_:
        raise InvalidInput(f"unknown side {side}", field="side",
                           message_ja="担当の区分は national（国）か regional（地方支分部局）です")
    note = text_field(role_note, max_len=TITLE_MAX, field="role_note", label_ja="役割", required=False)
    with uow:
        s = uow.session
        plan = _plan(s, p, plan_id)
        require(p, is_national_desk(p, offices.desk_of(s, p)) and p.can_write_at_all,
                message="the national desk assigns staff", message_ja="担当者の割り当ては国の相談窓口が行います",
                sign_in_ja="サインインしてください")
        u = s.scalars(select(UserAccount).where(UserAccount.username == username)).one_or_none()
        if u is None:
            raise NotFound(f"no user {username}", field="username", message_ja=f"ユーザー「{username}」は存在しません")
        office_id = offices.office_by_code(s, office).id if office else None
        row = s.get(ConsultPlanStaff, (plan.id, u.id))
        if row is None:
            s.add(ConsultPlanStaff(plan_id=plan.id, user_id=u.id, side=side, office_id=office_id, role_note=note))
        else:
            row.side, row.office_id, row.role_note = side, office_id, note
        _audit(s, p, plan, "staff", now, f"{u.display_name} を支援計画 {plan.id} の担当にしました",
               {"username": username, "side": side})
        uow.commit()


def add_goal(uow: UnitOfWork, p: Principal, plan_id: int, *, title: str, measure: str | None = None,
             kpi: str | None = None, local_measure: str = "", local_kpi: str = "", now: datetime,
             expected_version: str | None = None) -> int:
    title = text_field(title, max_len=TITLE_MAX, field="title", label_ja="目標", one_line=True)
    local_measure = text_field(local_measure, max_len=TITLE_MAX, field="local_measure", label_ja="団体の施策",
                               required=False)
    local_kpi = text_field(local_kpi, max_len=TITLE_MAX, field="local_kpi", label_ja="団体のKPI", required=False)
    with uow:
        s = uow.session
        plan = _plan(s, p, plan_id, edit=True, expected_version=expected_version)
        measure_id = kpi_id = None
        if measure:
            measure_id = s.scalars(select(Measure.id).where(Measure.code == measure)).first()
            if measure_id is None:
                raise InvalidInput(f"unknown measure {measure}", field="measure",
                                   message_ja=f"施策「{measure}」は登録されていません")
        if kpi:
            kpi_id = s.scalars(select(Kpi.id).where(Kpi.code == kpi)).first()
            if kpi_id is None:
                raise InvalidInput(f"unknown KPI {kpi}", field="kpi", message_ja=f"KPI「{kpi}」は登録されていません")
        n = len(list(s.scalars(select(ConsultPlanGoal.id).where(ConsultPlanGoal.plan_id == plan.id))))
        g = ConsultPlanGoal(plan_id=plan.id, title=title, measure_id=measure_id, kpi_id=kpi_id,
                            local_measure=local_measure, local_kpi=local_kpi, achieved=False, position=n)
        s.add(g)
        s.flush()
        _audit(s, p, plan, "goal", now, f"支援計画 {plan.id} に目標「{title}」を加えました",
               {"measure": measure, "kpi": kpi})
        uow.commit()
        return g.id


def set_goal(uow: UnitOfWork, p: Principal, goal_id: int, *, achieved: bool, now: datetime,
             expected_version: str | None = None) -> None:
    with uow:
        s = uow.session
        g = s.get(ConsultPlanGoal, goal_id)
        missing = NotFound(f"no goal {goal_id}", field="goal", message_ja=f"目標 {goal_id} は見つかりません")
        plan = _item_plan(s, p, None if g is None else g.plan_id, missing, expected_version)
        assert g is not None
        g.achieved = achieved
        _audit(s, p, plan, "goal_set", now, f"目標「{g.title}」を{'達成' if achieved else '未達成'}にしました",
               {"goal": g.id, "achieved": achieved})
        uow.commit()


def add_meeting(uow: UnitOfWork, p: Principal, plan_id: int, *, held_on: date, title: str, minutes: str = "",
                now: datetime, expected_version: str | None = None) -> int:
    title = text_field(title, max_len=TITLE_MAX, field="title", label_ja="会議名", one_line=True)
    minutes = text_field(minutes, max_len=MINUTES_MAX, field="minutes", label_ja="議事録", required=False)
    with uow:
        s = uow.session
        plan = _plan(s, p, plan_id, edit=True, expected_version=expected_version)
        check_dates(plan.starts_on, held_on, field="held_on", label_ja="開催日")
        m = ConsultPlanMeeting(plan_id=plan.id, held_on=held_on, title=title, minutes=minutes, recorded_by=p.name,
                               recorded_at=now)
        s.add(m)
        s.flush()
        _audit(s, p, plan, "meeting", now,
               f"支援計画 {plan.id} の会議「{title}」（{held_on.isoformat()}）を記録しました")
        uow.commit()
        return m.id


def add_action(uow: UnitOfWork, p: Principal, plan_id: int, *, title: str, owner: str, due_on: date,
               meeting_id: int | None = None, now: datetime, expected_version: str | None = None) -> int:
    """An action item: who does it and by when (a due date before the plan's start is refused)."""
    title = text_field(title, max_len=TITLE_MAX, field="title", label_ja="取組", one_line=True)
    owner = text_field(owner, max_len=OWNER_MAX, field="owner", label_ja="担当")
    with uow:
        s = uow.session
        plan = _plan(s, p, plan_id, edit=True, expected_version=expected_version)
        check_dates(plan.starts_on, due_on, field="due_on", label_ja="期限")
        if meeting_id is not None:
            m = s.get(ConsultPlanMeeting, meeting_id)
            if m is None or m.plan_id != plan.id:
                raise InvalidInput("the meeting is not of this plan", field="meeting",
                                   message_ja=f"会議 {meeting_id} はこの支援計画の会議ではありません")
        a = ConsultPlanAction(plan_id=plan.id, meeting_id=meeting_id, title=title, owner=owner, due_on=due_on,
                              state=ActionState.OPEN.value, created_by=p.name, created_at=now)
        s.add(a)
        s.flush()
        _audit(s, p, plan, "action", now,
               f"支援計画 {plan.id} に取組「{title}」（{owner}、期限 {due_on.isoformat()}）を加えました")
        uow.commit()
        return a.id


def set_action(uow: UnitOfWork, p: Principal, action_id: int, *, state: str, now: datetime,
               expected_version: str | None = None) -> None:
    if state not in ActionState._value2member_map_:
        raise InvalidInput(f"unknown state {state}", field="state",
                           message_ja="取組の状態は open（未完了）、done（完了）、dropped（取りやめ）のいずれかです")
    with uow:
        s = uow.session
        a = s.get(ConsultPlanAction, action_id)
        missing = NotFound(f"no action item {action_id}", field="action",
                           message_ja=f"取組 {action_id} は見つかりません")
        plan = _item_plan(s, p, None if a is None else a.plan_id, missing, expected_version)
        assert a is not None
        before = a.state
        a.state = state
        a.done_at = now if state == ActionState.DONE.value else None
        _audit(s, p, plan, "action_set", now, f"取組「{a.title}」を「{ActionState(state).label_ja}」にしました",
               {"action": a.id, "before": before, "state": state})
        uow.commit()


def get(uow: UnitOfWork, p: Principal, plan_id: int, *, now: datetime) -> PlanView:
    with uow:
        s = uow.session
        plan = _plan(s, p, plan_id)
        return _view(s, p, plan, now)


def _view(s: Session, p: Principal, plan: ConsultPlan, now: datetime) -> PlanView:
    today = japan_date(now)
    org = s.get(OrgUnit, plan.org_unit_id)
    assert org is not None
    names = dict(s.execute(select(ConsultOffice.id, ConsultOffice.name)).all())
    staff = tuple(StaffView(u.username, u.display_name, st.side, names.get(st.office_id) if st.office_id else None,
                            st.role_note)
                  for st, u in s.execute(select(ConsultPlanStaff, UserAccount).join(
                      UserAccount, UserAccount.id == ConsultPlanStaff.user_id)
                      .where(ConsultPlanStaff.plan_id == plan.id).order_by(UserAccount.username)).all())
    measures = dict(s.execute(select(Measure.id, Measure.code)).all())
    kpis = dict(s.execute(select(Kpi.id, Kpi.code)).all())
    goals = tuple(GoalView(g.id, g.title, measures.get(g.measure_id) if g.measure_id else None,
                           kpis.get(g.kpi_id) if g.kpi_id else None, g.local_measure, g.local_kpi, g.achieved)
                  for g in s.scalars(select(ConsultPlanGoal).where(ConsultPlanGoal.plan_id == plan.id)
                                     .order_by(ConsultPlanGoal.position, ConsultPlanGoal.id)))
    meetings = tuple(MeetingView(m.id, m.held_on, m.title, m.minutes, m.recorded_by)
                     for m in s.scalars(select(ConsultPlanMeeting).where(ConsultPlanMeeting.plan_id == plan.id)
                                        .order_by(ConsultPlanMeeting.held_on, ConsultPlanMeeting.id)))
    rows = list(s.scalars(select(ConsultPlanAction).where(ConsultPlanAction.plan_id == plan.id)
                          .order_by(ConsultPlanAction.due_on, ConsultPlanAction.id)))
    actions = tuple(ActionView(a.id, a.title, a.owner, a.due_on, a.state, ActionState(a.state).label_ja,
                               a.state == ActionState.OPEN.value and a.due_on < today, a.meeting_id) for a in rows)
    progress = plan_progress([g.achieved for g in goals], [ActionItem(a.due_on, ActionState(a.state)) for a in rows],
                             today)
    events = [(plan.created_at, "start", f"計画開始（{plan.starts_on.isoformat()}から）")]
    events += [(m.recorded_at, "meeting", f"{m.held_on.isoformat()} {m.title}")
               for m in s.scalars(select(ConsultPlanMeeting).where(ConsultPlanMeeting.plan_id == plan.id))]
    events += [(a.created_at, "action", f"取組「{a.title}」（{a.owner}、期限 {a.due_on.isoformat()}）") for a in rows]
    events += [(a.done_at, "done", f"取組「{a.title}」完了") for a in rows if a.done_at is not None]
    desk = offices.desk_of(s, p)
    st = PlanState(plan.state)
    return PlanView(plan.id, org.code, org.full_name, plan.title, plan.origin, st.value, st.label_ja, plan.starts_on,
                    plan.ends_on, plan.case_id, staff, goals, meetings, actions, progress,
                    tuple(TimelineEntry(*e) for e in timeline(events)),
                    may_edit_plan(p, desk, _reach(s, plan)), plan.synthetic, plan_version(plan))


def list_plans(uow: UnitOfWork, p: Principal, *, now: datetime) -> list[PlanView]:
    """The plans the principal may see, newest first. The anonymous public is asked to sign in
    (401), as for the other staff-only lists and for a single plan, known or not."""
    access.require_signed_in(p, "支援計画の一覧を見るにはサインインしてください")
    with uow:
        s = uow.session
        q = select(ConsultPlan).order_by(ConsultPlan.created_at.desc(), ConsultPlan.id.desc())
        if not is_national_desk(p, offices.desk_of(s, p)):
            conds: list[Any] = [ConsultPlan.id.in_(select(ConsultPlanStaff.plan_id).where(
                ConsultPlanStaff.user_id == (p.user_id or -1)))]
            if p.org_unit_id is not None:
                conds.append(ConsultPlan.org_unit_id == p.org_unit_id)
            if p.role is access.Role.PREFECTURE and p.prefecture_code:
                conds.append(ConsultPlan.org_unit_id.in_(select(OrgUnit.id).where(
                    OrgUnit.prefecture_code == p.prefecture_code, OrgUnit.code != "JP")))
            q = q.where(or_(*conds))
        return [_view(s, p, plan, now) for plan in s.scalars(q)]
