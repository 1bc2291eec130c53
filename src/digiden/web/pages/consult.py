"""Pages of the consultation desk (issue 15) for askers and responders: the consultations a viewer
may open, asking a new one (with the measures, practices and similar local governments that may
already answer it), one consultation's thread and its steps, and the published FAQ. Built from the
same service calls as the JSON API (web/api/consult.py), so what someone may not open is 404 here
exactly as it is there; the public is answered "not found" for every consultation, existing or not.

Every step form carries the version the page was rendered with; a stale step is refused (409, in
Japanese) and the page shows the consultation as it is now."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from digiden.domain.access import Principal, require_signed_in
from digiden.domain.consult import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_TYPES,
    ATTACHMENTS_MAX,
    BODY_MAX,
    FAMILIES,
    KIND_LABELS_JA,
    STATE_LABELS_JA,
    SUBJECT_MAX,
    State,
    Step,
    may_ask_at_all,
    transition,
)
from digiden.domain.errors import DigidenError, InvalidInput, NotFound
from digiden.services.consult import cases, faq, offices, suggest
from digiden.services.consult.cases import CaseDetail, CaseSummary
from digiden.services.consult.faq import FaqView
from digiden.services.consult.notify import SmtpSettings
from digiden.services.consult.suggest import Suggestions
from digiden.services.knowledge import catalogue
from digiden.services.local import local_strategies
from digiden.services.uow import UnitOfWork
from digiden.web import deps
from digiden.web.auth import Actor
from digiden.web.deps import Now, Uow
from digiden.web.edge import INT64_MAX, IdPath, IdQuery, PageQuery, form_version
from digiden.web.pages import is_htmx, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
Short = Annotated[str, Query(max_length=100)]

STATE_JA = {s.value: label for s, label in STATE_LABELS_JA.items()}
KIND_JA = {k.value: label for k, label in KIND_LABELS_JA.items()}
OVERDUE_JA = {"first_response": "初回回答の期限超過", "resolution": "解決の期限超過"}
MOVE_JA = {"route": "振り分け", "reassign": "担当の変更", "share": "共有",
           "escalate": "国の相談窓口へのエスカレーション", "merge": "統合", "state": "状態の変更"}
DONE_JA = {
    "asked": "相談を受け付けました。担当部局に通知しました。",
    "solved": "「これで解決しました」として記録しました（終了）。担当部局には通知していません。",
    "reply": "返信しました。", "note": "内部メモを書きました（相談者には表示されません）。",
    "resolve": "解決にしました。", "close": "終了にしました。", "reopen": "再開しました。",
    "escalate": "国の相談窓口にエスカレーションしました。", "share": "共有しました。",
    "reassign": "担当部局を変更しました。", "merged": "重複した相談をこの相談に統合しました。",
}
ACCEPT = ",".join(sorted(ATTACHMENT_TYPES))


def _hidden(case_id: int) -> NotFound:
    """As the service answers an unknown id (services/consult/cases.py), so that the public, which
    the service would ask to sign in for an existing one, cannot tell the two apart."""
    return NotFound(f"no consultation {case_id}", field="case", message_ja=f"相談 {case_id} は見つかりません")


def _smtp(request: Request) -> SmtpSettings | None:
    smtp = getattr(request.app.state, "smtp", None)
    return smtp if isinstance(smtp, SmtpSettings) else None


def _field_choices(uow: UnitOfWork) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(the strategy's fields, the social issues) as (code, name)."""
    areas = local_strategies.choices(uow).areas
    problems = tuple((p.code, p.name) for p in catalogue.problems(uow))
    return areas, problems


def _office_choices(uow: UnitOfWork) -> tuple[tuple[str, str], ...]:
    """(code, name) of the offices a consultation can go to: the national desk, each ministry of
    the regional families and the regional offices of the reference data. Offices administrators
    added are not listed (no service lists offices yet)."""
    out: dict[str, str] = {offices.DESK_CODE: offices.DESK_NAME}
    for ministry in sorted(set(FAMILIES.values())):
        out[ministry] = ministry
    for a in offices.areas(uow):
        out.setdefault(a.office, a.office)
    return tuple(out.items())


# ---------------------------------------------------------------- the list


