"""The desk's clock and dashboard: the overdue check a scheduler (or ``digiden consult escalate``)
calls, and the statistics in working days (開庁日) per office, per field and per month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select

from digiden.domain.access import Principal, require, require_signed_in
from digiden.domain.consult import (
    AGE_BANDS,
    JST,
    State,
    Summary,
    is_national_desk,
    japan_date,
    statistics_of_rows,
)
from digiden.domain.errors import InvalidInput, PermissionDenied
from digiden.services import audit
from digiden.services.consult import cases, notify, offices
from digiden.services.consult.calendar import japan_calendar
from digiden.services.consult.notify import SmtpSettings
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultCase, ConsultNotice, ConsultOffice


@dataclass(frozen=True)
class Escalated:
    case_id: int
    overdue: tuple[str, ...]


def escalate_overdue(uow: UnitOfWork, *, now: datetime, actor: str = "desk-clock",
                     smtp: SmtpSettings | None = None) -> list[Escalated]:
    """Every open consultation that passed a service level since the last run: a notice to its
    office (mailed to the office's address) and to the national desk, the desk brought in, the move
    recorded and audited. Each lateness (first response, resolution) escalates once; running it
    again at once does nothing. Safe to call from a scheduler or the CLI."""
    out: list[Escalated] = []
    notices: list[ConsultNotice] = []
    with uow:
        s = uow.session
        for c, late in cases.pending_overdue(s, now):
            labels = "・".join(o.label_ja for o in late)
            reason = f"{labels}（目標は開庁日で計算）"
            notices.append(cases.notify_office(s, c, c.office_id, "case_overdue", f"相談 #{c.id} が期限を過ぎています",
                                               f"相談 #{c.id}「{c.subject}」: {reason}", now))
            notices.extend(cases.escalate_case(s, c, actor, reason, now))
            done = set(filter(None, c.overdue_noticed.split(","))) | {o.value for o in late}
            c.overdue_noticed = ",".join(sorted(done))
            audit.record(s, actor=actor, action="consult.overdue", entity="consult_case", entity_key=str(c.id),
                         at=now, org_unit_id=c.org_unit_id, after={"overdue": [o.value for o in late]},
                         summary=f"相談 #{c.id}: {labels}。国の相談窓口に通知しました")
            out.append(Escalated(c.id, tuple(o.value for o in late)))
        uow.commit()
    if smtp is not None and notices:
        notify.send_pending(uow, smtp, now=now, notice_ids=[n.id for n in notices if n.email_to])
    return out


@dataclass(frozen=True)
class Dashboard:
    by_office: list[Summary]
    by_field: list[Summary]
    by_month: list[Summary]
    open_by_age: dict[str, int]
    overdue: int


def _scope(uow: UnitOfWork, p: Principal) -> frozenset[int] | None:
    """None: every office (the national desk); else the offices the principal answers for."""
    s = uow.session
    desk = offices.desk_of(s, p)
    if is_national_desk(p, desk):
        return None
    require(p, bool(desk.office_ids), message="the dashboard is for the desk and its offices",
            message_ja="相談窓口の集計は国の相談窓口と担当部局が閲覧できます",
            sign_in_ja="集計の閲覧にはサインインが必要です")
    return desk.office_ids


def dashboard(uow: UnitOfWork, p: Principal, *, now: datetime, since: datetime | None = None,
              until: datetime | None = None) -> Dashboard:
    """Consultations received in [since, until): per office, per field and per month, the number
    received and open and the median and 90th percentile of first-response and resolution times in
    開庁日; the open ones by age; how many are overdue. Merged duplicates are left out (their
    original counts). An office's responders see their offices only."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be after since", field="until",
                           message_ja="集計期間の終わりは始まりより後にしてください")
    cal = japan_calendar()
    with uow:
        s = uow.session
        scope = _scope(uow, p)
        names = dict(s.execute(select(ConsultOffice.id, ConsultOffice.name)).all())
        levels = offices.service_levels(s)
        where = [ConsultCase.state != State.MERGED.value]
        if scope is not None:
            where.append(ConsultCase.office_id.in_(scope))
        if since is not None:
            where.append(ConsultCase.received_at >= since)
        if until is not None:
            where.append(ConsultCase.received_at < until)
        rows = s.execute(select(ConsultCase.office_id, ConsultCase.field_code, ConsultCase.received_at,
                                ConsultCase.first_response_days, ConsultCase.resolution_days,
                                ConsultCase.state).where(*where)).all()
        # open ones by age and overdue: one comparison of the receipt time each (see overdue_condition)
        today = japan_date(now)
        is_open = ConsultCase.state.in_([x.value for x in State if x.open])
        bounds = [lo for lo, _, _ in AGE_BANDS[1:]]
        older = [func.coalesce(func.sum(case((ConsultCase.received_at < cases.jst_day_start(
            cal.latest_start(today, lo) + timedelta(days=1)), 1), else_=0)), 0) for lo in bounds]
        counts = s.execute(select(func.count(), *older).where(*where, is_open)).one()
        late = s.scalar(select(func.count()).where(*where, cases.overdue_condition(today, levels))) or 0
    ages: dict[str, int] = {}
    at_least = [int(x) for x in counts]          # open, ≥3, ≥6, ≥11, ≥21 working days
    for i, (_, _, label) in enumerate(AGE_BANDS):
        n = at_least[i] - (at_least[i + 1] if i + 1 < len(at_least) else 0)
        if n:
            ages[label] = n
    open_states = {x.value for x in State if x.open}
    months: dict[tuple[int, int], str] = {}
    nine = timedelta(hours=9)

    def month(at: datetime) -> str:
        # SQLite returns stored UTC times without an offset; PostgreSQL with one
        j = at + nine if at.tzinfo is None else at.astimezone(JST)
        key = (j.year, j.month)
        got = months.get(key)
        if got is None:
            got = months[key] = f"{j.year:04d}-{j.month:02d}"
        return got
    office_name = {i: names.get(i, str(i)) for i in {r[0] for r in rows}}
    stats = statistics_of_rows((office_name[office_id], field or "（分野なし）", month(received), first_days,
                                resolution_days, state in open_states)
                               for office_id, field, received, first_days, resolution_days, state in rows)
    return Dashboard(stats["office"], stats["field"], stats["month"], ages, int(late))



