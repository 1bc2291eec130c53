"""JSON API under /api/v1. Each route turns input into one service call and back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from digiden.services import audit
from digiden.services.national import kpis, local_facts, observations, strategies
from digiden.services.registry import localgov
from digiden.web.auth import Actor
from digiden.web.deps import Now, Today, Uow
from digiden.web.edge import IdQuery, OffsetQuery

router = APIRouter(prefix="/api/v1")


@router.get("/strategies", tags=["strategy"], summary="List strategies")
def list_strategies(uow: Uow) -> list[dict[str, Any]]:
    return strategies.list_strategies(uow)


@router.get("/strategies/{code}", tags=["strategy"],
            summary="A strategy: areas (halves, pillars, fields), KPI blocks, model types, "
                    "case studies")
def get_strategy(code: str, uow: Uow) -> dict[str, Any]:
    return strategies.get_strategy(uow, code).as_dict()


@router.get("/areas", tags=["strategy"], summary="The area tree of the national strategy")
def list_areas(uow: Uow) -> list[dict[str, Any]]:
    return [a.as_dict() for a in strategies.get_strategy(uow).areas]


@router.get("/kpis", tags=["kpis"], summary="Every KPI with its targets and status")
def list_kpis(uow: Uow, today: Today,
              block: Annotated[str | None, Query(description="KPI block code")] = None,
              status: Annotated[str | None, Query(description="status key")] = None,
              ) -> list[dict[str, Any]]:
    views = kpis.list_kpis(uow, today=today)
    return [k.as_dict() for k in views
            if (block is None or k.block_code == block)
            and (status is None or k.status.status.value == status)]


@router.get("/kpis/{code}", tags=["kpis"],
            summary="One KPI with targets, status, milestones and its national observations")
def get_kpi(code: str, uow: Uow, today: Today) -> dict[str, Any]:
    d = kpis.get_kpi(uow, code, today=today)
    computed = local_facts.computed(uow, d.kpi.code).as_dict() if d.kpi.local_fact else None
    return d.kpi.as_dict() | {"computed": computed,"observations": [o.as_dict() for o in d.observations],
                              "local_observations": [o.as_dict() for o in d.local_observations],
                              "area_path": [{"code": c, "name": n} for c, n in d.area_path]}


@router.get("/observations", tags=["observations"],
            summary="Observations, filtered by KPI, local government and period")
def list_observations(
    uow: Uow,
    kpi: Annotated[str | None, Query(description="KPI code or exact name")] = None,
    org_unit: Annotated[str | None, Query(description="5/6-digit code, or JP")] = None,
    date_from: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD or YYYY-MM")]
    = None,
    date_to: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD or YYYY-MM")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500, offset: OffsetQuery = 0,
) -> list[dict[str, Any]]:
    return [o.as_dict() for o in observations.list_observations(
        uow, kpi=kpi, org_unit=org_unit, date_from=date_from, date_to=date_to, limit=limit,
        offset=offset)]


class ObservationIn(BaseModel):
    """A value to record. Text fields are parsed as people write them (１，０００ / 2万人強)."""

    kpi: str = Field(description="KPI code or exact name")
    as_of: str = Field(description="YYYY-MM-DD, or YYYY-MM when only the month is known")
    value: str | float = Field(description="the number; 2万人強 and 12.5% are understood (finite)")
    org_unit: str = Field(default="JP", description="local government code, or JP (national)")
    breakdown: str = ""
    qualifier: str = Field(default="", description="超 / 強 / 程度 / 以上, or the English key")
    source_title: str = Field(description="where the number comes from")
    source_url: str = ""
    note: str = ""


@router.post("/observations", tags=["observations"], status_code=201,
             summary="Record an observed value (updates the value at the same key)")
def add_observation(body: ObservationIn, uow: Uow, now: Now, today: Today, actor: Actor) -> dict[str, Any]:
    data = observations.ObservationInput(
        kpi=body.kpi, as_of=body.as_of, value=str(body.value), org_unit=body.org_unit,
        breakdown=body.breakdown, qualifier=body.qualifier, source_title=body.source_title,
        source_url=body.source_url, note=body.note)
    view, created = observations.add_observation(uow, data, actor=actor, now=now, today=today)
    return view.as_dict() | {"created": created}


@router.get("/local-governments", tags=["local governments"],
            summary="Search local governments by name, kana or code; filter by prefecture, kind")
def search_local_governments(
    uow: Uow, q: str = "", prefecture: str | None = None,
    kind: Annotated[str | None, Query(description=", ".join(localgov.KINDS))] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows, total = localgov.search(uow, q, prefecture=prefecture, kind=kind, limit=limit,
                                  offset=offset)
    return {"total": total, "items": [r.as_dict() for r in rows]}


@router.get("/local-governments/{code}", tags=["local governments"],
            summary="One local government with population, city hall and case studies")
def get_local_government(code: str, uow: Uow) -> dict[str, Any]:
    return localgov.get(uow, code).as_dict()


@router.get("/audit", tags=["audit"], summary="Audit history, newest first")
def audit_history(uow: Uow, actor: Actor, kpi: str | None = None, org_unit: str | None = None,
                  batch: IdQuery | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    return [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
             "entity": e.entity, "entity_key": e.entity_key, "summary": e.summary,
             "before": e.before, "after": e.after}
            for e in audit.history(uow, actor, kpi_code=kpi, org_unit_code=org_unit, batch_id=batch,
                                   limit=limit)]
