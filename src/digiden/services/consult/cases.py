"""Consultations (相談): asking, automatic routing and every later move (re-assign, share with a
second office, escalate to the national desk, merge a duplicate), the thread of replies and
internal notes, resolving, closing and reopening.

Every function takes the acting principal and decides access here (``domain.consult``); a
consultation another principal may not see is reported as not found. Every change is audited and
every move is a ``consult_move`` row. Notices are written with the change; e-mail follows the
commit when an SMTP server is given (``notify.send_pending``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, false, or_, select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import Principal, require
from digiden.domain.calendar import JST, japan_date
from digiden.domain.consult import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_TYPES,
    ATTACHMENTS_MAX,
    BODY_MAX,
    SUBJECT_MAX,
    CaseReach,
    Desk,
    Kind,
    Overdue,
    Router,
    RouteRequest,
    Rule,
    ServiceLevel,
    State,
    Step,
    Timing,
    due_dates,
    is_national_desk,
    is_responder,
    may_ask,
    may_ask_at_all,
    may_reply_as_asker,
    may_respond,
    may_see_case,
    may_see_personal,
    merge_check,
    overdue,
    text_field,
    transition,
    uncovered_pairs,
)
from digiden.domain.errors import Conflict, InvalidInput, NotFound
from digiden.domain.files import check_file
from digiden.services import audit
from digiden.services.common import org_ref
from digiden.services.consult import notify, offices
from digiden.services.consult.calendar import japan_calendar
from digiden.services.consult.notify import SmtpSettings
from digiden.services.registry.localgov import resolve_org
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import (
    ConsultAttachment,
    ConsultCase,
    ConsultCaseMeasure,
    ConsultMessage,
    ConsultMove,
    ConsultNotice,
    ConsultOffice,
    ConsultShare,
    StatKey,
    stat_add,
)
from digiden.store.models import Area, Measure, OrgUnit, Problem

NAME_MAX, EMAIL_MAX, PHONE_MAX, REASON_MAX = 100, 254, 32, 2000


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class MessageView:
    id: int
    kind: str            # reply | note
    side: str            # asker | responder
    office: str | None
    author: str
    body: str
    at: datetime


@dataclass(frozen=True)
class MoveView:
    action: str
    from_office: str | None
    to_office: str | None
    from_state: str
    to_state: str
    reason: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class AttachmentView:
    id: int
    file_name: str
    media_type: str
    size: int
    message_id: int | None


@dataclass(frozen=True)
class CaseSummary:
    id: int
    org_unit: str
    org_unit_name: str
    subject: str
    kind: str
    field: str | None
    state: str
    state_ja: str
    office: str
    received_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    first_response_due: date
    resolution_due: date
    overdue: tuple[str, ...]
    age_working_days: int
    synthetic: bool


@dataclass(frozen=True)
class CaseDetail:
    summary: CaseSummary
    body: str
    measures: tuple[str, ...]
    shared_with: tuple[str, ...]
    routing_reason: str
    routing_unconfirmed: bool
    merged_into: int | None
    share_with_prefecture: bool
    asker_name: str | None       # personal details: None for whoever may not see them
    asker_email: str | None
    asker_phone: str | None
    messages: tuple[MessageView, ...]
    moves: tuple[MoveView, ...]
    attachments: tuple[AttachmentView, ...]
    may_respond: bool
    may_reply: bool
    version: int


# ---------------------------------------------------------------- helpers


def reach_of(s: Session, c: ConsultCase) -> CaseReach:
    org = s.get(OrgUnit, c.org_unit_id)
    assert org is not None
    shared = set(s.scalars(select(ConsultShare.office_id).where(ConsultShare.case_id == c.id)))
    return CaseReach(org_ref(org), frozenset({c.office_id, *shared}), c.share_with_prefecture)


def _hidden(case_id: int) -> NotFound:
    return NotFound(f"no consultation {case_id}", field="case", message_ja=f"相談 {case_id} は見つかりません")


def load_visible(s: Session, p: Principal, case_id: int, *, lock: bool = False) -> tuple[ConsultCase, CaseReach, Desk]:
    """The consultation if the principal may see it, else NotFound exactly as for an unknown id —
    to the anonymous public too (asking it to sign in for an existing one only would tell which
    ids exist)."""
    q = select(ConsultCase).where(ConsultCase.id == case_id)
    if lock:
        q = q.with_for_update()
    c = s.scalars(q).one_or_none()
    if c is None:
        raise _hidden(case_id)
    reach, desk = reach_of(s, c), offices.desk_of(s, p)
    if not may_see_case(p, desk, reach):
        raise _hidden(case_id)
    return c, reach, desk


def check_version(c: ConsultCase, expected_version: int | None) -> None:
    """The consultation is still as the responder last read it (``expected_version``, from the
    ``version`` of its detail); None: no check, as before. Called inside the unit of work after the
    row is locked and access decided, so a stale step writes nothing (no move, notice or audit)."""
    if expected_version is not None and expected_version != c.version:
        raise Conflict(f"consultation {c.id} changed since you read it (version {expected_version}, now {c.version})",
                       message_ja=(f"相談 #{c.id} は読み込んだ後に他の人が変更しました（版数 {expected_version} → "
                                   f"{c.version}）。読み込み直してから操作してください"), field="version")


# ---------------------------------------------------------------- the dashboard's roll-up


#: what one consultation adds to the roll-up (``store.consult_models.ConsultStat``): None when it
#: does not count (merged), else (office, field or '', month of receipt in Japan time, open,
#: first-response days, resolution days)
Counted = tuple[int, str, str, bool, int | None, int | None] | None


def counted(c: ConsultCase) -> Counted:
    """The consultation as the dashboard's roll-up counts it; taken before and after a change."""
    if c.state == State.MERGED.value:
        return None
    d = japan_date(c.received_at)
    return (c.office_id, c.field_code or "", f"{d.year:04d}-{d.month:02d}", State(c.state).open,
            c.first_response_days, c.resolution_days)


