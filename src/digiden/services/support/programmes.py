"""Support programmes (制度) and their calls for proposals (公募) with the rubric; the packaged
programmes of the seed and the published selections loaded with them. Calls are public (they
are announcements); writing any of this is the national administrator's."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import Principal
from digiden.domain.calendar import JST, japan_date
from digiden.domain.errors import Conflict, InvalidInput, NotFound
from digiden.domain.support import (
    ORG_KINDS_JA,
    CallTerms,
    Criterion,
    ProgrammeKind,
    Rubric,
    SelectionState,
    call_phase,
    check_call,
    check_rubric,
    selection_transition,
)
from digiden.domain.text import bounded
from digiden.services import audit
from digiden.services.common import LoadReport, data_path, set_fields
from digiden.services.uow import UnitOfWork
from digiden.store.models import (
    Kpi,
    ModelType,
    OrgUnit,
    SupportApplication,
    SupportCall,
    SupportCriterion,
    SupportProgramme,
    SupportReview,
    SupportSelection,
    SupportSelectionMember,
)

PROGRAMMES_FILE = "support_programmes.yaml"
MAX_CRITERIA = 30
MAX_AMOUNT = 10**15          # yen; far above any national budget, inside BIGINT


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class ProgrammeView:
    code: str
    name: str
    kind: str
    kind_ja: str
    ministry: str
    model_type: str | None
    national_kpi: str | None
    origin: str
    selections: int


@dataclass(frozen=True)
class CriterionView:
    code: str
    name: str
    description: str
    weight: float
    max_points: float
    regional_collaboration: bool


@dataclass(frozen=True)
class CallView:
    id: int
    programme: str
    programme_name: str
    kind: str
    round: int
    title: str
    opens_at: datetime
    closes_at: datetime
    phase: str
    budget: int | None
    per_application_cap: int | None
    eligible_kinds: tuple[str, ...]
    joint_allowed: bool
    joint_bonus: float
    criteria: tuple[CriterionView, ...]
    decided_at: datetime | None
    published_at: datetime | None
    synthetic: bool
    version: int = 1          # changes with the rubric, the decision and publication (stale-save check)

    @property
    def terms(self) -> CallTerms:
        return CallTerms(self.round, self.opens_at, self.closes_at, self.budget, self.per_application_cap,
                         frozenset(self.eligible_kinds), self.joint_allowed, self.joint_bonus)

    @property
    def rubric(self) -> Rubric:
        return Rubric(tuple(Criterion(c.code, c.name, c.weight, c.max_points, c.regional_collaboration,
                                      c.description) for c in self.criteria), self.joint_bonus)


def aware(t: datetime) -> datetime:
    """SQLite gives stored times back without their offset; they are UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def call_view(s: Session, c: SupportCall, now: datetime | None = None) -> CallView:
    prog = s.get(SupportProgramme, c.programme_id)
    assert prog is not None
    opens, closes = aware(c.opens_at), aware(c.closes_at)
    terms = CallTerms(c.round, opens, closes, c.budget, c.per_application_cap, frozenset(c.eligible_kinds),
                      c.joint_allowed, c.joint_bonus)
    return CallView(c.id, prog.code, prog.name, prog.kind, c.round, c.title, opens, closes,
                    call_phase(terms, now) if now is not None else "",
                    c.budget, c.per_application_cap, tuple(c.eligible_kinds), c.joint_allowed, c.joint_bonus,
                    tuple(CriterionView(k.code, k.name, k.description, k.weight, k.max_points,
                                        k.regional_collaboration) for k in c.criteria),
                    aware(c.decided_at) if c.decided_at else None,
                    aware(c.published_at) if c.published_at else None, c.synthetic, c.version)


# ---------------------------------------------------------------- input


YEARS = (2000, 2100)      # a call's times: anything outside is a typing mistake (and 9999 broke pages)


