"""The measures catalogue (施策カタログ / メニューブック), its roadmap (工程表), the social-issue
taxonomy, and the reference data behind similarity: fiscal indices and shared borders.

Loaded by `digiden db init` from the package (idempotent); read by the pages, API and CLI."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from digiden.domain.calendar import AsOf, Precision, fiscal_year, fiscal_year_end, fiscal_year_start, format_fiscal_year
from digiden.domain.codes import NATION_CODE
from digiden.domain.errors import InvalidInput, NotFound
from digiden.domain.quantities import format_quantity
from digiden.services import audit
from digiden.services.common import LoadReport, data_path, set_fields
from digiden.services.knowledge.practices import place_of
from digiden.services.national.kpis import target_view
from digiden.services.uow import UnitOfWork
from digiden.store.models import (
    Adjacency,
    Adoption,
    Area,
    FiscalIndex,
    Kpi,
    Measure,
    Observation,
    OrgUnit,
    Practice,
    PracticeMeasure,
    Problem,
    RoadmapItem,
)

CATALOGUE_FILE = "measures_fy2023.yaml"
FISCAL_FILE = "municipal_fiscal_indices_fy2021.csv"
FISCAL_YEAR = 2021
BORDERS_FILE = "ja_municipality_area.topojson"
ROADMAP_YEARS = tuple(range(2023, 2028))

SUPPORT_KINDS = {"grant": "交付金", "subsidy": "補助金", "tax": "税制", "people": "人的支援",
                 "advice": "助言・伴走支援", "data_system": "データ・システム"}


def _unfold(text: str) -> str:
    """YAML folds a wrapped line into a space; Japanese text has none between its words."""
    return re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", " ".join(text.split()))


def _read_catalogue() -> dict[str, Any]:
    with open(data_path(CATALOGUE_FILE), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict):
        raise InvalidInput(f"{CATALOGUE_FILE}: not a mapping", message_ja=f"{CATALOGUE_FILE} の形式が不正です")
    return doc


def load_catalogue(session: Session, report: LoadReport, *, actor: str, now: datetime) -> None:
    """Problems, measures, their roadmap and the seed practices' measures and details."""
    doc = _read_catalogue()
    fields = {a.code: a for a in session.scalars(select(Area))}
    kpis = {k.code: k for k in session.scalars(select(Kpi))}

    problems = {p.code: p for p in session.scalars(select(Problem))}
    for i, p in enumerate(doc["problems"]):
        bad = [f for f in p["fields"] if f not in fields]
        if bad:
            raise InvalidInput(f"problem {p['code']}: unknown fields {bad}",
                               message_ja=f"社会課題 {p['code']}: 不明な分野 {bad}")
        vals = {"name": p["name"], "field_codes": list(p["fields"]), "position": i}
        if p["code"] in problems:
            report.add("problem", "updated" if set_fields(problems[p["code"]], vals) else "unchanged")
        else:
            problems[p["code"]] = Problem(code=p["code"], **vals)
            session.add(problems[p["code"]])
            report.add("problem", "created")

    measures = {m.code: m for m in session.scalars(select(Measure))}
    changed = 0
    for i, m in enumerate(doc["measures"]):
        where = f"measure {m['code']}"
        for key, known in (("fields", fields), ("problems", problems), ("kpis", kpis)):
            bad = [x for x in m.get(key, []) if x not in known]
            if bad:
                raise InvalidInput(f"{where}: unknown {key} {bad}", message_ja=f"施策 {m['code']}: 不明な{key} {bad}")
        if m["support"] not in SUPPORT_KINDS:
            raise InvalidInput(f"{where}: unknown support {m['support']}",
                               message_ja=f"施策 {m['code']}: 不明な支援の種類 {m['support']}")
        vals = {"title": m["title"], "ministry": m["ministry"], "support": m["support"],
                "eligible": m.get("eligible", ""), "summary": _unfold(str(m.get("summary", ""))),
                "in_seed": bool(m.get("seed", False)), "field_codes": list(m.get("fields", [])),
                "problem_codes": list(m.get("problems", [])), "kpi_codes": list(m.get("kpis", [])),
                "position": i}
        if m["code"] in measures:
            if set_fields(measures[m["code"]], vals):
                changed += 1
                report.add("measure", "updated")
            else:
                report.add("measure", "unchanged")
        else:
            measures[m["code"]] = Measure(code=m["code"], **vals)
            session.add(measures[m["code"]])
            changed += 1
            report.add("measure", "created")
    session.flush()

    for m in measures.values():
        _derive_roadmap(session, m, [kpis[c] for c in m.kpi_codes])

    practices = {p.code: p for p in session.scalars(select(Practice).where(Practice.origin == "seed"))}
    for code, used in doc.get("practice_measures", {}).items():
        if code not in practices:
            raise InvalidInput(f"practice_measures: unknown practice {code}",
                               message_ja=f"practice_measures: 不明な事例 {code}")
        session.execute(delete(PracticeMeasure).where(PracticeMeasure.practice_id == practices[code].id))
        session.flush()
        session.add_all([PracticeMeasure(practice_id=practices[code].id, measure_id=measures[c].id)
                         for c in used])
    for code, d in doc.get("practice_details", {}).items():
        p = practices[code]
        set_fields(p, {"area_id": fields[d["field"]].id, "problem": d.get("problem", ""),
                 "solution": d.get("solution", "")})
    session.flush()
    if changed:
        audit.record(session, actor=actor, action="catalogue.load", entity="measure",
                     entity_key=CATALOGUE_FILE, at=now, after={"measures": len(measures), "changed": changed},
                     summary=f"施策カタログを読み込みました（{len(measures)}件、変更 {changed}件）")


