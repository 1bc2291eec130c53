"""Each local government's own strategy (地方版総合戦略): revisions, editing, the approval cycle
and the inbox. Every function takes the acting principal and checks access here, so pages, the
API and the CLI cannot differ. Records another principal may not see are reported as not found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import OrgRef, Principal, require_signed_in
from digiden.domain.errors import Conflict, DigidenError, InvalidInput, NotFound, PermissionDenied
from digiden.domain.events import StrategyAccepted, StrategyReopened
from digiden.domain.local import (
    SECTION_LABELS_JA,
    SUPPORT_LABELS_JA,
    Action,
    Change,
    MeasureKind,
    MeasureState,
    Status,
    diff,
    finite_number,
    may_see,
    needs_comment,
    transition,
)
from digiden.domain.periods import fiscal_year_field
from digiden.domain.quantities import parse_number
from digiden.domain.text import bounded
from digiden.services import audit
from digiden.services.common import org_ref
from digiden.services.knowledge.practices import waiting_for
from digiden.services.registry.localgov import resolve_org
from digiden.services.uow import UnitOfWork
from digiden.shapes.local import InboxOut, LocalStrategyOut, NotificationOut, ReviewOut, RevisionRefOut
from digiden.store.models import (
    Area,
    Kpi,
    LocalIssue,
    LocalKpi,
    LocalMeasure,
    LocalStrategy,
    LocalStrategyModelType,
    ModelType,
    Notification,
    OrgUnit,
    ReviewEvent,
)

MAX_ITEMS = 100
TEXT_MAX = 4000
TITLE_MAX = 200


# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class IssueIn:
    field: str | None
    text: str


@dataclass(frozen=True)
class MeasureIn:
    title: str
    field: str | None
    kind: MeasureKind
    digital: bool
    state: MeasureState
    start_fy: int | None
    support: str
    description: str


@dataclass(frozen=True)
class LocalKpiIn:
    name: str
    unit: str
    baseline: float | None
    baseline_fy: int | None
    target: float | None
    target_fy: int | None
    actual: float | None
    actual_fy: int | None
    national_kpi: str | None
    pillar: str | None


@dataclass(frozen=True)
class StrategyIn:
    title: str
    fiscal_year: int
    vision: str
    model_types: tuple[str, ...]
    issues: tuple[IssueIn, ...]
    measures: tuple[MeasureIn, ...]
    kpis: tuple[LocalKpiIn, ...]


def _num(value: object, field: str, label: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: not a number", message_ja=f"{label}は数値で入力してください", field=field)
    if isinstance(value, int | float):
        return finite_number(float(value), field=field, label_ja=label)
    try:
        return parse_number(str(value), field=field)
    except InvalidInput:
        raise InvalidInput(f"{field}: not a number: {value!r}",
                           message_ja=f"{label}は数値で入力してください（例: 1,200、2万）", field=field) from None


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes", "はい", "○")


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    v = doc.get(key) or []
    label = SECTION_LABELS_JA.get(key, key)
    if not isinstance(v, list):
        raise InvalidInput(f"{key} must be a list", message_ja=f"{label}は一覧で指定してください", field=key)
    if len(v) > MAX_ITEMS:
        raise InvalidInput(f"{key}: at most {MAX_ITEMS} items", message_ja=f"{label}は{MAX_ITEMS}件までです", field=key)
    return v


def parse_input(doc: Mapping[str, Any]) -> StrategyIn:
    """Check a strategy as a form, a JSON body or a YAML file gives it; field paths in errors
    (``measures[2].start_year``) say exactly which input is wrong."""
    if not isinstance(doc, Mapping):
        raise InvalidInput("a strategy is a mapping", message_ja="戦略の形式が正しくありません")
    title = bounded(doc.get("title"), TITLE_MAX, field="title", label_ja="戦略の名称", required=True)
    fy = fiscal_year_field(doc.get("fiscal_year"), "fiscal_year", "対象年度", required=True)
    assert fy is not None
    vision = bounded(doc.get("vision"), TEXT_MAX, field="vision", label_ja="地域ビジョン")
    types = tuple(str(t).strip() for t in _list(doc, "model_types") if str(t).strip())
    issues = []
    for i, it in enumerate(_list(doc, "issues")):
        w = f"issues[{i}]"
        if not isinstance(it, Mapping):
            raise InvalidInput(f"{w} must be a mapping", message_ja=f"社会課題{i + 1}の形式が正しくありません", field=w)
        f = str(it.get("field") or "").strip() or None
        text = bounded(it.get("text"), TEXT_MAX, field=f"{w}.text", label_ja=f"社会課題{i + 1}の内容")
        if f is None and not text:
            continue
        issues.append(IssueIn(f, text))
    measures = []
    for i, m in enumerate(_list(doc, "measures")):
        w = f"measures[{i}]"
        if not isinstance(m, Mapping):
            raise InvalidInput(f"{w} must be a mapping", message_ja=f"施策{i + 1}の形式が正しくありません", field=w)
        if not str(m.get("title") or "").strip() and not str(m.get("description") or "").strip():
            continue
        try:
            kind = MeasureKind(str(m.get("kind") or "other"))
        except ValueError:
            raise InvalidInput(f"{w}.kind: unknown kind {m.get('kind')!r}",
                               message_ja=f"施策{i + 1}の種類が不明です", field=f"{w}.kind") from None
        try:
            state = MeasureState(str(m.get("state") or "planned"))
        except ValueError:
            raise InvalidInput(f"{w}.state: unknown state {m.get('state')!r}",
                               message_ja=f"施策{i + 1}の状況が不明です", field=f"{w}.state") from None
        support = str(m.get("support") or "").strip()
        if support not in SUPPORT_LABELS_JA:
            raise InvalidInput(f"{w}.support: unknown support {support!r}",
                               message_ja=f"施策{i + 1}の国の支援が不明です", field=f"{w}.support")
        measures.append(MeasureIn(
            bounded(m.get("title"), TITLE_MAX, field=f"{w}.title", label_ja=f"施策{i + 1}の名称", required=True),
            str(m.get("field") or "").strip() or None, kind, _bool(m.get("digital")), state,
            fiscal_year_field(m.get("start_year"), f"{w}.start_year", f"施策{i + 1}の開始年度"), support,
            bounded(m.get("description"), TEXT_MAX, field=f"{w}.description", label_ja=f"施策{i + 1}の説明")))
    kpis = []
    for i, k in enumerate(_list(doc, "kpis")):
        w = f"kpis[{i}]"
        if not isinstance(k, Mapping):
            raise InvalidInput(f"{w} must be a mapping", message_ja=f"KPI{i + 1}の形式が正しくありません", field=w)
        if not str(k.get("name") or "").strip():
            continue
        lab = f"KPI{i + 1}"
        kpis.append(LocalKpiIn(
            bounded(k.get("name"), TITLE_MAX, field=f"{w}.name", label_ja=f"{lab}の名称", required=True),
            bounded(k.get("unit"), 16, field=f"{w}.unit", label_ja=f"{lab}の単位"),
            _num(k.get("baseline"), f"{w}.baseline", f"{lab}の基準値"),
            fiscal_year_field(k.get("baseline_year"), f"{w}.baseline_year", f"{lab}の基準年度"),
            _num(k.get("target"), f"{w}.target", f"{lab}の目標値"),
            fiscal_year_field(k.get("target_year"), f"{w}.target_year", f"{lab}の目標年度"),
            _num(k.get("actual"), f"{w}.actual", f"{lab}の実績値"),
            fiscal_year_field(k.get("actual_year"), f"{w}.actual_year", f"{lab}の実績年度"),
            str(k.get("national_kpi") or "").strip() or None, str(k.get("pillar") or "").strip() or None))
    return StrategyIn(title, fy, vision, types, tuple(issues), tuple(measures), tuple(kpis))


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class RevisionRef:
    org_code: str
    org_name: str
    prefecture_code: str
    revision: int
    fiscal_year: int
    title: str
    status: Status
    version: int
    updated_at: datetime
    accepted_at: datetime | None
    synthetic: bool

    @property
    def status_ja(self) -> str:
        return self.status.label_ja

    def shape(self) -> RevisionRefOut:
        return RevisionRefOut(org_unit=self.org_code, name=self.org_name, revision=self.revision,
                              fiscal_year=self.fiscal_year, title=self.title, status=self.status.value,
                              status_ja=self.status_ja, version=self.version,
                              updated_at=self.updated_at.isoformat(),
                              accepted_at=self.accepted_at.isoformat() if self.accepted_at else None,
                              synthetic=self.synthetic)


@dataclass(frozen=True)
class MeasureView:
    title: str
    field: str | None
    field_name: str
    kind: MeasureKind
    digital: bool
    state: MeasureState
    start_fy: int | None
    support: str
    description: str

    @property
    def support_ja(self) -> str:
        return SUPPORT_LABELS_JA.get(self.support, self.support)


@dataclass(frozen=True)
class LocalKpiView:
    name: str
    unit: str
    baseline: float | None
    baseline_fy: int | None
    target: float | None
    target_fy: int | None
    actual: float | None
    actual_fy: int | None
    national_kpi: str | None
    national_kpi_name: str
    pillar: str | None
    pillar_name: str


@dataclass(frozen=True)
class ReviewView:
    action: Action
    from_status: Status
    to_status: Status
    actor: str
    comment: str
    at: datetime


@dataclass(frozen=True)
class RevisionDetail:
    ref: RevisionRef
    vision: str
    model_types: tuple[tuple[str, str], ...]          # (code, name)
    issues: tuple[tuple[str | None, str, str], ...]   # (field code, field name, text)
    measures: tuple[MeasureView, ...]
    kpis: tuple[LocalKpiView, ...]
    reviews: tuple[ReviewView, ...]
    revisions: tuple[RevisionRef, ...]                 # every revision the principal may see
    actions: tuple[Action, ...]                        # what the principal may do now
    can_edit: bool
    created_by: str

    def shape(self) -> LocalStrategyOut:
        """Its place in the cycle, its content in the input shape (``input_of``: what a save takes
        back), its reviews and what the principal may do now."""
        return LocalStrategyOut.model_validate(dict(self.ref.shape()) | input_of(self) | {
            "reviews": [ReviewOut(action=r.action.value, from_=r.from_status.value, to=r.to_status.value,
                                  actor=r.actor, comment=r.comment, at=r.at.isoformat()) for r in self.reviews],
            "revisions": [r.shape() for r in self.revisions],
            "allowed_actions": [a.value for a in self.actions], "can_edit": self.can_edit})


def snapshot_of(d: RevisionDetail) -> dict[str, Any]:
    """A plain dict of a revision's content: what the diff and the audit trail compare."""
    return {
        "header": {"title": d.ref.title, "fiscal_year": d.ref.fiscal_year, "vision": d.vision},
        "model_types": [{"key": name, "code": code} for code, name in d.model_types],
        "issues": [{"key": f"{fname or 'その他'}: {text[:40]}", "field": f, "text": text}
                   for f, fname, text in d.issues],
        "measures": [{"key": m.title, "field": m.field, "kind": m.kind.value, "digital": m.digital,
                      "state": m.state.value, "start_fy": m.start_fy, "support": m.support,
                      "description": m.description} for m in d.measures],
        "kpis": [{"key": k.name, "unit": k.unit, "baseline": k.baseline, "baseline_fy": k.baseline_fy,
                  "target": k.target, "target_fy": k.target_fy, "actual": k.actual, "actual_fy": k.actual_fy,
                  "national_kpi": k.national_kpi, "pillar": k.pillar} for k in d.kpis],
    }