# ---------------------------------------------------------------- the desk's notices (for the inbox)


@dataclass(frozen=True)
class NoticeView:
    id: int
    kind: str
    subject: str
    message: str
    at: datetime
    read: bool
    case_id: int | None
    plan_id: int | None


def _recipients(uow: UnitOfWork, p: Principal) -> Any:
    """The notices addressed to the principal: its offices' (the national desk's for its members
    and the administrators) and its local government's. None: it has none."""
    s = uow.session
    d = offices.desk_of(s, p)
    office_ids = set(d.office_ids)
    if is_national_desk(p, d):
        office_ids.add(offices.desk_office(s).id)
    conds: list[Any] = []
    if office_ids:
        conds.append(ConsultNotice.recipient_office_id.in_(office_ids))
    if p.org_unit_id is not None:
        conds.append(ConsultNotice.recipient_org_unit_id == p.org_unit_id)
    return or_(*conds) if conds else None


def notices(uow: UnitOfWork, p: Principal, *, limit: int = 50, unread_only: bool = False) -> list[NoticeView]:
    """The principal's notices of the desk, newest first (the inbox shows them beside the others)."""
    require_signed_in(p, "受信箱を使うにはサインインしてください")
    with uow:
        cond = _recipients(uow, p)
        if cond is None:
            return []
        q = select(ConsultNotice).where(cond)
        if unread_only:
            q = q.where(ConsultNotice.read_at.is_(None))
        q = q.order_by(ConsultNotice.at.desc(), ConsultNotice.id.desc()).limit(max(1, min(limit, 500)))
        return [NoticeView(n.id, n.kind, n.subject, n.message, n.at, n.read_at is not None, n.case_id, n.plan_id)
                for n in uow.session.scalars(q)]


def mark_notices_read(uow: UnitOfWork, p: Principal, *, now: datetime, ids: list[int] | None = None) -> int:
    """Mark the principal's notices read (all, or the given ones); others' are untouched."""
    require_signed_in(p, "受信箱を使うにはサインインしてください")
    if not p.can_write_at_all:
        raise PermissionDenied("read-only token", message_ja="この操作には書き込みの権限が必要です")
    with uow:
        s = uow.session
        cond = _recipients(uow, p)
        if cond is None:
            return 0
        q = select(ConsultNotice).where(cond, ConsultNotice.read_at.is_(None))
        if ids is not None:
            q = q.where(ConsultNotice.id.in_(ids))
        n = 0
        for note in s.scalars(q):
            note.read_at = now
            n += 1
        if n:
            audit.record(s, actor=p.name, action="read", entity="consult_notice", entity_key=str(n), at=now,
                         org_unit_id=p.org_unit_id, summary=f"相談窓口の通知を既読にしました（{n}件）")
        uow.commit()
        return n
