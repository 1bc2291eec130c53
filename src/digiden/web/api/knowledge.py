"""JSON API: the measures catalogue and roadmap, good practices and their spread, search,
similar municipalities, recommendations, collaboration partners and groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from digiden.domain.errors import InvalidInput
from digiden.domain.similarity import COMPONENTS
from digiden.services.knowledge import catalogue, practices, search, similarity
from digiden.shapes import knowledge as shapes
from digiden.shapes.knowledge import AdoptionIn, GroupIn, PracticeIn, ReviewIn
from digiden.web.auth import Actor
from digiden.web.deps import Now, Today, Uow
from digiden.web.edge import IdPath

router = APIRouter(prefix="/api/v1")
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@router.get("/search", tags=["search"], summary="Search measures, practices and local governments")
def search_all(uow: Uow, actor: Actor, q: Annotated[str, Query(max_length=20_000)] = "",
               kind: str = "", field: str = "", model_type: str = "", pref: str = "", support: str = "",
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> shapes.SearchResult:
    """Japanese full-text search (SudachiPy + FTS5 / PostgreSQL). `results[]` carry
    `kind, id, title, score, snippet` (matches in 【】) and `snippet_html` (matches in <mark>)."""
    return shapes.SearchResult.model_validate(search.search(
        uow, actor, q, limit=limit, kind=kind, field=field, model_type=model_type, pref=pref, support=support))


@router.get("/problems", tags=["catalogue"], summary="Social issues (社会課題) and the fields they map to")
def problems(uow: Uow) -> list[shapes.Problem]:
    return [shapes.Problem.model_validate(p) for p in catalogue.problems(uow)]


@router.get("/measures", tags=["catalogue"], summary="The measures catalogue, filtered by problem/field/support")
def measures(uow: Uow, problem: str = "", field: str = "", support: str = "",
             ministry: str = "") -> list[shapes.Measure]:
    rows = catalogue.list_measures(uow, problem=problem or None, field=field or None, support=support or None,
                                   ministry=ministry or None)
    return [shapes.Measure.model_validate(m) for m in rows]


@router.get("/measures/{code}", tags=["catalogue"], summary="One measure with its roadmap and practices")
def measure(code: str, uow: Uow) -> shapes.Measure:
    return shapes.Measure.model_validate(catalogue.get_measure(uow, code))


@router.get("/roadmap", tags=["catalogue"], summary="The roadmap (工程表) FY2023–2027 by field or ministry")
def roadmap(uow: Uow, by: str = "field") -> list[shapes.RoadmapGroup]:
    return [shapes.RoadmapGroup.model_validate(g) for g in catalogue.roadmap(uow, by=by)]


@router.get("/menubook.pdf", tags=["catalogue"], summary="The menu book as PDF (Japanese font embedded)",
            response_class=Response, responses={200: {"description": "the PDF", "content": {"application/pdf": {}}}})
def menubook_pdf(uow: Uow, today: Today, pillar: str = "") -> Response:
    from digiden.web.menubook import pdf_response
    return pdf_response(uow, today, pillar)


@router.get("/practices", tags=["practices"], summary="Good practices you may see")
def practice_list(uow: Uow, actor: Actor, field: str = "", model_type: str = "", status: str = "",
                  limit: Annotated[int, Query(ge=1, le=500)] = 100,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[shapes.PracticeRow]:
    rows = practices.list_practices(uow, actor, field=field or None, model_type=model_type or None,
                                    status=status or None, limit=limit, offset=offset)
    return [shapes.PracticeRow.model_validate(p) for p in rows]


@router.post("/practices", tags=["practices"], status_code=201, summary="Propose a good practice")
def practice_add(body: PracticeIn, uow: Uow, actor: Actor, now: Now) -> shapes.Practice:
    return shapes.Practice.model_validate(practices.add(uow, actor, body.model_dump(), submit=body.submit, now=now))


@router.post("/practices/import", tags=["practices"], status_code=201,
             summary="Import practices from CSV (UTF-8/CP932), JSON or YAML — all or nothing")
async def practice_import(request: Request, uow: Uow, actor: Actor, now: Now,
                          file: Annotated[UploadFile, File(description=".csv, .json or .yaml")],
                          publish: Annotated[bool, Form()] = False) -> shapes.PracticeImport:
    from fastapi.concurrency import run_in_threadpool
    raw = await file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput("file too large (5 MB at most)", field="file",
                           message_ja="ファイルが大きすぎます（5MBまで）")
    res = await run_in_threadpool(practices.import_file, uow, actor, file.filename or "upload.csv", raw,
                                  publish=publish, now=now)
    return shapes.PracticeImport.model_validate(res)


@router.get("/practices/{code}", tags=["practices"], summary="One practice with its spread (横展開)")
def practice_get(code: str, uow: Uow, actor: Actor) -> shapes.Practice:
    return shapes.Practice.model_validate(practices.get(uow, actor, code))


@router.put("/practices/{code}", tags=["practices"], summary="Change a draft or returned practice")
def practice_put(code: str, body: PracticeIn, uow: Uow, actor: Actor, now: Now) -> shapes.Practice:
    return shapes.Practice.model_validate(practices.update(uow, actor, code, body.model_dump(),
                                                           expected_version=body.version, submit=body.submit,
                                                           now=now))


@router.post("/practices/{code}/review", tags=["practices"], summary="Publish or return (national administrators)")
def practice_review(code: str, body: ReviewIn, uow: Uow, actor: Actor, now: Now) -> shapes.Practice:
    return shapes.Practice.model_validate(practices.review(uow, actor, code, body.action, body.comment, now=now))


@router.post("/practices/{code}/adoptions", tags=["practices"], status_code=201,
             summary="Record that a local government adopted the practice (横展開)")
def practice_adopt(code: str, body: AdoptionIn, uow: Uow, actor: Actor, now: Now) -> shapes.Practice:
    return shapes.Practice.model_validate(practices.record_adoption(
        uow, actor, code, org_code=body.org_unit, fiscal_year=body.fiscal_year, adaptation=body.adaptation,
        result=body.result, now=now))


def weights_of(request: Request) -> dict[str, str]:
    return {k: request.query_params[f"w_{k}"] for k in COMPONENTS if f"w_{k}" in request.query_params}


@router.get("/local-governments/{code}/similar", tags=["similarity"],
            summary="類似団体 with reasons; weights w_kind, w_population, w_aging, w_fiscal, w_geography, w_strategy")
def similar(code: str, request: Request, uow: Uow, actor: Actor,
            limit: Annotated[int, Query(ge=1, le=200)] = 20, same_prefecture: bool = False) -> shapes.SimilarResult:
    return shapes.SimilarResult.model_validate(similarity.similar(
        uow, actor, code, weights=weights_of(request), limit=limit, same_prefecture=same_prefecture))


@router.get("/local-governments/{code}/recommendations", tags=["similarity"],
            summary="Practices for the local government's declared issues, ranked by adopters' similarity")
def recommendations(code: str, uow: Uow, actor: Actor, field: Annotated[list[str] | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> shapes.Recommendations:
    return shapes.Recommendations.model_validate(similarity.recommendations(uow, actor, code, fields=field,
                                                                            limit=limit))


@router.get("/partners", tags=["similarity"], summary="Collaboration partners for a social issue, in candidate groups")
def partners(uow: Uow, actor: Actor, issue: str,
             within_km: Annotated[float, Query(gt=0, le=300, allow_inf_nan=False)] = 30.0, anchor: str = "",
             pref: str = "") -> shapes.Partners:
    return shapes.Partners.model_validate(similarity.partners(uow, actor, issue, within_km=within_km,
                                                              anchor=anchor or None, prefecture=pref or None))


@router.get("/collaboration-groups", tags=["similarity"], summary="Saved collaboration groups (地域間連携)")
def groups(uow: Uow, member: str = "") -> list[shapes.Group]:
    return [shapes.Group.model_validate(g) for g in similarity.list_groups(uow, org_code=member or None)]


@router.post("/collaboration-groups", tags=["similarity"], status_code=201, summary="Save a collaboration group")
def group_save(uow: Uow, actor: Actor, now: Now, body: Annotated[GroupIn, Body()]) -> shapes.Group:
    return shapes.Group.model_validate(similarity.save_group(uow, actor, body.model_dump(), now=now))


@router.get("/collaboration-groups/{group_id}", tags=["similarity"], summary="One collaboration group")
def group_get(group_id: IdPath, uow: Uow) -> shapes.Group:
    return shapes.Group.model_validate(similarity.get_group(uow, group_id))