def _ref(s: LocalStrategy, o: OrgUnit) -> RevisionRef:
    return RevisionRef(o.code, o.full_name, o.prefecture_code, s.revision, s.fiscal_year, s.title,
                       Status(s.status), s.version, s.updated_at, s.accepted_at, s.synthetic)


def _names(session: Session, model: type[Area] | type[ModelType] | type[Kpi]) -> dict[int, tuple[str, str]]:
    return {i: (c, n) for i, c, n in session.execute(select(model.id, model.code, model.name))}


def allowed_actions(p: Principal, org: OrgRef, status: Status) -> tuple[Action, ...]:
    out = []
    for a in Action:
        try:
            _, stage = transition(status, a, owner_is_prefecture=org.is_prefecture)
        except DigidenError:
            continue
        if _may_act(p, org, stage):
            out.append(a)
    return tuple(out)


def _may_act(p: Principal, org: OrgRef, stage: str) -> bool:
    if stage == "owner":
        return access.can_edit_local(p, org)
    if stage == "prefecture":
        return access.can_review_as_prefecture(p, org)
    return access.can_accept_nationally(p)


def _detail(session: Session, p: Principal, o: OrgUnit, s: LocalStrategy) -> RevisionDetail:
    areas, types, kpis = _names(session, Area), _names(session, ModelType), _names(session, Kpi)
    org = org_ref(o)
    all_revs = session.scalars(select(LocalStrategy).where(LocalStrategy.org_unit_id == o.id)
                               .order_by(LocalStrategy.revision)).all()
    revs = tuple(_ref(r, o) for r in all_revs if may_see(p, org, Status(r.status)))
    reviews = tuple(ReviewView(Action(r.action), Status(r.from_status), Status(r.to_status), r.actor, r.comment, r.at)
                    for r in session.scalars(select(ReviewEvent).where(ReviewEvent.strategy_id == s.id)
                                             .order_by(ReviewEvent.id)))
    st = Status(s.status)

    def an(i: int | None) -> tuple[str | None, str]:
        return (areas[i][0], areas[i][1]) if i is not None and i in areas else (None, "")

    return RevisionDetail(
        _ref(s, o), s.vision,
        tuple(sorted((types[t.model_type_id][0], types[t.model_type_id][1]) for t in s.model_types)),
        tuple((an(i.area_id)[0], an(i.area_id)[1], i.text) for i in s.issues),
        tuple(MeasureView(m.title, an(m.area_id)[0], an(m.area_id)[1], MeasureKind(m.kind), m.digital,
                          MeasureState(m.state), m.start_fy, m.support, m.description) for m in s.measures),
        tuple(LocalKpiView(k.name, k.unit, k.baseline_value, k.baseline_fy, k.target_value, k.target_fy,
                           k.actual_value, k.actual_fy,
                           kpis[k.national_kpi_id][0] if k.national_kpi_id else None,
                           kpis[k.national_kpi_id][1] if k.national_kpi_id else "",
                           an(k.area_id)[0], an(k.area_id)[1]) for k in s.kpis),
        reviews, revs, allowed_actions(p, org, st),
        st.editable and access.can_edit_local(p, org), s.created_by)


