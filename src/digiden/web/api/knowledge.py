"""JSON API: the measures catalogue and roadmap, good practices and their spread, search,
similar municipalities, recommendations, collaboration partners and groups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from digiden.domain.errors import InvalidInput
from digiden.domain.similarity import COMPONENTS
from digiden.services.knowledge import catalogue, practices, search, similarity
from digiden.web.auth import Actor
from digiden.web.deps import Now, Today, Uow
from digiden.web.edge import INT64_MAX, IdPath

router = APIRouter(prefix="/api/v1")
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@router.get("/search", tags=["search"], summary="Search measures, practices and local governments")
def search_all(uow: Uow, actor: Actor, q: Annotated[str, Query(max_length=20_000)] = "",
               kind: str = "", field: str = "", model_type: str = "", pref: str = "", support: str = "",
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    """Japanese full-text search (SudachiPy + FTS5 / PostgreSQL). `results[]` carry
    `kind, id, title, score, snippet` (matches in 【】) and `snippet_html` (matches in <mark>)."""
    return search.search(uow, actor, q, limit=limit, kind=kind, field=field, model_type=model_type,
                         pref=pref, support=support).as_dict()


@router.get("/problems", tags=["catalogue"], summary="Social issues (社会課題) and the fields they map to")
def problems(uow: Uow) -> list[dict[str, Any]]:
    return [p.as_dict() for p in catalogue.problems(uow)]


@router.get("/measures", tags=["catalogue"], summary="The measures catalogue, filtered by problem/field/support")
def measures(uow: Uow, problem: str = "", field: str = "", support: str = "",
             ministry: str = "") -> list[dict[str, Any]]:
    return [m.as_dict() for m in catalogue.list_measures(uow, problem=problem or None, field=field or None,
                                                         support=support or None, ministry=ministry or None)]


@router.get("/measures/{code}", tags=["catalogue"], summary="One measure with its roadmap and practices")
def measure(code: str, uow: Uow) -> dict[str, Any]:
    return catalogue.get_measure(uow, code).as_dict()


@router.get("/roadmap", tags=["catalogue"], summary="The roadmap (工程表) FY2023–2027 by field or ministry")
def roadmap(uow: Uow, by: str = "field") -> list[dict[str, Any]]:
    return [{"key": g.key, "label": g.label, "measures": [{"code": m.code, "title": m.title,
                                                           "roadmap": [r.as_dict() for r in m.roadmap]}
                                                          for m in g.measures]}
            for g in catalogue.roadmap(uow, by=by)]


@router.get("/menubook.pdf", tags=["catalogue"], summary="The menu book as PDF (Japanese font embedded)")
def menubook_pdf(uow: Uow, today: Today, pillar: str = "") -> Response:
    from digiden.web.menubook import pdf_response
    return pdf_response(uow, today, pillar)


class PracticeIn(BaseModel):
    title: str
    org_units: list[str] = Field(description="local government codes (6 digits, or 5 without check digit)")
    field: str | None = Field(default=None, description="a field of the strategy, e.g. P4.2")
    model_types: list[str] = []
    problem: str
    solution: str
    results: str = ""
    figures: list[dict[str, Any]] = Field(default=[], description="[{label, value, unit, fiscal_year}] e.g. "
                                          "{label: 利用者数, value: '1,200人', fiscal_year: 2024}")
    fy_from: str | None = Field(default=None, description="2023, 2023年度, 令和5年度, R5")
    fy_to: str | None = None
    support: str = Field(default="", description="national support used, in words")
    measures: list[str] = Field(default=[], description="codes of catalogue measures used")
    sources: list[dict[str, str]] = Field(default=[], description="[{title, url}]")
    partners: list[str] = []
    submit: bool = Field(default=True, description="false keeps it as a draft")
    version: int | None = Field(default=None, ge=0, le=INT64_MAX, description="on update: the version you edited")


@router.get("/practices", tags=["practices"], summary="Good practices you may see")
def practice_list(uow: Uow, actor: Actor, field: str = "", model_type: str = "", status: str = "",
                  limit: Annotated[int, Query(ge=1, le=500)] = 100,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[dict[str, Any]]:
    rows = practices.list_practices(uow, actor, field=field or None, model_type=model_type or None,
                                    status=status or None, limit=limit, offset=offset)
    return [p.as_dict() for p in rows]


@router.post("/practices", tags=["practices"], status_code=201, summary="Propose a good practice")
def practice_add(body: PracticeIn, uow: Uow, actor: Actor, now: Now) -> dict[str, Any]:
    return practices.add(uow, actor, body.model_dump(), submit=body.submit, now=now).as_dict()


@router.post("/practices/import", tags=["practices"], status_code=201,
             summary="Import practices from CSV (UTF-8/CP932), JSON or YAML — all or nothing")
async def practice_import(request: Request, uow: Uow, actor: Actor, now: Now,
                          file: Annotated[UploadFile, File(description=".csv, .json or .yaml")],
                          publish: Annotated[bool, Form()] = False) -> dict[str, Any]:
    from fastapi.concurrency import run_in_threadpool
    raw = await file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput("file too large (5 MB at most)", field="file",
                           message_ja="ファイルが大きすぎます（5MBまで）")
    res = await run_in_threadpool(practices.import_file, uow, actor, file.filename or "upload.csv", raw,
                                  publish=publish, now=now)
    return res.as_dict()


@router.get("/practices/{code}", tags=["practices"], summary="One practice with its spread (横展開)")
def practice_get(code: str, uow: Uow, actor: Actor) -> dict[str, Any]:
    return practices.get(uow, actor, code).as_dict()


@router.put("/practices/{code}", tags=["practices"], summary="Change a draft or returned practice")
def practice_put(code: str, body: PracticeIn, uow: Uow, actor: Actor, now: Now) -> dict[str, Any]:
    return practices.update(uow, actor, code, body.model_dump(), expected_version=body.version,
                            submit=body.submit, now=now).as_dict()


class ReviewIn(BaseModel):
    action: str = Field(description="publish, return or unpublish")
    comment: str = ""


@router.post("/practices/{code}/review", tags=["practices"], summary="Publish or return (national administrators)")
def practice_review(code: str, body: ReviewIn, uow: Uow, actor: Actor, now: Now) -> dict[str, Any]:
    return practices.review(uow, actor, code, body.action, body.comment, now=now).as_dict()


class AdoptionIn(BaseModel):
    org_unit: str
    fiscal_year: str = Field(description="2024, 2024年度, 令和6年度, R6")
    adaptation: str = ""
    result: str = ""


@router.post("/practices/{code}/adoptions", tags=["practices"], status_code=201,
             summary="Record that a local government adopted the practice (横展開)")
def practice_adopt(code: str, body: AdoptionIn, uow: Uow, actor: Actor, now: Now) -> dict[str, Any]:
    return practices.record_adoption(uow, actor, code, org_code=body.org_unit, fiscal_year=body.fiscal_year,
                                     adaptation=body.adaptation, result=body.result, now=now).as_dict()


def weights_of(request: Request) -> dict[str, str]:
    return {k: request.query_params[f"w_{k}"] for k in COMPONENTS if f"w_{k}" in request.query_params}


@router.get("/local-governments/{code}/similar", tags=["similarity"],
            summary="類似団体 with reasons; weights w_kind, w_population, w_aging, w_fiscal, w_geography, w_strategy")
def similar(code: str, request: Request, uow: Uow, actor: Actor,
            limit: Annotated[int, Query(ge=1, le=200)] = 20, same_prefecture: bool = False) -> dict[str, Any]:
    return similarity.similar(uow, actor, code, weights=weights_of(request), limit=limit,
                              same_prefecture=same_prefecture).as_dict()


@router.get("/local-governments/{code}/recommendations", tags=["similarity"],
            summary="Practices for the local government's declared issues, ranked by adopters' similarity")
def recommendations(code: str, uow: Uow, actor: Actor, field: Annotated[list[str] | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    return similarity.recommendations(uow, actor, code, fields=field, limit=limit).as_dict()


@router.get("/partners", tags=["similarity"], summary="Collaboration partners for a social issue, in candidate groups")
def partners(uow: Uow, actor: Actor, issue: str,
             within_km: Annotated[float, Query(gt=0, le=300, allow_inf_nan=False)] = 30.0, anchor: str = "",
             pref: str = "") -> dict[str, Any]:
    return similarity.partners(uow, actor, issue, within_km=within_km, anchor=anchor or None,
                               prefecture=pref or None).as_dict()


class GroupIn(BaseModel):
    name: str
    issue: str | None = None
    members: list[str]
    description: str = ""
    initiatives: list[str] = []


@router.get("/collaboration-groups", tags=["similarity"], summary="Saved collaboration groups (地域間連携)")
def groups(uow: Uow, member: str = "") -> list[dict[str, Any]]:
    return [g.as_dict() for g in similarity.list_groups(uow, org_code=member or None)]


@router.post("/collaboration-groups", tags=["similarity"], status_code=201, summary="Save a collaboration group")
def group_save(uow: Uow, actor: Actor, now: Now, body: Annotated[GroupIn, Body()]) -> dict[str, Any]:
    return similarity.save_group(uow, actor, body.model_dump(), now=now).as_dict()


@router.get("/collaboration-groups/{group_id}", tags=["similarity"], summary="One collaboration group")
def group_get(group_id: IdPath, uow: Uow) -> dict[str, Any]:
    return similarity.get_group(uow, group_id).as_dict()
