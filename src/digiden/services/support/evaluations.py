"""Selected regions and their yearly evaluation (選定地域の評価・支援).

A selection decided in digiden comes from an application, and the application's KPIs (name,
unit, baseline, target, target fiscal year) are what the region committed to. Each fiscal year
the region writes a self-assessment (自己評価: staff of the lead or of a member) and the nation
writes the national assessment (国の評価: national administrators, or editors of the programme's
ministry), each with the actual value of every committed KPI. The progress of each KPI is judged
by ``domain.progress.assess`` — the very method of the national KPIs (docs/methodology.md): the
baseline as at the end of the fiscal year before the selection, one point per fiscal year at its
end, the target as a milestone at the end of its fiscal year, judged as at the end of the
report's fiscal year.

Who sees what (decided in ``domain.access``: ``may_see_evaluation``, ``may_write_evaluation``):
a submitted national assessment is public; everything else is seen by the region (lead and
members), its prefecture and national staff (administrators and ministry editors) — a draft
only by the side writing it (and the administrators). A save carries the
version the writer read; a stale one is refused (409), nothing written."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import ModelRegion, Principal
from digiden.domain.calendar import fiscal_year, fiscal_year_end, japan_date
from digiden.domain.errors import Conflict, InvalidInput, NotFound
from digiden.domain.progress import Assessment, Direction, Milestone, Point, assess
from digiden.domain.text import bounded
from digiden.services import audit
from digiden.services.common import org_ref
from digiden.services.support.programmes import aware
from digiden.services.uow import UnitOfWork
from digiden.store.models import (
    OrgUnit,
    SupportApplication,
    SupportEvaluation,
    SupportProgramme,
    SupportSelection,
)

SUMMARY_MAX = 8000
NOTE_MAX = 2000
FIRST_FY = 2000


class Kind(StrEnum):
    SELF = "self"
    NATIONAL = "national"

    @property
    def label_ja(self) -> str:
        return "自己評価" if self is Kind.SELF else "国の評価"


#: the assessor's overall judgement of the year
RATINGS_JA: dict[str, str] = {"A": "計画を上回る", "B": "おおむね計画どおり", "C": "やや遅れている", "D": "遅れている"}


# ---------------------------------------------------------------- who

def may_write(p: Principal, r: ModelRegion, kind: Kind) -> bool:
    return access.may_write_evaluation(p, r, national=kind is Kind.NATIONAL)


def may_see(p: Principal, r: ModelRegion, kind: Kind, submitted: bool) -> bool:
    return access.may_see_evaluation(p, r, national=kind is Kind.NATIONAL, submitted=submitted)


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class CommittedKpi:
    index: int
    name: str
    unit: str
    baseline: float | None
    target: float | None
    target_fy: int | None


@dataclass(frozen=True)
class KpiProgress:
    index: int
    name: str
    unit: str
    actual: float | None
    note: str
    status: str           # domain.progress.Status value
    status_ja: str
    reason: str


@dataclass(frozen=True)
class EvaluationView:
    id: int
    region: str
    fiscal_year: int
    kind: str
    kind_ja: str
    summary: str
    rating: str | None
    rating_ja: str
    state: str
    state_ja: str
    progress: tuple[KpiProgress, ...]
    created_by: str
    updated_at: datetime
    submitted_at: datetime | None
    version: int
    synthetic: bool


@dataclass(frozen=True)
class RegionView:
    key: str
    programme: str
    programme_name: str
    title: str
    state: str
    selected_on: date
    lead_code: str
    lead_name: str
    prefecture_code: str
    members: tuple[tuple[str, str], ...]
    application: int | None
    call: int | None
    kpis: tuple[CommittedKpi, ...]
    evaluations: tuple[EvaluationView, ...]
    may_write_self: bool
    may_write_national: bool
    synthetic: bool


def _number(v: object) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        x = float(str(v).replace(",", "").strip()) if not isinstance(v, int | float) else float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def committed_kpis(a: SupportApplication | None) -> tuple[CommittedKpi, ...]:
    if a is None:
        return ()
    out = []
    for i, k in enumerate(a.kpis or []):
        fy = k.get("target_fy")
        fy_n = _number(fy)
        out.append(CommittedKpi(i, str(k.get("name") or ""), str(k.get("unit") or ""), _number(k.get("baseline")),
                                _number(k.get("target")), int(fy_n) if fy_n is not None else None))
    return tuple(out)


def judge(k: CommittedKpi, actuals: Mapping[int, float], selected_fy: int, fy: int) -> Assessment:
    """One committed KPI's progress as at the end of fiscal year ``fy`` — ``domain.progress.assess``,
    the method of the national KPIs: the baseline at the end of the year before the selection, the
    actual of each fiscal year at its end, the target due at the end of its fiscal year. The
    direction is where the target lies from the baseline (a region's KPI states no other)."""
    points = [Point(fiscal_year_end(y), v) for y, v in sorted(actuals.items()) if y <= fy]
    if k.baseline is not None and not any(y == selected_fy - 1 for y in actuals):
        points.insert(0, Point(fiscal_year_end(selected_fy - 1), k.baseline))
    milestones = [Milestone(fiscal_year_end(k.target_fy), k.target)] if (
        k.target is not None and k.target_fy is not None) else []
    if k.target is not None and k.baseline is not None and k.target < k.baseline:
        direction = Direction.DECREASE
    elif k.target is not None and k.baseline is not None and k.target == k.baseline:
        direction = Direction.MAINTAIN
    else:
        direction = Direction.INCREASE
    return assess(points, milestones, direction, today=fiscal_year_end(fy))


def _values(e: SupportEvaluation) -> dict[int, dict[str, Any]]:
    return {int(v["index"]): dict(v) for v in (e.values or []) if isinstance(v, Mapping) and "index" in v}


def _evaluation_view(key: str, e: SupportEvaluation, kpis: tuple[CommittedKpi, ...],
                     earlier: list[SupportEvaluation], selected_fy: int) -> EvaluationView:
    mine = _values(e)
    progress = []
    for k in kpis:
        actuals = {x.fiscal_year: a for x in earlier if x.fiscal_year < e.fiscal_year
                   for a in [_number(_values(x).get(k.index, {}).get("actual"))] if a is not None}
        v = mine.get(k.index, {})
        actual = _number(v.get("actual"))
        if actual is not None:
            actuals[e.fiscal_year] = actual
        a = judge(k, actuals, selected_fy, e.fiscal_year)
        progress.append(KpiProgress(k.index, k.name, k.unit, actual, str(v.get("note") or ""), a.status.value,
                                    a.status.label, a.reason))
    kind = Kind(e.kind)
    return EvaluationView(e.id, key, e.fiscal_year, kind.value, kind.label_ja, e.summary, e.rating,
                          RATINGS_JA.get(e.rating or "", ""), e.state,
                          "提出済み" if e.state == "submitted" else "下書き",
                          tuple(progress), e.created_by, aware(e.updated_at),
                          aware(e.submitted_at) if e.submitted_at else None, e.version, e.synthetic)


# ---------------------------------------------------------------- reading


def _selection(s: Session, key: str) -> SupportSelection:
    x = s.scalars(select(SupportSelection).where(SupportSelection.key == (key or "").strip())).one_or_none()
    if x is None:
        raise NotFound(f"no selected region {key!r}", message_ja=f"選定地域「{key}」は見つかりません", field="region")
    return x


def _region(s: Session, x: SupportSelection) -> ModelRegion:
    ids = [x.lead_org_unit_id] + sorted(m.org_unit_id for m in x.members)
    prog = s.get(SupportProgramme, x.programme_id)
    assert prog is not None
    return ModelRegion(tuple(org_ref(o) for o in (s.get(OrgUnit, i) for i in ids) if o is not None), prog.ministry)


def _region_view(s: Session, p: Principal, x: SupportSelection) -> RegionView:
    prog = s.get(SupportProgramme, x.programme_id)
    lead = s.get(OrgUnit, x.lead_org_unit_id)
    assert prog is not None and lead is not None
    r = _region(s, x)
    a = s.get(SupportApplication, x.application_id) if x.application_id else None
    kpis = committed_kpis(a)
    rows = list(s.scalars(select(SupportEvaluation).where(SupportEvaluation.selection_id == x.id)
                          .order_by(SupportEvaluation.fiscal_year.desc(), SupportEvaluation.kind.desc())))
    selected_fy = fiscal_year(x.selected_on)
    views = []
    for e in rows:
        kind = Kind(e.kind)
        if not may_see(p, r, kind, e.state == "submitted"):
            continue
        earlier = [y for y in rows if y.kind == e.kind and y.state == "submitted" and y.fiscal_year < e.fiscal_year]
        views.append(_evaluation_view(x.key, e, kpis, earlier, selected_fy))
    members = tuple(sorted((o.code, o.full_name) for o in (s.get(OrgUnit, m.org_unit_id) for m in x.members)
                           if o is not None))
    open_ = x.application_id is not None and x.state != "cancelled"
    return RegionView(x.key, prog.code, prog.name, x.title, x.state, x.selected_on, lead.code, lead.full_name,
                      lead.prefecture_code, members, x.application_id, x.call_id, kpis, tuple(views),
                      open_ and may_write(p, r, Kind.SELF), open_ and may_write(p, r, Kind.NATIONAL),
                      x.synthetic)


def get_region(uow: UnitOfWork, p: Principal, key: str) -> RegionView:
    """A selected region (public: selections are published) with the committed KPIs and the
    evaluation reports this principal may see."""
    with uow.for_reading() as u:
        return _region_view(u.session, p, _selection(u.session, key))


def list_evaluations(uow: UnitOfWork, p: Principal, *, programme: str | None = None,
                     fiscal_year_: int | None = None) -> list[EvaluationView]:
    """Every evaluation report this principal may see, newest fiscal year first."""
    with uow.for_reading() as u:
        s = u.session
        q = select(SupportSelection).join(SupportEvaluation, SupportEvaluation.selection_id == SupportSelection.id)
        if programme:
            q = q.join(SupportProgramme, SupportProgramme.id == SupportSelection.programme_id).where(
                SupportProgramme.code == programme)
        out: list[EvaluationView] = []
        for x in s.scalars(q.distinct().order_by(SupportSelection.id)):
            out += [e for e in _region_view(s, p, x).evaluations
                    if fiscal_year_ is None or e.fiscal_year == fiscal_year_]
        return sorted(out, key=lambda e: (-e.fiscal_year, e.region, e.kind))


# ---------------------------------------------------------------- writing


def _kind(value: str) -> Kind:
    try:
        return Kind((value or "").strip())
    except ValueError:
        raise InvalidInput(f"kind is self or national, not {value!r}", field="kind",
                           message_ja="評価の種類は self（自己評価）か national（国の評価）で"
                                      "指定してください") from None


def _fiscal_year(value: object, selected_fy: int, now: datetime) -> int:
    fy = _number(value)
    current = fiscal_year(japan_date(now))
    if fy is None or not fy.is_integer() or not FIRST_FY <= fy <= 2200:
        raise InvalidInput("fiscal_year: a year such as 2026", field="fiscal_year",
                           message_ja="評価の年度を西暦で入力してください（例: 2026）")
    if not selected_fy <= fy <= current:
        raise InvalidInput(f"fiscal_year must be within {selected_fy}..{current}", field="fiscal_year",
                           message_ja=f"評価できる年度は選定された{selected_fy}年度から今年度（{current}年度）までです")
    return int(fy)


def _parse_values(doc: object, kpis: tuple[CommittedKpi, ...]) -> list[dict[str, Any]]:
    items = doc if isinstance(doc, list) else []
    if doc is not None and not isinstance(doc, list):
        raise InvalidInput("values must be a list", field="values", message_ja="KPIの実績は一覧で指定してください")
    by_index: dict[int, dict[str, Any]] = {}
    for n, v in enumerate(items):
        if not isinstance(v, Mapping):
            raise InvalidInput(f"values[{n}] must be an object", field=f"values[{n}]",
                               message_ja=f"KPIの実績{n + 1}の形式が正しくありません")
        i = v.get("index")
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(kpis):
            which = f"0〜{len(kpis) - 1}" if kpis else "この選定地域が約束した KPI はありません"
            raise InvalidInput(f"values[{n}].index: no committed KPI {i!r}", field=f"values[{n}].index",
                               message_ja=f"KPIの実績{n + 1}: 番号 {i} の KPI はありません（{which}）")
        raw = v.get("actual")
        actual = _number(raw)
        if raw not in (None, "") and actual is None:
            raise InvalidInput(f"values[{n}].actual: not a number", field=f"values[{n}].actual",
                               message_ja=f"「{kpis[i].name}」の実績値は数値で入力してください")
        note = bounded(v.get("note"), NOTE_MAX, field=f"values[{n}].note", label_ja=f"「{kpis[i].name}」の補足")
        by_index[i] = {"index": i, "actual": actual, "note": note}
    return [by_index[i] for i in sorted(by_index)]


def _writable(s: Session, p: Principal, key: str, kind: Kind) -> tuple[SupportSelection, ModelRegion]:
    x = _selection(s, key)
    r = _region(s, x)
    access.require(p, may_write(p, r, kind), message=f"you may not write this region's {kind.value} assessment",
                   message_ja=("自己評価を書けるのは選定地域（代表団体・構成団体）の職員だけです" if kind is Kind.SELF
                               else "国の評価を書けるのは国の管理者と所管府省の担当者だけです"),
                   sign_in_ja="評価の記入にはログインが必要です")
    if x.application_id is None:
        raise Conflict("a published selection loaded from its source has no committed KPIs", field="region",
                       message_ja="公表資料から読み込んだ選定地域には、digiden の申請で約束した KPI がないため"
                                  "評価を記入できません")
    if x.state == "cancelled":
        raise Conflict("the selection is cancelled", field="region",
                       message_ja="取消された選定地域の評価は記入できません")
    return x, r


def _stale(e: SupportEvaluation | None, version: int | None) -> None:
    current = e.version if e is not None else 0
    if version is not None and version != current:
        raise Conflict(f"stale: the report is at version {current}, you read {version}", field="version",
                       message_ja="開いた後に他の人がこの評価を保存しました。読み込み直してから保存してください",
                       details={"current_version": current})


def _find(s: Session, x: SupportSelection, fy: int, kind: Kind) -> SupportEvaluation | None:
    return s.scalars(select(SupportEvaluation).where(
        SupportEvaluation.selection_id == x.id, SupportEvaluation.fiscal_year == fy,
        SupportEvaluation.kind == kind.value).with_for_update()).one_or_none()


def _snapshot(e: SupportEvaluation) -> dict[str, Any]:
    return {"fiscal_year": e.fiscal_year, "kind": e.kind, "state": e.state, "rating": e.rating,
            "values": list(e.values or []), "version": e.version}


def save(uow: UnitOfWork, p: Principal, key: str, fiscal_year_: object, kind_: str, doc: Mapping[str, Any], *,
         now: datetime, version: int | None = None, submit_too: bool = False) -> EvaluationView:
    """Create or change a draft report. ``version``: the report's version as read (0 for one not
    yet written); a save made in between is refused. A submitted report no longer changes.
    ``submit_too``: submit it in the same transaction (the CLI's ``--submit``), so a report that
    cannot be submitted is not saved either."""
    kind = _kind(kind_)
    if not isinstance(doc, Mapping):
        raise InvalidInput("a report is an object", message_ja="評価の形式が正しくありません")
    summary = bounded(doc.get("summary"), SUMMARY_MAX, field="summary", label_ja="評価の概要")
    rating = str(doc.get("rating") or "").strip() or None
    if rating is not None and rating not in RATINGS_JA:
        raise InvalidInput(f"rating is one of {', '.join(RATINGS_JA)}", field="rating",
                           message_ja="総合評価は A（計画を上回る）・B（おおむね計画どおり）・C（やや遅れている）・"
                                      "D（遅れている）から選んでください")
    with uow:
        s = uow.session
        x, _r = _writable(s, p, key, kind)
        fy = _fiscal_year(fiscal_year_, fiscal_year(x.selected_on), now)
        a = s.get(SupportApplication, x.application_id)
        kpis = committed_kpis(a)
        values = _parse_values(doc.get("values"), kpis)
        e = _find(s, x, fy, kind)
        _stale(e, version)
        before = None
        if e is None:
            e = SupportEvaluation(selection_id=x.id, fiscal_year=fy, kind=kind.value, created_by=p.name,
                                  created_at=now, state="draft", version=1, synthetic=x.synthetic)
            s.add(e)
        else:
            if e.state == "submitted":
                raise Conflict("a submitted report does not change", field="state",
                               message_ja=f"{fy}年度の{kind.label_ja}は提出済みのため変更できません")
            before = _snapshot(e)
            e.version += 1
        e.summary, e.rating, e.values, e.updated_at = summary, rating, values, now
        s.flush()
        audit.record(s, actor=p.name, action="evaluation.save", entity="support_selection", entity_key=x.key,
                     at=now, before=before, after=_snapshot(e), org_unit_id=x.lead_org_unit_id,
                     summary=f"選定地域「{x.title or x.key}」の{fy}年度の{kind.label_ja}を保存しました（下書き）")
        if submit_too:
            _submit(s, p, x, e, fy, kind, now)
        out = _evaluation_view(x.key, e, kpis, _earlier(s, x, fy, kind), fiscal_year(x.selected_on))
        uow.commit()
        return out


def _earlier(s: Session, x: SupportSelection, fy: int, kind: Kind) -> list[SupportEvaluation]:
    return list(s.scalars(select(SupportEvaluation).where(
        SupportEvaluation.selection_id == x.id, SupportEvaluation.kind == kind.value,
        SupportEvaluation.state == "submitted", SupportEvaluation.fiscal_year < fy)))


def _submit(s: Session, p: Principal, x: SupportSelection, e: SupportEvaluation, fy: int, kind: Kind,
            now: datetime) -> None:
    if e.state == "submitted":
        raise Conflict("already submitted", field="state", message_ja=f"{fy}年度の{kind.label_ja}は提出済みです")
    if not e.summary.strip():
        raise InvalidInput("write the summary before submitting", field="summary",
                           message_ja="評価の概要を書いてから提出してください")
    before = _snapshot(e)
    e.state, e.submitted_at, e.updated_at = "submitted", now, now
    e.version += 1
    s.flush()
    audit.record(s, actor=p.name, action="evaluation.submit", entity="support_selection", entity_key=x.key,
                 at=now, before=before, after=_snapshot(e), org_unit_id=x.lead_org_unit_id,
                 summary=f"選定地域「{x.title or x.key}」の{fy}年度の{kind.label_ja}を提出しました")


def submit(uow: UnitOfWork, p: Principal, key: str, fiscal_year_: object, kind_: str, *, now: datetime,
           version: int | None = None) -> EvaluationView:
    """Submit a draft report (it then no longer changes; a national one becomes public)."""
    kind = _kind(kind_)
    with uow:
        s = uow.session
        x, _r = _writable(s, p, key, kind)
        fy = _fiscal_year(fiscal_year_, fiscal_year(x.selected_on), now)
        e = _find(s, x, fy, kind)
        if e is None:
            raise NotFound(f"no {kind.value} report for {fy}", field="fiscal_year",
                           message_ja=f"{fy}年度の{kind.label_ja}はまだ保存されていません")
        _stale(e, version)
        _submit(s, p, x, e, fy, kind, now)
        out = _evaluation_view(x.key, e, committed_kpis(s.get(SupportApplication, x.application_id)),
                               _earlier(s, x, fy, kind), fiscal_year(x.selected_on))
        uow.commit()
        return out