def parse_time(value: object, *, field: str, label_ja: str, end_of_day: bool = False) -> datetime:
    """A time as an administrator types it: ISO 8601 with an offset, or a date / date and time
    without one, which is Japan time (a date alone is the start of that day, or its last minute
    for a deadline). Returned in UTC, as every time is stored: SQLite keeps a time's digits and
    not its offset, so 23:59 JST stored as typed came back as 23:59 UTC, nine hours late."""
    if isinstance(value, datetime):
        t = value if value.tzinfo else value.replace(tzinfo=JST)
    elif isinstance(value, date):
        t = datetime.combine(value, time(23, 59) if end_of_day else time(0, 0), JST)
    else:
        text = str(value or "").strip().replace("/", "-")
        if not text:
            raise InvalidInput(f"{field} is required", message_ja=f"{label_ja}を入力してください", field=field)
        try:
            if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
                d = date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
                t = datetime.combine(d, time(23, 59) if end_of_day else time(0, 0), JST)
            else:
                t = datetime.fromisoformat(text)
                t = t if t.tzinfo else t.replace(tzinfo=JST)
        except ValueError:
            raise InvalidInput(f"{field}: not a date or time: {text!r}",
                               message_ja=f"{label_ja}は日付または日時で入力してください（例: 2026-12-25 17:00）",
                               field=field) from None
    local = t.astimezone(JST)
    if not YEARS[0] <= local.year <= YEARS[1]:
        raise InvalidInput(f"{field}: the year must be between {YEARS[0]} and {YEARS[1]}", field=field,
                           message_ja=f"{label_ja}は{YEARS[0]}年から{YEARS[1]}年までの日時で入力してください"
                                      f"（{local.year}年が指定されました）")
    return t.astimezone(UTC)


