"""Loading the packaged reference data: local governments, the national strategy and the
published KPI actuals. Idempotent: a second run changes nothing and writes no duplicates."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from digiden.domain.calendar import parse_as_of
from digiden.domain.codes import NATION_CODE, normalize_code
from digiden.domain.errors import InvalidInput
from digiden.domain.quantities import Qualifier, parse_quantity
from digiden.domain.strategy_doc import StrategyDoc, parse_strategy
from digiden.domain.text import clean_text, match_key, search_key, url_problem
from digiden.services import audit
from digiden.services.common import LoadReport, Progress, data_path, set_fields
from digiden.services.consult import offices as consult_offices
from digiden.services.knowledge import catalogue, search
from digiden.services.national.observations import observation_snapshot
from digiden.services.support import programmes
from digiden.services.uow import UnitOfWork
from digiden.store.models import (
    Area,
    AuditEvent,
    ImportBatch,
    Kpi,
    KpiBlock,
    ModelType,
    Observation,
    ObservationChange,
    OrgUnit,
    Practice,
    PracticeModelType,
    PracticeOrgUnit,
    SearchDoc,
    Strategy,
    Target,
)

POPULATION_AS_OF = date(2022, 1, 1)
STRATEGY_FILE = "strategy_fy2023.yaml"
ACTUALS_FILE = "kpi_actuals_reported.csv"

def _read_csv(name: str) -> list[dict[str, str]]:
    with open(data_path(name), encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _designated_cities(rows: Iterable[dict[str, str]]) -> set[tuple[str, str]]:
    """(prefecture, city) pairs of cities with wards — the 政令指定都市."""
    out = set()
    for r in rows:
        parts = r["city"].split(" ")
        if len(parts) == 2 and parts[1].endswith("区"):
            out.add((r["pref"], parts[0]))
    return out


def kind_of(prefecture: str, city: str, designated: set[tuple[str, str]]) -> str:
    if not city:
        return "prefecture"
    if (prefecture, city) in designated:
        return "designated_city"
    if prefecture == "東京都" and city.endswith("区"):
        return "special_ward"
    if city.endswith("市"):
        return "city"
    if city.endswith("町"):
        return "town"
    if city.endswith("村"):
        return "village"
    raise InvalidInput(f"cannot tell the kind of {prefecture}{city}",
                       message_ja=f"団体区分を判定できません: {prefecture}{city}")


def load_org_units(session: Session, report: LoadReport, progress: Progress | None = None) -> None:
    lg_rows = _read_csv("local_governments.csv")
    geo_rows = _read_csv("localgovjp.csv")
    geo = {r["lgcode"].zfill(6): r for r in geo_rows}
    prefs = {r["lgcode"].zfill(6): r for r in _read_csv("prefjp.csv")}
    pop = {r["code"]: r for r in _read_csv("population_2022.csv")}
    designated = _designated_cities(geo_rows)

    existing = {o.code: o for o in session.scalars(select(OrgUnit))}
    nation = existing.get(NATION_CODE)
    if nation is None:
        nation = OrgUnit(code=NATION_CODE, name="国", full_name="国（全国）", kana="クニ",
                         search_text="くに", kind="nation", prefecture_code="00")
        session.add(nation)
        report.add("org_unit", "created")
    pref_units: dict[str, OrgUnit] = {}
    total = len(lg_rows)
    for i, r in enumerate(sorted(lg_rows, key=lambda r: (r["city"] != "", r["code"]))):
        code = normalize_code(r["code"])
        pref, city = r["prefecture"], r["city"]
        kind = kind_of(pref, city, designated)
        name = city or pref
        kana = r["city_kana"] if city else r["prefecture_kana"]
        full = pref + city if city else pref
        p = pop.get(code, {})
        g = prefs.get(code, {}) if kind == "prefecture" else geo.get(code, {})
        values: dict[str, Any] = {
            "name": name, "full_name": full, "kana": kana, "kind": kind,
            "search_text": " ".join(sorted({
                search_key(full), search_key(name), search_key(kana),
                search_key(g.get("citykana", "") or g.get("prefkana", ""))} - {""})),
            "prefecture_code": code[:2],
            "parent_id": None if kind == "prefecture" else pref_units[code[:2]].id,
            "population": int(p["population"]) if p.get("population") else None,
            "households": int(p["households"]) if p.get("households") else None,
            "population_65_plus": int(p["population_65_plus"]) if p.get("population_65_plus")
            else None,
            "aging_rate_pct": float(p["aging_rate_pct"]) if p.get("aging_rate_pct") else None,
            "population_as_of": POPULATION_AS_OF if p else None,
            "lat": float(g["lat"]) if g.get("lat") else None,
            "lng": float(g["lng"]) if g.get("lng") else None,
            "website": g.get("url") or None,
            "catchphrase": g.get("phrase") or None,
        }
        unit = existing.get(code)
        if unit is None:
            unit = OrgUnit(code=code, **values)
            session.add(unit)
            report.add("org_unit", "created")
        elif set_fields(unit, values):
            report.add("org_unit", "updated")
        else:
            report.add("org_unit", "unchanged")
        if kind == "prefecture":
            session.flush()
            pref_units[code[:2]] = unit
        if progress and (i % 100 == 0 or i == total - 1):
            progress("local governments", i + 1, total)
    session.flush()


def read_strategy_file(path: Path | None = None) -> tuple[StrategyDoc, str]:
    """Read and validate a strategy YAML file; returns the document and its checksum."""
    p = path or data_path(STRATEGY_FILE)
    raw = p.read_bytes()
    try:
        doc = yaml.safe_load(io.BytesIO(raw))
    except yaml.YAMLError as e:
        raise InvalidInput(f"{p.name}: not valid YAML: {e}",
                           message_ja=f"{p.name}: YAMLとして読めません: {e}") from None
    return parse_strategy(doc), hashlib.sha256(raw).hexdigest()


def load_strategy(session: Session, doc: StrategyDoc, checksum: str, report: LoadReport, *,
                  actor: str, now: datetime) -> Strategy:
    nation = session.scalars(select(OrgUnit).where(OrgUnit.code == NATION_CODE)).one()
    strategy = session.scalars(select(Strategy).where(Strategy.code == doc.code)).one_or_none()
    if strategy is not None and strategy.source_checksum == checksum:
        report.add("strategy", "unchanged")
        return strategy
    before = {"checksum": strategy.source_checksum} if strategy else None
    values = {"owner_id": nation.id, "title": doc.title, "short_title": doc.short_title,
              "fy_from": doc.fy_from, "fy_to": doc.fy_to, "version": doc.version,
              "status": doc.status, "aim": doc.aim, "details": doc.details,
              "source_checksum": checksum}
    if strategy is None:
        strategy = Strategy(code=doc.code, **values)
        session.add(strategy)
        report.add("strategy", "created")
    else:
        set_fields(strategy, values)
        report.add("strategy", "updated")
    session.flush()

    areas = {a.code: a for a in session.scalars(select(Area).where(
        Area.strategy_id == strategy.id))}
    vals: dict[str, Any]
    for a in doc.areas:
        vals = {"kind": a.kind, "number": a.number, "name": a.name, "description": a.description,
                "and_more": a.and_more, "position": a.position,
                "parent_id": areas[a.parent].id if a.parent else None}
        if a.code in areas:
            set_fields(areas[a.code], vals)
        else:
            areas[a.code] = Area(strategy_id=strategy.id, code=a.code, **vals)
            session.add(areas[a.code])
        session.flush()

    blocks = {b.code: b for b in session.scalars(select(KpiBlock).where(
        KpiBlock.strategy_id == strategy.id))}
    for b in doc.blocks:
        vals = {"name": b.name, "intro": b.intro, "and_more": b.and_more, "position": b.position}
        if b.code in blocks:
            set_fields(blocks[b.code], vals)
        else:
            blocks[b.code] = KpiBlock(strategy_id=strategy.id, code=b.code, **vals)
            session.add(blocks[b.code])
    types = {m.code: m for m in session.scalars(select(ModelType).where(
        ModelType.strategy_id == strategy.id))}
    for m in doc.model_types:
        vals = {"category": m.category, "name": m.name, "position": m.position}
        if m.code in types:
            set_fields(types[m.code], vals)
        else:
            types[m.code] = ModelType(strategy_id=strategy.id, code=m.code, **vals)
            session.add(types[m.code])
    session.flush()

    units = {o.code: o for o in session.scalars(select(OrgUnit))}
    for c in doc.case_studies:
        for code in c.org_units:
            unit = units.get(code)
            if unit is None:
                raise InvalidInput(f"case study {c.code}: unknown local government {code}",
                                   message_ja=f"事例 {c.code}: 団体コード {code} が見つかりません",
                                   field="org_units")
            if c.place and unit.full_name not in c.place.replace("・", ""):
                raise InvalidInput(
                    f"case study {c.code}: code {code} is {unit.full_name}, not {c.place}",
                    message_ja=f"事例 {c.code}: {code} は{unit.full_name}で、{c.place}ではありません",
                    field="org_units")
        practice = session.scalars(select(Practice).where(Practice.code == c.code)).one_or_none()
        vals = {"strategy_id": strategy.id, "title": c.title, "place": c.place,
                "partners": list(c.partners), "origin": "seed", "status": "published",
                "position": c.position}
        if practice is None:
            practice = Practice(code=c.code, **vals)
            session.add(practice)
            session.flush()
        else:
            set_fields(practice, vals)
        session.execute(delete(PracticeModelType).where(
            PracticeModelType.practice_id == practice.id))
        session.execute(delete(PracticeOrgUnit).where(PracticeOrgUnit.practice_id == practice.id))
        session.flush()
        session.add_all([PracticeModelType(practice_id=practice.id, model_type_id=types[t].id)
                         for t in c.types])
        session.add_all([PracticeOrgUnit(practice_id=practice.id, org_unit_id=units[o].id)
                         for o in c.org_units])

    kpis = {k.code: k for k in session.scalars(select(Kpi).where(
        Kpi.strategy_id == strategy.id))}
    for k in doc.kpis:
        vals = {
            "block_id": blocks[k.block].id, "area_id": areas[k.area].id if k.area else None,
            "area_basis": k.area_basis,
            "model_type_id": types[k.model_type].id if k.model_type else None,
            "name": k.name, "name_key": match_key(k.name), "wording": k.wording, "lead": k.lead,
            "unit": k.unit, "unit_note": k.unit_note, "direction": k.direction.value,
            "aggregation": k.aggregation,
            "cumulative_from_fy": k.cumulative[0] if k.cumulative else None,
            "cumulative_to_fy": k.cumulative[1] if k.cumulative else None,
            "breakdowns": list(k.breakdowns),
            "baseline_value": k.baseline[0] if k.baseline else None,
            "baseline_qualifier": k.baseline[1].value if k.baseline else None,
            "baseline_as_of": k.baseline[2] if k.baseline else None,
            "baseline_precision": k.baseline[3] if k.baseline else None,
            "baseline_text": k.baseline[4] if k.baseline else None,
            "outlook_deadline": k.outlook[0] if k.outlook else None,
            "outlook_text": k.outlook[1] if k.outlook else None,
            "headline": k.headline, "position": k.position,
            "rules": [r.as_dict() for r in k.rules], "synthetic": doc.synthetic,
            "local_fact": k.local_fact,
        }
        kpi = kpis.get(k.code)
        if kpi is None:
            kpi = Kpi(strategy_id=strategy.id, code=k.code, **vals)
            session.add(kpi)
        else:
            set_fields(kpi, vals)
        kpi.targets = [
            Target(breakdown=t.breakdown, deadline=t.deadline, deadline_kind=t.deadline_kind,
                   deadline_label=t.deadline_label, deadline_approximate=t.approximate,
                   value=t.value, low=t.low, high=t.high, qualifier=t.qualifier.value,
                   nationwide=t.nationwide,
                   denominator_value=t.denominator[0] if t.denominator else None,
                   denominator_unit=t.denominator[1] if t.denominator else None,
                   equivalent_value=t.equivalent[0] if t.equivalent else None,
                   equivalent_unit=t.equivalent[1] if t.equivalent else None,
                   equivalent_qualifier=t.equivalent[2].value if t.equivalent else None,
                   position=i)
            for i, t in enumerate(k.targets)]
    session.flush()
    audit.record(session, actor=actor, action="strategy.load", entity="strategy",
                 entity_key=doc.code, at=now, before=before,
                 after={"checksum": checksum, "kpis": len(doc.kpis), "areas": len(doc.areas)},
                 summary=f"{doc.title}（KPI {len(doc.kpis)}件）を読み込みました")
    return strategy


@dataclass
class ReferenceLoadReport(LoadReport):
    """A load report that also counts reference observations withdrawn (their key left the
    file) and file rows not applied because someone else's value sits at their key (kept)."""

    withdrawn: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    # the support programmes and their published selections (services/support), reported apart:
    # created / updated / unchanged per kind, and the selection rows matching no local government
    support: LoadReport = field(default_factory=LoadReport)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return super().as_dict() | {"withdrawn": self.withdrawn, "kept": self.kept,
                                    "support": {f"{kind}.{outcome}": n for outcome, d in self.support.as_dict().items()
                                                for kind, n in d.items()}}


