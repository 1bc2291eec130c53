"""National KPIs counted live from the local governments' own accepted records.

A KPI with ``local_fact`` (strategy YAML) counts the local governments whose latest accepted
(公開) strategy revision establishes that fact (domain.local.facts_of). Only accepted data
counts: it is what the public sees, and what the nation has signed off. The published national
figure (the reported actuals), where there is one, is shown beside it, each labelled for what it
is. The pages show no difference between them: a published national total and a count of the
records in digiden (demo records among them) are not two measurements of one thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digiden.domain.calendar import AsOf, Precision
from digiden.domain.errors import NotFound
from digiden.domain.local import FACT_LABELS_JA, Fact, MeasureFacts, MeasureKind, MeasureState, Status, facts_of
from digiden.domain.progress import date_ja
from digiden.domain.quantities import Qualifier, format_quantity
from digiden.services.registry.localgov import KINDS
from digiden.services.uow import UnitOfWork
from digiden.shapes.local import CoverageOut, PrefectureOut, PrefecturePlacesOut
from digiden.shapes.national import ComputedKpiOut, PrefectureCountOut, ReportedOut
from digiden.store.db import as_utc
from digiden.store.models import (
    Kpi,
    LocalMeasure,
    LocalStrategy,
    LocalStrategyModelType,
    ModelType,
    Observation,
    OrgUnit,
    Practice,
    PracticeModelType,
    PracticeOrgUnit,
)

MUNICIPAL_UNITS = ("市区町村",)


@dataclass(frozen=True)
class OrgFact:
    code: str
    name: str
    prefecture_code: str
    revision: int
    accepted_at: datetime | None
    synthetic: bool


@dataclass(frozen=True)
class PrefectureRollup:
    prefecture_code: str
    prefecture: str
    count: int
    of: int          # local governments of the counted kind in the prefecture


@dataclass(frozen=True)
class ComputedKpi:
    kpi_code: str
    kpi_name: str
    unit: str
    fact: Fact
    rule_ja: str
    value: int
    denominator: int            # how many local governments could count
    as_of: datetime | None      # the newest acceptance among the counted records
    orgs: tuple[OrgFact, ...]
    by_prefecture: tuple[PrefectureRollup, ...]
    reported_value: float | None
    reported_as_of: str | None
    reported_source: str
    synthetic_count: int        # counted records that are synthetic (demo data)
    reported_qualifier: Qualifier = Qualifier.EXACT   # 超, 強, 約 … as the published figure says it
    reported_as_of_label: str = ""                    # 2023年6月, 2025年3月末

    @property
    def reported_display(self) -> str | None:
        """The published figure as published: 1,000団体超."""
        if self.reported_value is None:
            return None
        return format_quantity(self.reported_value, self.unit, self.reported_qualifier)

    @property
    def difference(self) -> float | None:
        """Kept in the JSON for scripts; not shown on the pages (see the module docstring)."""
        return None if self.reported_value is None else self.value - self.reported_value

    @property
    def codes(self) -> list[str]:
        return [o.code for o in self.orgs]

    def shape(self) -> ComputedKpiOut:
        return ComputedKpiOut(
            kpi=self.kpi_code, fact=self.fact.value, rule=self.rule_ja, value=self.value, unit=self.unit,
            denominator=self.denominator, as_of=self.as_of.isoformat() if self.as_of else None,
            org_units=self.codes, synthetic_records=self.synthetic_count,
            by_prefecture=[PrefectureCountOut.model_validate(r) for r in self.by_prefecture],
            reported=(ReportedOut(value=self.reported_value, as_of=self.reported_as_of, source=self.reported_source,
                                  display=self.reported_display)
                      if self.reported_value is not None else None),
            difference=self.difference)


def latest_accepted(session: Session) -> dict[int, LocalStrategy]:
    """org unit id → its newest accepted revision."""
    newest = (select(LocalStrategy.org_unit_id, func.max(LocalStrategy.revision).label("rev"))
              .where(LocalStrategy.status == Status.ACCEPTED.value).group_by(LocalStrategy.org_unit_id).subquery())
    rows = session.scalars(select(LocalStrategy).join(
        newest, (newest.c.org_unit_id == LocalStrategy.org_unit_id) & (newest.c.rev == LocalStrategy.revision)))
    return {ls.org_unit_id: ls for ls in rows}


def _facts_by_org(session: Session) -> tuple[dict[int, LocalStrategy], dict[int, frozenset[Fact]]]:
    accepted = latest_accepted(session)
    measures: dict[int, list[MeasureFacts]] = {}
    if accepted:
        by_strategy = {ls.id: org for org, ls in accepted.items()}
        for m in session.scalars(select(LocalMeasure).where(LocalMeasure.strategy_id.in_(list(by_strategy)))):
            measures.setdefault(by_strategy[m.strategy_id], []).append(
                MeasureFacts(MeasureKind(m.kind), m.digital, MeasureState(m.state), m.start_fy))
    return accepted, {org: facts_of(ms) for org, ms in measures.items()}


def computed(uow: UnitOfWork, kpi_code: str) -> ComputedKpi:
    with uow:
        s = uow.session
        k = s.scalars(select(Kpi).where(Kpi.code == kpi_code)).one_or_none()
        if k is None or k.local_fact is None:
            raise NotFound(f"KPI {kpi_code} is not counted from local records",
                           message_ja=f"KPI {kpi_code} は地方公共団体の記録から集計するKPIではありません", field="kpi")
        return _computed(s, k)


def _computed(s: Session, k: Kpi) -> ComputedKpi:
    fact = Fact(k.local_fact or "")
    municipal_only = k.unit in MUNICIPAL_UNITS
    kinds = set(KINDS) - ({"prefecture"} if municipal_only else set())
    units = {o.id: o for o in s.scalars(select(OrgUnit).where(OrgUnit.kind.in_(sorted(kinds))))}
    prefs = {o.prefecture_code: o.name for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "prefecture"))}
    accepted, facts = _facts_by_org(s)
    counted = sorted((o for oid, o in units.items() if fact in facts.get(oid, frozenset())), key=lambda o: o.code)
    orgs = tuple(OrgFact(o.code, o.full_name, o.prefecture_code, accepted[o.id].revision, accepted[o.id].accepted_at,
                         accepted[o.id].synthetic) for o in counted)
    per: dict[str, int] = {}
    of: dict[str, int] = {}
    for o in units.values():
        of[o.prefecture_code] = of.get(o.prefecture_code, 0) + 1
    for o in counted:
        per[o.prefecture_code] = per.get(o.prefecture_code, 0) + 1
    rollup = tuple(PrefectureRollup(c, prefs.get(c, c), per.get(c, 0), of.get(c, 0)) for c in sorted(prefs))
    denominator = len(units)
    for t in k.targets:
        if t.denominator_value:
            denominator = int(t.denominator_value)
    nation = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "JP")).first()
    reported = s.scalars(select(Observation).where(Observation.kpi_id == k.id, Observation.org_unit_id == nation,
                                                  Observation.breakdown == "")
                         .order_by(Observation.as_of.desc()).limit(1)).first()
    times = [as_utc(o.accepted_at) for o in orgs if o.accepted_at is not None]
    return ComputedKpi(k.code, k.name, k.unit, fact, FACT_LABELS_JA[fact], len(orgs), denominator,
                       max(times) if times else None, orgs, rollup,
                       reported.value if reported else None, reported.as_of.isoformat() if reported else None,
                       (reported.source_title if reported else ""), sum(1 for o in orgs if o.synthetic),
                       Qualifier(reported.qualifier) if reported else Qualifier.EXACT,
                       _as_of_label(reported.as_of, reported.as_of_precision) if reported else "")


def _as_of_label(d: date, precision: str) -> str:
    return date_ja(d) if precision == Precision.DAY.value else AsOf(d, Precision(precision)).label()


@dataclass(frozen=True)
class CoverageRow:
    model_type: str
    name: str
    with_model: tuple[tuple[str, str, tuple[str, ...]], ...]   # (pref code, pref name, places)
    without: tuple[tuple[str, str], ...]

    @property
    def share(self) -> float:
        total = len(self.with_model) + len(self.without)
        return len(self.with_model) / total if total else 0.0

    def shape(self) -> CoverageOut:
        return CoverageOut(
            model_type=self.model_type, name=self.name,
            with_=[PrefecturePlacesOut(prefecture_code=c, prefecture=n, places=list(p)) for c, n, p in self.with_model],
            without=[PrefectureOut(prefecture_code=c, prefecture=n) for c, n in self.without])


def coverage(uow: UnitOfWork) -> list[CoverageRow]:
    """For each model type: the prefectures where a model of it can be seen (a case study of
    the strategy, or a local government whose accepted strategy declares the type and has a
    digital implementation in place), and the prefectures without one."""
    with uow:
        s = uow.session
        prefs = {o.prefecture_code: o.name for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "prefecture"))}
        places: dict[tuple[int, str], set[str]] = {}
        for t, pc, name in s.execute(
                select(PracticeModelType.model_type_id, OrgUnit.prefecture_code, OrgUnit.full_name)
                .join(PracticeOrgUnit, PracticeOrgUnit.practice_id == PracticeModelType.practice_id)
                .join(OrgUnit, OrgUnit.id == PracticeOrgUnit.org_unit_id)
                .join(Practice, Practice.id == PracticeModelType.practice_id)):
            places.setdefault((t, pc), set()).add(f"{name}（事例）")
        accepted, facts = _facts_by_org(s)
        if accepted:
            ids = {ls.id: org for org, ls in accepted.items()}
            orgs = {o.id: o for o in s.scalars(select(OrgUnit).where(OrgUnit.id.in_(list(accepted))))}
            for mt in s.scalars(select(LocalStrategyModelType)
                                .where(LocalStrategyModelType.strategy_id.in_(list(ids)))):
                org_id = ids[mt.strategy_id]
                if Fact.DIGITAL_IMPLEMENTATION in facts.get(org_id, frozenset()):
                    o = orgs[org_id]
                    places.setdefault((mt.model_type_id, o.prefecture_code), set()).add(
                        f"{o.full_name}（地方版総合戦略）")
        out = []
        for mtype in s.scalars(select(ModelType).order_by(ModelType.position)):
            with_model = tuple((c, prefs[c], tuple(sorted(places[(mtype.id, c)]))) for c in sorted(prefs)
                               if (mtype.id, c) in places)
            without = tuple((c, prefs[c]) for c in sorted(prefs) if (mtype.id, c) not in places)
            out.append(CoverageRow(mtype.code, mtype.name, with_model, without))
        return out
