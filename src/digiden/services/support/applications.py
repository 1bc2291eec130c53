"""Applications to a call (申請): drafts by the lead local government's staff, joint proposals
whose members confirm their participation themselves, submission before the deadline,
withdrawal. Nobody outside the applicants, their prefecture, the call's reviewers (without a
conflict) and the nation sees an application until it is a published selection; anyone else is
told it does not exist."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from digiden.domain import access
from digiden.domain.access import OrgRef, Principal
from digiden.domain.errors import Conflict, InvalidInput, NotFound
from digiden.domain.support import (
    AppAction,
    AppStatus,
    Member,
    Submission,
    app_transition,
    check_amount,
    check_parties,
    check_submission,
    conflict_reason,
    jst_text,
)
from digiden.domain.text import bounded
from digiden.services import audit
from digiden.services.common import org_ref
from digiden.services.registry.localgov import resolve_org
from digiden.services.support.programmes import aware, call_view, load_call, parse_amount
from digiden.services.uow import UnitOfWork
from digiden.store.models import (
    CollaborationGroup,
    Kpi,
    OrgUnit,
    SupportApplication,
    SupportApplicationMember,
    SupportCall,
    SupportConflict,
    SupportReviewer,
    UserAccount,
)

TITLE_MAX = 200
TEXT_MAX = 8000
MAX_ITEMS = 50


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class MemberView:
    code: str
    name: str
    confirmed: bool
    confirmed_at: datetime | None


@dataclass(frozen=True)
class ApplicationView:
    id: int
    call_id: int
    title: str
    lead_code: str
    lead_name: str
    members: tuple[MemberView, ...]
    joint: bool
    summary: str
    fields: tuple[str, ...]
    issues: str
    measures: tuple[dict[str, Any], ...]
    kpis: tuple[dict[str, Any], ...]
    requested_amount: int | None
    status: str
    status_ja: str
    submitted_at: datetime | None
    version: int
    synthetic: bool


def application_view(s: Session, a: SupportApplication) -> ApplicationView:
    lead = s.get(OrgUnit, a.lead_org_unit_id)
    assert lead is not None
    members = []
    for m in sorted(a.members, key=lambda m: m.org_unit_id):
        o = s.get(OrgUnit, m.org_unit_id)
        assert o is not None
        members.append(MemberView(o.code, o.full_name, m.confirmed_at is not None,
                                  aware(m.confirmed_at) if m.confirmed_at else None))
    st = AppStatus(a.status)
    return ApplicationView(a.id, a.call_id, a.title, lead.code, lead.full_name, tuple(members), bool(members),
                           a.summary, tuple(a.fields), a.issues, tuple(a.measures), tuple(a.kpis),
                           a.requested_amount, st.value, st.label_ja,
                           aware(a.submitted_at) if a.submitted_at else None, a.version, a.synthetic)


# ---------------------------------------------------------------- who sees what


def parties(s: Session, a: SupportApplication) -> list[OrgRef]:
    """The lead and the members, as the access rules see them."""
    ids = [a.lead_org_unit_id] + [m.org_unit_id for m in a.members]
    return [org_ref(o) for o in (s.get(OrgUnit, i) for i in ids) if o is not None]


def reviewer_home(s: Session, call_id: int, username: str) -> tuple[bool, OrgRef | None]:
    """(assigned to the call, the local government the reviewer works for)."""
    r = s.get(SupportReviewer, (call_id, username))
    if r is None:
        return False, None
    home = s.get(OrgUnit, r.home_org_unit_id) if r.home_org_unit_id else None
    return True, org_ref(home) if home is not None else None


def conflict_of(s: Session, a: SupportApplication, username: str) -> str | None:
    """Why this reviewer may not review this application, or None."""
    assigned, home = reviewer_home(s, a.call_id, username)
    declared = s.get(SupportConflict, (a.id, username))
    return conflict_reason(home, parties(s, a), declared.reason if declared is not None else None) if (
        assigned or declared is not None) else None


def published_selection(s: Session, a: SupportApplication) -> bool:
    call = s.get(SupportCall, a.call_id)
    return a.status == AppStatus.SELECTED.value and call is not None and call.published_at is not None


def may_see(s: Session, p: Principal, a: SupportApplication) -> bool:
    assigned = p.signed_in and s.get(SupportReviewer, (a.call_id, p.name)) is not None
    conflicted = assigned and conflict_of(s, a, p.name) is not None
    return access.can_see_application(
        p, parties(s, a),
        draft=a.status in (AppStatus.DRAFT.value, AppStatus.WITHDRAWN.value) and a.submitted_at is None,
        published_selection=published_selection(s, a), reviewer=assigned, conflicted=conflicted)


def load_visible(s: Session, p: Principal, app_id: int) -> SupportApplication:
    a = s.get(SupportApplication, app_id)
    if a is None or not may_see(s, p, a):
        raise NotFound(f"no application {app_id}", message_ja=f"申請 {app_id} は見つかりません", field="application")
    return a


def get(uow: UnitOfWork, p: Principal, app_id: int) -> ApplicationView:
    with uow.for_reading() as u:
        return application_view(u.session, load_visible(u.session, p, app_id))


def list_for_call(uow: UnitOfWork, p: Principal, call_id: int) -> list[ApplicationView]:
    """The applications of a call this principal may see: the rule of ``may_see``, with what it
    needs read once for the whole call (local governments, the reviewer's assignment and declared
    conflicts) instead of once per application."""
    with uow.for_reading() as u:
        s = u.session
        call = load_call(s, call_id)
        apps = list(s.scalars(select(SupportApplication).where(SupportApplication.call_id == call_id)
                              .options(selectinload(SupportApplication.members)).order_by(SupportApplication.id)))
        ids = {a.lead_org_unit_id for a in apps} | {m.org_unit_id for a in apps for m in a.members}
        refs = {o.id: org_ref(o) for o in s.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))} if ids else {}
        assigned, home = reviewer_home(s, call.id, p.name) if p.signed_in else (False, None)
        declared = {c.application_id: c.reason for c in s.scalars(
            select(SupportConflict).join(SupportApplication, SupportApplication.id == SupportConflict.application_id)
            .where(SupportApplication.call_id == call.id, SupportConflict.reviewer == p.name))} if p.signed_in else {}
        out = []
        for a in apps:
            parties = [refs[i] for i in [a.lead_org_unit_id] + [m.org_unit_id for m in a.members]]
            conflicted = assigned and conflict_reason(home, parties, declared.get(a.id)) is not None
            draft = a.status in (AppStatus.DRAFT.value, AppStatus.WITHDRAWN.value) and a.submitted_at is None
            published = a.status == AppStatus.SELECTED.value and call.published_at is not None
            if access.can_see_application(p, parties, draft=draft, published_selection=published, reviewer=assigned,
                                          conflicted=conflicted):
                out.append(application_view(s, a))
        return out


# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class ApplicationIn:
    title: str
    lead: str | None
    members: tuple[str, ...]
    summary: str
    fields: tuple[str, ...]
    issues: str
    measures: tuple[dict[str, Any], ...]
    kpis: tuple[dict[str, Any], ...]
    requested_amount: int | None
    collaboration_group_id: int | None


def _list(doc: Mapping[str, Any], key: str, label: str) -> list[Any]:
    v = doc.get(key) or []
    if isinstance(v, str):
        v = [x.strip() for x in v.replace("、", ",").split(",") if x.strip()]
    if not isinstance(v, list):
        raise InvalidInput(f"{key} must be a list", message_ja=f"{label}は一覧で指定してください", field=key)
    if len(v) > MAX_ITEMS:
        raise InvalidInput(f"{key}: at most {MAX_ITEMS} items", message_ja=f"{label}は{MAX_ITEMS}件までです", field=key)
    return v


def _kpi_number(value: object, field: str, label: str) -> int | float | None:
    """A committed KPI's baseline or target: a number (3,000 and 12.5 as typed), or nothing. The
    yearly evaluation judges progress from these, so text is refused rather than kept."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: not a number", message_ja=f"{label}は数値で入力してください", field=field)
    if isinstance(value, int | float):
        x = float(value)
    else:
        try:
            x = float(str(value).replace(",", "").strip())
        except ValueError:
            raise InvalidInput(f"{field}: not a number", message_ja=f"{label}は数値で入力してください（例: 3,000）",
                               field=field) from None
    if not math.isfinite(x) or abs(x) > 1e15:
        raise InvalidInput(f"{field}: out of range", message_ja=f"{label}が大きすぎます", field=field)
    return int(x) if x.is_integer() else x


