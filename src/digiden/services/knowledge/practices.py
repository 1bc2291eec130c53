"""Good practices (優良事例): proposing, reviewing before publishing, importing from a file, and
their spread (横展開: which local governments adopted them). Access is decided here."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain import practice as workflow
from digiden.domain.access import PracticeReach, Principal, require
from digiden.domain.codes import normalize_code
from digiden.domain.cp932 import from_cp932
from digiden.domain.errors import Conflict, InvalidInput, NotFound
from digiden.domain.events import PracticeChanged, PracticePublished, PracticeWithdrawn
from digiden.domain.periods import fiscal_year_field
from digiden.domain.quantities import format_quantity, parse_quantity
from digiden.domain.text import bounded
from digiden.services import audit
from digiden.services.common import org_ref
from digiden.services.data.imports.readers import detect_encoding
from digiden.services.registry.localgov import resolve_org
from digiden.services.uow import UnitOfWork
from digiden.shapes import knowledge as shapes
from digiden.store.models import (
    Adoption,
    Area,
    Measure,
    ModelType,
    OrgUnit,
    Practice,
    PracticeMeasure,
    PracticeModelType,
    PracticeOrgUnit,
)

TITLE_MAX = 200
TEXT_MAX = 4000
MAX_IMPORT_ROWS = 2000


# ---------------------------------------------------------------- input

@dataclass(frozen=True)
class PracticeIn:
    title: str
    org_units: tuple[str, ...]
    field: str | None
    model_types: tuple[str, ...]
    problem: str
    solution: str
    results: str
    fy_from: int | None
    fy_to: int | None
    support_text: str
    measures: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]   # (title, url)
    partners: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A result with its number: 利用者数 1,200人 (2024年度)."""

    label: str
    value: float
    unit: str
    qualifier: str
    year: int | None

    def as_dict(self) -> dict[str, object]:
        """As stored in ``practice.result_figures`` (and shown by the API: shapes.Figure)."""
        return {"label": self.label, "value": self.value, "unit": self.unit, "qualifier": self.qualifier,
                "fiscal_year": self.year}

    @property
    def display(self) -> str:
        text = format_quantity(self.value, self.unit, self.qualifier)
        return f"{self.label} {text}" + (f"（{self.year}年度）" if self.year else "")


def _figures(value: object) -> tuple[Figure, ...]:
    """Result figures as a list of {label, value, unit?, fiscal_year?} or, in a CSV cell or the
    CLI, as 「利用者数=1,200人@2024; 作業時間=30%減」 (the year after @ is optional)."""
    items: list[Any]
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = []
        for part in value.replace("；", ";").split(";"):
            if not part.strip():
                continue
            label, sep, rest = part.partition("=")
            number, _, when = rest.partition("@")
            items.append({"label": label, "value": number, "fiscal_year": when} if sep else {"label": part})
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        items = [value]
    out = []
    for i, it in enumerate(items[:20]):
        w = f"figures[{i}]"
        if not isinstance(it, Mapping):
            raise InvalidInput(f"{w} must be a mapping", field=w,
                               message_ja=f"成果の数値{i + 1}の形式が正しくありません")
        label = bounded(it.get("label"), 100, field=f"{w}.label", label_ja=f"成果の数値{i + 1}の項目名",
                        required=True)
        raw = it.get("value")
        if raw is None or str(raw).strip() == "":
            raise InvalidInput(f"{w}.value is required", field=f"{w}.value",
                               message_ja=f"成果の数値{i + 1}（{label}）の値を「項目名=値」の形で入力してください")
        q = parse_quantity(str(raw), field=f"{w}.value")
        if q.value is None:
            raise InvalidInput(f"{w}.value: a number", field=f"{w}.value",
                               message_ja=f"成果の数値{i + 1}（{label}）は数値で入力してください")
        unit = str(it.get("unit") or q.unit or "")
        year = fiscal_year_field(it.get("fiscal_year"), f"{w}.fiscal_year", f"成果の数値{i + 1}の年度")
        out.append(Figure(label, q.value, bounded(unit, 16, field=f"{w}.unit", label_ja="単位"),
                          q.qualifier.value, year))
    return tuple(out)