def _stat_rows(k: Counted, sign: int, into: dict[StatKey, int]) -> None:
    if k is None:
        return
    office, field, month, is_open, first, res = k
    keys: list[StatKey] = [(office, field, month, "received", 0)]
    if is_open:
        keys.append((office, field, month, "open", 0))
    if first is not None:
        keys.append((office, field, month, "first", first))
    if res is not None:
        keys.append((office, field, month, "resolved", res))
    for key in keys:
        into[key] = into.get(key, 0) + sign


def restat(s: Session, before: Counted, c: ConsultCase) -> None:
    """Move the consultation's count in the roll-up from ``before`` (``counted`` before the change)
    to what it is now, in the caller's transaction: every step that changes a consultation's
    office, state or times calls it, so the dashboard's figures are committed (or rolled back)
    with the change itself."""
    deltas: dict[StatKey, int] = {}
    _stat_rows(before, -1, deltas)
    _stat_rows(counted(c), +1, deltas)
    stat_add(s, {k: n for k, n in deltas.items() if n})


def _office_names(s: Session) -> dict[int, str]:
    return dict(s.execute(select(ConsultOffice.id, ConsultOffice.name)).all())


def jst_day_start(d: date) -> datetime:
    """The instant (UTC) a day begins in Japan."""
    return datetime(d.year, d.month, d.day, tzinfo=JST).astimezone(UTC)


def overdue_condition(today: date, levels: dict[Kind, ServiceLevel]) -> Any:
    """The SQL condition of ``domain.consult.overdue`` on ``today`` (Japan date): an open
    consultation received early enough that its due day has passed — one comparison of the receipt
    time per kind and target (``WorkingCalendar.overdue_if_received_by``), so a list of the
    overdue ones pages in the database."""
    cal = japan_calendar()
    per_kind = []
    for kind, level in levels.items():
        first = jst_day_start(cal.overdue_if_received_by(today, level.first_response_days) + timedelta(days=1))
        resolve = jst_day_start(cal.overdue_if_received_by(today, level.resolution_days) + timedelta(days=1))
        per_kind.append(and_(ConsultCase.kind == kind.value,
                             or_(and_(ConsultCase.first_response_at.is_(None), ConsultCase.received_at < first),
                                 ConsultCase.received_at < resolve)))
    return and_(ConsultCase.state.in_([x.value for x in State if x.open]), or_(*per_kind))


def _summary(s: Session, c: ConsultCase, org: OrgUnit, names: dict[int, str], now: datetime,
             levels: dict[Kind, ServiceLevel] | None = None) -> CaseSummary:
    cal = japan_calendar()
    level = (levels or offices.service_levels(s))[Kind(c.kind)]
    t = Timing(c.received_at, c.first_response_at, c.resolved_at, State(c.state))
    first_due, resolve_due = due_dates(cal, t, level)
    end = c.resolved_at or c.closed_at or now
    return CaseSummary(c.id, org.code, org.full_name, c.subject, c.kind, c.field_code, c.state, State(c.state).label_ja,
                       names.get(c.office_id, ""), c.received_at, c.first_response_at, c.resolved_at, first_due,
                       resolve_due, tuple(o.value for o in overdue(cal, t, level, now)),
                       max(cal.count_between(c.received_at, end), 0), c.synthetic)


def _move(s: Session, c: ConsultCase, action: str, actor: str, at: datetime, *, from_office: int | None = None,
          to_office: int | None = None, from_state: str = "", to_state: str = "", reason: str = "") -> None:
    s.add(ConsultMove(case_id=c.id, action=action, from_office_id=from_office, to_office_id=to_office,
                      from_state=from_state, to_state=to_state, reason=reason, actor=actor, at=at))