def _org(session: Session, code: str) -> OrgUnit:
    o = resolve_org(session, code)
    if o.code == "JP":
        raise NotFound("the nation has no local strategy", message_ja="国には地方版総合戦略はありません",
                       field="org_unit")
    return o


def _hidden(org_code: str, revision: int | None) -> NotFound:
    what = f"revision {revision}" if revision else "a strategy"
    return NotFound(f"{org_code} has no {what} you can see",
                    message_ja=(f"団体コード {org_code} の地方版総合戦略"
                                f"{f'（第{revision}版）' if revision else ''}は見つかりません"),
                    field="revision")


def _revision(session: Session, p: Principal, o: OrgUnit, revision: int | None, *,
              lock: bool = False) -> LocalStrategy:
    """The asked revision, or the newest one the principal may see. Invisible = not found.
    ``lock``: hold the row until commit (for a change of status)."""
    org = org_ref(o)
    q = select(LocalStrategy).where(LocalStrategy.org_unit_id == o.id)
    if lock:
        q = q.with_for_update()
    if revision is not None:
        s = session.scalars(q.where(LocalStrategy.revision == revision)).one_or_none()
        if s is None or not may_see(p, org, Status(s.status)):
            raise _hidden(o.code, revision)
        return s
    for s in session.scalars(q.order_by(LocalStrategy.revision.desc())):
        if may_see(p, org, Status(s.status)):
            return s
    raise _hidden(o.code, None)


