"""JSON API of 重点支援 (issue 14): programmes, calls and their rubric, applications (alone or
joint, with each member's confirmation), review with conflicts of interest, the selection
proposal (optimal beside greedy, every outcome explained), the decision, the published result
(採択結果, JSON or CSV) and the selected model regions. Each route turns its input into one call
of services/support; who may see or do what is decided there (domain/access.py), so an
application someone may not open answers 404 here exactly as it does everywhere else.

Included by ``digiden.web.api.router`` (prefix ``/api/v1``), so this router has no prefix."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, File, Path, Query, UploadFile
from fastapi.responses import Response

from digiden.domain.access import PUBLIC
from digiden.domain.errors import InvalidInput, NotFound
from digiden.domain.quantities import INT64_MAX
from digiden.services.support import applications as apps
from digiden.services.support import attachments, evaluations, review, selection
from digiden.services.support import programmes as pg
from digiden.shapes.support import (
    ApplicationMemberOut,
    ApplicationOut,
    AttachmentOut,
    CallOut,
    CallResultsOut,
    ConflictDeclaredOut,
    DecisionOut,
    EvaluationOut,
    ProgrammeDetailOut,
    ProgrammeOut,
    PublicationOut,
    PublishedSelectionOut,
    RegionOut,
    ResultOut,
    ReviewerAssignedOut,
    ReviewProgressOut,
    SelectionCountOut,
    SelectionOut,
    SupportReviewOut,
)
from digiden.web.auth import Actor
from digiden.web.deps import Doc, Now, Uow
from digiden.web.edge import IdPath, conflict

router = APIRouter(tags=["support programmes"])

CONFLICT = conflict("the state does not allow it (deadline, decided, stale version)")


def _version(value: object) -> int | None:
    """The version the editor loaded: absent (no check) or a whole number; anything else is
    refused, never ignored (ignoring it would let a stale save overwrite a newer one)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise InvalidInput("version must be a whole number (the version you loaded)",
                           message_ja="version には読み込んだ時の版数（整数）を指定してください", field="version")
    return value


def _text(doc: dict[str, Any], key: str) -> str:
    v = doc.get(key)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise InvalidInput(f"{key} must be text", message_ja=f"{key} は文字列で指定してください", field=key)
    return v


# ---------------------------------------------------------------- programmes and calls


@router.get("/programmes", summary="Support programmes (制度) with their published selections counted")
def list_programmes(uow: Uow) -> list[ProgrammeOut]:
    return [ProgrammeOut.model_validate(p) for p in pg.list_programmes(uow)]


@router.get("/programmes/{code}", summary="A programme, its calls and its selections counted live "
                                          "(by state, by prefecture, every local government taking part)")
def get_programme(code: str, uow: Uow, now: Now) -> ProgrammeDetailOut:
    p = pg.get_programme(uow, code)
    return ProgrammeDetailOut(**dict(ProgrammeOut.model_validate(p)),
                              calls=[CallOut.model_validate(c) for c in pg.list_calls(uow, programme=code, now=now)],
                              count=SelectionCountOut.model_validate(pg.count_selections(uow, code)))


@router.post("/programmes/{code}/calls", status_code=201, responses=CONFLICT,
             summary="Open a call for proposals with its rubric (national administrators)",
             description="Body: `round`, `title`, `opens_at`, `closes_at` (ISO 8601, or a date in Japan time), "
                         "`budget`, `per_application_cap` (yen), `eligible_kinds`, `joint_allowed`, `joint_bonus`, "
                         "`criteria` [{`code`, `name`, `weight`, `max_points`, `regional_collaboration`}] "
                         "(weights sum to 100). See docs/programmes.md.")
def create_call(code: str, body: Doc, uow: Uow, actor: Actor, now: Now) -> CallOut:
    return CallOut.model_validate(pg.create_call(uow, actor, code, body, now=now))


@router.get("/calls", summary="Calls for proposals (公募), newest first; public")
def list_calls(uow: Uow, now: Now, programme: str | None = None) -> list[CallOut]:
    return [CallOut.model_validate(c) for c in pg.list_calls(uow, programme=programme or None, now=now)]


@router.get("/calls/{call_id}", summary="A call and its rubric; public")
def get_call(call_id: IdPath, uow: Uow, now: Now) -> CallOut:
    return CallOut.model_validate(pg.get_call(uow, call_id, now=now))


