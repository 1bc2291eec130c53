"""The desk's clock and dashboard: the overdue check a scheduler (or ``digiden consult escalate``)
calls, and the statistics in working days (開庁日) per office, per field and per month."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from digiden.domain.access import Principal, require, require_signed_in
from digiden.domain.consult import (
    AGE_BANDS,
    State,
    Summary,
    is_national_desk,
    japan_date,
    percentile_counts,
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


def _month_of_receipt(s: Session) -> Any:
    """The month of receipt in Japan time (YYYY-MM) as an SQL expression: SQLite keeps UTC times
    as text without an offset, PostgreSQL as timestamptz."""
    if s.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", ConsultCase.received_at), "YYYY-MM")
    return func.strftime("%Y-%m", ConsultCase.received_at, "+9 hours")


def _where(scope: frozenset[int] | None, since: datetime | None, until: datetime | None) -> list[Any]:
    where: list[Any] = [ConsultCase.state != State.MERGED.value]
    if scope is not None:
        where.append(ConsultCase.office_id.in_(scope))
    if since is not None:
        where.append(ConsultCase.received_at >= since)
    if until is not None:
        where.append(ConsultCase.received_at < until)
    return where


def dashboard_statements(s: Session, *, now: datetime, scope: frozenset[int] | None = None,
                         since: datetime | None = None, until: datetime | None = None) -> list[Any]:
    """The SQL the dashboard runs, in order: one narrow row per consultation — office, field,
    month of receipt (Japan time, computed by the database), first-response and resolution days,
    open — then the open ones by age and the overdue count. The bench runs these bare beside
    ``dashboard``.

    Why one narrow read and no GROUP BY: on SQLite a GROUP BY sorts every row once per grouping
    (three sorts of 100,000 rows cost more than the Python below), and the first version's cost was
    the rows' timestamps parsed into datetimes and summed one by one (0.6–1.3 s at 100,000)."""
    where = _where(scope, since, until)
    is_open = case((ConsultCase.state.in_([x.value for x in State if x.open]), 1), else_=0)
    # the two times and "open" packed into one integer per row (see _unpack): one small tuple per
    # row and grouping, instead of four values
    packed = ((func.coalesce(ConsultCase.first_response_days, -1) + 1) * _SPAN
              + func.coalesce(ConsultCase.resolution_days, -1) + 1) * 2 + is_open
    out: list[Any] = [select(ConsultCase.office_id, ConsultCase.field_code, _month_of_receipt(s), packed)
                      .where(*where)]
    # open ones by age and overdue: one comparison of the receipt time each (see overdue_condition)
    cal = japan_calendar()
    today = japan_date(now)
    open_now = ConsultCase.state.in_([x.value for x in State if x.open])
    bounds = [lo for lo, _, _ in AGE_BANDS[1:]]
    older = [func.coalesce(func.sum(case((ConsultCase.received_at < cases.jst_day_start(
        cal.latest_start(today, lo) + timedelta(days=1)), 1), else_=0)), 0) for lo in bounds]
    out.append(select(func.count(), *older).where(*where, open_now))
    out.append(select(func.count()).where(*where, cases.overdue_condition(today, offices.service_levels(s))))
    return out


_SPAN = 1_000_000      # more working days than any time the desk stores


def _unpack(packed: int) -> tuple[int | None, int | None, bool]:
    """(first-response days, resolution days, open) from ``dashboard_statements``' packed value."""
    is_open, rest = packed % 2, packed // 2
    first, res = rest // _SPAN - 1, rest % _SPAN - 1
    return (None if first < 0 else first), (None if res < 0 else res), bool(is_open)


def _summaries(hist: Counter[tuple[Any, int]], name: Any) -> list[Summary]:
    """Summaries from one grouping's histogram ((group key, packed times) → how many); several keys
    may share a name (two offices of one name count as one, as before)."""
    acc: dict[str, tuple[list[int], dict[int, int], dict[int, int]]] = {}
    for (key, packed), n in hist.items():
        first, res, is_open = _unpack(packed)
        group = name(key)
        a = acc.get(group)
        if a is None:
            a = acc[group] = ([0, 0], {}, {})
        a[0][0] += n
        if is_open:
            a[0][1] += n
        if first is not None:
            a[1][first] = a[1].get(first, 0) + n
        if res is not None:
            a[2][res] = a[2].get(res, 0) + n
    return [Summary(g, a[0][0], a[0][1], percentile_counts(a[1], 50), percentile_counts(a[1], 90),
                    percentile_counts(a[2], 50), percentile_counts(a[2], 90)) for g, a in sorted(acc.items())]


def dashboard(uow: UnitOfWork, p: Principal, *, now: datetime, since: datetime | None = None,
              until: datetime | None = None) -> Dashboard:
    """Consultations received in [since, until): per office, per field and per month, the number
    received and open and the median and 90th percentile of first-response and resolution times in
    開庁日; the open ones by age; how many are overdue. Merged duplicates are left out (their
    original counts). An office's responders see their offices only."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be after since", field="until",
                           message_ja="集計期間の終わりは始まりより後にしてください")
    with uow:
        s = uow.session
        scope = _scope(uow, p)
        names = dict(s.execute(select(ConsultOffice.id, ConsultOffice.name)).all())
        rows_stmt, ages_stmt, late_stmt = dashboard_statements(s, now=now, scope=scope, since=since, until=until)
        # the driver's own tuples: these columns need no conversion, and building a Row for each of
        # 100,000 of them (the ORM's result builds them twice) was a third of the time
        result = s.connection().execute(rows_stmt)
        rows = result.cursor.fetchall() if result.cursor is not None else []
        result.close()
        counts = s.execute(ages_stmt).one()
        late = s.execute(late_stmt).scalar() or 0
    # the histograms are counted in C (zip, Counter): the rows are never looped over in Python
    offices_, fields, months, packed = zip(*rows, strict=True) if rows else ((),) * 4
    hist = [Counter(zip(key, packed, strict=True)) for key in (offices_, fields, months)]
    ages: dict[str, int] = {}
    at_least = [int(x) for x in counts]          # open, ≥3, ≥6, ≥11, ≥21 working days
    for i, (_, _, label) in enumerate(AGE_BANDS):
        n = at_least[i] - (at_least[i + 1] if i + 1 < len(at_least) else 0)
        if n:
            ages[label] = n
    return Dashboard(_summaries(hist[0], lambda i: names.get(i, str(i))),
                     _summaries(hist[1], lambda f: f or "（分野なし）"),
                     _summaries(hist[2], str), ages, int(late))



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