def parse_amount(value: object, *, field: str, label_ja: str) -> int | None:
    """Yen as typed: 1,000,000 or 1000000; empty is none. Negative and zero are kept, for the
    domain rules to refuse with their own message."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: not an amount", message_ja=f"{label_ja}は円単位の整数で入力してください",
                                                      field=field)
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidInput(f"{field}: not whole yen", message_ja=f"{label_ja}は円単位の整数で入力してください",
                               field=field)
        value = int(value)
    text = str(value).strip().replace(",", "").replace("円", "")
    if not re.fullmatch(r"-?\d{1,16}", text):
        raise InvalidInput(f"{field}: not an amount: {value!r}",
                           message_ja=f"{label_ja}は円単位の整数で入力してください（例: 50,000,000）", field=field)
    n = int(text)
    if abs(n) > MAX_AMOUNT:
        raise InvalidInput(f"{field}: too large", message_ja=f"{label_ja}が大きすぎます", field=field)
    return n


def _float(value: object, *, field: str, label_ja: str, default: float | None = None) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is not None:
            return default
        raise InvalidInput(f"{field} is required", message_ja=f"{label_ja}を入力してください", field=field)
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: not a number", message_ja=f"{label_ja}は数値で入力してください", field=field)
    try:
        return float(str(value).strip()) if not isinstance(value, int | float) else float(value)
    except ValueError:
        raise InvalidInput(f"{field}: not a number", message_ja=f"{label_ja}は数値で入力してください",
                           field=field) from None


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes", "はい", "○")


def parse_criteria(items: object) -> list[Criterion]:
    if not isinstance(items, list):
        raise InvalidInput("criteria must be a list", message_ja="評価基準は一覧で指定してください", field="criteria")
    if len(items) > MAX_CRITERIA:
        raise InvalidInput("too many criteria", message_ja=f"評価基準は{MAX_CRITERIA}個までです", field="criteria")
    out = []
    for i, c in enumerate(items):
        w = f"criteria[{i}]"
        if not isinstance(c, Mapping):
            raise InvalidInput(f"{w} must be a mapping", message_ja=f"評価基準{i + 1}の形式が正しくありません", field=w)
        out.append(Criterion(
            bounded(c.get("code"), 32, field=f"{w}.code", label_ja=f"評価基準{i + 1}のコード", required=True),
            bounded(c.get("name"), 200, field=f"{w}.name", label_ja=f"評価基準{i + 1}の名称", required=True),
            _float(c.get("weight"), field=f"{w}.weight", label_ja=f"評価基準{i + 1}の重み"),
            _float(c.get("max_points"), field=f"{w}.max_points", label_ja=f"評価基準{i + 1}の満点"),
            _bool(c.get("regional_collaboration")),
            bounded(c.get("description"), 2000, field=f"{w}.description", label_ja=f"評価基準{i + 1}の説明")))
    return out


# ---------------------------------------------------------------- programmes


def _programme_view(s: Session, p: SupportProgramme) -> ProgrammeView:
    mt = s.get(ModelType, p.model_type_id) if p.model_type_id else None
    kpi = s.get(Kpi, p.kpi_id) if p.kpi_id else None
    n = s.scalar(select(func.count()).select_from(SupportSelection)
                 .where(SupportSelection.programme_id == p.id, SupportSelection.state != "cancelled")) or 0
    kind = ProgrammeKind(p.kind)
    return ProgrammeView(p.code, p.name, kind.value, kind.label_ja, p.ministry, mt.code if mt else None,
                         kpi.code if kpi else None, p.origin, n)


def list_programmes(uow: UnitOfWork) -> list[ProgrammeView]:
    """Every programme, public."""
    with uow.for_reading() as u:
        s = u.session
        return [_programme_view(s, p) for p in s.scalars(select(SupportProgramme).order_by(SupportProgramme.id))]


def programme_by_code(s: Session, code: str) -> SupportProgramme:
    p = s.scalars(select(SupportProgramme).where(SupportProgramme.code == (code or "").strip())).one_or_none()
    if p is None:
        raise NotFound(f"no programme {code!r}", message_ja=f"制度「{code}」はありません", field="programme")
    return p


def get_programme(uow: UnitOfWork, code: str) -> ProgrammeView:
    with uow.for_reading() as u:
        return _programme_view(u.session, programme_by_code(u.session, code))


def _model_type_id(s: Session, code: object) -> int | None:
    if not code:
        return None
    mt = s.scalars(select(ModelType).where(ModelType.code == str(code)).order_by(ModelType.id)).first()
    if mt is None:
        raise InvalidInput(f"unknown model type {code!r}", message_ja=f"地域ビジョンの類型「{code}」はありません",
                           field="model_type")
    return mt.id


def _kpi_id(s: Session, code: object) -> int | None:
    if not code:
        return None
    k = s.scalars(select(Kpi).where(Kpi.code == str(code))).one_or_none()
    if k is None:
        raise InvalidInput(f"unknown KPI {code!r}", message_ja=f"国のKPI「{code}」はありません", field="national_kpi")
    return k.id


def create_programme(uow: UnitOfWork, p: Principal, doc: Mapping[str, Any], *, now: datetime) -> ProgrammeView:
    """A new programme (national administrators)."""
    access.require(p, access.can_manage_programmes(p), message="only the nation manages programmes",
                   message_ja="制度を登録できるのは国の管理者だけです", sign_in_ja="制度の登録にはログインが必要です")
    code = bounded(doc.get("code"), 64, field="code", label_ja="制度のコード", required=True)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", code):
        raise InvalidInput("code: lower-case letters, digits and hyphens",
                           message_ja="制度のコードは半角英小文字・数字・ハイフンで入力してください", field="code")
    with uow:
        s = uow.session
        if s.scalars(select(SupportProgramme.id).where(SupportProgramme.code == code)).first() is not None:
            raise Conflict(f"programme {code} exists", message_ja=f"制度のコード「{code}」は既に使われています",
                                                       field="code")
        prog = SupportProgramme(
            code=code, name=bounded(doc.get("name"), 200, field="name", label_ja="制度の名称", required=True),
            kind=ProgrammeKind.parse(str(doc.get("kind") or "")).value,
            ministry=bounded(doc.get("ministry"), 100, field="ministry", label_ja="所管府省"),
            model_type_id=_model_type_id(s, doc.get("model_type")), kpi_id=_kpi_id(s, doc.get("national_kpi")),
            description=bounded(doc.get("description"), 4000, field="description", label_ja="説明"),
            origin="admin", created_by=p.name, created_at=now, synthetic=_bool(doc.get("synthetic")))
        s.add(prog)
        s.flush()
        view = _programme_view(s, prog)
        audit.record(s, actor=p.name, action="programme.create", entity="support_programme", entity_key=code,
                     at=now, after={"code": code, "name": prog.name, "kind": prog.kind},
                     summary=f"制度「{prog.name}」を登録しました")
        uow.commit()
        return view


# ---------------------------------------------------------------- calls


def create_call(uow: UnitOfWork, p: Principal, programme: str, doc: Mapping[str, Any], *, now: datetime) -> CallView:
    """A call for proposals with its rubric (national administrators). Every rule of
    ``domain.support.check_call`` and ``check_rubric`` applies; nothing is written on an error."""
    access.require(p, access.can_manage_programmes(p), message="only the nation opens calls",
                   message_ja="公募を登録できるのは国の管理者だけです", sign_in_ja="公募の登録にはログインが必要です")
    try:
        rnd = int(str(doc.get("round") or "").strip())
    except ValueError:
        raise InvalidInput("round must be a whole number", message_ja="公募の回は1以上の整数で入力してください",
                           field="round") from None
    kinds = doc.get("eligible_kinds") or list(ORG_KINDS_JA)
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    if not isinstance(kinds, list):
        raise InvalidInput("eligible_kinds must be a list", message_ja="応募できる団体区分は一覧で指定してください",
                           field="eligible_kinds")
    joint_allowed = _bool(doc.get("joint_allowed"))
    bonus = _float(doc.get("joint_bonus"), field="joint_bonus", label_ja="地域間連携の加点", default=0.0)
    terms = CallTerms(rnd, parse_time(doc.get("opens_at"), field="opens_at", label_ja="受付開始"),
                      parse_time(doc.get("closes_at"), field="closes_at", label_ja="締切", end_of_day=True),
                      parse_amount(doc.get("budget"), field="budget", label_ja="予算額"),
                      parse_amount(doc.get("per_application_cap"), field="per_application_cap",
                                   label_ja="1件あたりの上限額"),
                      frozenset(str(k) for k in kinds), joint_allowed, bonus)
    criteria = parse_criteria(doc.get("criteria") or [])
    title = bounded(doc.get("title"), 200, field="title", label_ja="公募の名称")
    with uow:
        s = uow.session
        prog = programme_by_code(s, programme)
        check_call(terms, kind=ProgrammeKind(prog.kind))
        check_rubric(criteria, joint_allowed=joint_allowed, joint_bonus=bonus)
        if s.scalars(select(SupportCall.id).where(SupportCall.programme_id == prog.id,
                                                  SupportCall.round == rnd)).first() is not None:
            raise Conflict(f"round {rnd} exists", message_ja=f"「{prog.name}」の第{rnd}回の公募は既に登録されています",
                           field="round")
        call = SupportCall(programme_id=prog.id, round=rnd, title=title or f"{prog.name} 第{rnd}回公募",
                           opens_at=terms.opens_at, closes_at=terms.closes_at, budget=terms.budget,
                           per_application_cap=terms.per_application_cap, eligible_kinds=sorted(terms.eligible_kinds),
                           joint_allowed=joint_allowed, joint_bonus=bonus, created_by=p.name, created_at=now,
                           synthetic=_bool(doc.get("synthetic")))
        call.criteria = [SupportCriterion(code=c.code, name=c.name, description=c.description, weight=c.weight,
                                          max_points=c.max_points, regional_collaboration=c.regional_collaboration,
                                          position=i) for i, c in enumerate(criteria)]
        s.add(call)
        s.flush()
        view = call_view(s, call, now)
        audit.record(s, actor=p.name, action="call.create", entity="support_call", entity_key=str(call.id), at=now,
                     after={"programme": prog.code, "round": rnd, "budget": terms.budget,
                            "closes_at": terms.closes_at.isoformat(),
                            "criteria": [{"code": c.code, "weight": c.weight, "max_points": c.max_points}
                                         for c in criteria]},
                     summary=f"公募「{call.title}」を登録しました")
        uow.commit()
        return view


def update_rubric(uow: UnitOfWork, p: Principal, call_id: int, criteria_doc: object, *, now: datetime,
                  version: int | None = None) -> CallView:
    """Replace a call's rubric, while no review has been saved. ``version`` is the call's version
    as the editor last read it: a rubric changed (or the call decided) since is refused, nothing
    written; without it nothing is checked (older clients)."""
    access.require(p, access.can_manage_programmes(p), message="only the nation edits rubrics",
                   message_ja="評価基準を変更できるのは国の管理者だけです",
                   sign_in_ja="評価基準の変更にはログインが必要です")
    criteria = parse_criteria(criteria_doc)
    with uow:
        s = uow.session
        call = s.get(SupportCall, call_id, with_for_update=True) or load_call(s, call_id)
        if version is not None and version != call.version:
            raise Conflict(f"stale: the call is at version {call.version}, you read {version}",
                           message_ja="開いた後に他の人がこの公募の評価基準を変更しました。読み込み直してから変更してください",
                           field="version", details={"current_version": call.version})
        check_rubric(criteria, joint_allowed=call.joint_allowed, joint_bonus=call.joint_bonus)
        reviewed = s.scalar(select(func.count()).select_from(SupportReview).join(
            SupportApplication, SupportApplication.id == SupportReview.application_id)
            .where(SupportApplication.call_id == call.id)) or 0
        if reviewed:
            raise Conflict("reviews exist", message_ja="審査が始まった公募の評価基準は変更できません", field="criteria")
        before = [{"code": k.code, "weight": k.weight, "max_points": k.max_points} for k in call.criteria]
        call.criteria = []
        s.flush()   # the old rows go first: a code kept would otherwise break (call_id, code) on insert
        call.criteria = [SupportCriterion(code=c.code, name=c.name, description=c.description, weight=c.weight,
                                          max_points=c.max_points, regional_collaboration=c.regional_collaboration,
                                          position=i) for i, c in enumerate(criteria)]
        call.version += 1
        s.flush()
        audit.record(s, actor=p.name, action="call.rubric", entity="support_call", entity_key=str(call.id), at=now,
                     before={"criteria": before},
                     after={"criteria": [{"code": c.code, "weight": c.weight, "max_points": c.max_points}
                                         for c in criteria]},
                     summary=f"公募「{call.title}」の評価基準を変更しました")
        view = call_view(s, call, now)
        uow.commit()
        return view


def load_call(s: Session, call_id: int) -> SupportCall:
    c = s.get(SupportCall, call_id)
    if c is None:
        raise NotFound(f"no call {call_id}", message_ja=f"公募 {call_id} はありません", field="call")
    return c


def get_call(uow: UnitOfWork, call_id: int, *, now: datetime) -> CallView:
    """A call and its rubric: public."""
    with uow.for_reading() as u:
        return call_view(u.session, load_call(u.session, call_id), now)


def list_calls(uow: UnitOfWork, *, programme: str | None = None, now: datetime) -> list[CallView]:
    with uow.for_reading() as u:
        s = u.session
        q = select(SupportCall).order_by(SupportCall.opens_at.desc(), SupportCall.id)
        if programme:
            q = q.where(SupportCall.programme_id == programme_by_code(s, programme).id)
        return [call_view(s, c, now) for c in s.scalars(q)]


# ---------------------------------------------------------------- packaged data


def load_programmes(session: Session, report: LoadReport, *, actor: str, now: datetime,
                    path: str = PROGRAMMES_FILE) -> None:
    """The seed's programmes (support_programmes.yaml) and, for those that name one, the file of
    their published selections. Refreshes what changed; audited."""
    doc = yaml.safe_load(data_path(path).read_text(encoding="utf-8"))
    created: list[str] = []
    updated: list[str] = []
    for item in doc["programmes"]:
        values = {"name": item["name"], "kind": ProgrammeKind(item["kind"]).value,
                  "ministry": item.get("ministry") or "",
                  "model_type_id": _model_type_id(session, item.get("model_type")),
                  "kpi_id": _kpi_id(session, item.get("kpi")), "description": item.get("seed_text") or "",
                  "source": "内閣官房「デジタル田園都市国家構想総合戦略の全体像」"}
        prog = session.scalars(select(SupportProgramme).where(SupportProgramme.code == item["code"])).one_or_none()
        if prog is None:
            prog = SupportProgramme(code=item["code"], origin="seed", created_by=actor, created_at=now, **values)
            session.add(prog)
            session.flush()
            report.add("support_programme", "created")
            created.append(prog.code)
        elif set_fields(prog, values):
            report.add("support_programme", "updated")
            updated.append(prog.code)
        else:
            report.add("support_programme", "unchanged")
        if item.get("selections"):
            load_published_selections(session, prog, item["selections"], report, actor=actor, now=now)
    if created or updated:
        audit.record(session, actor=actor, action="programme.load", entity="support_programme", entity_key=path,
                     at=now, after={"created": created, "updated": updated},
                     summary=f"支援制度を読み込みました（新規 {len(created)}、更新 {len(updated)}）")


@dataclass(frozen=True)
class Unmatched:
    line: int
    name: str
    reason: str


def _full_names(session: Session) -> dict[str, OrgUnit]:
    return {o.full_name: o for o in session.scalars(select(OrgUnit).where(OrgUnit.kind != "nation"))}


def read_selection_rows(session: Session, file: str) -> tuple[list[dict[str, Any]], list[Unmatched]]:
    """The rows of a published-selections file with their local governments matched by full
    name (都道府県名 + 市区町村名, as 全国地方公共団体コード spells them). A row whose lead or
    any member matches no local government is reported, never guessed."""
    orgs = _full_names(session)
    rows, unmatched = [], []
    with data_path(file).open(encoding="utf-8", newline="") as f:
        for line, r in enumerate(csv.DictReader(f), start=2):
            lead = orgs.get(r["lead_local_government"].strip())
            if lead is None:
                unmatched.append(Unmatched(line, r["lead_local_government"], "主提案団体が団体コード表にありません"))
                continue
            members: list[OrgUnit] = []
            missing = []
            for name in (n.strip() for n in r["members"].split("・") if n.strip()):
                o = orgs.get(name)
                if o is None:
                    missing.append(name)
                elif o.id != lead.id:
                    members.append(o)
            if missing:
                unmatched.append(Unmatched(line, r["lead_local_government"],
                                           f"共同提案団体が団体コード表にありません: {'、'.join(missing)}"))
                continue
            rows.append({"round": int(r["round"]), "selected_on": date.fromisoformat(r["selected_on"]),
                         "title": r["proposal_title_or_empty"].strip(), "lead": lead, "members": members,
                         "source_url": r["source_url"].strip(), "note": r["note"].strip()})
    return rows, unmatched


def load_published_selections(session: Session, prog: SupportProgramme, file: str, report: LoadReport, *,
                              actor: str, now: datetime) -> list[Unmatched]:
    rows, unmatched = read_selection_rows(session, file)
    existing = {x.key: x for x in session.scalars(select(SupportSelection).where(
        SupportSelection.programme_id == prog.id, SupportSelection.origin == "published"))}
    created = 0
    for r in rows:
        key = f"{prog.code}:r{r['round']}:{r['lead'].code}"
        values = {"round": r["round"], "selected_on": r["selected_on"], "title": r["title"],
                  "lead_org_unit_id": r["lead"].id, "source_url": r["source_url"], "note": r["note"]}
        sel = existing.get(key)
        if sel is None:
            sel = SupportSelection(key=key, programme_id=prog.id, origin="published", state="selected",
                                   created_at=now, **values)
            sel.members = [SupportSelectionMember(org_unit_id=m.id) for m in r["members"]]
            session.add(sel)
            created += 1
        else:
            changed = set_fields(sel, values)
            want = {m.id for m in r["members"]}
            if {m.org_unit_id for m in sel.members} != want:
                sel.members = [SupportSelectionMember(org_unit_id=i) for i in sorted(want)]
                changed = True
            report.add("support_selection", "updated" if changed else "unchanged")
    if created:
        report.add("support_selection", "created", created)
        audit.record(session, actor=actor, action="selection.load", entity="support_selection",
                     entity_key=file, at=now, after={"created": created, "unmatched": len(unmatched)},
                     summary=f"「{prog.name}」の公表された選定{created}件を読み込みました"
                             + (f"（団体を特定できない{len(unmatched)}行は読み込んでいません）" if unmatched else ""))
    if unmatched:
        report.add("support_selection_unmatched", "unchanged", len(unmatched))
    return unmatched


def unmatched_selection_rows(uow: UnitOfWork, file: str = "decarbonization_leading_areas.csv") -> list[Unmatched]:
    """The rows of a packaged selections file that match no local government (for the report)."""
    with uow.for_reading() as u:
        return read_selection_rows(u.session, file)[1]


# ---------------------------------------------------------------- published selections


@dataclass(frozen=True)
class SelectionView:
    key: str
    programme: str
    round: int | None
    selected_on: date
    title: str
    lead_code: str
    lead_name: str
    prefecture_code: str
    members: tuple[tuple[str, str], ...]
    state: str
    origin: str
    source_url: str
    note: str
    synthetic: bool


def list_selections(uow: UnitOfWork, programme: str) -> list[SelectionView]:
    """A programme's published selections (選定地域), public."""
    with uow.for_reading() as u:
        s = u.session
        prog = programme_by_code(s, programme)
        out = []
        for x in s.scalars(select(SupportSelection).where(SupportSelection.programme_id == prog.id)
                           .order_by(SupportSelection.selected_on, SupportSelection.id)):
            lead = s.get(OrgUnit, x.lead_org_unit_id)
            assert lead is not None
            members = tuple(sorted((o.code, o.full_name) for o in (s.get(OrgUnit, m.org_unit_id) for m in x.members)
                                   if o is not None))
            out.append(SelectionView(x.key, prog.code, x.round, x.selected_on, x.title, lead.code, lead.full_name,
                                     lead.prefecture_code, members, x.state, x.origin, x.source_url, x.note,
                                     x.synthetic))
        return out