def get(uow: UnitOfWork, p: Principal, org_code: str, revision: int | None = None) -> RevisionDetail:
    with uow:
        o = _org(uow.session, org_code)
        return _detail(uow.session, p, o, _revision(uow.session, p, o, revision))


def list_revisions(uow: UnitOfWork, p: Principal, *, prefecture: str | None = None,
                   status: str | None = None, q: str = "") -> list[RevisionRef]:
    """The newest visible revision of every local government that has one."""
    with uow:
        s = uow.session
        stmt = (select(LocalStrategy, OrgUnit).join(OrgUnit, OrgUnit.id == LocalStrategy.org_unit_id)
                .order_by(OrgUnit.code, LocalStrategy.revision.desc()))
        if prefecture:
            stmt = stmt.where(OrgUnit.prefecture_code == prefecture.zfill(2)[:2])
        if q:
            stmt = stmt.where(OrgUnit.full_name.contains(q[:50]))
        out: dict[str, RevisionRef] = {}
        for ls, o in s.execute(stmt):
            if o.code in out or not may_see(p, org_ref(o), Status(ls.status)):
                continue
            out[o.code] = _ref(ls, o)
        refs = list(out.values())
        if status:
            refs = [r for r in refs if r.status.value == status]
        return refs


# ---------------------------------------------------------------- writing


def _require_edit(p: Principal, o: OrgUnit) -> None:
    org = org_ref(o)
    if access.can_edit_local(p, org):
        return
    require_signed_in(p, "編集にはサインインが必要です")
    if may_see(p, org, Status.SUBMITTED) or may_see(p, org, Status.DRAFT):
        raise PermissionDenied(f"{p.name} may not edit {o.code}'s strategy",
                               message_ja="この団体の地方版総合戦略を編集する権限がありません")
    # Someone who cannot even see the drafts is told no more than that nothing is there.
    raise _hidden(o.code, None)


def _resolve_codes(session: Session, data: StrategyIn) -> tuple[list[int], dict[str, int], dict[str, int]]:
    types = {c: i for i, c in session.execute(select(ModelType.id, ModelType.code))}
    areas = {c: i for i, c in session.execute(select(Area.id, Area.code))}
    kpis = {c: i for i, c in session.execute(select(Kpi.id, Kpi.code))}
    type_ids = []
    for j, t in enumerate(data.model_types):
        if t not in types:
            raise InvalidInput(f"model_types[{j}]: unknown model type {t!r}",
                               message_ja=f"地域ビジョンの類型が不明です: {t}", field=f"model_types[{j}]")
        if types[t] not in type_ids:
            type_ids.append(types[t])
    for path, code in ([(f"issues[{j}].field", i.field) for j, i in enumerate(data.issues)]
                       + [(f"measures[{j}].field", m.field) for j, m in enumerate(data.measures)]
                       + [(f"kpis[{j}].pillar", k.pillar) for j, k in enumerate(data.kpis)]):
        if code is not None and code not in areas:
            raise InvalidInput(f"{path}: unknown field {code!r}", message_ja=f"分野が不明です: {code}", field=path)
    for j, k in enumerate(data.kpis):
        if k.national_kpi is not None and k.national_kpi not in kpis:
            raise InvalidInput(f"kpis[{j}].national_kpi: unknown KPI {k.national_kpi!r}",
                               message_ja=f"国のKPIが不明です: {k.national_kpi}", field=f"kpis[{j}].national_kpi")
    return type_ids, areas, kpis