@router.put("/calls/{call_id}/rubric", responses=CONFLICT,
            summary="Replace a call's rubric while no review is saved (national administrators)",
            description="Body: `{\"criteria\": [...], \"version\": N}`, criteria as when opening the call; "
                        "`version` is the call's `version` as you read it: if the call changed since, 409 and "
                        "nothing is written.")
def put_rubric(call_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> CallOut:
    return CallOut.model_validate(pg.update_rubric(uow, actor, call_id, body.get("criteria"), now=now,
                                                   version=_version(body.get("version"))))


@router.post("/calls/{call_id}/reviewers", status_code=201, responses=CONFLICT,
             summary="Assign an account to review the call (national administrators)",
             description="Body: `reviewer` (username), optional `home` (code of the local government the "
                         "reviewer works for; its applications and its prefecture's are then conflicts).")
def assign_reviewer(call_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> ReviewerAssignedOut:
    home = _text(body, "home").strip() or None
    return ReviewerAssignedOut.model_validate(
        review.assign_reviewer(uow, actor, call_id, _text(body, "reviewer"), home=home, now=now))


# ---------------------------------------------------------------- applications


@router.get("/calls/{call_id}/applications",
            summary="The call's applications you may open (published selections for everyone else)")
def list_applications(call_id: IdPath, uow: Uow, actor: Actor) -> list[ApplicationOut]:
    return [ApplicationOut.model_validate(a) for a in apps.list_for_call(uow, actor, call_id)]


@router.post("/calls/{call_id}/applications", status_code=201,
             summary="Start an application as a draft (staff of the lead local government)",
             description="Body: `title`, `lead` (code; default your own), `members` (codes, for a joint "
                         "proposal; each confirms itself) or `collaboration_group` (id), `summary`, `fields`, "
                         "`issues`, `measures`, `kpis`, `requested_amount` (yen).")
def create_application(call_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> ApplicationOut:
    return ApplicationOut.model_validate(apps.save_draft(uow, actor, call_id, body, now=now))


@router.get("/applications/{app_id}", summary="An application you may open (404 otherwise)")
def get_application(app_id: IdPath, uow: Uow, actor: Actor) -> ApplicationOut:
    return ApplicationOut.model_validate(apps.get(uow, actor, app_id))


@router.put("/applications/{app_id}", responses=CONFLICT,
            summary="Save a draft; send `version` (as loaded) to detect a save made in between")
def save_application(app_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> ApplicationOut:
    current = apps.get(uow, actor, app_id)
    return ApplicationOut.model_validate(apps.save_draft(uow, actor, current.call_id, body, now=now, app_id=app_id,
                                                         version=_version(body.get("version"))))


@router.post("/applications/{app_id}/submit", responses=CONFLICT,
             summary="Submit before the deadline (every member of a joint proposal confirmed)")
def submit_application(app_id: IdPath, uow: Uow, actor: Actor, now: Now) -> ApplicationOut:
    return ApplicationOut.model_validate(apps.submit(uow, actor, app_id, now=now))


@router.post("/applications/{app_id}/withdraw", responses=CONFLICT,
             summary="Withdraw a draft or a submitted application before the decision; body: optional `reason`")
def withdraw_application(app_id: IdPath, uow: Uow, actor: Actor, now: Now,
                         body: Annotated[dict[str, Any] | None, Body()] = None) -> ApplicationOut:
    return ApplicationOut.model_validate(apps.withdraw(uow, actor, app_id, now=now, reason=_text(body or {}, "reason")))


@router.post("/applications/{app_id}/confirm", responses=CONFLICT,
             summary="A member confirms its participation in the joint proposal (its own staff); "
                     "body: optional `member` (code; default your own)")
def confirm_membership(app_id: IdPath, uow: Uow, actor: Actor, now: Now,
                       body: Annotated[dict[str, Any] | None, Body()] = None) -> ApplicationOut:
    member = _text(body or {}, "member").strip() or None
    return ApplicationOut.model_validate(apps.confirm_membership(uow, actor, app_id, member, now=now))


# ---------------------------------------------------------------- attachments


@router.get("/applications/{app_id}/attachments",
            summary="The files attached to an application you may open (404 otherwise), with their SHA-256")
def list_attachments(app_id: IdPath, uow: Uow, actor: Actor) -> list[AttachmentOut]:
    return [AttachmentOut.model_validate(x) for x in attachments.list_for(uow, actor, app_id)]


@router.post("/applications/{app_id}/attachments", status_code=201, responses=CONFLICT,
             summary="Attach files to a draft (its lead's staff; multipart/form-data)",
             description=f"Form field `files` (one or more): PDF or Excel (.xlsx) only, recognised by their "
                         f"content, at most {attachments.MAX_BYTES // (1024 * 1024)} MiB each and "
                         f"{attachments.MAX_FILES} per application. Every file is checked before anything is "
                         "written: one refused file refuses them all (422, naming the file and why).")
def add_attachments(app_id: IdPath, uow: Uow, actor: Actor, now: Now,
                    files: Annotated[list[UploadFile], File(description="the files")]) -> list[AttachmentOut]:
    got = [attachments.Upload(f.filename or "", f.file.read(attachments.MAX_BYTES + 1)) for f in files]
    return [AttachmentOut.model_validate(x) for x in attachments.add(uow, actor, app_id, got, now=now)]


def attachment_response(view: attachments.AttachmentView, data: bytes) -> Response:
    """A file always as a download, its Japanese name kept in ``filename*``."""
    ascii_name = view.file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Response(data, media_type=view.media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(view.file_name)}",
        "X-Content-SHA256": view.sha256})


@router.get("/applications/{app_id}/attachments/{attachment_id}", response_class=Response,
            summary="Download an attached file (who may open the application; 404 otherwise)",
            responses={200: {"content": {"application/pdf": {}, attachments.XLSX: {}},
                             "description": "the file as uploaded, checked against its SHA-256"}})
def download_attachment(app_id: IdPath, attachment_id: IdPath, uow: Uow, actor: Actor) -> Response:
    return attachment_response(*attachments.download(uow, actor, app_id, attachment_id))


@router.delete("/applications/{app_id}/attachments/{attachment_id}", status_code=204, responses=CONFLICT,
               response_class=Response, summary="Remove a file from a draft (its lead's staff)")
def delete_attachment(app_id: IdPath, attachment_id: IdPath, uow: Uow, actor: Actor, now: Now) -> Response:
    attachments.delete(uow, actor, app_id, attachment_id, now=now)
    return Response(status_code=204)


# ---------------------------------------------------------------- review


@router.post("/applications/{app_id}/conflicts", status_code=201,
             summary="A reviewer declares a conflict of interest (then cannot see or score it); body: `reason`")
def declare_conflict(app_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> ConflictDeclaredOut:
    review.declare_conflict(uow, actor, app_id, _text(body, "reason"), now=now)
    return ConflictDeclaredOut(application=app_id, declared=True)


@router.get("/applications/{app_id}/reviews",
            summary="Reviews of an application: every one for the nation, your own for a reviewer")
def list_reviews(app_id: IdPath, uow: Uow, actor: Actor) -> list[SupportReviewOut]:
    return [SupportReviewOut.model_validate(r) for r in review.visible_reviews(uow, actor, app_id)]


@router.post("/applications/{app_id}/reviews", responses=CONFLICT,
             summary="Score an application (a reviewer of its call without a conflict); replaces your earlier "
                     "scores",
             description="Body: `scores` {criterion: points within 0..max_points}, optional `comments` "
                         "{criterion: text}.")
def score_application(app_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> SupportReviewOut:
    scores, comments = body.get("scores"), body.get("comments") or {}
    if not isinstance(scores, dict) or not isinstance(comments, dict):
        raise InvalidInput("scores and comments are objects keyed by criterion",
                           message_ja="scores と comments は評価基準ごとに指定してください", field="scores")
    return SupportReviewOut.model_validate(review.score(uow, actor, app_id, scores, comments, now=now))


@router.get("/calls/{call_id}/review-progress", summary="How far the review has come (national administrators)")
def review_progress(call_id: IdPath, uow: Uow, actor: Actor) -> ReviewProgressOut:
    return ReviewProgressOut.model_validate(review.progress(uow, actor, call_id))


# ---------------------------------------------------------------- selection and decision


@router.get("/calls/{call_id}/selection",
            summary="The optimal selection proposal beside greedy, every application's outcome explained "
                    "(national administrators; nothing is written)",
            description="An infeasible combination of constraints is refused with 422 naming the constraint.")
def propose_selection(
    call_id: IdPath, uow: Uow, actor: Actor,
    budget: Annotated[str | None, Query(max_length=40, description="yen; default the call's budget")] = None,
    min_score: Annotated[str | None, Query(max_length=20)] = None,
    max_selections: Annotated[str | None, Query(max_length=20)] = None,
    every_prefecture: Annotated[bool, Query(description="at least one selection in every prefecture "
                                                        "with an eligible application")] = False,
    per_prefecture_cap: Annotated[str | None, Query(max_length=20)] = None,
    min_joint_share: Annotated[str | None, Query(max_length=20, description="0..1 or a percentage")] = None,
) -> SelectionOut:
    policy = {"budget": budget, "min_score": min_score, "max_selections": max_selections,
              "every_prefecture": every_prefecture, "per_prefecture_cap": per_prefecture_cap,
              "min_joint_share": min_joint_share}
    return SelectionOut.model_validate(selection.propose(uow, actor, call_id, policy).as_dict())


@router.post("/calls/{call_id}/decision", status_code=201, responses=CONFLICT,
             summary="Decide the call after its deadline (national administrators): the proposal, or your own "
                     "set with a written reason",
             description="Body: the policy (`budget`, `min_score`, `max_selections`, `every_prefecture`, "
                         "`per_prefecture_cap`, `min_joint_share`), optional `selected` (application ids) and "
                         "`override_reason` (required when `selected` departs from the proposal).")
def decide(call_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> DecisionOut:
    chosen = body.get("selected")
    if chosen is not None and (not isinstance(chosen, list) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in chosen)):
        raise InvalidInput("selected is a list of application ids",
                           message_ja="selected には申請の番号を一覧で指定してください", field="selected")
    policy = {k: v for k, v in body.items() if k not in ("selected", "override_reason")}
    d = selection.decide(uow, actor, call_id, policy, now=now, selected=chosen,
                         override_reason=_text(body, "override_reason"))
    return DecisionOut.model_validate(d | {"call": call_id})


@router.post("/calls/{call_id}/publication", status_code=201, responses=CONFLICT,
             summary="Publish a decided call's result (採択結果): its selected applications become model regions")
def publish(call_id: IdPath, uow: Uow, actor: Actor, now: Now) -> PublicationOut:
    return PublicationOut(call=call_id, selections=selection.publish(uow, actor, call_id, now=now))


RESULT_COLUMNS = ("application", "title", "lead_code", "lead_name", "members", "joint", "requested_amount",
                  "synthetic")


def _text_cell(text: str) -> str:
    """A text an applicant typed, as a spreadsheet cell that shows it and never runs it: a leading
    = + - @ (or tab, CR) would make Excel or LibreOffice read the 採択結果 CSV's cell as a formula
    (=HYPERLINK(...) in a title), so such a text gets a leading apostrophe (OWASP CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/calls/{call_id}/results", response_model=CallResultsOut,
            summary="The published result of a call (採択結果); public",
            description="`?format=csv` for CSV (UTF-8 with BOM; synthetic rows say 合成データ). 404 until published.",
            responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
def results(call_id: IdPath, uow: Uow, now: Now,
            format: Annotated[str, Query(description="json or csv")] = "json") -> Response:
    if format not in ("json", "csv"):
        raise InvalidInput(f"unknown format {format!r}", message_ja=f"不明な形式です: {format}（json か csv）",
                           field="format")
    call = pg.get_call(uow, call_id, now=now)
    if call.published_at is None:
        raise NotFound(f"call {call_id} has no published result",
                       message_ja=f"公募 {call_id} の採択結果はまだ公表されていません", field="call")
    selected = [ResultOut(application=a.id, title=a.title, lead_code=a.lead_code, lead_name=a.lead_name,
                          members=[ApplicationMemberOut.model_validate(m) for m in a.members], joint=a.joint,
                          requested_amount=a.requested_amount, synthetic=a.synthetic)
                for a in apps.list_for_call(uow, PUBLIC, call_id)]
    out = CallResultsOut.model_validate({"call": call.id, "title": call.title, "programme": call.programme,
                                         "round": call.round, "published_at": call.published_at,
                                         "selected": selected, "synthetic": call.synthetic})
    if format == "json":
        return Response(out.model_dump_json(by_alias=True), media_type="application/json")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(("申請番号", "提案の名称", "代表団体コード", "代表団体", "構成団体", "共同提案", "要望額（円）",
                "合成データ"))
    for r in selected:
        w.writerow((r.application, _text_cell(r.title), r.lead_code, r.lead_name,
                    " ".join(f"{m.code}:{m.name}" for m in r.members), "はい" if r.joint else "いいえ",
                    "" if r.requested_amount is None else r.requested_amount,
                    "合成データ" if r.synthetic or call.synthetic else ""))
    return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="digiden-call{call.id}-results.csv"'})


# ---------------------------------------------------------------- selected regions


@router.get("/regions", summary="Selected model regions (published selections, cancelled ones included with "
                                "their state); public")
def regions(uow: Uow, programme: str | None = None) -> list[PublishedSelectionOut]:
    codes = [programme] if programme else [p.code for p in pg.list_programmes(uow)]
    return [PublishedSelectionOut.model_validate(x) for c in codes for x in pg.list_selections(uow, c)]


@router.put("/regions/{key}/state", responses=CONFLICT,
            summary="Record a region's state (選定 → 実現 or 取消; 登録 → 取消) with the reason or source "
                    "(national administrators)",
            description="Body: `state` (realised | cancelled | …), `reason`.")
def set_region_state(key: Annotated[str, Path(max_length=200)], body: Doc, uow: Uow, actor: Actor,
                     now: Now) -> PublishedSelectionOut:
    return PublishedSelectionOut.model_validate(
        pg.set_selection_state(uow, actor, key, _text(body, "state"), reason=_text(body, "reason"), now=now))


RegionKey = Annotated[str, Path(max_length=64, description="the selected region's key (GET /regions)")]
FiscalYear = Annotated[int, Path(ge=2000, le=2200, description="the fiscal year (年度) reported on")]
Kind = Annotated[str, Path(pattern="^(self|national)$", description="self or national")]


@router.get("/regions/{key}", summary="A selected region with the KPIs it committed to and the evaluation "
                                      "reports you may see (the public: submitted national assessments)")
def get_region(key: RegionKey, uow: Uow, actor: Actor) -> RegionOut:
    return RegionOut.model_validate(evaluations.get_region(uow, actor, key))


@router.get("/evaluations", summary="Evaluation reports of selected regions you may see, newest year first")
def list_evaluations(uow: Uow, actor: Actor, programme: Annotated[str | None, Query(max_length=64)] = None,
                     fiscal_year: Annotated[int | None, Query(ge=2000, le=2200)] = None) -> list[EvaluationOut]:
    return [EvaluationOut.model_validate(e)
            for e in evaluations.list_evaluations(uow, actor, programme=programme, fiscal_year_=fiscal_year)]


@router.put("/regions/{key}/evaluations/{fiscal_year}/{kind}", responses=CONFLICT,
            summary="Save a draft evaluation report: self (the region's staff) or national (national "
                    "administrators, the programme's ministry)",
            description="Body: `summary`, `rating` (A–D), `values` [{`index` (of the committed KPI), `actual`, "
                        "`note`}], `version` (the report's version as read; 0 for a new one): a save made "
                        "since is refused with 409 and nothing is written.")
def save_evaluation(key: RegionKey, fiscal_year: FiscalYear, kind: Kind, body: Doc, uow: Uow, actor: Actor,
                    now: Now) -> EvaluationOut:
    return EvaluationOut.model_validate(evaluations.save(uow, actor, key, fiscal_year, kind, body, now=now,
                                                         version=_version(body.get("version"))))


@router.post("/regions/{key}/evaluations/{fiscal_year}/{kind}/submit", responses=CONFLICT,
             summary="Submit a draft evaluation report (it no longer changes; a national one becomes public); "
                     "body: optional `version`")
def submit_evaluation(key: RegionKey, fiscal_year: FiscalYear, kind: Kind, uow: Uow, actor: Actor, now: Now,
                      body: Annotated[dict[str, Any] | None, Body()] = None) -> EvaluationOut:
    return EvaluationOut.model_validate(evaluations.submit(uow, actor, key, fiscal_year, kind, now=now,
                                                           version=_version((body or {}).get("version"))))
