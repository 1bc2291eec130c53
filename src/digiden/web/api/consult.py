"""JSON API of the consultation desk (ワンストップ相談窓口, issue 15): consultations asked, routed,
answered and moved between offices; the desk's statistics and notices; the offices and their
prefectures (unconfirmed INFERRED rows shown as such), routing rules and service levels; the FAQ;
support plans (伴走型支援). Each route turns its input into one call of services/consult; who may
see or do what is decided there (domain/consult.py), so a consultation someone may not open
answers 404 here exactly as an unknown one.

Included by ``digiden.web.api.router`` (prefix ``/api/v1``), so this router has no prefix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import Field

from digiden.domain.access import Principal
from digiden.domain.errors import InvalidInput, NotFound
from digiden.services.consult import cases, desk, faq, offices, plans, suggest
from digiden.services.consult.notify import SmtpSettings
from digiden.services.uow import UnitOfWork
from digiden.shapes.consult import (
    ActionIn,
    AreaOut,
    CaseIn,
    CaseOut,
    CaseSummaryOut,
    CreatedOut,
    DashboardOut,
    DoneOut,
    FaqOut,
    FaqStepIn,
    MoveIn,
    NoticeOut,
    PlanIn,
    PlanOut,
    ReassignedOut,
    ReplyIn,
    RuleIn,
    RuleOut,
    ServiceLevelIn,
    StepIn,
    SuggestedGovernmentOut,
    SuggestionHitOut,
    SuggestionsOut,
)
from digiden.web.auth import Actor
from digiden.web.deps import Doc, Now, Uow
from digiden.web.edge import INT64_MAX, IdPath, conflict

router = APIRouter(tags=["consultation desk"])

CONFLICT = conflict("the state does not allow it (closed, merged, stale version)")
Text = Annotated[str, Path(max_length=100)]
VERSION_DOC = ("the consultation's `version` as you last read it: if someone changed it since, 409 and nothing "
               "is written; omitted: no check")


class VersionedReplyIn(ReplyIn):
    """A reply with the optional ``version`` the step routes take (``StepIn``, ``MoveIn``)."""

    version: int | None = Field(None, ge=0, strict=True, description=VERSION_DOC)


def _smtp(request: Request) -> SmtpSettings | None:
    """The SMTP server the app was given (none: notices are kept for the inbox only)."""
    smtp = getattr(request.app.state, "smtp", None)
    return smtp if isinstance(smtp, SmtpSettings) else None


def _text(doc: dict[str, Any], key: str) -> str:
    v = doc.get(key)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise InvalidInput(f"{key} must be text", message_ja=f"{key} は文字列で指定してください", field=key)
    return v


def _version(doc: dict[str, Any]) -> int | None:
    """The ``version`` of the consultation as last read: absent (no check) or a whole number;
    anything else is refused, never ignored (ignoring it would let a stale step through)."""
    v = doc.get("version")
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise InvalidInput("version must be a whole number (the version you read)", field="version",
                           message_ja="version には読み込んだ時の版数（整数）を指定してください")
    return v


def _case(uow: Uow, actor: Actor, case_id: int, now: Now) -> CaseOut:
    return CaseOut.model_validate(cases.get(uow, actor, case_id, now=now))


# ---------------------------------------------------------------- consultations


@router.post("/consultations", status_code=201,
             summary="Ask a question (staff of a local government; the national desk may file one for a "
                     "local government with `org_unit`)",
             description="Routed at once by the desk's rules: the answer's `summary.office` and `routing_reason` "
                         "say where it went and why (`routing_unconfirmed` when through an INFERRED assignment "
                         "not yet confirmed). No rule: it stays 受付 at the national desk.")
def ask(body: CaseIn, request: Request, uow: Uow, actor: Actor, now: Now,
        org_unit: Annotated[str | None, Query(max_length=6, description="national desk only")] = None) -> CaseOut:
    cid = cases.ask(uow, actor, subject=body.subject, body=body.body, kind=body.kind, field=body.field,
                    measures=body.measures, org_code=org_unit, asker_name=body.asker_name,
                    asker_email=body.asker_email, asker_phone=body.asker_phone,
                    share_with_prefecture=body.share_with_prefecture,
                    answered_by_suggestion=body.answered_by_suggestion, now=now, smtp=_smtp(request))
    return _case(uow, actor, cid, now)


@router.post("/consultations/files", status_code=201,
             summary="Ask a question with files (multipart/form-data; staff of a local government)",
             description="Form fields as the JSON of POST /consultations: `subject`, `body`, `kind`, `field`, "
                         "`measures` (repeated), `asker_name`, `asker_email`, `asker_phone`, "
                         "`share_with_prefecture`, and `files` (at most 5, 5MB each; pdf, png, jpg/jpeg, txt, csv, "
                         "xlsx, docx, pptx, the content matching the name). Every file is checked before anything "
                         "is written: one refused file refuses the question, in Japanese naming the file.")
def ask_with_files(
    request: Request, uow: Uow, actor: Actor, now: Now,
    subject: Annotated[str, Form(max_length=200)],
    body: Annotated[str, Form(max_length=20_000)],
    files: Annotated[list[UploadFile] | None, File(description="the attachments")] = None,
    kind: Annotated[str, Form(max_length=20)] = "general",
    field: Annotated[str | None, Form(max_length=32)] = None,
    measures: Annotated[list[str] | None, Form(max_length=50)] = None,
    asker_name: Annotated[str, Form(max_length=100)] = "",
    asker_email: Annotated[str, Form(max_length=254)] = "",
    asker_phone: Annotated[str, Form(max_length=32)] = "",
    share_with_prefecture: Annotated[bool, Form()] = True,
    org_unit: Annotated[str | None, Query(max_length=6, description="national desk only")] = None,
) -> CaseOut:
    attached = [cases.Attachment(f.filename or "", f.file.read()) for f in files or []]
    cid = cases.ask(uow, actor, subject=subject, body=body, kind=kind, field=field or None,
                    measures=[m for m in measures or [] if m.strip()], org_code=org_unit, asker_name=asker_name,
                    asker_email=asker_email, asker_phone=asker_phone, share_with_prefecture=share_with_prefecture,
                    attachments=attached, now=now, smtp=_smtp(request))
    return _case(uow, actor, cid, now)


@router.get("/consultations", summary="The consultations you may see, newest first; 401 to the anonymous public")
def list_consultations(
    uow: Uow, actor: Actor, now: Now,
    state: Annotated[str | None, Query(max_length=20)] = None,
    office: Annotated[str | None, Query(max_length=100, description="office code or name")] = None,
    overdue: Annotated[bool, Query(description="only those past a service level")] = False,
    org_unit: Annotated[str | None, Query(max_length=6)] = None,
    field: Annotated[str | None, Query(max_length=32, description="a field or social issue; a field includes "
                                                                 "its sub-fields (P4 → P4.3)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[CaseSummaryOut]:
    return [CaseSummaryOut.model_validate(c) for c in cases.list_cases(
        uow, actor, now=now, state=state or None, office=office or None, only_overdue=overdue,
        org_code=org_unit or None, field=field or None, limit=limit, offset=offset)]


@router.get("/consultations/suggestions", summary="What already answers a question being typed: measures, "
                                                   "good practices, published FAQ, similar local governments")
def suggestions(uow: Uow, actor: Actor, text: Annotated[str, Query(max_length=2000)] = "",
                limit: Annotated[int, Query(ge=1, le=20)] = 5) -> SuggestionsOut:
    s = suggest.suggest(uow, actor, text, limit=limit)
    return SuggestionsOut(query=s.query,
                          measures=[SuggestionHitOut.model_validate(h) for h in s.measures],
                          practices=[SuggestionHitOut.model_validate(h) for h in s.practices],
                          faq=[FaqOut.model_validate(f) for f in s.faq],
                          similar=[SuggestedGovernmentOut.model_validate(x) for x in s.similar])


@router.get("/consultations/{case_id}", summary="A consultation and its thread (internal notes only to "
                                                "responders); 404 to whoever may not see it")
def get_consultation(case_id: IdPath, uow: Uow, actor: Actor, now: Now) -> CaseOut:
    return _case(uow, actor, case_id, now)


@router.get("/consultations/{case_id}/attachments/{attachment_id}", response_class=Response,
            summary="An attachment you may see (those of internal notes only to responders); 404 otherwise",
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "the file as uploaded, always as a download"}})
def attachment(case_id: IdPath, attachment_id: IdPath, uow: Uow, actor: Actor) -> Response:
    name, media_type, data = cases.attachment(uow, actor, case_id, attachment_id)
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"})


@router.post("/consultations/{case_id}/replies", status_code=201, responses=CONFLICT,
             summary="Reply (the asker's reply reopens an answered or resolved one) or, `note`, an internal "
                     "note for responders")
def reply(case_id: IdPath, body: VersionedReplyIn, request: Request, uow: Uow, actor: Actor, now: Now) -> CaseOut:
    cases.reply(uow, actor, case_id, body.body, note=body.note, now=now, smtp=_smtp(request),
                expected_version=body.version)
    return _case(uow, actor, case_id, now)


@router.post("/consultations/{case_id}/replies/files", status_code=201, responses=CONFLICT,
             summary="Reply (or, `note`, an internal note) with files (multipart/form-data)",
             description="Form fields: `body`, `note` (true: responders only), `files` (one or more; at most "
                         "5 per message, 5MB each; PDF, Office, images, text and CSV). All files are checked "
                         "before anything is written.")
def reply_with_files(
    case_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
    body: Annotated[str, Form(max_length=20_000)],
    files: Annotated[list[UploadFile], File(description="the attachments")],
    note: Annotated[bool, Form()] = False,
    version: Annotated[int | None, Form(ge=0, le=INT64_MAX, description=VERSION_DOC)] = None,
) -> CaseOut:
    attached = [cases.Attachment(f.filename or "", f.file.read()) for f in files]
    cases.reply(uow, actor, case_id, body, note=note, attachments=attached, now=now, smtp=_smtp(request),
                expected_version=version)
    return _case(uow, actor, case_id, now)


def _step(step: Callable[..., Any], case_id: int, request: Request, uow: UnitOfWork, actor: Principal,
          now: datetime, body: StepIn | None) -> CaseOut:
    """Resolve, close or reopen: the same comment and optional version, the consultation as it is after."""
    step(uow, actor, case_id, comment=body.comment if body else "", now=now, smtp=_smtp(request),
         expected_version=body.version if body else None)
    return _case(uow, actor, case_id, now)


@router.post("/consultations/{case_id}/resolve", responses=CONFLICT, summary="Mark it resolved (解決)")
def resolve(case_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
            body: Annotated[StepIn | None, Body()] = None) -> CaseOut:
    return _step(cases.resolve, case_id, request, uow, actor, now, body)


@router.post("/consultations/{case_id}/close", responses=CONFLICT, summary="Close it (完了; takes no reply)")
def close(case_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
          body: Annotated[StepIn | None, Body()] = None) -> CaseOut:
    return _step(cases.close, case_id, request, uow, actor, now, body)


@router.post("/consultations/{case_id}/reopen", responses=CONFLICT, summary="Reopen a resolved or closed one")
def reopen(case_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
           body: Annotated[StepIn | None, Body()] = None) -> CaseOut:
    return _step(cases.reopen, case_id, request, uow, actor, now, body)


@router.post("/consultations/{case_id}/reassign", responses=CONFLICT,
             summary="Hand it to another office (responders); body: `office`, `reason`",
             description="The old office no longer answers (nor sees) it, so the answer says where it went and "
                         "whether you still see it.")
def reassign(case_id: IdPath, body: MoveIn, request: Request, uow: Uow, actor: Actor, now: Now) -> ReassignedOut:
    cases.reassign(uow, actor, case_id, body.office, reason=body.reason, now=now, smtp=_smtp(request),
                   expected_version=body.version)
    try:
        office = cases.get(uow, actor, case_id, now=now).summary.office
    except NotFound:
        return ReassignedOut(id=case_id, office=body.office, visible=False)
    return ReassignedOut(id=case_id, office=office, visible=True)


@router.post("/consultations/{case_id}/share", responses=CONFLICT,
             summary="A second office sees and answers it too (responders); body: `office`, `reason`")
def share(case_id: IdPath, body: MoveIn, request: Request, uow: Uow, actor: Actor, now: Now) -> CaseOut:
    cases.share(uow, actor, case_id, body.office, reason=body.reason, now=now, smtp=_smtp(request),
                expected_version=body.version)
    return _case(uow, actor, case_id, now)


@router.post("/consultations/{case_id}/escalate", responses=CONFLICT,
             summary="Bring the national desk in (a responder, or the asker); body: `reason`, `version`")
def escalate(case_id: IdPath, body: Doc, request: Request, uow: Uow, actor: Actor, now: Now) -> CaseOut:
    cases.escalate(uow, actor, case_id, reason=_text(body, "reason"), now=now, smtp=_smtp(request),
                   expected_version=_version(body))
    return _case(uow, actor, case_id, now)


@router.post("/consultations/{case_id}/merge", responses=CONFLICT,
             summary="Merge this duplicate into another consultation of the same local government; body: `into`, "
                     "`version` (the duplicate's)",
             description="Answers the consultation the thread continues in.")
def merge(case_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> CaseOut:
    into = body.get("into")
    if isinstance(into, bool) or not isinstance(into, int) or into < 1:
        raise InvalidInput("into is the id of the consultation to merge into", field="into",
                           message_ja="into には統合先の相談の番号を指定してください")
    cases.merge(uow, actor, case_id, into, now=now, expected_version=_version(body))
    return _case(uow, actor, into, now)


@router.post("/consultations/{case_id}/faq", status_code=201,
             summary="Draft an FAQ entry from an answered consultation (responders; the asker is anonymised)")
def draft_faq(case_id: IdPath, uow: Uow, actor: Actor, now: Now) -> FaqOut:
    fid = faq.draft_from_case(uow, actor, case_id, now=now)
    return FaqOut.model_validate(faq.get(uow, actor, fid))


# ---------------------------------------------------------------- the desk


@router.get("/desk/dashboard",
            summary="Statistics (national desk: every office; responders: their offices): open by age, "
                    "first-response and resolution median/p90 in 開庁日 per office, field and month")
def dashboard(uow: Uow, actor: Actor, now: Now) -> DashboardOut:
    return DashboardOut.model_validate(desk.dashboard(uow, actor, now=now))


@router.get("/desk/notices", summary="Your notices of the desk, newest first")
def notices(uow: Uow, actor: Actor, unread: bool = False,
            limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[NoticeOut]:
    return [NoticeOut.model_validate(n) for n in desk.notices(uow, actor, limit=limit, unread_only=unread)]


@router.post("/desk/notices/read", summary="Mark your notices read; body: optional `ids` (default all)")
def read_notices(uow: Uow, actor: Actor, now: Now,
                 body: Annotated[dict[str, Any] | None, Body()] = None) -> DoneOut:
    ids = (body or {}).get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in ids)):
        raise InvalidInput("ids is a list of notice ids", field="ids",
                           message_ja="ids には通知の番号を一覧で指定してください")
    return DoneOut(done=True, count=desk.mark_notices_read(uow, actor, now=now, ids=ids))


@router.get("/desk/areas", summary="Which office covers which prefecture, per family; public",
            description="`confirmed: false` marks an INFERRED (未検証) row of the reference data that an "
                        "administrator has not confirmed yet.")
def areas(uow: Uow, family: Annotated[str | None, Query(max_length=32)] = None,
          unconfirmed: bool = False) -> list[AreaOut]:
    return [AreaOut.model_validate(a) for a in offices.areas(uow, family=family or None, unconfirmed_only=unconfirmed)]


@router.post("/desk/areas/{family}/{prefecture}/confirm",
             summary="Confirm an unconfirmed assignment against the organisation orders (national desk)")
def confirm_area(family: Text, prefecture: Annotated[str, Path(max_length=6)], uow: Uow, actor: Actor,
                 now: Now) -> list[AreaOut]:
    offices.confirm_area(uow, actor, family, prefecture, now=now)
    return [AreaOut.model_validate(a) for a in offices.areas(uow, family=family)
            if a.prefecture_code == prefecture]


@router.post("/desk/offices/{office}/responders", status_code=201,
             summary="An account answers for an office (national desk); body: `username`, optional `lead`")
def add_responder(office: Text, body: Doc, uow: Uow, actor: Actor, now: Now) -> DoneOut:
    lead = body.get("lead", False)
    if not isinstance(lead, bool):
        raise InvalidInput("lead is true or false", field="lead",
                           message_ja="lead には true か false を指定してください")
    offices.add_responder(uow, actor, office, _text(body, "username"), lead=lead, now=now)
    return DoneOut(done=True)


@router.get("/desk/rules", summary="The routing rules (national desk)")
def list_rules(uow: Uow, actor: Actor) -> list[RuleOut]:
    return [RuleOut.model_validate(r) for r in offices.list_rules(uow, actor)]


@router.post("/desk/rules", status_code=201,
             summary="Add a routing rule (national desk); refused, naming the pairs, when it would leave a "
                     "field × prefecture without an office")
def add_rule(body: RuleIn, uow: Uow, actor: Actor, now: Now) -> CreatedOut:
    return CreatedOut(id=offices.add_rule(uow, actor, ministry=body.ministry, field_code=body.field,
                                          measure_code=body.measure, family=body.family, priority=body.priority,
                                          now=now))


@router.delete("/desk/rules/{rule_id}", summary="Delete a routing rule (national desk)")
def delete_rule(rule_id: IdPath, uow: Uow, actor: Actor, now: Now) -> DoneOut:
    offices.delete_rule(uow, actor, rule_id, now=now)
    return DoneOut(done=True)


@router.put("/desk/service-levels/{kind}", summary="Set a kind's service level in 開庁日 (national desk)")
def set_service_level(kind: Annotated[str, Path(max_length=20)], body: ServiceLevelIn, uow: Uow, actor: Actor,
                      now: Now) -> DoneOut:
    offices.set_service_level(uow, actor, kind, first_response_days=body.first_response_days,
                              resolution_days=body.resolution_days, now=now)
    return DoneOut(done=True)


# ---------------------------------------------------------------- FAQ


@router.get("/faq", summary="The published FAQ, newest first; public")
def published_faq(uow: Uow, measure: Annotated[str | None, Query(max_length=64)] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[FaqOut]:
    return [FaqOut.model_validate(f) for f in faq.published(uow, measure=measure or None, limit=limit, offset=offset)]


@router.get("/faq/{faq_id}", summary="An FAQ entry (drafts only to the desk and their authors; 404 otherwise)")
def get_faq(faq_id: IdPath, uow: Uow, actor: Actor) -> FaqOut:
    return FaqOut.model_validate(faq.get(uow, actor, faq_id))


@router.put("/faq/{faq_id}", responses=CONFLICT,
            summary="Edit a draft; body: `question`, `answer`, and the `version` you read (stale: 409)")
def edit_faq(faq_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> FaqOut:
    faq.edit(uow, actor, faq_id, question=_text(body, "question"), answer=_text(body, "answer"), now=now,
             expected_version=_version(body))
    return FaqOut.model_validate(faq.get(uow, actor, faq_id))


@router.post("/faq/{faq_id}/{action}", responses=CONFLICT,
             summary="submit, publish, return or withdraw an entry (publish and return: the national desk, "
                     "not the author)")
def act_faq(faq_id: IdPath, action: Annotated[str, Path(pattern="^(submit|publish|return|withdraw)$")],
            uow: Uow, actor: Actor, now: Now, body: Annotated[FaqStepIn | None, Body()] = None) -> FaqOut:
    faq.act(uow, actor, faq_id, action, now=now, expected_version=body.version if body else None)
    return FaqOut.model_validate(faq.get(uow, actor, faq_id))


# ---------------------------------------------------------------- support plans (伴走型支援)


@router.get("/plans", summary="The support plans you may see; 401 to the anonymous public")
def list_plans(uow: Uow, actor: Actor, now: Now) -> list[PlanOut]:
    return [PlanOut.model_validate(p) for p in plans.list_plans(uow, actor, now=now)]


@router.post("/plans", status_code=201, summary="Open a support plan for a local government (national desk)")
def start_plan(body: PlanIn, uow: Uow, actor: Actor, now: Now) -> PlanOut:
    pid = plans.start(uow, actor, org_code=body.org_unit, title=body.title, origin=body.origin,
                      starts_on=body.starts_on, ends_on=body.ends_on, case_id=body.case_id, now=now)
    return PlanOut.model_validate(plans.get(uow, actor, pid, now=now))


@router.get("/plans/{plan_id}", summary="A support plan with its staff, goals, meetings, actions, progress "
                                        "and timeline; 404 to whoever may not see it")
def get_plan(plan_id: IdPath, uow: Uow, actor: Actor, now: Now) -> PlanOut:
    return PlanOut.model_validate(plans.get(uow, actor, plan_id, now=now))


@router.post("/plans/{plan_id}/staff", status_code=201,
             summary="Assign an official (national desk); body: `username`, `side` (national | regional), "
                     "optional `office`, `role_note`")
def assign_staff(plan_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> PlanOut:
    plans.assign_staff(uow, actor, plan_id, _text(body, "username"), side=_text(body, "side"),
                       office=_text(body, "office") or None, role_note=_text(body, "role_note"), now=now)
    return PlanOut.model_validate(plans.get(uow, actor, plan_id, now=now))


@router.post("/plans/{plan_id}/goals", status_code=201,
             summary="Add a goal; body: `title`, optional `measure`, `kpi` (national codes), `local_measure`, "
                     "`local_kpi`")
def add_goal(plan_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> PlanOut:
    plans.add_goal(uow, actor, plan_id, title=_text(body, "title"), measure=_text(body, "measure") or None,
                   kpi=_text(body, "kpi") or None, local_measure=_text(body, "local_measure"),
                   local_kpi=_text(body, "local_kpi"), now=now)
    return PlanOut.model_validate(plans.get(uow, actor, plan_id, now=now))


@router.post("/plans/{plan_id}/meetings", status_code=201,
             summary="Record a meeting; body: `held_on` (YYYY-MM-DD), `title`, optional `minutes`")
def add_meeting(plan_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> PlanOut:
    try:
        held_on = date.fromisoformat(_text(body, "held_on"))
    except ValueError:
        raise InvalidInput("held_on is a date (YYYY-MM-DD)", field="held_on",
                           message_ja="開催日は YYYY-MM-DD の形で指定してください") from None
    plans.add_meeting(uow, actor, plan_id, held_on=held_on, title=_text(body, "title"),
                      minutes=_text(body, "minutes"), now=now)
    return PlanOut.model_validate(plans.get(uow, actor, plan_id, now=now))


@router.post("/plans/{plan_id}/actions", status_code=201, summary="Add an action item with its owner and due date")
def add_action(plan_id: IdPath, body: ActionIn, uow: Uow, actor: Actor, now: Now) -> PlanOut:
    plans.add_action(uow, actor, plan_id, title=body.title, owner=body.owner, due_on=body.due_on,
                     meeting_id=body.meeting_id, now=now)
    return PlanOut.model_validate(plans.get(uow, actor, plan_id, now=now))


@router.put("/plan-goals/{goal_id}", summary="Mark a goal achieved or not; body: `achieved` (true | false)")
def set_goal(goal_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> DoneOut:
    achieved = body.get("achieved")
    if not isinstance(achieved, bool):
        raise InvalidInput("achieved is true or false", field="achieved",
                           message_ja="achieved には true か false を指定してください")
    plans.set_goal(uow, actor, goal_id, achieved=achieved, now=now)
    return DoneOut(done=True)


@router.put("/plan-actions/{action_id}", summary="Set an action item's state; body: `state` (open | done | dropped)")
def set_action(action_id: IdPath, body: Doc, uow: Uow, actor: Actor, now: Now) -> DoneOut:
    plans.set_action(uow, actor, action_id, state=_text(body, "state"), now=now)
    return DoneOut(done=True)