def _fill(session: Session, ls: LocalStrategy, data: StrategyIn) -> None:
    type_ids, areas, kpis = _resolve_codes(session, data)
    ls.title, ls.fiscal_year, ls.vision = data.title, data.fiscal_year, data.vision
    ls.model_types = [LocalStrategyModelType(model_type_id=t) for t in type_ids]
    ls.issues = [LocalIssue(area_id=areas[i.field] if i.field else None, text=i.text, position=n)
                 for n, i in enumerate(data.issues)]
    ls.measures = [LocalMeasure(title=m.title, area_id=areas[m.field] if m.field else None, kind=m.kind.value,
                                digital=m.digital, state=m.state.value, start_fy=m.start_fy, support=m.support,
                                description=m.description, position=n) for n, m in enumerate(data.measures)]
    ls.kpis = [LocalKpi(name=k.name, unit=k.unit, baseline_value=k.baseline, baseline_fy=k.baseline_fy,
                        target_value=k.target, target_fy=k.target_fy, actual_value=k.actual, actual_fy=k.actual_fy,
                        national_kpi_id=kpis[k.national_kpi] if k.national_kpi else None,
                        area_id=areas[k.pillar] if k.pillar else None, position=n)
               for n, k in enumerate(data.kpis)]


def input_of(d: RevisionDetail) -> dict[str, Any]:
    """A revision's content in the input shape (what a new revision starts from, and what the
    edit form and the export show)."""
    return {
        "title": d.ref.title, "fiscal_year": str(d.ref.fiscal_year), "vision": d.vision,
        "model_types": [c for c, _ in d.model_types],
        "issues": [{"field": f, "text": t} for f, _, t in d.issues],
        "measures": [{"title": m.title, "field": m.field, "kind": m.kind.value, "digital": m.digital,
                      "state": m.state.value, "start_year": str(m.start_fy) if m.start_fy else "",
                      "support": m.support, "description": m.description} for m in d.measures],
        "kpis": [{"name": k.name, "unit": k.unit, "baseline": k.baseline, "baseline_year": k.baseline_fy,
                  "target": k.target, "target_year": k.target_fy, "actual": k.actual, "actual_year": k.actual_fy,
                  "national_kpi": k.national_kpi, "pillar": k.pillar} for k in d.kpis],
    }


def save(uow: UnitOfWork, p: Principal, org_code: str, doc: Mapping[str, Any], *, now: datetime,
         expected_version: int | None = None, synthetic: bool = False) -> RevisionDetail:
    """Save the local government's open revision (its draft), creating it if there is none.

    A new revision starts as a copy of nothing (the document is the whole content); an open
    revision is replaced by the document. ``expected_version`` is the version the editor
    loaded: if someone saved in between, Conflict, and nothing is written."""
    with uow:
        s = uow.session
        o = _org(s, org_code)
        _require_edit(p, o)     # who may write comes before what was written
        data = parse_input(doc)
        # Locked until commit (PostgreSQL; SQLite's writer lock already serialises), so a second
        # editor waits here and then sees the version the first one saved.
        latest = s.scalars(select(LocalStrategy).where(LocalStrategy.org_unit_id == o.id)
                           .order_by(LocalStrategy.revision.desc()).limit(1).with_for_update()).one_or_none()
        before = None
        if latest is not None and Status(latest.status) in (Status.SUBMITTED, Status.PREFECTURE_APPROVED):
            raise Conflict("the current revision is under review", message_ja=(
                f"第{latest.revision}版は審査中（{Status(latest.status).label_ja}）のため編集できません。"
                "差し戻しまたは再開を待ってください"), field="status")
        if latest is not None and Status(latest.status).editable:
            ls = latest
            if expected_version is not None and expected_version != ls.version:
                raise Conflict("someone saved this revision after you opened it", message_ja=(
                    f"あなたが開いた後に他の人が第{ls.revision}版を保存しました"
                    f"（版数 {expected_version} → {ls.version}）。"
                    "最新の内容を読み込み直してから変更を加えてください。あなたの入力は保存されていません"),
                    field="version")
            before = snapshot_of(_detail(s, p, o, ls))
            ls.version += 1
            ls.updated_at = now
        else:
            if expected_version not in (None, 0):
                raise Conflict("the revision you edited is no longer open", message_ja=(
                    "編集していた版は既に確定しています。最新の内容を読み込み直してください"), field="version")
            ls = LocalStrategy(org_unit_id=o.id, revision=(latest.revision + 1) if latest else 1,
                               fiscal_year=data.fiscal_year, title=data.title, status=Status.DRAFT.value,
                               version=1, created_by=p.name, created_at=now, updated_at=now,
                               synthetic=synthetic or p.synthetic)
            s.add(ls)
        _fill(s, ls, data)
        s.flush()
        s.expire(ls)
        after = _detail(s, p, o, ls)
        audit.record(s, actor=p.name, action="update" if before else "create", entity="local_strategy",
                     entity_key=f"{o.code}#{ls.revision}", at=now, before=before, after=snapshot_of(after),
                     org_unit_id=o.id, summary=f"地方版総合戦略 第{ls.revision}版を保存: {o.full_name}")
        uow.commit()
        return after