@dataclass(frozen=True)
class SelectionCount:
    """A programme's published selections counted live, for its national KPI: the total (never
    mixed with the published national figure, which stays an observation of its own), by state,
    by prefecture of the lead, and the local governments taking part (lead or member)."""

    programme: str
    national_kpi: str | None
    total: int
    by_state: dict[str, int]
    by_prefecture: dict[str, int]
    local_governments: tuple[str, ...]


def count_selections(uow: UnitOfWork, programme: str) -> SelectionCount:
    """Count a programme's selections (cancelled ones left out), public."""
    with uow.for_reading() as u:
        s = u.session
        prog = programme_by_code(s, programme)
        kpi = s.get(Kpi, prog.kpi_id) if prog.kpi_id else None
        rows = list(s.scalars(select(SupportSelection).where(SupportSelection.programme_id == prog.id,
                                                             SupportSelection.state != "cancelled")))
        orgs = {o.id: o for o in s.scalars(select(OrgUnit).where(OrgUnit.id.in_(
            {x.lead_org_unit_id for x in rows} | {m.org_unit_id for x in rows for m in x.members})))}
        by_state: dict[str, int] = {}
        by_pref: dict[str, int] = {}
        codes: set[str] = set()
        for x in rows:
            by_state[x.state] = by_state.get(x.state, 0) + 1
            lead = orgs[x.lead_org_unit_id]
            by_pref[lead.prefecture_code] = by_pref.get(lead.prefecture_code, 0) + 1
            codes |= {lead.code} | {orgs[m.org_unit_id].code for m in x.members}
        return SelectionCount(prog.code, kpi.code if kpi else None, len(rows), by_state, dict(sorted(by_pref.items())),
                              tuple(sorted(codes)))