def _codes(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts = value.replace("；", ";").replace("、", ";").replace(",", ";").split(";")
    elif isinstance(value, Sequence):
        parts = [str(v) for v in value]
    else:
        parts = [str(value)]
    return tuple(p.strip() for p in parts if p.strip())


def _sources(value: object) -> tuple[tuple[str, str], ...]:
    out = []
    items: list[Any]
    if isinstance(value, str):
        items = [v for v in value.replace("；", ";").split(";") if v.strip()]
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        items = []
    for i, v in enumerate(items):
        if isinstance(v, Mapping):
            title, url = str(v.get("title") or "").strip(), str(v.get("url") or "").strip()
        else:
            text = str(v).strip()
            title, url = (text, text) if text.startswith("http") else (text, "")
        if url and not url.startswith(("http://", "https://")):
            raise InvalidInput(f"sources[{i}].url must start with http(s)://",
                               message_ja=f"出典{i + 1}のURLは http:// か https:// で始めてください",
                               field=f"sources[{i}].url")
        if title or url:
            out.append((bounded(title or url, 300, field=f"sources[{i}].title", label_ja=f"出典{i + 1}"),
                        bounded(url, 500, field=f"sources[{i}].url", label_ja=f"出典{i + 1}のURL")))
    return tuple(out)


def parse_input(doc: Mapping[str, Any]) -> PracticeIn:
    """Check a practice as the form, the API or an import row gives it."""
    if not isinstance(doc, Mapping):
        raise InvalidInput("a practice is a mapping", message_ja="事例の形式が正しくありません")
    fy_from = fiscal_year_field(doc.get("fy_from"), "fy_from", "開始年度")
    fy_to = fiscal_year_field(doc.get("fy_to"), "fy_to", "終了年度")
    if fy_from and fy_to and fy_to < fy_from:
        raise InvalidInput("fy_to is before fy_from", message_ja="終了年度が開始年度より前です", field="fy_to")
    units = _codes(doc.get("org_units"))
    if not units:
        raise InvalidInput("org_units: at least one local government code",
                           message_ja="実施団体（団体コード）を1つ以上入力してください", field="org_units")
    return PracticeIn(
        title=bounded(doc.get("title"), TITLE_MAX, field="title", label_ja="事例の名称", required=True),
        org_units=units,
        field=str(doc.get("field") or "").strip() or None,
        model_types=_codes(doc.get("model_types")),
        problem=bounded(doc.get("problem"), TEXT_MAX, field="problem", label_ja="課題", required=True),
        solution=bounded(doc.get("solution"), TEXT_MAX, field="solution", label_ja="デジタルによる解決策",
                         required=True),
        results=bounded(doc.get("results"), TEXT_MAX, field="results", label_ja="成果"),
        fy_from=fy_from, fy_to=fy_to,
        support_text=bounded(doc.get("support"), 1000, field="support", label_ja="活用した国の支援"),
        measures=_codes(doc.get("measures")),
        sources=_sources(doc.get("sources")),
        partners=tuple(bounded(p, 100, field="partners", label_ja="連携先") for p in _codes(doc.get("partners"))),
        figures=_figures(doc.get("figures")),
    )


# ---------------------------------------------------------------- views

@dataclass(frozen=True)
class AdoptionView:
    code: str
    name: str
    fiscal_year: int
    adaptation: str
    result: str
    recorded_by: str
    lat: float | None
    lng: float | None
    synthetic: bool


@dataclass(frozen=True)
class PracticeView:
    code: str
    title: str
    status: workflow.Status
    origin: str
    place: str
    org_units: tuple[tuple[str, str, float | None, float | None], ...]   # code, name, lat, lng
    field: tuple[str, str] | None
    model_types: tuple[tuple[str, str], ...]
    problem: str
    solution: str
    results: str
    fy_from: int | None
    fy_to: int | None
    support_text: str
    measures: tuple[tuple[str, str], ...]
    sources: tuple[tuple[str, str], ...]
    partners: tuple[str, ...]
    figures: tuple[Figure, ...]
    adoptions: tuple[AdoptionView, ...]
    review_comment: str
    created_by: str
    version: int
    synthetic: bool

    @property
    def status_label(self) -> str:
        return self.status.label_ja

    def as_dict(self) -> dict[str, object]:
        return shapes.Practice.model_validate(self).model_dump(mode="json")


def place_of(s: Session, practice_ids: list[int]) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    for pid, name in s.execute(select(PracticeOrgUnit.practice_id, OrgUnit.full_name)
                               .join(OrgUnit, OrgUnit.id == PracticeOrgUnit.org_unit_id)
                               .where(PracticeOrgUnit.practice_id.in_(practice_ids))
                               .order_by(OrgUnit.code)):
        out.setdefault(pid, []).append(name)
    return {k: "・".join(v) for k, v in out.items()}


def _units_of(s: Session, p: Practice) -> list[OrgUnit]:
    return list(s.scalars(select(OrgUnit).join(PracticeOrgUnit, PracticeOrgUnit.org_unit_id == OrgUnit.id)
                          .where(PracticeOrgUnit.practice_id == p.id).order_by(OrgUnit.code)))


def _visible(p: Practice, principal: Principal, units: list[OrgUnit]) -> bool:
    return access.can_see_practice(principal, workflow.Status(p.status), [org_ref(u) for u in units], p.created_by)


def visible_to(reach: PracticeReach) -> ColumnElement[bool]:
    """The SQL filter of the practices a principal may list: ``PracticeReach.sees`` read as
    SQL, field by field (tests/services/test_practice_visibility.py holds the two together)."""
    if reach.everything:
        return true()
    seen: list[ColumnElement[bool]] = [Practice.status.in_(sorted(s.value for s in reach.public))]
    if reach.author is not None:
        seen.append(Practice.created_by == reach.author)
    places: list[ColumnElement[bool]] = []
    if reach.org_unit_id is not None:
        places.append(OrgUnit.id == reach.org_unit_id)
    if reach.prefecture_code is not None:
        places.append((OrgUnit.prefecture_code == reach.prefecture_code) & (OrgUnit.code != access.NATION_CODE))
    if places:
        seen.append(Practice.id.in_(select(PracticeOrgUnit.practice_id)
                                    .join(OrgUnit, OrgUnit.id == PracticeOrgUnit.org_unit_id).where(or_(*places))))
    return or_(false(), *seen)


def _load(s: Session, code: str, principal: Principal, *, lock: bool = False) -> tuple[Practice, list[OrgUnit]]:
    """The practice if the principal may see it; ``lock`` holds its row until commit."""
    q = select(Practice).where(Practice.code == code)
    p = s.scalars(q.with_for_update() if lock else q).one_or_none()
    units = _units_of(s, p) if p else []
    if p is None or not _visible(p, principal, units):
        raise NotFound(f"no practice {code!r}", message_ja=f"事例「{code}」は見つかりません")
    return p, units


def _view(s: Session, p: Practice, units: list[OrgUnit]) -> PracticeView:
    field = s.get(Area, p.area_id) if p.area_id else None
    types = s.execute(select(ModelType.code, ModelType.name)
                      .join(PracticeModelType, PracticeModelType.model_type_id == ModelType.id)
                      .where(PracticeModelType.practice_id == p.id).order_by(ModelType.position)).all()
    measures = s.execute(select(Measure.code, Measure.title)
                         .join(PracticeMeasure, PracticeMeasure.measure_id == Measure.id)
                         .where(PracticeMeasure.practice_id == p.id).order_by(Measure.position)).all()
    adoptions = s.execute(select(Adoption, OrgUnit).join(OrgUnit, OrgUnit.id == Adoption.org_unit_id)
                          .where(Adoption.practice_id == p.id)
                          .order_by(Adoption.fiscal_year, OrgUnit.code)).all()
    return PracticeView(
        p.code, p.title, workflow.Status(p.status), p.origin, "・".join(u.full_name for u in units) or (p.place or ""),
        tuple((u.code, u.full_name, u.lat, u.lng) for u in units),
        (field.code, field.name) if field else None,
        tuple((c, n) for c, n in types), p.problem, p.solution, p.results, p.fy_from, p.fy_to,
        p.support_text, tuple((c, t) for c, t in measures),
        tuple((str(x.get("title", "")), str(x.get("url", ""))) for x in p.sources),
        tuple(str(x) for x in p.partners),
        tuple(Figure(str(f["label"]), float(f["value"]), str(f.get("unit", "")), str(f.get("qualifier", "exact")),
                     f.get("fiscal_year")) for f in p.result_figures),
        tuple(AdoptionView(u.code, u.full_name, a.fiscal_year, a.adaptation, a.result, a.recorded_by,
                           u.lat, u.lng, a.synthetic) for a, u in adoptions),
        p.review_comment, p.created_by, p.version, p.synthetic)


def get(uow: UnitOfWork, principal: Principal, code: str) -> PracticeView:
    with uow:
        p, units = _load(uow.session, code, principal)
        return _view(uow.session, p, units)


@dataclass(frozen=True)
class PracticeRow:
    code: str
    title: str
    place: str
    field: str
    status: workflow.Status
    adoptions: int
    synthetic: bool

    @property
    def status_label(self) -> str:
        return self.status.label_ja

    def as_dict(self) -> dict[str, object]:
        """For the local inbox's JSON (services.local)."""
        return shapes.PracticeRow.model_validate(self).model_dump(mode="json")


def list_practices(uow: UnitOfWork, principal: Principal, *, field: str | None = None,
                   model_type: str | None = None, status: str | None = None,
                   limit: int = 500, offset: int = 0) -> list[PracticeRow]:
    """Published practices (and the unpublished ones this principal may see: its own drafts,
    its jurisdiction's submissions; everything waiting for review for the nation)."""
    with uow:
        s = uow.session
        q = select(Practice).order_by(Practice.origin != "seed", Practice.position, Practice.id)
        if status:
            q = q.where(Practice.status == workflow.Status.parse(status).value)
        if field:
            q = q.where(Practice.area_id.in_(select(Area.id).where(
                (Area.code == field) | Area.code.like(field + ".%"))))
        if model_type:
            q = q.where(Practice.id.in_(select(PracticeModelType.practice_id).join(
                ModelType, ModelType.id == PracticeModelType.model_type_id).where(ModelType.code == model_type)))
        reach = access.practice_reach(principal)
        if not reach.everything:
            q = q.where(visible_to(reach))
        rows = list(s.scalars(q.offset(max(0, offset)).limit(limit)))
        places = place_of(s, [p.id for p in rows])
        counts = dict(s.execute(select(Adoption.practice_id, func.count())
                                .where(Adoption.practice_id.in_([p.id for p in rows]))
                                .group_by(Adoption.practice_id)).all())
        areas = {a.id: a.name for a in s.scalars(select(Area))}
        return [PracticeRow(p.code, p.title, places.get(p.id, p.place or ""), areas.get(p.area_id or 0, ""),
                            workflow.Status(p.status), counts.get(p.id, 0), p.synthetic) for p in rows]


def waiting_for(s: Session, principal: Principal) -> list[PracticeRow]:
    """Practices waiting for this principal: submitted ones for the nation to review; returned
    ones for the staff of their local governments (or the account that proposed them) to fix."""
    if principal.is_admin:
        rows = list(s.scalars(select(Practice).where(Practice.status == workflow.WAITING_FOR_REVIEW.value)
                              .order_by(Practice.updated_at)))
    elif principal.signed_in:
        mine = select(PracticeOrgUnit.practice_id).where(PracticeOrgUnit.org_unit_id == (principal.org_unit_id or -1))
        rows = list(s.scalars(select(Practice).where(Practice.status == workflow.WAITING_FOR_AUTHORS.value)
                              .where(Practice.id.in_(mine) | (Practice.created_by == principal.name))
                              .order_by(Practice.updated_at)))
    else:
        return []
    places = place_of(s, [p.id for p in rows])
    areas = {a.id: a.name for a in s.scalars(select(Area))}
    return [PracticeRow(p.code, p.title, places.get(p.id, p.place or ""), areas.get(p.area_id or 0, ""),
                        workflow.Status(p.status), 0, p.synthetic) for p in rows]


# ---------------------------------------------------------------- writing

class _Lookup:
    """Codes and names → records, asked once per import (or per form) instead of per row."""

    def __init__(self, s: Session, *, preload: bool = False) -> None:
        self.s = s
        self.units: dict[str, OrgUnit | None] = {}
        self.areas = {a.code: a for a in s.scalars(select(Area))}
        self.types: dict[str, ModelType] = {}
        for mt in s.scalars(select(ModelType)):
            self.types[mt.code] = self.types[mt.name] = mt
        self.measures: dict[str, Measure] = {}
        for m in s.scalars(select(Measure)):
            self.measures[m.code] = self.measures[m.title] = m
        if preload:
            self.units.update({o.code: o for o in s.scalars(select(OrgUnit))})
        self.position = s.scalar(select(func.max(Practice.position))) or 0

    def unit(self, code: str) -> OrgUnit | None:
        if code not in self.units:
            self.units[code] = self.s.scalars(select(OrgUnit).where(OrgUnit.code == code)).one_or_none()
        return self.units[code]


def _resolve(look: _Lookup, data: PracticeIn) -> tuple[list[OrgUnit], Area | None, list[ModelType], list[Measure]]:
    units = []
    for i, code in enumerate(data.org_units):
        try:
            c = normalize_code(code)
        except InvalidInput as e:
            raise InvalidInput(f"org_units[{i}]: {e.message}", message_ja=f"実施団体{i + 1}: {e.message_ja}",
                               field="org_units") from None
        u = look.unit(c)
        if u is None or u.kind == "nation":
            raise InvalidInput(f"org_units[{i}]: no local government {code}",
                               message_ja=f"実施団体{i + 1}: 団体コード {code} の地方公共団体はありません",
                               field="org_units")
        units.append(u)
    field = None
    if data.field:
        field = look.areas.get(data.field)
        if field is None:
            raise InvalidInput(f"field: unknown field {data.field!r}", message_ja=f"分野が不明です: {data.field}",
                               field="field")
    types = []
    for t in data.model_types:
        mt = look.types.get(t)
        if mt is None:
            raise InvalidInput(f"model_types: unknown {t!r}", message_ja=f"モデル地域の類型が不明です: {t}",
                               field="model_types")
        types.append(mt)
    measures = []
    for m in data.measures:
        ms = look.measures.get(m)
        if ms is None:
            raise InvalidInput(f"measures: unknown measure {m!r}", message_ja=f"施策が不明です: {m}",
                               field="measures")
        measures.append(ms)
    return units, field, types, measures


def snapshot(p: Practice) -> dict[str, Any]:
    return {"title": p.title, "status": p.status, "problem": p.problem, "solution": p.solution,
            "results": p.results, "figures": p.result_figures, "fy_from": p.fy_from, "fy_to": p.fy_to,
            "version": p.version}


def _apply(s: Session, p: Practice, data: PracticeIn, units: list[OrgUnit], field: Area | None,
           types: list[ModelType], measures: list[Measure], *, new: bool = False) -> None:
    p.title, p.problem, p.solution, p.results = data.title, data.problem, data.solution, data.results
    p.fy_from, p.fy_to, p.support_text = data.fy_from, data.fy_to, data.support_text
    p.area_id = field.id if field else None
    p.sources = [{"title": t, "url": u} for t, u in data.sources]
    p.partners = list(data.partners)
    p.result_figures = [f.as_dict() for f in data.figures]
    p.place = "・".join(u.full_name for u in units)
    if not new:
        for model in (PracticeModelType, PracticeOrgUnit, PracticeMeasure):
            s.query(model).filter(model.practice_id == p.id).delete()
        s.flush()
    s.add_all([PracticeOrgUnit(practice_id=p.id, org_unit_id=u.id) for u in {u.id: u for u in units}.values()])
    s.add_all([PracticeModelType(practice_id=p.id, model_type_id=t.id) for t in {t.id: t for t in types}.values()])
    s.add_all([PracticeMeasure(practice_id=p.id, measure_id=m.id) for m in {m.id: m for m in measures}.values()])


def require_may_propose(principal: Principal) -> None:
    """The form for a new practice: staff of a local government, or the nation."""
    require(principal, access.can_propose_any_practice(principal),
            message="only local-government staff or the nation propose practices",
            message_ja="事例を登録できるのは地方公共団体の職員か国の管理者です",
            sign_in_ja="事例を登録するにはログインしてください")


def _create(s: Session, principal: Principal, data: PracticeIn, look: _Lookup, *, submit: bool, now: datetime,
            synthetic: bool = False) -> Practice:
    units, field, types, measures = _resolve(look, data)
    require(principal, access.can_propose_practice(principal, [org_ref(u) for u in units]),
            message="only staff of the local governments concerned (or their prefecture, or the nation) "
                    "may propose this practice",
            message_ja="この事例を登録できるのは、実施団体・その都道府県の職員か国の管理者です",
            sign_in_ja="事例を登録するにはログインしてください")
    look.position += 1
    pos = look.position
    p = Practice(code=f"tmp-{now.timestamp()}-{pos}", title=data.title, origin="app",
                 status=workflow.created(submit=submit).value, position=pos, created_by=principal.name,
                 created_at=now, updated_at=now,
                 synthetic=synthetic or principal.synthetic)
    s.add(p)
    s.flush()
    p.code = f"p{p.id:05d}"
    _apply(s, p, data, units, field, types, measures, new=True)
    audit.record(s, actor=principal.name, action="practice.create", entity="practice", entity_key=p.code,
                 at=now, after=snapshot(p),
                 summary=f"事例「{p.title}」を{workflow.Status(p.status).label_ja}として登録しました")
    return p


def add(uow: UnitOfWork, principal: Principal, doc: Mapping[str, Any], *, submit: bool = True,
        now: datetime) -> PracticeView:
    """A new practice, as a draft or submitted for review. Published only by review."""
    data = parse_input(doc)
    with uow:
        p = _create(uow.session, principal, data, _Lookup(uow.session), submit=submit, now=now)
        uow.session.flush()
        view = _view(uow.session, p, _units_of(uow.session, p))
        uow.commit()
        return view


def update(uow: UnitOfWork, principal: Principal, code: str, doc: Mapping[str, Any], *,
           expected_version: int | None, submit: bool, now: datetime) -> PracticeView:
    """Change a draft or returned practice (or, for the nation, a published one)."""
    data = parse_input(doc)
    with uow:
        s = uow.session
        p, old_units = _load(s, code, principal, lock=True)
        units, field, types, measures = _resolve(_Lookup(s), data)
        _require_edit(principal, p, old_units + units)
        if expected_version is not None and expected_version != p.version:
            raise Conflict(f"practice {code} changed meanwhile (version {p.version})",
                           message_ja="この事例は他の人が先に更新しました。画面を読み込み直してください")
        before = snapshot(p)
        _apply(s, p, data, units, field, types, measures)
        p.status = workflow.transition(workflow.Status(p.status), workflow.edit_action(submit=submit)).value
        p.version += 1
        p.updated_at = now
        s.flush()
        audit.record(s, actor=principal.name, action="practice.update", entity="practice", entity_key=p.code,
                     at=now, before=before, after=snapshot(p), summary=f"事例「{p.title}」を更新しました")
        uow.emit(PracticeChanged(p.id))
        view = _view(s, p, _units_of(s, p))
        uow.commit()
        return view


def _require_edit(principal: Principal, p: Practice, units: list[OrgUnit]) -> None:
    require(principal, access.can_edit_practice(principal, workflow.Status(p.status), [org_ref(u) for u in units]),
            message="this practice cannot be edited by you now",
            message_ja="この事例は今は編集できません（審査中・公開済みの事例は国の管理者のみ）",
            sign_in_ja="事例を編集するにはログインしてください")


def editable(uow: UnitOfWork, principal: Principal, code: str) -> PracticeView:
    """A practice for its edit form: refused (403) unless this principal may change it now."""
    with uow:
        s = uow.session
        p, units = _load(s, code, principal)
        _require_edit(principal, p, units)
        return _view(s, p, units)


@dataclass(frozen=True)
class Allowed:
    """What the principal may do with one practice now, for showing the right forms (the
    services check again when the form comes back)."""

    edit: bool
    review: bool
    adopt_as: str | None     # the local government the adoption form starts with; None: no form
    review_actions: tuple[workflow.Action, ...] = ()   # the review steps possible now (for the nation)


def allowed(uow: UnitOfWork, principal: Principal, code: str) -> Allowed:
    with uow:
        p, units = _load(uow.session, code, principal)
        status = workflow.Status(p.status)
        adopt = status is workflow.Status.PUBLISHED and access.can_record_any_adoption(principal)
        review = access.can_review_practice(principal)
        return Allowed(access.can_edit_practice(principal, status, [org_ref(u) for u in units]),
                       review, (principal.org_code or "") if adopt else None,
                       workflow.review_actions(status) if review else ())


def review(uow: UnitOfWork, principal: Principal, code: str, action: str, comment: str = "", *,
           now: datetime) -> PracticeView:
    """publish | return (comment required) | unpublish (comment required): the review steps of
    ``domain.practice.TRANSITIONS``."""
    comment = bounded(comment, 2000, field="comment", label_ja="コメント")
    with uow:
        s = uow.session
        p, units = _load(s, code, principal, lock=True)
        require(principal, access.can_review_practice(principal),
                message="only the national administrator reviews practices",
                message_ja="事例の審査は国の管理者が行います", sign_in_ja="審査するにはログインしてください")
        step = workflow.Action.parse_review(action)
        before_status = workflow.Status(p.status)
        new = workflow.transition(before_status, step)
        if step.needs_comment and not comment:
            raise InvalidInput("a comment is required", message_ja="理由（コメント）を入力してください",
                               field="comment")
        before = snapshot(p)
        p.status = new.value
        p.review_comment = comment
        p.updated_at = now
        s.flush()
        if new is workflow.Status.PUBLISHED:
            uow.emit(PracticePublished(p.id))
        elif before_status is workflow.Status.PUBLISHED:
            uow.emit(PracticeWithdrawn(p.id))
        audit.record(s, actor=principal.name, action=f"practice.{step.value}", entity="practice",
                     entity_key=p.code, at=now, before=before, after=snapshot(p) | {"comment": comment},
                     summary=f"事例「{p.title}」: {new.label_ja}")
        view = _view(s, p, units)
        uow.commit()
        return view


def record_adoption(uow: UnitOfWork, principal: Principal, code: str, *, org_code: str,
                    fiscal_year: object, adaptation: str = "", result: str = "",
                    now: datetime) -> PracticeView:
    """横展開: the local government ``org_code`` took up the practice ``code``."""
    fy_or_none = fiscal_year_field(fiscal_year, "fiscal_year", "導入年度", required=True)
    assert fy_or_none is not None
    fy: int = fy_or_none
    adaptation = bounded(adaptation, TEXT_MAX, field="adaptation", label_ja="工夫・変更点")
    result = bounded(result, TEXT_MAX, field="result", label_ja="導入の成果")
    with uow:
        s = uow.session
        p, units = _load(s, code, principal)
        if p.status != workflow.Status.PUBLISHED:
            raise Conflict("only a published practice can be adopted",
                           message_ja="横展開を記録できるのは公開済みの事例だけです")
        org = resolve_org(s, org_code)
        require(principal, access.can_record_adoption(principal, org_ref(org)),
                message="only the adopting local government, its prefecture or the nation records this",
                message_ja="横展開を記録できるのは、導入した団体・その都道府県の職員か国の管理者です",
                sign_in_ja="横展開を記録するにはログインしてください")
        if org.id in {u.id for u in units}:
            raise InvalidInput("the practice's own local government cannot adopt it",
                               message_ja="事例の実施団体自身は横展開先として登録できません", field="org_code")
        existing = s.scalars(select(Adoption).where(Adoption.practice_id == p.id,
                                                    Adoption.org_unit_id == org.id)).one_or_none()
        before = None
        if existing is None:
            existing = Adoption(practice_id=p.id, org_unit_id=org.id, fiscal_year=fy, recorded_by=principal.name,
                                recorded_at=now, synthetic=principal.synthetic)
            s.add(existing)
        else:
            before = {"fiscal_year": existing.fiscal_year, "adaptation": existing.adaptation,
                      "result": existing.result}
        existing.fiscal_year, existing.adaptation, existing.result = fy, adaptation, result
        s.flush()
        audit.record(s, actor=principal.name, action="practice.adopt", entity="practice", entity_key=p.code,
                     at=now, before=before, org_unit_id=org.id,
                     after={"org_unit": org.code, "fiscal_year": fy, "adaptation": adaptation, "result": result},
                     summary=f"{org.full_name}が事例「{p.title}」を導入（横展開）")
        view = _view(s, p, units)
        uow.commit()
        return view


# ---------------------------------------------------------------- import

@dataclass(frozen=True)
class ImportResult:
    created: tuple[str, ...]
    status: str


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM) or CP932 — whichever decodes the whole file."""
    enc = detect_encoding(raw)
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError:
        raise InvalidInput("cannot decode the file as UTF-8 or CP932",
                           message_ja="文字コードを判別できません（UTF-8 と CP932 に対応しています）") from None
    return from_cp932(text) if enc == "cp932" else text


def read_rows(name: str, raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(where, mapping) per practice from a CSV (UTF-8 or CP932), JSON or YAML file."""
    lower = name.lower()
    if lower.endswith((".json", ".yaml", ".yml")):
        text = decode_text(raw)
        try:
            doc = json.loads(text) if lower.endswith(".json") else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as e:
            raise InvalidInput(f"{name}: cannot read: {e}", message_ja=f"{name} を読み込めません: {e}") from None
        items = doc.get("practices") if isinstance(doc, Mapping) else doc
        if not isinstance(items, list):
            raise InvalidInput(f"{name}: expected a list of practices",
                               message_ja=f"{name}: 事例の一覧（practices:）が見つかりません")
        return [(f"{i + 1}件目", it) for i, it in enumerate(items)]
    if lower.endswith(".csv"):
        text = decode_text(raw)
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in ("title", "org_units", "problem", "solution") if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{name}: missing columns {missing}",
                               message_ja=f"{name}: 必要な列がありません: {'、'.join(missing)}")
        return [(f"{i}行目", dict(r)) for i, r in enumerate(reader, start=2)]
    raise InvalidInput(f"{name}: use .csv, .json or .yaml",
                       message_ja=f"{name}: CSV・JSON・YAMLのいずれかのファイルにしてください")