def act(uow: UnitOfWork, p: Principal, org_code: str, revision: int, action: str, *, now: datetime,
        comment: str = "", expected_version: int | None = None) -> RevisionDetail:
    """One step of the approval cycle. The owner submits; the prefecture approves or returns;
    the nation accepts (publishes and locks) or returns; an approver re-opens locked data."""
    try:
        a = Action(action)
    except ValueError:
        raise InvalidInput(f"unknown action {action!r}", message_ja=f"不明な操作です: {action}",
                           field="action") from None
    require_signed_in(p, "審査・承認の操作にはサインインが必要です")
    text = bounded(comment, TEXT_MAX, field="comment", label_ja="コメント", required=needs_comment(a))
    with uow:
        s = uow.session
        o = _org(s, org_code)
        org = org_ref(o)
        ls = _revision(s, p, o, revision, lock=True)
        old = Status(ls.status)
        try:
            new, stage = transition(old, a, owner_is_prefecture=org.is_prefecture)
        except Conflict:
            if not _may_act_any(p, org):
                raise PermissionDenied("you may not act on this strategy",
                                       message_ja="この操作を行う権限がありません") from None
            raise
        if not _may_act(p, org, stage):
            raise PermissionDenied(f"{p.name} may not {a.value} this revision",
                                   message_ja=f"「{a.label_ja}」を行う権限がありません")
        if expected_version is not None and expected_version != ls.version:
            raise Conflict("the revision changed since you opened it", message_ja=(
                "開いた後に内容が変わりました。読み込み直してから操作してください"), field="version")
        ls.status, ls.version, ls.updated_at = new.value, ls.version + 1, now
        if a is Action.SUBMIT:
            ls.submitted_at = now
        if new is Status.ACCEPTED:
            ls.accepted_at = now
        elif old is Status.ACCEPTED:
            ls.accepted_at = None
        s.add(ReviewEvent(strategy_id=ls.id, action=a.value, from_status=old.value, to_status=new.value,
                          actor=p.name, comment=text, at=now))
        _notify(s, o, ls, a, new, p, text, now)
        audit.record(s, actor=p.name, action=a.value, entity="local_strategy", entity_key=f"{o.code}#{ls.revision}",
                     at=now, before={"status": old.value}, after={"status": new.value, "comment": text},
                     org_unit_id=o.id,
                     summary=f"地方版総合戦略 第{ls.revision}版: {old.label_ja} → {new.label_ja}（{o.full_name}）")
        s.flush()
        if new is Status.ACCEPTED:
            uow.emit(StrategyAccepted(org_unit_id=o.id, strategy_id=ls.id, revision=ls.revision))
        elif old is Status.ACCEPTED:
            uow.emit(StrategyReopened(org_unit_id=o.id, strategy_id=ls.id, revision=ls.revision))
        out = _detail(s, p, o, ls)
        uow.commit()
        return out


def _may_act_any(p: Principal, org: OrgRef) -> bool:
    return any(_may_act(p, org, st) for st in ("owner", "prefecture", "nation"))


def _notify(s: Session, o: OrgUnit, ls: LocalStrategy, a: Action, new: Status, p: Principal, comment: str,
            now: datetime) -> None:
    head = f"{o.full_name} 地方版総合戦略 第{ls.revision}版"
    if new is Status.SUBMITTED:
        pref = s.scalars(select(OrgUnit).where(OrgUnit.kind == "prefecture",
                                               OrgUnit.prefecture_code == o.prefecture_code)).first()
        targets: list[tuple[int | None, str]] = [(pref.id if pref else None,
                                                  f"{head}が提出されました。確認してください")]
    elif new is Status.PREFECTURE_APPROVED:
        verb = "提出" if a is Action.SUBMIT else "都道府県で確認"
        targets = [(None, f"{head}が{verb}されました。受理を判断してください")]
    elif new is Status.ACCEPTED:
        targets = [(o.id, f"{head}が国に受理され、公開されました")]
    else:  # returned or re-opened
        verb = "差し戻されました" if a is Action.RETURN else "再開（ロック解除）されました"
        targets = [(o.id, f"{head}が{verb}（{p.name}）: {comment}")]
    for org_id, msg in targets:
        s.add(Notification(recipient_org_unit_id=org_id, strategy_id=ls.id, message=msg, at=now))


def diff_revisions(uow: UnitOfWork, p: Principal, org_code: str, a: int, b: int) -> list[Change]:
    with uow:
        s = uow.session
        o = _org(s, org_code)
        old = _detail(s, p, o, _revision(s, p, o, a))
        new = _detail(s, p, o, _revision(s, p, o, b))
        return diff(snapshot_of(old), snapshot_of(new))


# ---------------------------------------------------------------- inbox


@dataclass(frozen=True)
class NotificationView:
    id: int
    at: datetime
    message: str
    org_code: str
    revision: int
    read: bool