@dataclass(frozen=True)
class ListContext:
    title: str
    rows: tuple[CaseSummary, ...]
    filters: dict[str, str]
    page: int
    has_next: bool
    states: dict[str, str]
    offices: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, str], ...]
    problems: tuple[tuple[str, str], ...]
    may_ask: bool
    error: DigidenError | None = None
    moved: int | None = None             # a consultation this viewer just handed to another office
    kind_ja: dict[str, str] = field(default_factory=lambda: KIND_JA)
    overdue_ja: dict[str, str] = field(default_factory=lambda: OVERDUE_JA)
    page_size: int = PAGE_SIZE

    def url(self, page: int) -> str:
        return "/consultations?" + urlencode({k: v for k, v in self.filters.items() if v} | {"page": page})

    def field_name(self, code: str | None) -> str:
        names = dict(self.fields) | dict(self.problems)
        return f"{code} {names[code]}" if code in names else (code or "—")


@router.get("/consultations", response_class=HTMLResponse)
def consultations_page(request: Request, uow: Uow, actor: Actor, now: Now, state: Short = "", overdue: Short = "",
                       office: Short = "", field: Short = "", page: PageQuery = 1,
                       moved: IdQuery | None = None) -> HTMLResponse:
    require_signed_in(actor, "相談の一覧を見るにはサインインしてください")
    filters = {"state": state, "overdue": "1" if overdue in ("1", "on", "true") else "", "office": office,
               "field": field}
    error: DigidenError | None = None
    rows: list[CaseSummary] = []
    has_next = False
    try:
        got = cases.list_cases(uow, actor, now=now, state=state or None, office=office or None,
                               only_overdue=bool(filters["overdue"]), field=field or None, limit=PAGE_SIZE + 1,
                               offset=(page - 1) * PAGE_SIZE)
        rows, has_next = got[:PAGE_SIZE], len(got) > PAGE_SIZE
    except (InvalidInput, NotFound) as e:      # an unknown state or office in the filter
        error = e
    areas, problems = _field_choices(uow)
    ctx = ListContext("相談の一覧" if error is None else "エラー: 相談の一覧", tuple(rows), filters, page, has_next,
                      STATE_JA, _office_choices(uow), areas, problems, may_ask_at_all(actor), error, moved)
    return render(request, "consult/list.html", ctx, status_code=422 if error else 200)


# ---------------------------------------------------------------- asking


@dataclass(frozen=True)
class AskContext:
    title: str
    v: dict[str, Any]
    kinds: dict[str, str]
    fields: tuple[tuple[str, str], ...]
    problems: tuple[tuple[str, str], ...]
    measures: tuple[tuple[str, str], ...]
    suggestions: Suggestions | None = None
    error: DigidenError | None = None
    files_dropped: bool = False          # files were chosen, but a browser cannot send them back
    heading: str = "新しい相談"
    subject_max: int = SUBJECT_MAX
    body_max: int = BODY_MAX
    files_max: int = ATTACHMENTS_MAX
    file_mb: int = ATTACHMENT_MAX_BYTES // (1024 * 1024)
    accept: str = ACCEPT

    def invalid(self, name: str) -> bool:
        return self.error is not None and self.error.field == name


def _blank() -> dict[str, Any]:
    return {"subject": "", "body": "", "kind": "general", "field": "", "measures": [], "asker_name": "",
            "asker_email": "", "asker_phone": "", "share_with_prefecture": True, "org_unit": ""}


def _ask_ctx(uow: UnitOfWork, v: dict[str, Any], *, suggestions: Suggestions | None = None,
             error: DigidenError | None = None, files_dropped: bool = False) -> AskContext:
    areas, problems = _field_choices(uow)
    measures = tuple((m.code, m.title) for m in catalogue.list_measures(uow))
    # A screen reader reads the title first: an error says so before anything else.
    return AskContext("エラー: 新しい相談" if error else "新しい相談", v, KIND_JA, areas, problems, measures,
                      suggestions, error, files_dropped)


@router.get("/consultations/new", response_class=HTMLResponse)
def ask_form(request: Request, uow: Uow, actor: Actor) -> HTMLResponse:
    require_signed_in(actor, "相談するにはサインインしてください")
    cases.require_may_ask(actor)
    return render(request, "consult/new.html", _ask_ctx(uow, _blank()))


def _form_values(form: FormData) -> dict[str, Any]:
    def text(key: str, limit: int) -> str:
        value = form.get(key)
        return value[:limit] if isinstance(value, str) else ""
    return {"subject": text("subject", SUBJECT_MAX * 2), "body": text("body", BODY_MAX * 2),
            "kind": text("kind", 40) or "general", "field": text("field", 64),
            "measures": [m for m in form.getlist("measures") if isinstance(m, str)][:100],
            "asker_name": text("asker_name", 200), "asker_email": text("asker_email", 300),
            "asker_phone": text("asker_phone", 64), "share_with_prefecture": bool(form.get("share_with_prefecture")),
            "org_unit": text("org_unit", 6)}