def set_selection_state(uow: UnitOfWork, p: Principal, key: str, state: str, *, reason: str,
                        now: datetime) -> SelectionView:
    """Record that a selected region was realised (実現) or its selection cancelled (取消), with
    the reason or source (the nation); audited."""
    access.require(p, access.can_manage_programmes(p), message="only the nation records a region's state",
                   message_ja="選定地域の状態を変更できるのは国の管理者だけです", sign_in_ja="ログインが必要です")
    text = bounded(reason, 2000, field="reason", label_ja="理由・根拠", required=True)
    try:
        new = SelectionState(state)
    except ValueError:
        raise InvalidInput(f"unknown state {state!r}", message_ja=f"不明な状態です: {state}", field="state") from None
    with uow:
        s = uow.session
        x = s.scalars(select(SupportSelection).where(SupportSelection.key == key)).one_or_none()
        if x is None:
            raise NotFound(f"no selection {key!r}", message_ja=f"選定 {key} はありません", field="selection")
        before = x.state
        x.state = selection_transition(SelectionState(x.state), new).value
        x.note = (x.note + "\n" if x.note else "") + f"{japan_date(now).isoformat()} {new.label_ja}: {text}"
        s.flush()
        audit.record(s, actor=p.name, action="selection.state", entity="support_selection", entity_key=key, at=now,
                     before={"state": before}, after={"state": x.state, "reason": text}, org_unit_id=x.lead_org_unit_id,
                     summary=f"選定地域の状態を「{SelectionState(before).label_ja}」から「{new.label_ja}」にしました")
        prog = s.get(SupportProgramme, x.programme_id)
        assert prog is not None
        uow.commit()
    return next(v for v in list_selections(uow, prog.code) if v.key == key)