@dataclass(frozen=True)
class Inbox:
    waiting: tuple[RevisionRef, ...]         # what waits for this principal to act
    notifications: tuple[NotificationView, ...]
    unread: int
    counts: dict[str, int] = field(default_factory=dict)
    practices: tuple[Any, ...] = ()          # good practices to review (nation) or to fix (owner)
    desk: tuple[Any, ...] = ()               # the consultation desk's notices (services.consult.desk.NoticeView)
    desk_unread: int = 0

    @property
    def total(self) -> int:
        return len(self.waiting) + len(self.practices) + self.unread + self.desk_unread

    def shape(self) -> InboxOut:
        from digiden.shapes.consult import InboxWithDeskOut, NoticeOut
        return InboxWithDeskOut(waiting=[r.shape() for r in self.waiting], counts=self.counts, unread=self.unread,
                                practices=[r.as_dict() for r in self.practices],
                                notifications=[NotificationOut(id=n.id, at=n.at.isoformat(), message=n.message,
                                                               org_unit=n.org_code, revision=n.revision, read=n.read)
                                               for n in self.notifications],
                                desk_notices=[NoticeOut.model_validate(n) for n in self.desk],
                                desk_unread=self.desk_unread)

    def as_dict(self) -> dict[str, object]:
        """The JSON of ``shape()``, for callers that want plain data."""
        return self.shape().json_data()


def _recipient_filter(p: Principal) -> Any:
    if p.is_admin:
        return Notification.recipient_org_unit_id.is_(None)
    if p.org_unit_id is not None:
        return Notification.recipient_org_unit_id == p.org_unit_id
    return None


def _request_done(n: Notification, status: Status, owner_id: int, *, newer: bool) -> bool:
    """A notification that asks a reviewer to act (a prefecture to check a submission, the
    nation to decide on an approved one) is done once the revision has moved on from the
    status it asked about, or once a newer request about the same strategy has come. What
    tells the owner what happened (accepted, returned) stays until it is read."""
    if n.recipient_org_unit_id == owner_id:
        return False
    if newer:
        return True
    waits_for = Status.PREFECTURE_APPROVED if n.recipient_org_unit_id is None else Status.SUBMITTED
    return status is not waits_for


def inbox(uow: UnitOfWork, p: Principal, *, limit: int = 50) -> Inbox:
    """What waits for the principal: submissions to review (prefecture: its municipalities;
    nation: everything approved by a prefecture), returned revisions to fix (owner), and the
    messages addressed to the principal's local government or to the nation; and the consultation
    desk's notices addressed to the principal (``desk``), read in a transaction of their own."""
    require_signed_in(p, "受信箱を見るにはサインインしてください")
    with uow:
        s = uow.session
        waiting: list[RevisionRef] = []
        stmt = (select(LocalStrategy, OrgUnit).join(OrgUnit, OrgUnit.id == LocalStrategy.org_unit_id)
                .where(LocalStrategy.status.in_([Status.SUBMITTED.value, Status.PREFECTURE_APPROVED.value,
                                                 Status.RETURNED.value]))
                .order_by(LocalStrategy.updated_at))
        if not p.is_admin:
            if p.prefecture_code is None:
                stmt = stmt.where(OrgUnit.id == -1)
            else:
                stmt = stmt.where(OrgUnit.prefecture_code == p.prefecture_code)
        for ls, o in s.execute(stmt):
            org, st = org_ref(o), Status(ls.status)
            if p.is_admin:
                mine = st is Status.PREFECTURE_APPROVED
            else:
                mine = ((st is Status.RETURNED and access.owns(p, org))
                        or (st is Status.SUBMITTED and access.can_review_as_prefecture(p, org)))
            if mine:
                waiting.append(_ref(ls, o))
        cond = _recipient_filter(p)
        notes: list[NotificationView] = []
        unread = 0
        if cond is not None:
            rows = s.execute(select(Notification, LocalStrategy.revision, LocalStrategy.status,
                                    LocalStrategy.org_unit_id, OrgUnit.code)
                             .join(LocalStrategy, LocalStrategy.id == Notification.strategy_id)
                             .join(OrgUnit, OrgUnit.id == LocalStrategy.org_unit_id)
                             .where(cond).order_by(Notification.id.desc()))
            seen: set[int] = set()   # strategies with a newer request to the same reader
            for n, rev, status, owner_id, code in rows:
                if _request_done(n, Status(status), owner_id, newer=n.strategy_id in seen):
                    continue   # a request for something already done (or asked again since) is gone
                seen.add(n.strategy_id)
                notes.append(NotificationView(n.id, n.at, n.message, code, rev, n.read_at is not None))
                if len(notes) >= limit:
                    break       # newest first: what is left is older than anything the page shows
            # counted from the list the page shows, so that the count is the number of its items
            unread = sum(1 for n in notes if not n.read)
        counts: dict[str, int] = {}
        for r in waiting:
            counts[r.status.value] = counts.get(r.status.value, 0) + 1
        practices = tuple(waiting_for(s, p))
    desk = _desk_notices(uow, p, limit)
    return Inbox(tuple(waiting), tuple(notes), unread, counts, practices, desk, sum(1 for n in desk if not n.read))