def import_file(uow: UnitOfWork, principal: Principal, name: str, raw: bytes, *, publish: bool = False,
                now: datetime, synthetic: bool = False) -> ImportResult:
    """All or nothing: one bad row (named with its row and column) and nothing is written."""
    rows = read_rows(name, raw)
    if not rows:
        raise InvalidInput(f"{name}: no practices", message_ja=f"{name}: 事例が1件もありません")
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"{name}: at most {MAX_IMPORT_ROWS} practices",
                           message_ja=f"{name}: 一度に取り込めるのは{MAX_IMPORT_ROWS}件までです")
    if publish:
        require(principal, access.can_review_practice(principal),
                message="only the national administrator publishes", message_ja="公開できるのは国の管理者です",
                sign_in_ja="取り込むにはログインしてください")
    parsed = []
    for where, row in rows:
        try:
            parsed.append((where, parse_input(row)))
        except InvalidInput as e:
            col = f"「{e.field}」列" if e.field else ""
            raise InvalidInput(f"{name} {where} {e.field or ''}: {e.message}",
                               message_ja=f"{name} {where}{col}: {e.message_ja}", field=e.field) from None
    created = []
    with uow:
        s = uow.session
        look = _Lookup(s, preload=len(parsed) > 20)
        for where, data in parsed:
            try:
                p = _create(s, principal, data, look, submit=True, now=now, synthetic=synthetic)
            except InvalidInput as e:
                col = f"「{e.field}」列" if e.field else ""
                raise InvalidInput(f"{name} {where} {e.field or ''}: {e.message}",
                                   message_ja=f"{name} {where}{col}: {e.message_ja}",
                                   field=e.field) from None
            if publish:
                p.status = workflow.transition(workflow.Status(p.status), workflow.Action.PUBLISH).value
            created.append(p)
        s.flush()
        if publish:
            for p in created:
                uow.emit(PracticePublished(p.id))
        audit.record(s, actor=principal.name, action="practice.import", entity="practice", entity_key=name,
                     at=now, after={"created": len(created), "published": publish},
                     summary=f"{name} から事例を{len(created)}件取り込みました")
        uow.commit()
        return ImportResult(tuple(p.code for p in created), (workflow.Status.PUBLISHED if publish
                                                             else workflow.created(submit=True)).value)