# What an update overwrote (value, qualifier, precision, source title, source URL, batch), kept
# as an observation_change of the load's batch so that reverting the batch puts it back.
_Overwritten = tuple[float, str, str, str, str | None, int | None]


def _reference_owned(session: Session, candidates: list[Observation],
                     reference_batches: dict[int, str]) -> set[int]:
    """Which of these national observations the reference loader owns: one a reference load
    wrote last. A value someone entered (observation.update, no batch), or one an import
    overwrote (its batch is then the import's), is not the loader's, even at the same key."""
    if not candidates:
        return set()
    last: dict[str, int | None] = {}
    for key, batch_id in session.execute(
            select(AuditEvent.entity_key, AuditEvent.batch_id)
            .where(AuditEvent.entity == "observation",
                   AuditEvent.entity_key.in_([str(o.id) for o in candidates]))
            .order_by(AuditEvent.id)):
        last[key] = batch_id
    owned = set()
    for o in candidates:
        if str(o.id) in last:
            if last[str(o.id)] in reference_batches:
                owned.add(o.id)
        elif o.batch_id is not None and o.created_by == reference_batches.get(o.batch_id):
            owned.add(o.id)   # no audit trail to read: the batch's author wrote it
    return owned


def load_actuals(session: Session, report: LoadReport, *, actor: str, now: datetime,
                 path: Path | None = None) -> ImportBatch | None:
    """Bring the reference observations (the national values of the published actuals file) in
    line with the file; all-or-nothing, errors name the row and column.

    A row whose key (KPI, as-of date, breakdown) has no national value yet is added; a
    reference value the file now states differently (value, qualifier, precision, source) is
    updated; a reference value whose key left the file is withdrawn (deleted, so no page, API,
    export or status counts it); an unchanged one is not touched. Each change is one audit
    event with before and after, tied to this load's batch. A value entered by a person or an
    import is never touched, even at a key the file has: it is kept and counted as ``kept``.
    """
    p = path or data_path(ACTUALS_FILE)
    raw = p.read_bytes()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    kpis = {k.name_key: k for k in session.scalars(select(Kpi))}
    nation = session.scalars(select(OrgUnit).where(OrgUnit.code == NATION_CODE)).one()
    parsed = []
    seen: dict[tuple[int, date, str], int] = {}
    for i, r in enumerate(rows, start=2):  # row 1 is the header
        kpi = kpis.get(match_key(r.get("kpi", "")))
        if kpi is None:
            raise InvalidInput(f"{p.name} row {i}, column kpi: unknown KPI {r.get('kpi')!r}",
                               message_ja=f"{p.name} {i}行目「kpi」列: 不明なKPIです: {r.get('kpi')}",
                               field="kpi")
        try:
            as_of = parse_as_of(r["as_of"])
            value = parse_quantity(r["value"], field="value").value
            qualifier = Qualifier.parse(r.get("qualifier"))
        except InvalidInput as e:
            raise InvalidInput(f"{p.name} row {i}, column {e.field or 'as_of'}: {e.message}",
                               message_ja=f"{p.name} {i}行目「{e.field or 'as_of'}」列: {e.message_ja}",
                               field=e.field) from None
        url = (r.get("source_url") or "").strip()
        if url:
            problem = url_problem(url)
            if problem:
                raise InvalidInput(f"{p.name} row {i}, column source_url: {problem[0]}",
                                   message_ja=f"{p.name} {i}行目「source_url」列: {problem[1]}",
                                   field="source_url")
        breakdown = clean_text(r.get("breakdown", ""))
        if breakdown and breakdown not in kpi.breakdowns:
            raise InvalidInput(f"{p.name} row {i}, column breakdown: unknown breakdown {breakdown!r}",
                               message_ja=f"{p.name} {i}行目「breakdown」列: 不明な内訳です: {breakdown}",
                               field="breakdown")
        key = (kpi.id, as_of.date, breakdown)
        if key in seen:
            raise InvalidInput(
                f"{p.name} row {i}, column as_of: the same KPI, date and breakdown as row {seen[key]}",
                message_ja=f"{p.name} {i}行目「as_of」列: {seen[key]}行目と同じKPI・時点・内訳です",
                field="as_of")
        seen[key] = i
        parsed.append((kpi, as_of, value, qualifier, breakdown, r))

    national = list(session.scalars(
        select(Observation).where(Observation.kpi_id.in_(select(Kpi.id)),
                                  Observation.org_unit_id == nation.id)))
    existing = {(o.kpi_id, o.as_of, o.breakdown): o for o in national}
    reference_batches = {b.id: b.created_by for b in session.scalars(
        select(ImportBatch).where(ImportBatch.kind == "reference"))}
    owned = _reference_owned(session, [o for o in national if o.batch_id in reference_batches],
                             reference_batches)
    batch = ImportBatch(kind="reference", file_name=p.name,
                        checksum=hashlib.sha256(raw).hexdigest(), created_by=actor,
                        created_at=now, rows=len(parsed), created=0, updated=0, unchanged=0)
    by_id = {k.id: k for k in kpis.values()}
    changes: list[tuple[str, Observation, dict[str, Any] | None, Kpi, _Overwritten | None]] = []
    kept = 0
    for kpi, as_of, value, qualifier, breakdown, r in parsed:
        vals = {"value": value, "qualifier": qualifier.value,
                "as_of_precision": as_of.precision.value,
                "source_title": r.get("source_title", ""),
                "source_url": (r.get("source_url") or "").strip() or None}
        obs = existing.get((kpi.id, as_of.date, breakdown))
        if obs is None:
            obs = Observation(kpi_id=kpi.id, org_unit_id=nation.id, as_of=as_of.date,
                              breakdown=breakdown, status="approved", created_by=actor,
                              created_at=now, **vals)
            changes.append(("create", obs, None, kpi, None))
            batch.created += 1
        elif obs.id not in owned:
            kept += 1          # someone's own value at this key: theirs stands
        else:
            before = observation_snapshot(obs)
            was: _Overwritten = (obs.value, obs.qualifier, obs.as_of_precision, obs.source_title,
                        obs.source_url, obs.batch_id)
            if set_fields(obs, vals):
                obs.updated_at = now
                obs.created_by = actor
                changes.append(("update", obs, before, kpi, was))
                batch.updated += 1
            else:
                batch.unchanged += 1
    in_file = set(seen)
    withdrawn = [o for o in national if o.id in owned
                 and (o.kpi_id, o.as_of, o.breakdown) not in in_file]
    report.add("observation", "created", batch.created)
    report.add("observation", "updated", batch.updated)
    report.add("observation", "unchanged", batch.unchanged)
    if isinstance(report, ReferenceLoadReport):
        report.add("observation", "withdrawn", len(withdrawn))
        report.add("observation", "kept", kept)
    if not changes and not withdrawn:
        return None
    session.add(batch)
    session.flush()
    for action, obs, _before, _kpi, overwritten in changes:
        if action == "create":
            obs.batch_id = batch.id
            session.add(obs)
        elif overwritten is not None:
            value0, qualifier0, precision0, title0, url0, batch0 = overwritten
            # what this load overwrote, so that reverting its batch puts the values back
            session.add(ObservationChange(
                batch_id=batch.id, observation_id=obs.id, old_value=value0,
                old_qualifier=qualifier0, old_precision=precision0, old_source_title=title0,
                old_source_url=url0, old_batch_id=batch0))
            obs.batch_id = batch.id
    session.flush()
    for action, obs, old, kpi, _overwritten in changes:
        audit.record(session, actor=actor, action=f"observation.{action}", entity="observation",
                     entity_key=str(obs.id), at=now, before=old,
                     after=observation_snapshot(obs), kpi_id=kpi.id, org_unit_id=nation.id,
                     batch_id=batch.id, summary=f"{kpi.name}: {obs.as_of.isoformat()} の値")
    for obs in withdrawn:
        kpi = by_id[obs.kpi_id]
        audit.record(session, actor=actor, action="observation.withdraw", entity="observation",
                     entity_key=str(obs.id), at=now, before=observation_snapshot(obs),
                     after=None, kpi_id=kpi.id, org_unit_id=nation.id, batch_id=batch.id,
                     summary=f"{kpi.name}: {obs.as_of.isoformat()} の値を取り下げました"
                             f"（{p.name} から削除されたため）")
        session.delete(obs)
    session.flush()
    return batch