@dataclass(frozen=True)
class SelectionKpi:
    """A national selection KPI counted live from a programme's published selections (the four
    programmes that select, register or adopt; the 交付金's KPI is counted from local strategies):
    the count, how many of those are synthetic, and every local government taking part by name."""

    programme: ProgrammeView
    count: SelectionCount
    synthetic: int
    local_governments: tuple[tuple[str, str], ...]    # (code, name), leads and members


def selection_kpi(uow: UnitOfWork, kpi_code: str) -> SelectionKpi | None:
    """The live count behind a national KPI, or None when no selecting programme feeds it; public."""
    with uow.for_reading() as u:
        s = u.session
        prog = s.scalars(select(SupportProgramme).join(Kpi, Kpi.id == SupportProgramme.kpi_id)
                         .where(Kpi.code == kpi_code, SupportProgramme.kind != ProgrammeKind.GRANT.value)
                         .order_by(SupportProgramme.id)).first()
        if prog is None:
            return None
        view = _programme_view(s, prog)
    live = [x for x in list_selections(uow, view.code) if x.state != "cancelled"]
    names = {x.lead_code: x.lead_name for x in live} | {c: n for x in live for c, n in x.members}
    return SelectionKpi(view, count_selections(uow, view.code), sum(1 for x in live if x.synthetic),
                        tuple(sorted(names.items())))