def _derive_roadmap(session: Session, m: Measure, kpis: list[Kpi]) -> None:
    """Every year of the strategy period is a year of implementation; a year in which a KPI the
    measure serves has a dated target is a milestone naming that target."""
    milestones: dict[int, list[str]] = {}
    for k in kpis:
        for t in k.targets:
            if t.deadline is None:
                continue
            fy = t.deadline.year if t.deadline_kind == "calendar" else fiscal_year(t.deadline)
            if fy not in ROADMAP_YEARS:
                continue
            what = target_view(t, k.unit).display
            label = f"（{t.breakdown}）" if t.breakdown else ""
            milestones.setdefault(fy, []).append(f"KPI「{k.name}」{label}目標 {what}（{t.deadline_label}）")
    existing = {r.fiscal_year: r for r in session.scalars(select(RoadmapItem).where(
        RoadmapItem.measure_id == m.id))}
    for fy in ROADMAP_YEARS:
        text = "；".join(milestones[fy]) if fy in milestones else f"{format_fiscal_year(fy)}：実施"
        vals = {"text": text, "milestone": fy in milestones,
                "basis": "kpi_target" if fy in milestones else "period"}
        if fy in existing:
            set_fields(existing[fy], vals)
        else:
            session.add(RoadmapItem(measure_id=m.id, fiscal_year=fy, **vals))