def load_strategy_file(uow: UnitOfWork, path: Path, *, actor: str, now: datetime) -> LoadReport:
    """Load (or refresh) one more strategy file, e.g. a synthetic one for benchmarks."""
    report = LoadReport()
    doc, checksum = read_strategy_file(path)
    with uow:
        load_strategy(uow.session, doc, checksum, report, actor=actor, now=now)
        uow.commit()
    return report


def init_reference_data(uow: UnitOfWork, *, actor: str, now: datetime,
                        progress: Progress | None = None,
                        strategy_path: Path | None = None) -> ReferenceLoadReport:
    """Load (or refresh) every packaged reference data set in one transaction; the reference
    observations are reconciled with the actuals file (see load_actuals)."""
    report = ReferenceLoadReport()
    doc, checksum = read_strategy_file(strategy_path)
    with uow:
        s = uow.session
        before = {k: v for k, v in report.created.items()}
        load_org_units(s, report, progress)
        created_units = report.created.get("org_unit", 0) - before.get("org_unit", 0)
        updated_units = report.updated.get("org_unit", 0)
        if created_units or updated_units:
            audit.record(s, actor=actor, action="reference.load", entity="org_unit",
                         entity_key="local_governments.csv", at=now,
                         after={"created": created_units, "updated": updated_units},
                         summary=f"地方公共団体を読み込みました（新規 {created_units}、更新 {updated_units}）")
        if progress:
            progress("strategy", 0, 1)
        load_strategy(s, doc, checksum, report, actor=actor, now=now)
        if progress:
            progress("strategy", 1, 1)
            progress("reported actuals", 0, 1)
        load_actuals(s, report, actor=actor, now=now)
        if progress:
            progress("reported actuals", 1, 1)
        catalogue.load_catalogue(s, report, actor=actor, now=now)
        catalogue.load_fiscal_indices(s, report)
        catalogue.load_adjacency(s, report)
        # the desk's offices and default routing rules (after the catalogue: rules come from its measures)
        consult_offices.load_reference_offices(s, report, actor=actor, now=now)
        programmes.load_programmes(s, report.support, actor=actor, now=now)
        indexed = s.scalar(select(func.count()).select_from(SearchDoc)) or 0
        # an index built before KPIs were searchable holds none: build it again once
        kpis_indexed = s.scalar(select(func.count()).select_from(SearchDoc).where(SearchDoc.kind == "kpi")) or 0
        touched = any(report.created.get(k) or report.updated.get(k)
                      for k in ("org_unit", "strategy", "measure", "problem"))
        if touched or not indexed or not kpis_indexed:
            built = search.rebuild(s, progress)
            report.add("search_doc", "created", sum(built.documents.values()))
        else:
            report.add("search_doc", "unchanged", indexed)
        uow.commit()
    return report