async def _files(form: FormData) -> list[cases.Attachment]:
    """The files chosen (an empty file input sends one nameless, empty part: not a file)."""
    out = []
    for f in form.getlist("attachments"):
        if isinstance(f, UploadFile) and f.filename:
            out.append(cases.Attachment(f.filename, await f.read()))
    return out


def _suggest_text(subject: str, body: str) -> str:
    return f"{subject} {body}"[:suggest.QUERY_CHARS * 4]


@router.post("/consultations", response_class=HTMLResponse)
async def ask_submit(request: Request, actor: Actor) -> Response:
    form = await request.form()
    try:
        v = _form_values(form)
        files = await _files(form)
        action = str(form.get("action") or "")
    finally:
        await form.close()
    uow, now = deps.uow(request), deps.now(request)
    if action == "suggest":
        # 「関連する施策・事例を探す」 without JavaScript: the form comes back as typed, with what may
        # already answer it; nothing is written.
        found = await run_in_threadpool(suggest.suggest, uow.for_reading(), actor,
                                        _suggest_text(v["subject"], v["body"]))
        ctx = await run_in_threadpool(_ask_ctx, uow.for_reading(), v, suggestions=found, files_dropped=bool(files))
        return render(request, "consult/new.html", ctx)
    try:
        cid = await run_in_threadpool(
            lambda: cases.ask(uow, actor, subject=v["subject"], body=v["body"], kind=v["kind"],
                              field=v["field"] or None, measures=v["measures"], org_code=v["org_unit"] or None,
                              asker_name=v["asker_name"], asker_email=v["asker_email"], asker_phone=v["asker_phone"],
                              share_with_prefecture=v["share_with_prefecture"], attachments=files,
                              answered_by_suggestion=action == "solved", now=now, smtp=_smtp(request)))
    except DigidenError as e:
        if e.status_code in (401, 403, 404):
            raise
        ctx = await run_in_threadpool(_ask_ctx, uow.for_reading(), v, error=e, files_dropped=bool(files))
        return render(request, "consult/new.html", ctx, status_code=e.status_code)
    return RedirectResponse(f"/consultations/{cid}?done={'solved' if action == 'solved' else 'asked'}",
                            status_code=303)


@dataclass(frozen=True)
class SuggestContext:
    title: str
    suggestions: Suggestions | None


@router.post("/consultations/suggestions", response_class=HTMLResponse)
def suggestions_fragment(request: Request, uow: Uow, actor: Actor,
                         subject: Annotated[str, Form(max_length=SUBJECT_MAX * 2)] = "",
                         body: Annotated[str, Form(max_length=BODY_MAX * 2)] = "") -> HTMLResponse:
    """The suggestions while a question is typed (htmx, debounced): read only, so a reading unit
    of work although the request is a POST (the text can be longer than an address may be)."""
    found = suggest.suggest(uow.for_reading(), actor, _suggest_text(subject, body))
    return render(request, "consult/_suggestions.html", SuggestContext("関連する施策・事例", found))


# ---------------------------------------------------------------- one consultation


@dataclass(frozen=True)
class ThreadContext:
    title: str
    d: CaseDetail
    steps: frozenset[str]                # the step forms the viewer gets
    offices: tuple[tuple[str, str], ...]
    field_name: str
    done: str = ""
    error: DigidenError | None = None
    reply: str = ""                      # the reply (or note) as typed, kept when it was refused
    reply_is_note: bool = False
    state_ja: dict[str, str] = field(default_factory=lambda: STATE_JA)
    kind_ja: dict[str, str] = field(default_factory=lambda: KIND_JA)
    overdue_ja: dict[str, str] = field(default_factory=lambda: OVERDUE_JA)
    move_ja: dict[str, str] = field(default_factory=lambda: MOVE_JA)
    files_max: int = ATTACHMENTS_MAX
    file_mb: int = ATTACHMENT_MAX_BYTES // (1024 * 1024)
    accept: str = ACCEPT

    @property
    def notice(self) -> str:
        return DONE_JA.get(self.done, "")

    @property
    def closed(self) -> bool:
        return self.d.summary.state == State.CLOSED.value

    def files_of(self, message_id: int | None) -> list[Any]:
        return [a for a in self.d.attachments if a.message_id == message_id]


