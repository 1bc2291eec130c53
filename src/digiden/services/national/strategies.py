"""The national strategy as a readable tree: halves → pillars / foundation areas → fields,
the model-region types and key policy fields with their case studies."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from digiden.domain.calendar import format_fiscal_year
from digiden.domain.errors import NotFound
from digiden.services.uow import UnitOfWork
from digiden.shapes.base import CodeName
from digiden.shapes.national import (
    AreaOut,
    CaseStudyOut,
    KpiBlockOut,
    ModelTypeOut,
    StrategyOut,
    StrategySummaryOut,
)
from digiden.store.models import (
    Area,
    Kpi,
    KpiBlock,
    ModelType,
    OrgUnit,
    Practice,
    PracticeModelType,
    PracticeOrgUnit,
    Strategy,
)

NATIONAL_STRATEGY = "national-fy2023"


@dataclass(frozen=True)
class KpiRef:
    code: str
    name: str


@dataclass
class AreaNode:
    code: str
    kind: str
    number: int | None
    name: str
    description: str
    and_more: bool
    children: list[AreaNode] = field(default_factory=list)
    kpis: list[KpiRef] = field(default_factory=list)

    def shape(self) -> AreaOut:
        return AreaOut(code=self.code, kind=self.kind, number=self.number, name=self.name,
                       description=self.description, and_more=self.and_more, kpis=[k.code for k in self.kpis],
                       children=[c.shape() for c in self.children])


@dataclass(frozen=True)
class CaseStudyView:
    code: str
    title: str
    place: str | None
    partners: tuple[str, ...]
    org_units: tuple[tuple[str, str], ...]   # (code, full name)
    types: tuple[str, ...]                   # model type codes

    def shape(self) -> CaseStudyOut:
        return CaseStudyOut(code=self.code, title=self.title, place=self.place, partners=list(self.partners),
                            org_units=[CodeName(code=c, name=n) for c, n in self.org_units],
                            types=list(self.types))


@dataclass(frozen=True)
class ModelTypeView:
    code: str
    category: str
    name: str
    case_studies: tuple[CaseStudyView, ...]

    def shape(self) -> ModelTypeOut:
        return ModelTypeOut(code=self.code, category=self.category, name=self.name,
                            case_studies=[c.code for c in self.case_studies])


@dataclass(frozen=True)
class BlockView:
    code: str
    name: str
    intro: str
    and_more: bool
    kpis: tuple[KpiRef, ...]

    def shape(self) -> KpiBlockOut:
        return KpiBlockOut(code=self.code, name=self.name, intro=self.intro, and_more=self.and_more,
                           kpis=[k.code for k in self.kpis])


@dataclass(frozen=True)
class StrategyView:
    code: str
    title: str
    short_title: str
    fy_from: int
    fy_to: int
    version: int
    status: str
    aim: str
    overview: tuple[str, ...]
    basic_approach: tuple[str, ...]
    cooperation: tuple[dict[str, Any], ...]
    areas: tuple[AreaNode, ...]
    blocks: tuple[BlockView, ...]
    model_types: tuple[ModelTypeView, ...]
    case_studies: tuple[CaseStudyView, ...]

    @property
    def period_label(self) -> str:
        return f"{format_fiscal_year(self.fy_from)}〜{format_fiscal_year(self.fy_to)}"

    def shape(self) -> StrategyOut:
        return StrategyOut(code=self.code, title=self.title, fy_from=self.fy_from, fy_to=self.fy_to,
                           version=self.version, status=self.status, aim=self.aim, overview=list(self.overview),
                           basic_approach=list(self.basic_approach), cooperation=list(self.cooperation),
                           areas=[a.shape() for a in self.areas], kpi_blocks=[b.shape() for b in self.blocks],
                           model_types=[m.shape() for m in self.model_types],
                           case_studies=[c.shape() for c in self.case_studies])


def list_strategies(uow: UnitOfWork) -> list[StrategySummaryOut]:
    with uow:
        return [StrategySummaryOut.model_validate(s)
                for s in uow.session.scalars(select(Strategy).order_by(Strategy.id))]


def get_strategy(uow: UnitOfWork, code: str = NATIONAL_STRATEGY) -> StrategyView:
    with uow:
        s = uow.session
        st = s.scalars(select(Strategy).where(Strategy.code == code)).one_or_none()
        if st is None:
            raise NotFound(f"unknown strategy {code!r}",
                           message_ja=f"戦略「{code}」は見つかりません", field="strategy")
        areas = s.scalars(select(Area).where(Area.strategy_id == st.id)
                          .order_by(Area.position)).all()
        kpis = s.scalars(select(Kpi).where(Kpi.strategy_id == st.id)
                         .order_by(Kpi.position)).all()
        nodes = {a.id: AreaNode(a.code, a.kind, a.number, a.name, a.description, a.and_more)
                 for a in areas}
        roots: list[AreaNode] = []
        for a in areas:
            (nodes[a.parent_id].children if a.parent_id else roots).append(nodes[a.id])
        by_block: dict[int, list[KpiRef]] = defaultdict(list)
        for k in kpis:
            if k.area_id:
                nodes[k.area_id].kpis.append(KpiRef(k.code, k.name))
            if k.block_id:
                by_block[k.block_id].append(KpiRef(k.code, k.name))
        blocks = tuple(BlockView(b.code, b.name, b.intro, b.and_more, tuple(by_block[b.id]))
                       for b in s.scalars(select(KpiBlock).where(KpiBlock.strategy_id == st.id)
                                          .order_by(KpiBlock.position)))
        types = s.scalars(select(ModelType).where(ModelType.strategy_id == st.id)
                          .order_by(ModelType.position)).all()
        type_code = {t.id: t.code for t in types}
        practices = s.scalars(select(Practice).where(Practice.strategy_id == st.id)
                              .order_by(Practice.position)).all()
        p_types: dict[int, list[str]] = defaultdict(list)
        for pt in s.scalars(select(PracticeModelType)):
            p_types[pt.practice_id].append(type_code.get(pt.model_type_id, ""))
        p_units: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for pid, code_, full in s.execute(
                select(PracticeOrgUnit.practice_id, OrgUnit.code, OrgUnit.full_name)
                .join(OrgUnit, OrgUnit.id == PracticeOrgUnit.org_unit_id)):
            p_units[pid].append((code_, full))
        cases = tuple(CaseStudyView(p.code, p.title, p.place, tuple(p.partners or ()),
                                    tuple(p_units[p.id]), tuple(p_types[p.id]))
                      for p in practices)
        mtypes = tuple(ModelTypeView(t.code, t.category, t.name,
                                     tuple(c for c in cases if t.code in c.types))
                       for t in types)
        d = st.details or {}
        return StrategyView(st.code, st.title, st.short_title, st.fy_from, st.fy_to, st.version,
                            st.status, st.aim, tuple(d.get("overview", [])),
                            tuple(d.get("basic_approach", [])), tuple(d.get("cooperation", [])),
                            tuple(roots), blocks, mtypes, cases)