def _kpi_year(value: object, field: str, label: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().removesuffix("年度")
    if isinstance(value, bool) or not text.isascii() or not text.isdigit() or not 2000 <= int(text) <= 2200:
        raise InvalidInput(f"{field}: a fiscal year such as 2028", field=field,
                           message_ja=f"{label}は西暦で入力してください（例: 2028）")
    return int(text)


KPI_KEYS = ("name", "unit", "baseline", "target", "target_fy", "national_kpi")


def parse_input(doc: Mapping[str, Any]) -> ApplicationIn:
    if not isinstance(doc, Mapping):
        raise InvalidInput("an application is a mapping", message_ja="申請の形式が正しくありません")
    measures = []
    for i, m in enumerate(_list(doc, "measures", "施策")):
        if not isinstance(m, Mapping):
            raise InvalidInput(f"measures[{i}] must be a mapping", message_ja=f"施策{i + 1}の形式が正しくありません",
                               field=f"measures[{i}]")
        measures.append({"title": bounded(m.get("title"), TITLE_MAX, field=f"measures[{i}].title",
                                          label_ja=f"施策{i + 1}の名称", required=True),
                         "digital": bool(m.get("digital")),
                         "description": bounded(m.get("description"), TEXT_MAX, field=f"measures[{i}].description",
                                                label_ja=f"施策{i + 1}の説明")})
    kpis = []
    for i, k in enumerate(_list(doc, "kpis", "KPI")):
        if not isinstance(k, Mapping):
            raise InvalidInput(f"kpis[{i}] must be a mapping", message_ja=f"KPI{i + 1}の形式が正しくありません",
                               field=f"kpis[{i}]")
        unknown = sorted(str(key) for key in k if key not in KPI_KEYS)
        if unknown:        # a misspelt key (target_fiscal_year) would otherwise be dropped in silence
            raise InvalidInput(f"kpis[{i}]: unknown keys {', '.join(unknown)} (known: {', '.join(KPI_KEYS)})",
                               field=f"kpis[{i}].{unknown[0]}",
                               message_ja=f"KPI{i + 1}の項目「{'」「'.join(unknown)}」は使えません"
                                          f"（使える項目: {'、'.join(KPI_KEYS)}）")
        kpis.append({"name": bounded(k.get("name"), TITLE_MAX, field=f"kpis[{i}].name", label_ja=f"KPI{i + 1}の名称",
                                     required=True),
                     "unit": bounded(k.get("unit"), 16, field=f"kpis[{i}].unit", label_ja=f"KPI{i + 1}の単位"),
                     "baseline": _kpi_number(k.get("baseline"), f"kpis[{i}].baseline", f"KPI{i + 1}の基準値"),
                     "target": _kpi_number(k.get("target"), f"kpis[{i}].target", f"KPI{i + 1}の目標値"),
                     "target_fy": _kpi_year(k.get("target_fy"), f"kpis[{i}].target_fy", f"KPI{i + 1}の目標年度"),
                     "national_kpi": str(k.get("national_kpi") or "").strip() or None})
    group = doc.get("collaboration_group")
    return ApplicationIn(
        bounded(doc.get("title"), TITLE_MAX, field="title", label_ja="提案の名称", required=True),
        str(doc.get("lead") or "").strip() or None,
        tuple(str(x).strip() for x in _list(doc, "members", "構成団体")),
        bounded(doc.get("summary"), TEXT_MAX, field="summary", label_ja="提案の概要"),
        tuple(str(x).strip() for x in _list(doc, "fields", "分野")),
        bounded(doc.get("issues"), TEXT_MAX, field="issues", label_ja="社会課題"),
        tuple(measures), tuple(kpis),
        parse_amount(doc.get("requested_amount"), field="requested_amount", label_ja="要望額"),
        int(group) if isinstance(group, int) or (isinstance(group, str) and group.isdigit()) else None)


def _submission(s: Session, a: SupportApplication) -> Submission:
    lead = s.get(OrgUnit, a.lead_org_unit_id)
    assert lead is not None
    members = []
    for m in a.members:
        o = s.get(OrgUnit, m.org_unit_id)
        assert o is not None
        members.append(Member(org_ref(o), o.kind, o.full_name, m.confirmed_at is not None))
    return Submission(org_ref(lead), lead.kind, lead.full_name, tuple(members), a.requested_amount)


def _snapshot(a: SupportApplication) -> dict[str, Any]:
    return {"title": a.title, "status": a.status, "requested_amount": a.requested_amount,
            "members": sorted(m.org_unit_id for m in a.members)}


# ---------------------------------------------------------------- writes


def require_may_start(p: Principal) -> None:
    """Who gets a new application's form: a local government's staff (or the nation filing for one);
    ``save_draft`` decides again for the lead named."""
    access.require(p, p.can_write_at_all and (p.is_admin or p.org_unit_id is not None),
                   message="only a local government's staff apply", sign_in_ja="申請の作成にはログインが必要です",
                   message_ja="申請を作成できるのは地方公共団体の職員だけです")


def save_draft(uow: UnitOfWork, p: Principal, call_id: int, doc: Mapping[str, Any], *, now: datetime,
               app_id: int | None = None, version: int | None = None) -> ApplicationView:
    """Create a draft, or change one (``app_id``; ``version`` as loaded detects a concurrent
    save). Members added since the last save confirm afresh; those kept keep their confirmation."""
    data = parse_input(doc)
    with uow:
        s = uow.session
        call = load_call(s, call_id)
        view = call_view(s, call, now)
        if now > view.closes_at:    # a draft after the deadline could never be submitted
            raise Conflict("the deadline has passed",
                           message_ja=f"締切（{jst_text(view.closes_at)}）を過ぎているため申請を作成・編集できません",
                           field="call", details={"closes_at": view.closes_at.isoformat()})
        if app_id is None:
            lead = resolve_org(s, data.lead) if data.lead else (
                s.get(OrgUnit, p.org_unit_id) if p.org_unit_id else None)
            if lead is None:
                raise InvalidInput("name the lead local government",
                                   message_ja="代表団体（団体コード）を指定してください", field="lead")
            access.require(p, access.can_apply_for(p, org_ref(lead)),
                           message="you may not apply for this local government",
                           message_ja="この団体の申請を作成できるのは、その団体の職員だけです",
                           sign_in_ja="申請の作成にはログインが必要です")
            a = SupportApplication(call_id=call.id, lead_org_unit_id=lead.id, status=AppStatus.DRAFT.value,
                                   created_by=p.name, created_at=now, updated_at=now, title=data.title,
                                   synthetic=bool(doc.get("synthetic")))
            s.add(a)
            before = None
        else:
            a = load_visible(s, p, app_id)
            if a.call_id != call.id:
                raise NotFound(f"no application {app_id} in call {call_id}",
                               message_ja=f"この公募に申請 {app_id} はありません", field="application")
            lead = s.get(OrgUnit, a.lead_org_unit_id)
            assert lead is not None
            access.require(p, access.can_apply_for(p, org_ref(lead)), message="you may not edit this application",
                           message_ja="申請を編集できるのは代表団体の職員だけです",
                           sign_in_ja="申請の編集にはログインが必要です")
            if a.status != AppStatus.DRAFT.value:
                raise Conflict("only a draft can be changed",
                               message_ja=f"「{AppStatus(a.status).label_ja}」の申請は編集できません", field="status")
            if version is not None and version != a.version:
                raise Conflict("stale", message_ja="開いた後に他の人がこの申請を保存しました。読み込み直してください",
                               field="version")
            before = _snapshot(a)
        members = [resolve_org(s, c) for c in data.members]
        if data.collaboration_group_id is not None:
            group = s.get(CollaborationGroup, data.collaboration_group_id)
            if group is None:
                raise InvalidInput(f"no collaboration group {data.collaboration_group_id}",
                                   message_ja=f"連携グループ {data.collaboration_group_id} はありません",
                                   field="collaboration_group")
            if not data.members:   # the group is the starting point: its members, the lead aside
                members = [o for o in (s.get(OrgUnit, m.org_unit_id) for m in group.members)
                           if o is not None and o.id != lead.id]
        kept = {m.org_unit_id: m for m in a.members}
        a.members = [kept.get(o.id) or SupportApplicationMember(org_unit_id=o.id) for o in members]
        check_parties(view.terms, Submission(org_ref(lead), lead.kind, lead.full_name,
                                             tuple(Member(org_ref(o), o.kind, o.full_name, False) for o in members),
                                             data.requested_amount))
        if data.requested_amount is not None:
            check_amount(view.terms, data.requested_amount)
        for k in data.kpis:
            if k["national_kpi"] and s.scalars(select(Kpi.id).where(Kpi.code == k["national_kpi"])).first() is None:
                raise InvalidInput(f"unknown national KPI {k['national_kpi']!r}",
                                   message_ja=f"国のKPI「{k['national_kpi']}」はありません", field="kpis")
        a.title, a.summary, a.fields, a.issues = data.title, data.summary, list(data.fields), data.issues
        a.measures, a.kpis, a.requested_amount = list(data.measures), list(data.kpis), data.requested_amount
        a.collaboration_group_id = data.collaboration_group_id
        a.updated_at = now
        if before is not None:
            a.version += 1
        s.flush()
        audit.record(s, actor=p.name, action="application.save", entity="support_application",
                     entity_key=str(a.id), at=now, before=before, after=_snapshot(a), org_unit_id=lead.id,
                     summary=f"申請「{a.title}」を保存しました（下書き）")
        out = application_view(s, a)
        uow.commit()
        return out


def confirm_membership(uow: UnitOfWork, p: Principal, app_id: int, member_code: str | None = None, *,
                       now: datetime) -> ApplicationView:
    """A member's staff confirm that their local government takes part in the joint proposal."""
    with uow:
        s = uow.session
        a = load_visible(s, p, app_id)
        org = resolve_org(s, member_code) if member_code else (s.get(OrgUnit, p.org_unit_id) if p.org_unit_id else None)
        m = next((m for m in a.members if org is not None and m.org_unit_id == org.id), None)
        if org is None or m is None:
            raise InvalidInput("not a member of this proposal",
                               message_ja="この共同提案の構成団体ではありません", field="member")
        access.require(p, access.can_confirm_membership(p, org_ref(org)), message="only the member confirms",
                       message_ja="参加の確認は構成団体の職員だけが行えます",
                       sign_in_ja="参加の確認にはログインが必要です")
        if a.status != AppStatus.DRAFT.value:
            raise Conflict("only a draft's members confirm",
                           message_ja=f"「{AppStatus(a.status).label_ja}」の申請の参加確認はできません", field="status")
        if m.confirmed_at is None:
            m.confirmed_at, m.confirmed_by = now, p.name
            audit.record(s, actor=p.name, action="application.confirm", entity="support_application",
                         entity_key=str(a.id), at=now, after={"member": org.code}, org_unit_id=org.id,
                         summary=f"{org.full_name}が共同提案「{a.title}」への参加を確認しました")
        s.flush()
        out = application_view(s, a)
        uow.commit()
        return out


def _step(uow: UnitOfWork, p: Principal, app_id: int, action: AppAction, *, now: datetime,
          reason: str = "") -> ApplicationView:
    with uow:
        s = uow.session
        a = load_visible(s, p, app_id)
        lead = s.get(OrgUnit, a.lead_org_unit_id)
        assert lead is not None
        verb = "提出" if action is AppAction.SUBMIT else "取り下げ"
        access.require(p, access.can_apply_for(p, org_ref(lead)),
                       message=f"you may not {action.value} this application",
                       message_ja=f"申請を{verb}できるのは代表団体の職員だけです",
                       sign_in_ja=f"申請の{verb}にはログインが必要です")
        before = _snapshot(a)
        new = app_transition(AppStatus(a.status), action)
        if action is AppAction.SUBMIT:
            call = s.get(SupportCall, a.call_id)
            assert call is not None
            check_submission(call_view(s, call).terms, _submission(s, a), now)
            a.submitted_at = now
        a.status = new.value
        a.updated_at = now
        a.version += 1
        s.flush()
        audit.record(s, actor=p.name, action=f"application.{action.value}", entity="support_application",
                     entity_key=str(a.id), at=now, before=before,
                     after=_snapshot(a) | ({"reason": reason} if reason else {}),
                     org_unit_id=lead.id, summary=f"申請「{a.title}」を{verb}しました")
        out = application_view(s, a)
        uow.commit()
        return out


def submit(uow: UnitOfWork, p: Principal, app_id: int, *, now: datetime) -> ApplicationView:
    """Submit before the deadline: every member confirmed, eligible, the amount within the cap."""
    return _step(uow, p, app_id, AppAction.SUBMIT, now=now)


def withdraw(uow: UnitOfWork, p: Principal, app_id: int, *, now: datetime, reason: str = "") -> ApplicationView:
    """Withdraw a draft or a submitted application before the decision."""
    return _step(uow, p, app_id, AppAction.WITHDRAW, now=now,
                 reason=bounded(reason, 2000, field="reason", label_ja="取り下げの理由"))


def home_org_of(s: Session, username: str) -> OrgUnit | None:
    """The local government an account works for, if any."""
    u = s.scalars(select(UserAccount).where(UserAccount.username == username)).one_or_none()
    return s.get(OrgUnit, u.org_unit_id) if u is not None and u.org_unit_id else None


@dataclass(frozen=True)
class Actions:
    """What this principal may do with an application now (what the pages offer; every step
    still checks again when it is taken)."""

    lead: bool                     # staff of the lead local government (or the nation)
    edit: bool                     # change the draft, its files, submit it (the lead's staff)
    withdraw: bool                 # before the decision
    confirm: tuple[str, ...]       # codes of the members whose participation it may confirm


def actions(uow: UnitOfWork, p: Principal, app_id: int) -> Actions:
    with uow.for_reading() as u:
        s = u.session
        a = load_visible(s, p, app_id)
        lead = s.get(OrgUnit, a.lead_org_unit_id)
        assert lead is not None
        lead_staff = access.can_apply_for(p, org_ref(lead))
        draft = a.status == AppStatus.DRAFT.value
        confirm = []
        for m in a.members:
            o = s.get(OrgUnit, m.org_unit_id)
            if draft and o is not None and m.confirmed_at is None and access.can_confirm_membership(p, org_ref(o)):
                confirm.append(o.code)
        return Actions(lead_staff, lead_staff and draft,
                       lead_staff and a.status in (AppStatus.DRAFT.value, AppStatus.SUBMITTED.value), tuple(confirm))