def _audit(s: Session, p: Principal, c: ConsultCase, action: str, at: datetime, summary: str, *,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    """Audited without the thread's text or the asker's personal details (the trail is read by
    the national administrator; the content stays with the consultation)."""
    audit.record(s, actor=p.name, action=f"consult.{action}", entity="consult_case", entity_key=str(c.id), at=at,
                 org_unit_id=c.org_unit_id, before=before, after=after, summary=summary)


def notify_office(s: Session, c: ConsultCase, office_id: int, kind: str, subject: str, message: str,
                   at: datetime) -> ConsultNotice:
    o = s.get(ConsultOffice, office_id)
    return notify.record(s, kind=kind, subject=subject, message=message, at=at, case_id=c.id, office_id=office_id,
                         email_to=o.contact_email if o is not None else "")


def _notify_asker(s: Session, c: ConsultCase, kind: str, subject: str, message: str, at: datetime) -> ConsultNotice:
    return notify.record(s, kind=kind, subject=subject, message=message, at=at, case_id=c.id,
                         org_unit_id=c.org_unit_id, email_to=c.asker_email)


def _mail(uow: UnitOfWork, smtp: SmtpSettings | None, notices: Sequence[ConsultNotice], now: datetime) -> None:
    ids = [n.id for n in notices if n.email_to]
    if smtp is not None and ids:
        notify.send_pending(uow, smtp, now=now, notice_ids=ids)


def _attach(s: Session, c: ConsultCase, files: Sequence[Attachment], actor: str, at: datetime,
            message_id: int | None = None) -> list[str]:
    if len(files) > ATTACHMENTS_MAX:
        raise InvalidInput(f"at most {ATTACHMENTS_MAX} attachments", field="attachment",
                           message_ja=f"添付ファイルは{ATTACHMENTS_MAX}件までです")
    # all checked before anything is written; kept under the name that was checked (its last part,
    # after / or \\: a Windows path sent as the name was stored whole)
    checked = [(f, check_file(f.name, f.data, accept=ATTACHMENT_TYPES, max_bytes=ATTACHMENT_MAX_BYTES,
                              field="attachment")) for f in files]
    for f, ok in checked:
        s.add(ConsultAttachment(case_id=c.id, message_id=message_id, file_name=ok.name, media_type=ok.media_type,
                                size=len(f.data), data=f.data, uploaded_by=actor, uploaded_at=at))
    return [ok.name for _, ok in checked]


def _field(s: Session, code: str | None) -> str | None:
    code = (code or "").strip()
    if not code:
        return None
    known = s.scalars(select(Area.code).where(Area.code == code).limit(1)).first() or s.scalars(
        select(Problem.code).where(Problem.code == code)).first()
    if known is None:
        raise InvalidInput(f"unknown field or social issue {code}", field="field",
                           message_ja=f"分野・社会課題「{code}」は登録されていません")
    return code


def _measures(s: Session, codes: Sequence[str]) -> list[Measure]:
    wanted = sorted({c.strip() for c in codes if c and c.strip()})
    found = list(s.scalars(select(Measure).where(Measure.code.in_(wanted)))) if wanted else []
    missing = sorted(set(wanted) - {m.code for m in found})
    if missing:
        raise InvalidInput(f"unknown measures {missing}", field="measures",
                           message_ja=f"施策が登録されていません: {'、'.join(missing)}")
    return found


# ---------------------------------------------------------------- asking


def require_may_ask(p: Principal) -> None:
    """Who gets the ask form (``ask`` decides again for the local government named)."""
    require(p, may_ask_at_all(p), message="only a local government's own staff file its consultations",
            message_ja="相談は地方公共団体の職員が自分の団体について行います",
            sign_in_ja="相談するにはサインインしてください")


def ask(uow: UnitOfWork, p: Principal, *, subject: str, body: str, kind: str = "general",
        field: str | None = None, measures: Sequence[str] = (), org_code: str | None = None,
        asker_name: str = "", asker_email: str = "", asker_phone: str = "", share_with_prefecture: bool = True,
        attachments: Sequence[Attachment] = (), answered_by_suggestion: bool = False, now: datetime,
        smtp: SmtpSettings | None = None, synthetic: bool = False) -> int:
    """A new consultation of the principal's own local government (the national desk may file one
    for a local government, ``org_code``), routed at once by the desk's rules. ``answered_by_
    suggestion``: the asker says the measures and practices shown while typing answered it; it is
    kept, closed, for the statistics, and nobody is notified."""
    subject = text_field(subject, max_len=SUBJECT_MAX, field="subject", label_ja="件名", one_line=True)
    body = text_field(body, max_len=BODY_MAX, field="body", label_ja="相談内容")
    k = Kind.parse(kind)
    name = text_field(asker_name, max_len=NAME_MAX, field="asker_name", label_ja="氏名", required=False,
                      one_line=True)
    email = text_field(asker_email, max_len=EMAIL_MAX, field="asker_email", label_ja="メールアドレス", required=False,
                       one_line=True)
    if email and ("@" not in email or " " in email):
        raise InvalidInput("not an e-mail address", field="asker_email",
                           message_ja="メールアドレスの形式が正しくありません")
    phone = text_field(asker_phone, max_len=PHONE_MAX, field="asker_phone", label_ja="電話番号", required=False,
                       one_line=True)
    with uow:
        s = uow.session
        org: OrgUnit | None
        if org_code and p.is_admin:
            org = resolve_org(s, org_code)
        else:
            org = s.get(OrgUnit, p.org_unit_id) if p.org_unit_id is not None else None
        require(p, org is not None and may_ask(p, org_ref(org)),
                message="only a local government's own staff file its consultations",
                message_ja="相談は地方公共団体の職員が自分の団体について行います",
                sign_in_ja="相談するにはサインインしてください")
        assert org is not None
        if org.code == "JP":
            raise InvalidInput("the nation does not ask itself", field="org_unit",
                               message_ja="国（全国）としての相談はできません。地方公共団体を指定してください")
        field_code = _field(s, field)
        ms = _measures(s, measures)
        routing = offices.router(s).route(RouteRequest(org.prefecture_code, field_code, tuple(m.code for m in ms)))
        state = State.RECEIVED if routing.rule_id is None else State.ASSIGNED
        if answered_by_suggestion:
            state = State.CLOSED
        c = ConsultCase(org_unit_id=org.id, asker_user_id=p.user_id, asker_name=name, asker_email=email,
                        asker_phone=phone, share_with_prefecture=share_with_prefecture, subject=subject, body=body,
                        kind=k.value, field_code=field_code, state=state.value, office_id=routing.office_id,
                        routing_reason=routing.reason_ja, routing_unconfirmed=routing.unconfirmed, received_at=now,
                        last_activity_at=now, closed_at=now if answered_by_suggestion else None,
                        answered_by_suggestion=answered_by_suggestion, version=1, synthetic=synthetic)
        s.add(c)
        s.flush()
        restat(s, None, c)
        for m in ms:
            s.add(ConsultCaseMeasure(case_id=c.id, measure_id=m.id))
        files = _attach(s, c, attachments, p.name, now)
        _move(s, c, "route", p.name, now, to_office=routing.office_id, to_state=state.value, reason=routing.reason_ja)
        notices = []
        if not answered_by_suggestion:
            notices.append(notify_office(s, c, routing.office_id, "case_new", f"新しい相談 #{c.id}: {subject}",
                                          f"{org.full_name}から相談 #{c.id}「{subject}」が届きました。"
                                          f"{routing.reason_ja}", now))
        _audit(s, p, c, "ask", now, f"相談 #{c.id} を受け付けました（{routing.office_name}）",
               after={"state": state.value, "office": routing.office_name, "kind": k.value, "field": field_code,
                      "measures": [m.code for m in ms], "attachments": len(files),
                      "answered_by_suggestion": answered_by_suggestion})
        uow.commit()
        case_id = c.id
    _mail(uow, smtp, notices, now)
    return case_id


# ---------------------------------------------------------------- reading


def get(uow: UnitOfWork, p: Principal, case_id: int, *, now: datetime) -> CaseDetail:
    with uow:
        s = uow.session
        c, reach, desk = load_visible(s, p, case_id)
        org = s.get(OrgUnit, c.org_unit_id)
        assert org is not None
        names = _office_names(s)
        responder = is_responder(p, desk, reach)
        personal = may_see_personal(p, desk, reach)
        msgs = (select(ConsultMessage).where(ConsultMessage.case_id == c.id)
                .order_by(ConsultMessage.at, ConsultMessage.id))
        if not responder:
            msgs = msgs.where(ConsultMessage.kind == "reply")
        messages = tuple(MessageView(m.id, m.kind, m.side, names.get(m.office_id) if m.office_id else None,
                                     m.author, m.body, m.at) for m in s.scalars(msgs))
        note_ids = {m.id for m in s.scalars(select(ConsultMessage).where(ConsultMessage.case_id == c.id,
                                                                          ConsultMessage.kind == "note"))}
        files = tuple(AttachmentView(a.id, a.file_name, a.media_type, a.size, a.message_id)
                      for a in s.scalars(select(ConsultAttachment).where(ConsultAttachment.case_id == c.id)
                                         .order_by(ConsultAttachment.id))
                      if responder or a.message_id not in note_ids)
        moves = tuple(MoveView(m.action, names.get(m.from_office_id) if m.from_office_id else None,
                               names.get(m.to_office_id) if m.to_office_id else None, m.from_state, m.to_state,
                               m.reason, m.actor, m.at)
                      for m in s.scalars(select(ConsultMove).where(ConsultMove.case_id == c.id)
                                         .order_by(ConsultMove.at, ConsultMove.id)))
        measures = tuple(s.scalars(
            select(Measure.code).join(ConsultCaseMeasure, ConsultCaseMeasure.measure_id == Measure.id)
            .where(ConsultCaseMeasure.case_id == c.id).order_by(Measure.code)))
        shared = tuple(sorted(names[o] for o in reach.offices if o != c.office_id))
        open_ = State(c.state) not in (State.MERGED,)
        return CaseDetail(_summary(s, c, org, names, now), c.body, measures, shared, c.routing_reason,
                          c.routing_unconfirmed, c.merged_into_id, c.share_with_prefecture,
                          c.asker_name if personal else None, c.asker_email if personal else None,
                          c.asker_phone if personal else None, messages, moves, files,
                          open_ and may_respond(p, desk, reach), open_ and may_reply_as_asker(p, reach), c.version)


def visible_filter(s: Session, p: Principal) -> Any:
    """The SQL condition of the consultations a principal may see (as ``may_see_case``)."""
    desk = offices.desk_of(s, p)
    if is_national_desk(p, desk):
        return None
    if not p.signed_in:
        return false()
    conds: list[Any] = []
    if p.org_unit_id is not None:
        conds.append(ConsultCase.org_unit_id == p.org_unit_id)
    if p.role is access.Role.PREFECTURE and p.prefecture_code:
        in_pref = select(OrgUnit.id).where(OrgUnit.prefecture_code == p.prefecture_code, OrgUnit.code != "JP")
        conds.append(and_(ConsultCase.org_unit_id.in_(in_pref), ConsultCase.share_with_prefecture.is_(True)))
    if desk.office_ids:
        conds.append(ConsultCase.office_id.in_(desk.office_ids))
        conds.append(ConsultCase.id.in_(select(ConsultShare.case_id).where(ConsultShare.office_id.in_(desk.office_ids))))
    return or_(*conds) if conds else false()


def field_condition(field: str) -> Any:
    """Consultations of a field or social issue, a field's sub-fields included (P4 → P4.3)."""
    escaped = field.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(ConsultCase.field_code == field, ConsultCase.field_code.like(escaped + ".%", escape="\\"))


def list_cases(uow: UnitOfWork, p: Principal, *, now: datetime, state: str | None = None,
               office: str | None = None, only_overdue: bool = False, org_code: str | None = None,
               field: str | None = None, limit: int = 100, offset: int = 0) -> list[CaseSummary]:
    """Newest first, what the principal may see; ``only_overdue`` keeps the open consultations
    past a service level (the filter is computed in Japan time with the working-day calendar);
    ``field`` those of a field or social issue, its sub-fields included (P4 → P4.3), in SQL.
    The anonymous public is asked to sign in (401), as for the other staff-only lists."""
    access.require_signed_in(p, "相談の一覧を見るにはサインインしてください")
    if state is not None and state not in State._value2member_map_:
        raise InvalidInput(f"unknown state {state}", field="state",
                           message_ja=f"状態が正しくありません: {state}（{'、'.join(x.value for x in State)}）")
    with uow:
        s = uow.session
        q = select(ConsultCase, OrgUnit).join(OrgUnit, OrgUnit.id == ConsultCase.org_unit_id)
        cond = visible_filter(s, p)
        if cond is not None:
            q = q.where(cond)
        if state:
            q = q.where(ConsultCase.state == state)
        levels = offices.service_levels(s)
        if only_overdue:
            q = q.where(overdue_condition(japan_date(now), levels))
        if office:
            q = q.where(ConsultCase.office_id == offices.office_by_code(s, office).id)
        if org_code:
            q = q.where(OrgUnit.code == org_code)
        if field:
            q = q.where(field_condition(field))
        q = q.order_by(ConsultCase.received_at.desc(), ConsultCase.id.desc())
        names = _office_names(s)
        return [_summary(s, c, o, names, now, levels) for c, o in s.execute(q.limit(limit).offset(offset))]


def attachment(uow: UnitOfWork, p: Principal, case_id: int, attachment_id: int) -> tuple[str, str, bytes]:
    """(file name, media type, content) of an attachment the principal may see."""
    with uow:
        s = uow.session
        c, reach, desk = load_visible(s, p, case_id)
        a = s.get(ConsultAttachment, attachment_id)
        if a is None or a.case_id != c.id:
            raise NotFound("no such attachment", field="attachment", message_ja="添付ファイルが見つかりません")
        if a.message_id is not None and not is_responder(p, desk, reach):
            m = s.get(ConsultMessage, a.message_id)
            if m is not None and m.kind == "note":
                raise NotFound("no such attachment", field="attachment", message_ja="添付ファイルが見つかりません")
        return a.file_name, a.media_type, a.data


# ---------------------------------------------------------------- the thread


def reply(uow: UnitOfWork, p: Principal, case_id: int, body: str, *, note: bool = False,
          attachments: Sequence[Attachment] = (), now: datetime, smtp: SmtpSettings | None = None,
          expected_version: int | None = None) -> int:
    """A reply (seen by the asker) or, ``note``, an internal note (responders only). A responder's
    first reply is the first response; an asker's reply reopens an answered or resolved one; a
    closed one takes no reply (reopen it first). ``expected_version``: the consultation's version
    as last read (a stale reply writes nothing, as a stale step)."""
    body = text_field(body, max_len=BODY_MAX, field="body", label_ja="本文")
    with uow:
        s = uow.session
        c, reach, desk = load_visible(s, p, case_id, lock=True)
        responder = may_respond(p, desk, reach)
        asker = may_reply_as_asker(p, reach)
        if note:
            require(p, responder, message="only responders write internal notes",
                    message_ja="内部メモは担当部局と国の相談窓口だけが書けます", sign_in_ja="サインインしてください")
        else:
            require(p, responder or asker, message="you may not reply to this consultation",
                    message_ja="この相談に返信する権限がありません", sign_in_ja="サインインしてください")
        check_version(c, expected_version)
        before = State(c.state)
        was = counted(c)
        if note:
            if before is State.MERGED:
                transition(before, Step.RESPONDER_REPLY)   # raises the merged message
            new = before
        else:
            new = transition(before, Step.RESPONDER_REPLY if responder else Step.ASKER_REPLY)
        side = "responder" if responder else "asker"
        office_id = None
        if responder:
            mine = sorted(desk.office_ids & reach.offices)
            office_id = c.office_id if c.office_id in desk.office_ids else (mine[0] if mine else None)
        m = ConsultMessage(case_id=c.id, kind="note" if note else "reply", side=side, office_id=office_id,
                           author=p.name, body=body, at=now)
        s.add(m)
        s.flush()
        files = _attach(s, c, attachments, p.name, now, message_id=m.id)
        notices: list[ConsultNotice] = []
        if not note:
            if responder and c.first_response_at is None:
                c.first_response_at = now
                c.first_response_days = japan_calendar().count_between(c.received_at, now)
            if new is not before and before is State.RESOLVED:
                c.resolved_at = c.resolution_days = None
            if new is not before:
                c.state = new.value
                _move(s, c, "state", p.name, now, from_state=before.value, to_state=new.value,
                      reason="返信による再開" if side == "asker" else "回答")
            if responder:
                notices.append(_notify_asker(s, c, "case_reply", f"相談 #{c.id} に回答がありました",
                                             f"相談 #{c.id}「{c.subject}」に回答がありました。", now))
            else:
                notices.append(notify_office(s, c, c.office_id, "case_reply", f"相談 #{c.id} に返信がありました",
                                              f"相談 #{c.id}「{c.subject}」に相談者から返信がありました。", now))
        c.last_activity_at = now
        c.version += 1
        restat(s, was, c)
        _audit(s, p, c, "note" if note else "reply", now,
               f"相談 #{c.id} に{'内部メモ' if note else '返信'}を書きました",
               before={"state": before.value}, after={"state": new.value, "side": side, "attachments": len(files)})
        uow.commit()
        mid = m.id
    _mail(uow, smtp, notices, now)
    return mid


def _step(uow: UnitOfWork, p: Principal, case_id: int, step: Step, *, comment: str, now: datetime,
          smtp: SmtpSettings | None, expected_version: int | None = None) -> str:
    comment = text_field(comment, max_len=REASON_MAX, field="comment", label_ja="コメント", required=False)
    with uow:
        s = uow.session
        c, reach, desk = load_visible(s, p, case_id, lock=True)
        responder, asker = may_respond(p, desk, reach), may_reply_as_asker(p, reach)
        require(p, responder or asker, message=f"you may not {step.value} this consultation",
                message_ja=f"この相談を「{step.label_ja}」する権限がありません", sign_in_ja="サインインしてください")
        check_version(c, expected_version)
        before = State(c.state)
        was = counted(c)
        new = transition(before, step)
        c.state = new.value
        if new is State.RESOLVED:
            c.resolved_at = now
            c.resolution_days = japan_calendar().count_between(c.received_at, now)
        if new is State.CLOSED:
            c.closed_at = now
        if step is Step.REOPEN:
            c.resolved_at = c.closed_at = c.resolution_days = None
        c.last_activity_at = now
        c.version += 1
        restat(s, was, c)
        _move(s, c, "state", p.name, now, from_state=before.value, to_state=new.value, reason=comment)
        msg = f"相談 #{c.id}「{c.subject}」が「{new.label_ja}」になりました。" + (f"\n{comment}" if comment else "")
        notices = [_notify_asker(s, c, f"case_{step.value}", f"相談 #{c.id}: {new.label_ja}", msg, now) if responder
                   else notify_office(s, c, c.office_id, f"case_{step.value}", f"相談 #{c.id}: {new.label_ja}", msg,
                                       now)]
        _audit(s, p, c, step.value, now, f"相談 #{c.id} を{step.label_ja}しました",
               before={"state": before.value}, after={"state": new.value})
        uow.commit()
    _mail(uow, smtp, notices, now)
    return new.value


def resolve(uow: UnitOfWork, p: Principal, case_id: int, *, comment: str = "", now: datetime,
            smtp: SmtpSettings | None = None, expected_version: int | None = None) -> str:
    return _step(uow, p, case_id, Step.RESOLVE, comment=comment, now=now, smtp=smtp,
                 expected_version=expected_version)


def close(uow: UnitOfWork, p: Principal, case_id: int, *, comment: str = "", now: datetime,
          smtp: SmtpSettings | None = None, expected_version: int | None = None) -> str:
    return _step(uow, p, case_id, Step.CLOSE, comment=comment, now=now, smtp=smtp,
                 expected_version=expected_version)


def reopen(uow: UnitOfWork, p: Principal, case_id: int, *, comment: str = "", now: datetime,
           smtp: SmtpSettings | None = None, expected_version: int | None = None) -> str:
    return _step(uow, p, case_id, Step.REOPEN, comment=comment, now=now, smtp=smtp,
                 expected_version=expected_version)


# ---------------------------------------------------------------- moves


def _require_responder(p: Principal, desk: Desk, reach: CaseReach, what_ja: str) -> None:
    require(p, may_respond(p, desk, reach), message="only responders move a consultation",
            message_ja=f"{what_ja}は担当部局と国の相談窓口が行います", sign_in_ja="サインインしてください")


def reassign(uow: UnitOfWork, p: Principal, case_id: int, office: str, *, reason: str, now: datetime,
             smtp: SmtpSettings | None = None, expected_version: int | None = None) -> None:
    """Hand the consultation to another office (the old one no longer answers it)."""
    reason = text_field(reason, max_len=REASON_MAX, field="reason", label_ja="理由")
    with uow:
        s = uow.session
        c, reach, desk = load_visible(s, p, case_id, lock=True)
        _require_responder(p, desk, reach, "担当の変更")
        check_version(c, expected_version)
        to = offices.office_by_code(s, office)
        if to.id == c.office_id:
            raise InvalidInput("already assigned to that office", field="office",
                               message_ja=f"既に「{to.name}」の担当です")
        before = State(c.state)
        was = counted(c)
        new = transition(before, Step.ASSIGN)
        old = c.office_id
        c.office_id, c.state, c.last_activity_at = to.id, new.value, now
        c.routing_unconfirmed = False
        c.version += 1
        restat(s, was, c)
        s.execute(delete(ConsultShare).where(ConsultShare.case_id == c.id, ConsultShare.office_id == to.id))
        _move(s, c, "reassign", p.name, now, from_office=old, to_office=to.id, from_state=before.value,
              to_state=new.value, reason=reason)
        notices = [notify_office(s, c, to.id, "case_assigned", f"相談 #{c.id} の担当になりました",
                                  f"相談 #{c.id}「{c.subject}」の担当が「{to.name}」になりました。理由: {reason}", now)]
        _audit(s, p, c, "reassign", now, f"相談 #{c.id} の担当を「{to.name}」に変更しました",
               before={"office_id": old, "state": before.value}, after={"office_id": to.id, "state": new.value})
        uow.commit()
    _mail(uow, smtp, notices, now)


def share(uow: UnitOfWork, p: Principal, case_id: int, office: str, *, reason: str, now: datetime,
          smtp: SmtpSettings | None = None, expected_version: int | None = None) -> None:
    """A second office sees and answers the consultation too."""
    reason = text_field(reason, max_len=REASON_MAX, field="reason", label_ja="理由")
    with uow:
        s = uow.session
        c, reach, desk = load_visible(s, p, case_id, lock=True)
        _require_responder(p, desk, reach, "共有")
        check_version(c, expected_version)
        if State(c.state) is State.MERGED:
            transition(State.MERGED, Step.ASSIGN)   # raises: the thread continues in the target
        to = offices.office_by_code(s, office)
        if to.id in reach.offices:
            raise InvalidInput("that office already has it", field="office",
                               message_ja=f"「{to.name}」は既にこの相談を担当・共有しています")
        s.add(ConsultShare(case_id=c.id, office_id=to.id, added_by=p.name, added_at=now))
        c.last_activity_at = now
        c.version += 1
        _move(s, c, "share", p.name, now, to_office=to.id, reason=reason)
        notices = [notify_office(s, c, to.id, "case_shared", f"相談 #{c.id} が共有されました",
                                  f"相談 #{c.id}「{c.subject}」が「{to.name}」に共有されました。理由: {reason}", now)]
        _audit(s, p, c, "share", now, f"相談 #{c.id} を「{to.name}」に共有しました", after={"office_id": to.id})
        uow.commit()
    _mail(uow, smtp, notices, now)


def escalate_case(s: Session, c: ConsultCase, actor: str, reason: str, now: datetime) -> list[ConsultNotice]:
    """Bring the national desk in (shared with it unless it is already the desk's), in the current
    transaction; used by ``escalate`` and by the overdue check."""
    desk = offices.desk_office(s)
    shared = set(s.scalars(select(ConsultShare.office_id).where(ConsultShare.case_id == c.id)))
    if desk.id != c.office_id and desk.id not in shared:
        s.add(ConsultShare(case_id=c.id, office_id=desk.id, added_by=actor, added_at=now))
    c.escalated_at = now
    c.version += 1
    _move(s, c, "escalate", actor, now, from_office=c.office_id, to_office=desk.id, reason=reason)
    return [notify_office(s, c, desk.id, "case_escalated", f"相談 #{c.id} がエスカレーションされました",
                           f"相談 #{c.id}「{c.subject}」: {reason}", now)]


def escalate(uow: UnitOfWork, p: Principal, case_id: int, *, reason: str, now: datetime,
             smtp: SmtpSettings | None = None, expected_version: int | None = None) -> None:
    """Bring the national desk in (by a responder, or by the asker when it waits too long)."""
    reason = text_field(reason, max_len=REASON_MAX, field="reason", label_ja="理由")
    with uow:
        s = uow.session
        c, reach, desk = load_visible(s, p, case_id, lock=True)
        require(p, may_respond(p, desk, reach) or may_reply_as_asker(p, reach), message="you may not escalate this",
                message_ja="この相談をエスカレーションする権限がありません", sign_in_ja="サインインしてください")
        check_version(c, expected_version)
        if not State(c.state).open:
            raise InvalidInput("only an open consultation is escalated", field="state",
                               message_ja=f"「{State(c.state).label_ja}」の相談はエスカレーションできません")
        notices = escalate_case(s, c, p.name, reason, now)
        _audit(s, p, c, "escalate", now, f"相談 #{c.id} を国の相談窓口にエスカレーションしました",
               after={"reason_given": True})
        uow.commit()
    _mail(uow, smtp, notices, now)


def merge(uow: UnitOfWork, p: Principal, duplicate_id: int, into_id: int, *, now: datetime,
          expected_version: int | None = None) -> None:
    """A duplicate is merged into another consultation of the same local government: it is kept,
    read-only, and points to the one the thread continues in. ``expected_version`` is the
    duplicate's version as last read."""
    with uow:
        s = uow.session
        dup, reach_d, desk = load_visible(s, p, duplicate_id, lock=True)
        target, reach_t, _ = load_visible(s, p, into_id, lock=True)
        require(p, may_respond(p, desk, reach_d) and may_respond(p, desk, reach_t),
                message="only responders of both merge",
                message_ja="統合は両方の相談の担当部局か国の相談窓口が行います",
                sign_in_ja="サインインしてください")
        check_version(dup, expected_version)
        merge_check(dup.org_unit_id, target.org_unit_id, dup.id, target.id, State(target.state))
        before = State(dup.state)
        was = counted(dup)
        new = transition(before, Step.MERGE)
        dup.state, dup.merged_into_id, dup.last_activity_at = new.value, target.id, now
        dup.version += 1
        restat(s, was, dup)
        target.last_activity_at = now
        target.version += 1
        _move(s, dup, "merge", p.name, now, from_state=before.value, to_state=new.value, reason=f"#{target.id} に統合")
        _move(s, target, "merge", p.name, now, reason=f"#{dup.id} を統合")
        _audit(s, p, dup, "merge", now, f"相談 #{dup.id} を #{target.id} に統合しました",
               before={"state": before.value}, after={"state": new.value, "merged_into": target.id})
        uow.commit()


def pending_overdue(s: Session, now: datetime) -> list[tuple[ConsultCase, list[Overdue]]]:
    """Open consultations past a service level whose lateness was not escalated yet. The rows are
    locked for the caller's transaction, skipping those another transaction holds (PostgreSQL), so
    two overdue checks running at once never escalate the same lateness twice; a skipped row is
    escalated by the next run. On SQLite the writer's BEGIN IMMEDIATE serialises the runs."""
    cal = japan_calendar()
    levels = offices.service_levels(s)
    out: list[tuple[ConsultCase, list[Overdue]]] = []
    for c in s.scalars(select(ConsultCase).where(ConsultCase.state.in_([x.value for x in State if x.open]))
                       .order_by(ConsultCase.id).with_for_update(skip_locked=True)):
        late = overdue(cal, Timing(c.received_at, c.first_response_at, c.resolved_at, State(c.state)),
                       levels[Kind(c.kind)], now)
        done = set(filter(None, c.overdue_noticed.split(",")))
        new = [o for o in late if o.value not in done]
        if new:
            out.append((c, new))
    return out


# ---------------------------------------------------------------- the routing check


@dataclass(frozen=True)
class RouteGap:
    """One routing rule's (field or measure) × prefecture pairs that need the desk's attention."""

    rule_id: int
    ministry: str
    key: str                      # the measure's or the field's code
    family: str
    prefectures: tuple[str, ...]  # prefecture codes
    prefecture_names: tuple[str, ...]


@dataclass(frozen=True)
class RouteCheck:
    """What the routing rules leave to chance: pairs no office covers (the national desk receives
    them) and pairs routed through a regional assignment still unconfirmed (INFERRED)."""

    rules: int
    without_office: tuple[RouteGap, ...]
    unconfirmed: tuple[RouteGap, ...]


def route_check(uow: UnitOfWork, p: Principal) -> RouteCheck:
    """Every routing rule checked against the offices as they are now (``domain.consult.
    uncovered_pairs``, the check that refuses a new rule): a rule added before an office was
    removed, or db init's defaults, can leave field × prefecture pairs without an office. For the
    national desk, which administers the rules."""
    with uow.for_reading() as u:
        s = u.session
        require(p, is_national_desk(p, offices.desk_of(s, p)), message="the routing check is for the national desk",
                message_ja="振り分けの点検は国の相談窓口が行います", sign_in_ja="サインインしてください")
        names = {o.prefecture_code: o.name for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "prefecture"))}
        prefs = sorted(names) or [f"{i:02d}" for i in range(1, 48)]
        refs = offices.office_refs(s)
        rules = offices.rules(s)
    router = Router(rules, refs)
    gaps: list[RouteGap] = []
    unconfirmed: list[RouteGap] = []

    def gap(r: Rule, codes: Sequence[str]) -> RouteGap:
        return RouteGap(r.id, r.ministry, r.measure_code or r.field_code or "", r.family, tuple(codes),
                        tuple(names.get(c, c) for c in codes))
    for r in rules:
        missing = sorted({pref for _, pref in uncovered_pairs(r, refs, prefs)})
        if missing:
            gaps.append(gap(r, missing))
        if r.family:
            doubtful = [pref for pref in prefs
                        if (o := router.regional.get((r.family, pref))) is not None and pref in o.unconfirmed]
            if doubtful:
                unconfirmed.append(gap(r, doubtful))
    return RouteCheck(len(rules), tuple(gaps), tuple(unconfirmed))
