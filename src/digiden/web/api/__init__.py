"""JSON API under /api/v1. Each route turns input into one service call and back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter

from digiden.services import audit
from digiden.services.national import kpis, local_facts, observations, strategies
from digiden.services.registry import localgov
from digiden.shapes.audit import AuditEntryOut
from digiden.shapes.base import CodeName
from digiden.shapes.national import (
    AreaOut,
    KpiDetailOut,
    KpiOut,
    ObservationCreatedOut,
    ObservationIn,
    ObservationOut,
    StrategyOut,
    StrategySummaryOut,
)
from digiden.shapes.registry import LocalGovernmentDetailOut, LocalGovernmentPage
from digiden.web.auth import Actor
from digiden.web.cache import PerDataVersion
from digiden.web.deps import Now, Today, Uow, link_header_doc, next_link
from digiden.web.edge import IdQuery, OffsetQuery

router = APIRouter(prefix="/api/v1")


@router.get("/strategies", tags=["strategy"], summary="List strategies")
def list_strategies(uow: Uow) -> list[StrategySummaryOut]:
    return strategies.list_strategies(uow)


@router.get("/strategies/{code}", tags=["strategy"],
            summary="A strategy: areas (halves, pillars, fields), KPI blocks, model types, "
                    "case studies")
def get_strategy(code: str, uow: Uow) -> StrategyOut:
    return strategies.get_strategy(uow, code).shape()


@router.get("/areas", tags=["strategy"], summary="The area tree of the national strategy")
def list_areas(uow: Uow) -> list[AreaOut]:
    return [a.shape() for a in strategies.get_strategy(uow).areas]


# The KPI list's JSON (~140 KB for the bench's 68 KPIs, ~7 ms of interpreter time to shape and
# serialise) is the same for every reader: built once per (database, data version, day, filters)
# in each process (web/cache.py), so a write shows on the next request.
_kpi_lists: PerDataVersion[bytes] = PerDataVersion(entries=16)
_KPI_LIST = TypeAdapter(list[KpiOut])


@router.get("/kpis", tags=["kpis"], summary="Every KPI with its targets and status",
            response_model=list[KpiOut])
def list_kpis(uow: Uow, today: Today,
              block: Annotated[str | None, Query(description="KPI block code")] = None,
              status: Annotated[str | None, Query(description="status key")] = None,
              ) -> Response:
    def build() -> bytes:
        views = kpis.list_kpis(uow, today=today)
        shapes = [k.shape() for k in views
                  if (block is None or k.block_code == block)
                  and (status is None or k.status.status.value == status)]
        # what FastAPI would send for the declared list[KpiOut], rendered once
        return JSONResponse(_KPI_LIST.dump_python(shapes, mode="json", by_alias=True)).body
    return Response(_kpi_lists.get(uow, today, build, block, status), media_type="application/json")


@router.get("/kpis/{code}", tags=["kpis"],
            summary="One KPI with targets, status, milestones and its national observations")
def get_kpi(code: str, uow: Uow, today: Today) -> KpiDetailOut:
    d = kpis.get_kpi(uow, code, today=today)
    computed = local_facts.computed(uow, d.kpi.code).shape() if d.kpi.local_fact else None
    return KpiDetailOut(**dict(d.kpi.shape()), computed=computed, observations=[o.shape() for o in d.observations],
                        local_observations=[o.shape() for o in d.local_observations],
                        area_path=[CodeName(code=c, name=n) for c, n in d.area_path])


@router.get("/observations", tags=["observations"], response_model=list[ObservationOut],
            summary="Observations, filtered by KPI, local government and period",
            description="A JSON list of observations in the order (KPI, as_of, breakdown, id). When more "
                        "rows follow, the response carries `Link: <…>; rel=\"next\"` (RFC 8288) with "
                        "the URL of the next page (keyset cursor `after`); see docs/api.md, Paging.",
            responses=link_header_doc("rows"))
def list_observations(
    request: Request,
    uow: Uow,
    kpi: Annotated[str | None, Query(description="KPI code or exact name")] = None,
    org_unit: Annotated[str | None, Query(description="5/6-digit code, or JP")] = None,
    date_from: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD or YYYY-MM")]
    = None,
    date_to: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD or YYYY-MM")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500, offset: OffsetQuery = 0,
    after: Annotated[str | None, Query(max_length=400, description="opaque cursor from the previous "
                                       "page's Link rel=\"next\"; not with offset")] = None,
) -> Response:
    page = observations.observation_page(
        uow, kpi=kpi, org_unit=org_unit, date_from=date_from, date_to=date_to, limit=limit,
        offset=offset, after=after)
    # the declared shape (list[ObservationOut]) built directly: no per-row model validation
    return JSONResponse([o.json_data() for o in page.items], headers=next_link(request, page.next_after))


@router.post("/observations", tags=["observations"], status_code=201,
             summary="Record an observed value (updates the value at the same key)")
def add_observation(body: ObservationIn, uow: Uow, now: Now, today: Today, actor: Actor) -> ObservationCreatedOut:
    data = observations.ObservationInput(
        kpi=body.kpi, as_of=body.as_of, value=str(body.value), org_unit=body.org_unit,
        breakdown=body.breakdown, qualifier=body.qualifier, source_title=body.source_title,
        source_url=body.source_url, note=body.note)
    view, created = observations.add_observation(uow, data, actor=actor, now=now, today=today)
    return ObservationCreatedOut(**dict(view.shape()), created=created)


@router.get("/local-governments", tags=["local governments"],
            summary="Search local governments by name, kana or code; filter by prefecture, kind")
def search_local_governments(
    uow: Uow, q: str = "", prefecture: str | None = None,
    kind: Annotated[str | None, Query(description=", ".join(localgov.KINDS))] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> LocalGovernmentPage:
    rows, total = localgov.search(uow, q, prefecture=prefecture, kind=kind, limit=limit,
                                  offset=offset)
    return LocalGovernmentPage(total=total, items=[r.shape() for r in rows])


@router.get("/local-governments/{code}", tags=["local governments"],
            summary="One local government with population, city hall and case studies")
def get_local_government(code: str, uow: Uow) -> LocalGovernmentDetailOut:
    return localgov.get(uow, code, with_observations=True).shape()


@router.get("/audit", tags=["audit"], response_model=list[AuditEntryOut], summary="Audit history, newest first",
            description="A JSON list of the events the caller may see, newest first (by id). When more "
                        "such events follow, the response carries `Link: <…>; rel=\"next\"` (RFC 8288) "
                        "with the URL of the next page (keyset cursor `after`); see docs/api.md, Paging.",
            responses=link_header_doc("events"))
def audit_history(request: Request, uow: Uow, actor: Actor, kpi: str | None = None, org_unit: str | None = None,
                  batch: IdQuery | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                  after: Annotated[str | None, Query(max_length=200, description="opaque cursor from the "
                                                     "previous page's Link rel=\"next\"")] = None) -> Response:
    page = audit.history_page(uow, actor, kpi_code=kpi, org_unit_code=org_unit, batch_id=batch, limit=limit,
                              after=after)
    return JSONResponse([e.shape().json_data() for e in page.items], headers=next_link(request, page.next_after))