def _possible(state: State, step: Step) -> bool:
    try:
        transition(state, step)
    except DigidenError:
        return False
    return True


def _steps(d: CaseDetail) -> frozenset[str]:
    """The steps the viewer may take now: who they are (responder, asker) and what the state allows."""
    state = State(d.summary.state)
    out: set[str] = set()
    if not (d.may_respond or d.may_reply) or state is State.MERGED:
        return frozenset()
    if state is not State.CLOSED:
        out.add("reply")
    for step in (Step.RESOLVE, Step.CLOSE, Step.REOPEN):
        if _possible(state, step):
            out.add(step.value)
    if state.open:
        out.add("escalate")
    if d.may_respond:
        out |= {"note", "share"}
        if _possible(state, Step.ASSIGN):
            out.add("reassign")
        if _possible(state, Step.MERGE):
            out.add("merge")
    return frozenset(out)


def _thread_ctx(uow: UnitOfWork, d: CaseDetail, *, done: str = "", error: DigidenError | None = None,
                reply: str = "", note: bool = False) -> ThreadContext:
    areas, problems = _field_choices(uow)
    names = dict(areas) | dict(problems)
    code = d.summary.field
    title = f"相談 #{d.summary.id} {d.summary.subject}"
    return ThreadContext(f"エラー: {title}" if error else title, d, _steps(d),
                         _office_choices(uow) if d.may_respond else (),
                         f"{code} {names[code]}" if code in names else (code or "—"), done, error, reply, note)


@router.get("/consultations/{case_id}", response_class=HTMLResponse)
def consultation_page(case_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
                      done: Short = "") -> HTMLResponse:
    if not actor.signed_in:
        raise _hidden(case_id)
    d = cases.get(uow, actor, case_id, now=now)
    return render(request, "consult/thread.html", _thread_ctx(uow, d, done=done))


def _refused_page(request: Request, uow: UnitOfWork, actor: Principal, case_id: int, e: DigidenError,
                  reply: str = "", note: bool = False) -> HTMLResponse:
    """A refused step: the consultation as it is now (its current version in every form), what
    happened, nothing written. 404 exactly as for an unknown id if the viewer may not open it."""
    reading = uow.for_reading()
    d = cases.get(reading, actor, case_id, now=deps.now(request))
    return render(request, "consult/thread.html", _thread_ctx(reading, d, error=e, reply=reply, note=note),
                  status_code=e.status_code)


@router.post("/consultations/{case_id}/replies", response_class=HTMLResponse)
async def reply_submit(case_id: IdPath, request: Request, actor: Actor) -> Response:
    if not actor.signed_in:
        raise _hidden(case_id)
    form = await request.form()
    try:
        body = form.get("body")
        body = body[:BODY_MAX * 2] if isinstance(body, str) else ""
        note = form.get("note") == "1"
        files = await _files(form)
        sent_version = form.get("version")
    finally:
        await form.close()
    uow, now = deps.uow(request), deps.now(request)
    try:
        # the version the page was rendered with, compared under the row lock by the service, so a
        # page read before someone else's step does not answer past it
        expected = form_version(sent_version)
        await run_in_threadpool(lambda: cases.reply(uow, actor, case_id, body, note=note, attachments=files, now=now,
                                                    smtp=_smtp(request), expected_version=expected))
    except DigidenError as e:
        if e.status_code in (401, 403):
            raise
        return await run_in_threadpool(_refused_page, request, uow, actor, case_id, e, body, note)
    return RedirectResponse(f"/consultations/{case_id}?done={'note' if note else 'reply'}#thread-end",
                            status_code=303)


STEP_ACTIONS = ("resolve", "close", "reopen", "escalate", "share", "reassign", "merge")