def load_fiscal_indices(session: Session, report: LoadReport) -> None:
    units = {o.code: o.id for o in session.scalars(select(OrgUnit))}
    existing = {f.org_unit_id: f for f in session.scalars(select(FiscalIndex).where(
        FiscalIndex.fiscal_year == FISCAL_YEAR))}
    with open(data_path(FISCAL_FILE), encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            uid = units.get(row["code"].zfill(6))
            if uid is None:
                raise InvalidInput(f"{FISCAL_FILE}: unknown code {row['code']}",
                                   message_ja=f"{FISCAL_FILE}: 不明な団体コード {row['code']}")

            def num(key: str, row: dict[str, str] = row) -> float | None:
                v = (row.get(key) or "").strip()
                return float(v) if v not in ("", "-") else None
            vals = {"fiscal_strength": num("fiscal_strength_index"),
                    "current_balance_ratio": num("current_balance_ratio"),
                    "real_debt_service_ratio": num("real_debt_service_ratio"),
                    "future_burden_ratio": num("future_burden_ratio"),
                    "laspeyres_index": num("laspeyres_index")}
            if uid in existing:
                report.add("fiscal_index", "updated" if set_fields(existing[uid], vals) else "unchanged")
            else:
                session.add(FiscalIndex(org_unit_id=uid, fiscal_year=FISCAL_YEAR, **vals))
                report.add("fiscal_index", "created")
    session.flush()


def border_pairs() -> set[tuple[str, str]]:
    """Pairs of municipality codes that share at least one boundary arc in the TopoJSON."""
    with open(data_path(BORDERS_FILE), encoding="utf-8") as f:
        topo = json.load(f)
    geoms = next(iter(topo["objects"].values()))["geometries"]
    owners: dict[int, set[str]] = {}
    for g in geoms:
        if g["properties"].get("is_hoppo_city"):
            continue
        code = g["properties"]["lg_code"]
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        for poly in polys:
            for ring in poly:
                for a in ring:
                    owners.setdefault(a if a >= 0 else ~a, set()).add(code)
    pairs: set[tuple[str, str]] = set()
    for codes in owners.values():
        for a in codes:
            for b in codes:
                if a != b:
                    pairs.add((a, b))
    return pairs


def load_adjacency(session: Session, report: LoadReport) -> None:
    units = {o.code: o.id for o in session.scalars(select(OrgUnit))}
    want = {(units[a], units[b]) for a, b in border_pairs() if a in units and b in units}
    have = {(r.org_unit_id, r.neighbour_id) for r in session.scalars(select(Adjacency))}
    if want == have:
        report.add("adjacency", "unchanged", len(have))
        return
    session.execute(delete(Adjacency))
    session.flush()
    session.add_all([Adjacency(org_unit_id=a, neighbour_id=b) for a, b in sorted(want)])
    session.flush()
    report.add("adjacency", "created", len(want))


# --- reading ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProblemView:
    code: str
    name: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class RoadmapView:
    """One fiscal year of a measure. ``text`` is the stored item (a milestone names its target; any
    other year says only that the year is in the strategy period); ``activities`` is what the
    database shows happened that year: a national figure of a KPI the measure serves was
    published, a published practice that used the measure ran, local governments took such a
    practice up. A year is *filled* on the roadmap when it has a milestone or an activity."""

    fiscal_year: int
    text: str
    milestone: bool
    basis: str
    activities: tuple[str, ...] = ()

    @property
    def filled(self) -> bool:
        return self.milestone or bool(self.activities)

    @property
    def year_label(self) -> str:
        return format_fiscal_year(self.fiscal_year)

    @property
    def summary(self) -> str:
        """What the year holds, in a few words (a roadmap cell's text for screen readers)."""
        parts = (["KPIの目標期限"] if self.milestone else []) + (["実績・事例"] if self.activities else [])
        return "・".join(parts) if parts else "記録なし"


@dataclass(frozen=True)
class PracticeLink:
    code: str
    title: str
    place: str
    synthetic: bool


@dataclass(frozen=True)
class MeasureView:
    code: str
    title: str
    ministry: str
    support: str
    eligible: str
    summary: str
    in_seed: bool
    fields: tuple[tuple[str, str], ...]       # (code, name)
    problems: tuple[tuple[str, str], ...]
    kpis: tuple[tuple[str, str], ...]
    roadmap: tuple[RoadmapView, ...]
    practices: tuple[PracticeLink, ...]

    @property
    def support_label(self) -> str:
        return SUPPORT_KINDS.get(self.support, self.support)


def problems(uow: UnitOfWork) -> list[ProblemView]:
    with uow:
        return [ProblemView(p.code, p.name, tuple(p.field_codes))
                for p in uow.session.scalars(select(Problem).order_by(Problem.position))]


def _names(s: Session) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    fields = {a.code: a.name for a in s.scalars(select(Area))}
    probs = {p.code: p.name for p in s.scalars(select(Problem))}
    kpis = {k.code: k.name for k in s.scalars(select(Kpi))}
    return fields, probs, kpis


def _practice_links(s: Session, measure_ids: list[int]) -> dict[int, list[PracticeLink]]:
    out: dict[int, list[PracticeLink]] = {}
    rows = s.execute(select(PracticeMeasure.measure_id, Practice)
                     .join(Practice, Practice.id == PracticeMeasure.practice_id)
                     .where(PracticeMeasure.measure_id.in_(measure_ids), Practice.status == "published")
                     .order_by(Practice.position, Practice.id)).all()
    places = place_of(s, [p.id for _, p in rows])
    for mid, p in rows:
        out.setdefault(mid, []).append(PracticeLink(p.code, p.title, places.get(p.id, p.place or ""),
                                                    p.synthetic))
    return out


def _view(m: Measure, names: tuple[dict[str, str], dict[str, str], dict[str, str]],
          roadmap: list[RoadmapItem], practices: list[PracticeLink],
          activity: dict[tuple[int, int], list[str]] | None = None) -> MeasureView:
    fields, probs, kpis = names
    activity = activity or {}
    return MeasureView(
        m.code, m.title, m.ministry, m.support, m.eligible, m.summary, m.in_seed,
        tuple((c, fields.get(c, c)) for c in m.field_codes),
        tuple((c, probs.get(c, c)) for c in m.problem_codes),
        tuple((c, kpis.get(c, c)) for c in m.kpi_codes),
        tuple(RoadmapView(r.fiscal_year, r.text, r.milestone, r.basis,
                          tuple(activity.get((m.id, r.fiscal_year), ())))
              for r in sorted(roadmap, key=lambda r: r.fiscal_year)),
        tuple(practices))


def _activities(s: Session, measures: list[Measure]) -> dict[tuple[int, int], list[str]]:
    """What happened in each roadmap year of these measures, by (measure id, fiscal year), from
    the database alone: the latest approved national figure of each KPI a measure serves
    published in that fiscal year; each published practice that used the measure and ran that
    year; how many local governments took such a practice up that year. Nothing is inferred
    from the strategy period."""
    first, last = ROADMAP_YEARS[0], ROADMAP_YEARS[-1]
    out: dict[tuple[int, int], list[str]] = {}
    by_kpi: dict[str, list[int]] = {}
    for m in measures:
        for c in m.kpi_codes:
            by_kpi.setdefault(c, []).append(m.id)
    if by_kpi:
        kpis = {k.id: k for k in s.scalars(select(Kpi).where(Kpi.code.in_(list(by_kpi))))}
        o = Observation
        latest: dict[tuple[int, int], list[tuple[AsOf, str, str]]] = {}
        for kpi_id, as_of, precision, breakdown, value, qualifier in s.execute(
                select(o.kpi_id, o.as_of, o.as_of_precision, o.breakdown, o.value, o.qualifier)
                .join(OrgUnit, OrgUnit.id == o.org_unit_id)
                .where(o.kpi_id.in_(list(kpis)), OrgUnit.code == NATION_CODE, o.status == "approved",
                       o.as_of >= fiscal_year_start(first), o.as_of <= fiscal_year_end(last))
                .order_by(o.kpi_id, o.as_of, o.breakdown)):
            key = (kpi_id, fiscal_year(as_of))
            when = AsOf(as_of, Precision(precision))
            if key in latest and latest[key][0][0].date != as_of:
                del latest[key]       # a later figure of the same fiscal year replaces it
            display = format_quantity(value, kpis[kpi_id].unit, qualifier)
            latest.setdefault(key, []).append((when, breakdown, display))
        for (kpi_id, fy), points in sorted(latest.items(), key=lambda kv: kv[0]):
            k = kpis[kpi_id]
            values = "・".join(f"{b} {d}" if b else d for _, b, d in points)
            text = f"KPI「{k.name}」の実績 {values}（{points[0][0].label()}時点）"
            for mid in by_kpi[k.code]:
                out.setdefault((mid, fy), []).append(text)
    ids = [m.id for m in measures]
    rows = s.execute(select(PracticeMeasure.measure_id, Practice)
                     .join(Practice, Practice.id == PracticeMeasure.practice_id)
                     .where(PracticeMeasure.measure_id.in_(ids), Practice.status == "published")
                     .order_by(Practice.position, Practice.id)).all()
    places = place_of(s, [p.id for _, p in rows])
    for mid, p in rows:
        if p.fy_from is None:
            continue
        mark = "（合成データ）" if p.synthetic else ""
        where = places.get(p.id, p.place or "")
        for fy in range(max(p.fy_from, first), min(p.fy_to or p.fy_from, last) + 1):
            out.setdefault((mid, fy), []).append(
                f"事例「{p.title}」{f'（{where}）' if where else ''}を実施{mark}")
    practice_ids = sorted({p.id for _, p in rows})
    adopted: dict[tuple[int, int], tuple[int, bool]] = {}
    if practice_ids:
        for pid, fy, synthetic in s.execute(
                select(Adoption.practice_id, Adoption.fiscal_year, Adoption.synthetic)
                .where(Adoption.practice_id.in_(practice_ids), Adoption.fiscal_year >= first,
                       Adoption.fiscal_year <= last)):
            n, synth = adopted.get((pid, fy), (0, False))
            adopted[pid, fy] = (n + 1, synth or synthetic)
    titles = {p.id: p.title for _, p in rows}
    for mid, p in rows:
        for fy in ROADMAP_YEARS:
            if (p.id, fy) in adopted:
                n, synth = adopted[p.id, fy]
                out.setdefault((mid, fy), []).append(
                    f"事例「{titles[p.id]}」を{n:,}団体が導入（横展開）{'（合成データを含む）' if synth else ''}")
    return out


def list_measures(uow: UnitOfWork, *, problem: str | None = None, field: str | None = None,
                  support: str | None = None, ministry: str | None = None,
                  with_activity: bool = False) -> list[MeasureView]:
    """Measures for a problem (社会課題), a field or pillar (P4 covers P4.1–P4.7), a kind of
    support or a ministry; all of them without a filter. ``with_activity``: each roadmap year
    with what happened in it (``RoadmapView.activities``)."""
    with uow:
        s = uow.session
        names = _names(s)
        if problem and problem not in names[1]:
            raise InvalidInput(f"unknown problem {problem!r}", message_ja=f"不明な社会課題です: {problem}",
                               field="problem")
        if support and support not in SUPPORT_KINDS:
            raise InvalidInput(f"unknown support {support!r}", message_ja=f"不明な支援の種類です: {support}",
                               field="support")
        out = []
        ms = list(s.scalars(select(Measure).order_by(Measure.position)))
        road: dict[int, list[RoadmapItem]] = {}
        for r in s.scalars(select(RoadmapItem)):
            road.setdefault(r.measure_id, []).append(r)
        links = _practice_links(s, [m.id for m in ms])
        activity = _activities(s, ms) if with_activity else {}
        for m in ms:
            if problem and problem not in m.problem_codes:
                continue
            if field and not any(f == field or f.startswith(field + ".") for f in m.field_codes):
                continue
            if support and m.support != support:
                continue
            if ministry and ministry not in m.ministry:
                continue
            out.append(_view(m, names, road.get(m.id, []), links.get(m.id, []), activity))
        return out


def get_measure(uow: UnitOfWork, code: str) -> MeasureView:
    with uow:
        s = uow.session
        m = s.scalars(select(Measure).where(Measure.code == code)).one_or_none()
        if m is None:
            raise NotFound(f"no measure {code!r}", message_ja=f"施策「{code}」は見つかりません")
        road = list(s.scalars(select(RoadmapItem).where(RoadmapItem.measure_id == m.id)))
        return _view(m, _names(s), road, _practice_links(s, [m.id]).get(m.id, []), _activities(s, [m]))


@dataclass(frozen=True)
class RoadmapGroup:
    key: str
    label: str
    measures: tuple[MeasureView, ...]


def roadmap(uow: UnitOfWork, *, by: str = "field") -> list[RoadmapGroup]:
    """The Gantt view: measures grouped by pillar/foundation area (their first field's) or by
    ministry, each with its five fiscal years."""
    if by not in ("field", "ministry"):
        raise InvalidInput(f"group by field or ministry, not {by!r}",
                           message_ja="並べ方は「分野」か「府省」を選んでください", field="by")
    ms = list_measures(uow, with_activity=True)
    groups: dict[str, list[MeasureView]] = {}
    labels: dict[str, str] = {}
    with uow:
        areas = {a.code: a.name for a in uow.session.scalars(select(Area))}
    for m in ms:
        if by == "ministry":
            key = m.ministry
            labels[key] = m.ministry
        else:
            key = m.fields[0][0].split(".")[0] if m.fields else "other"
            labels[key] = f"{key} {areas.get(key, 'その他')}"
        groups.setdefault(key, []).append(m)
    order = sorted(groups, key=lambda k: (k[0] != "P", k)) if by == "field" else sorted(groups)
    return [RoadmapGroup(k, labels[k], tuple(groups[k])) for k in order]