def _desk_notices(uow: UnitOfWork, p: Principal, limit: int) -> tuple[Any, ...]:
    """The consultation desk's notices addressed to the principal (its offices', the national
    desk's for its members, its local government's), newest first: services.consult.desk decides
    who receives what. None on a database whose desk is not set up yet (before db init)."""
    from digiden.services.consult import desk
    try:
        return tuple(desk.notices(uow.for_reading(), p, limit=limit))
    except NotFound:
        return ()


def _has_desk_inbox(uow: UnitOfWork, p: Principal) -> bool:
    """Whether the desk addresses notices to the principal: a local government's staff, a
    responder of an office, the national desk."""
    from digiden.domain.consult import is_national_desk
    from digiden.services.consult import offices
    if p.org_unit_id is not None:
        return True
    with uow.for_reading() as u:
        d = offices.desk_of(u.session, p)
    return is_national_desk(p, d) or bool(d.office_ids)


def mark_read(uow: UnitOfWork, p: Principal, *, now: datetime, ids: Sequence[int] | None = None,
              desk_ids: Sequence[int] | None = None) -> int:
    """Mark the principal's messages read: all of them (the strategies' and the consultation
    desk's) when neither ``ids`` nor ``desk_ids`` is given, else the given ones of each. Others'
    are untouched."""
    require_signed_in(p, "受信箱を使うにはサインインしてください")
    cond = _recipient_filter(p)
    desk_inbox = _has_desk_inbox(uow, p)
    if (cond is None and not desk_inbox) or not p.can_write_at_all:
        raise PermissionDenied("no inbox", message_ja="受信箱がありません")
    every = ids is None and desk_ids is None
    marked = 0
    if desk_inbox and (every or desk_ids is not None):
        from digiden.services.consult import desk
        marked += desk.mark_notices_read(uow, p, now=now, ids=None if every else list(desk_ids or ()))
    if cond is None or (not every and ids is None):
        return marked
    with uow:
        s = uow.session
        q = select(Notification).where(cond, Notification.read_at.is_(None))
        if ids is not None:
            q = q.where(Notification.id.in_(list(ids)))
        n = 0
        for note in s.scalars(q):
            note.read_at = now
            n += 1
        if n:
            audit.record(s, actor=p.name, action="read", entity="notification", entity_key=str(n), at=now,
                         org_unit_id=p.org_unit_id, summary=f"通知を既読にしました（{n}件）")
        uow.commit()
        return n + marked
@dataclass(frozen=True)
class Choices:
    """What the edit form offers: the strategy's fields, model types and national KPIs."""

    areas: tuple[tuple[str, str], ...]
    model_types: tuple[tuple[str, str], ...]
    kpis: tuple[tuple[str, str], ...]


def choices(uow: UnitOfWork) -> Choices:
    with uow:
        s = uow.session
        return Choices(
            tuple((c, n) for c, n in s.execute(select(Area.code, Area.name).order_by(Area.position, Area.id))),
            tuple((c, n) for c, n in s.execute(select(ModelType.code, ModelType.name).order_by(ModelType.position))),
            tuple((c, n) for c, n in s.execute(select(Kpi.code, Kpi.name).order_by(Kpi.position))))


def blank_input(org_name: str, fiscal_year: int) -> dict[str, Any]:
    return {"title": f"{org_name} デジタル田園都市国家構想総合戦略", "fiscal_year": str(fiscal_year), "vision": "",
            "model_types": [], "issues": [], "measures": [], "kpis": []}


def editable_start(uow: UnitOfWork, p: Principal, org_code: str, *, fiscal_year: int) -> tuple[dict[str, Any], int]:
    """What the edit form starts from: the open revision (and its version), or a copy of the
    newest revision for a new one (version 0), or a blank strategy."""
    with uow:
        s = uow.session
        o = _org(s, org_code)
        _require_edit(p, o)
        # Locked until commit (PostgreSQL; SQLite's writer lock already serialises), so a second
        # editor waits here and then sees the version the first one saved.
        latest = s.scalars(select(LocalStrategy).where(LocalStrategy.org_unit_id == o.id)
                           .order_by(LocalStrategy.revision.desc()).limit(1).with_for_update()).one_or_none()
        if latest is None:
            return blank_input(o.full_name, fiscal_year), 0
        d = _detail(s, p, o, latest)
        if Status(latest.status).editable:
            return input_of(d), latest.version
        if Status(latest.status) is not Status.ACCEPTED:
            raise Conflict("the current revision is under review", message_ja=(
                f"第{latest.revision}版は審査中（{Status(latest.status).label_ja}）のため編集できません"),
                field="status")
        start = input_of(d)
        start["fiscal_year"] = str(max(fiscal_year, latest.fiscal_year))
        return start, 0