@router.post("/consultations/{case_id}/actions", response_class=HTMLResponse)
def step_submit(case_id: IdPath, request: Request, uow: Uow, actor: Actor, now: Now,
                action: Annotated[str, Form(max_length=20)] = "",
                comment: Annotated[str, Form(max_length=4000)] = "",
                office: Annotated[str, Form(max_length=100)] = "",
                into: Annotated[str, Form(max_length=30)] = "",
                version: Annotated[int | None, Form(ge=0, le=INT64_MAX)] = None) -> Response:
    if not actor.signed_in:
        raise _hidden(case_id)
    smtp = _smtp(request)
    target = case_id
    try:
        if action in ("resolve", "close", "reopen"):
            step = {"resolve": cases.resolve, "close": cases.close, "reopen": cases.reopen}[action]
            step(uow, actor, case_id, comment=comment, now=now, smtp=smtp, expected_version=version)
        elif action == "escalate":
            cases.escalate(uow, actor, case_id, reason=comment, now=now, smtp=smtp, expected_version=version)
        elif action in ("share", "reassign"):
            if not office:
                raise InvalidInput("choose an office", field="office", message_ja="部局を選んでください")
            move = cases.share if action == "share" else cases.reassign
            move(uow, actor, case_id, office, reason=comment, now=now, smtp=smtp, expected_version=version)
        elif action == "merge":
            text = into.strip().lstrip("#＃")
            if not (text.isascii() and text.isdigit() and 0 < int(text) <= INT64_MAX):
                raise InvalidInput("into is the number of the consultation to merge into", field="into",
                                   message_ja="統合先の相談の番号を数字で入力してください（例: 12）")
            target = int(text)
            cases.merge(uow, actor, case_id, target, now=now, expected_version=version)
        else:
            raise InvalidInput(f"unknown step {action!r}", field="action",
                               message_ja=f"この操作はできません: {action}（{'、'.join(STEP_ACTIONS)}）")
    except DigidenError as e:
        if e.status_code in (401, 403):
            raise
        return _refused_page(request, uow, actor, case_id, e)
    if action == "reassign":
        # the office that hands it on may no longer see it: then it is told where it went
        try:
            cases.get(uow.for_reading(), actor, case_id, now=now)
        except NotFound:
            return RedirectResponse("/consultations?" + urlencode({"moved": case_id}), status_code=303)
    if action == "merge":
        return RedirectResponse(f"/consultations/{target}?done=merged", status_code=303)
    return RedirectResponse(f"/consultations/{case_id}?done={action}", status_code=303)


@router.get("/consultations/{case_id}/attachments/{attachment_id}", response_class=Response)
def attachment_download(case_id: IdPath, attachment_id: IdPath, uow: Uow, actor: Actor) -> Response:
    if not actor.signed_in:
        raise _hidden(case_id)
    name, media_type, data = cases.attachment(uow, actor, case_id, attachment_id)
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"})


# ---------------------------------------------------------------- FAQ (public)


@dataclass(frozen=True)
class FaqListContext:
    title: str
    rows: tuple[FaqView, ...]
    q: str
    field: str
    fields: tuple[tuple[str, str], ...]
    problems: tuple[tuple[str, str], ...]
    page: int
    has_next: bool

    def url(self, page: int) -> str:
        return "/faq?" + urlencode({k: v for k, v in (("q", self.q), ("field", self.field)) if v} | {"page": page})

    def field_name(self, code: str | None) -> str:
        names = dict(self.fields) | dict(self.problems)
        return names.get(code or "", code or "")


@router.get("/faq", response_class=HTMLResponse)
def faq_page(request: Request, uow: Uow, q: Annotated[str, Query(max_length=200)] = "", field: Short = "",
             page: PageQuery = 1) -> HTMLResponse:
    got = faq.published(uow, q=q, field=field, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    rows, has_next = got[:PAGE_SIZE], len(got) > PAGE_SIZE
    areas, problems = _field_choices(uow)
    ctx = FaqListContext("よくある質問（相談窓口のFAQ）", tuple(rows), q, field, areas, problems, page, has_next)
    return render(request, "consult/faq_results.html" if is_htmx(request) else "consult/faq_list.html", ctx)


@dataclass(frozen=True)
class FaqContext:
    title: str
    f: FaqView
    field_name: str
    measures: tuple[tuple[str, str], ...]     # (code, title)


@router.get("/faq/{faq_id}", response_class=HTMLResponse)
def faq_entry(faq_id: IdPath, request: Request, uow: Uow, actor: Actor) -> HTMLResponse:
    f = faq.get(uow, actor, faq_id)
    areas, problems = _field_choices(uow)
    names = dict(areas) | dict(problems)
    titles = {m.code: m.title for m in catalogue.list_measures(uow)} if f.measures else {}
    heading = f.question.split("\n", 1)[0].strip() or f"FAQ {f.id}"
    return render(request, "consult/faq_entry.html", FaqContext(
        heading, f, names.get(f.field or "", f.field or ""), tuple((c, titles.get(c, c)) for c in f.measures)))
