"""The desk's clock and dashboard: the overdue check a scheduler (or ``digiden consult escalate``)
calls, and the statistics in working days (開庁日) per office, per field and per month."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from digiden.domain.access import Principal, require, require_signed_in
from digiden.domain.calendar import japan_date
from digiden.domain.consult import AGE_BANDS, State, Summary, is_national_desk, percentile_counts
from digiden.domain.errors import InvalidInput, PermissionDenied
from digiden.services import audit
from digiden.services.consult import cases, notify, offices
from digiden.services.consult.calendar import japan_calendar
from digiden.services.consult.notify import SmtpSettings
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import (
    ALL,
    OPEN_STATES,
    ConsultCase,
    ConsultNotice,
    ConsultOffice,
    ConsultStat,
    month_of_receipt,
    stat_from_cases,
    stat_rebuild,
)


@dataclass(frozen=True)
class Escalated:
    case_id: int
    overdue: tuple[str, ...]


def run_overdue_check(uow: UnitOfWork, p: Principal, *, now: datetime,
                      smtp: SmtpSettings | None = None) -> list[Escalated]:
    """``escalate_overdue`` on someone's request (the CLI without a consultation number): the server
    operator or a national administrator; a scheduler calls ``escalate_overdue`` itself."""
    if not p.is_admin:
        raise PermissionDenied("the overdue check is run by the server operator or a national administrator",
                               message_ja="期限超過の点検はサーバー管理者か国の管理者が実行します")
    return escalate_overdue(uow, now=now, actor=p.name, smtp=smtp)


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
    if smtp is not None:
        # every notice still unsent (younger than notify.MAX_AGE), not only this run's: a mail
        # server that was down when a consultation was asked is tried again here, on the clock
        notify.send_pending(uow, smtp, now=now)
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


def _where(scope: frozenset[int] | None, since: datetime | None, until: datetime | None) -> list[Any]:
    where: list[Any] = [ConsultCase.state != State.MERGED.value]
    if scope is not None:
        where.append(ConsultCase.office_id.in_(scope))
    if since is not None:
        where.append(ConsultCase.received_at >= since)
    if until is not None:
        where.append(ConsultCase.received_at < until)
    return where


def _month_start(at: datetime) -> datetime:
    """The instant (UTC) the month of ``at`` (in Japan) began."""
    d = japan_date(at)
    return cases.jst_day_start(date(d.year, d.month, 1))


def _next_month_start(at: datetime) -> datetime:
    d = japan_date(at)
    return cases.jst_day_start(date(d.year + d.month // 12, d.month % 12 + 1, 1))


def _month(at: datetime) -> str:
    d = japan_date(at)
    return f"{d.year:04d}-{d.month:02d}"


@dataclass(frozen=True)
class Period:
    """How [since, until) is read: the whole months of receipt (Japan time) from the roll-up
    (``months``: from, to — to excluded; None: open), and the consultations of a month only partly
    inside the period (``raw``: windows of receipt times) one row each."""

    months: tuple[str | None, str | None]
    raw: tuple[tuple[datetime | None, datetime | None], ...]


def period(since: datetime | None, until: datetime | None) -> Period:
    """The roll-up counts whole months; a period starting or ending inside a month reads that part
    of the month from the consultations themselves, so any period gives the exact figures."""
    first: str | None = None
    last: str | None = None
    raw: list[tuple[datetime | None, datetime | None]] = []
    since_cut = since is not None and since != _month_start(since)
    until_cut = until is not None and until != _month_start(until)
    if since is not None:
        first = _month(_next_month_start(since)) if since_cut else _month(since)
    if until is not None:
        last = _month(until)
    if since_cut and until_cut and since is not None and until is not None \
            and _month_start(since) == _month_start(until):
        raw.append((since, until))
    else:
        if since_cut and since is not None:
            end = _next_month_start(since)
            raw.append((since, end if until is None else min(end, until)))
        if until_cut and until is not None:
            raw.append((_month_start(until), until))
    return Period((first, last), tuple(raw))


#: the roll-up's three groupings, each read through its covering index (store.consult_models)
_GROUPINGS = (ConsultStat.office_id, ConsultStat.field_code, ConsultStat.month)


def dashboard_statements(s: Session, *, now: datetime, scope: frozenset[int] | None = None,
                         since: datetime | None = None, until: datetime | None = None) -> list[Any]:
    """The SQL the dashboard runs, in order: the roll-up (``consult_stat``) per office, per field and
    per month of receipt — (group, metric, days, n), a few thousand rows; for a period, its whole
    months' rows summed — then, for a
    period that starts or ends inside a month, the consultations of those partial months one narrow
    row each (office, field, month, packed times; none for whole months), then the open ones by age
    and the overdue count (from ``consult_case``: the open ones are few and their age is today's).
    The bench runs these bare beside ``dashboard``."""
    per = period(since, until)
    where: list[Any] = []
    if scope is not None:
        where.append(ConsultStat.office_id.in_(scope))
    st = ConsultStat
    if per.months == (None, None):       # every month: the sums the roll-up keeps per office, field, month
        levels = [(st.field_code == ALL, st.month == ALL), (st.field_code != ALL, st.month == ALL),
                  (st.field_code == ALL, st.month != ALL)]
    else:                                # whole months of a period: the per-month rows in range
        if per.months[0] is not None:
            where.append(st.month >= per.months[0])
        if per.months[1] is not None:
            where.append(st.month < per.months[1])
        levels = [(st.field_code == ALL, st.month != ALL), (st.field_code != ALL, st.month != ALL),
                  (st.field_code == ALL, st.month != ALL)]
    out: list[Any] = [select(key, st.metric, st.days, func.sum(st.n)).where(*where, *level)
                      .group_by(key, st.metric, st.days) for key, level in zip(_GROUPINGS, levels, strict=True)]
    is_open = case((ConsultCase.state.in_(OPEN_STATES), 1), else_=0)
    # the two times and "open" packed into one integer per row (see _unpack)
    packed = ((func.coalesce(ConsultCase.first_response_days, -1) + 1) * _SPAN
              + func.coalesce(ConsultCase.resolution_days, -1) + 1) * 2 + is_open
    dialect = s.get_bind().dialect.name
    out += [select(ConsultCase.office_id, ConsultCase.field_code, month_of_receipt(dialect, ConsultCase.received_at),
                   packed).where(*_where(scope, lo, hi)) for lo, hi in per.raw]
    # open ones by age and overdue: one comparison of the receipt time each (see overdue_condition)
    where_all = _where(scope, since, until)
    cal = japan_calendar()
    today = japan_date(now)
    open_now = ConsultCase.state.in_(OPEN_STATES)
    bounds = [lo for lo, _, _ in AGE_BANDS[1:]]
    older = [func.coalesce(func.sum(case((ConsultCase.received_at < cases.jst_day_start(
        cal.latest_start(today, lo) + timedelta(days=1)), 1), else_=0)), 0) for lo in bounds]
    out.append(select(func.count(), *older).where(*where_all, open_now))
    out.append(select(func.count()).where(*where_all, cases.overdue_condition(today, offices.service_levels(s))))
    return out


_SPAN = 1_000_000      # more working days than any time the desk stores


def _unpack(packed: int) -> tuple[int | None, int | None, bool]:
    """(first-response days, resolution days, open) from ``dashboard_statements``' packed value."""
    is_open, rest = packed % 2, packed // 2
    first, res = rest // _SPAN - 1, rest % _SPAN - 1
    return (None if first < 0 else first), (None if res < 0 else res), bool(is_open)


class _Group:
    """One group's counts and histograms (days → how many), summed from roll-up rows and rows."""

    __slots__ = ("first", "open", "received", "resolved")

    def __init__(self) -> None:
        self.received = self.open = 0
        self.first: dict[int, int] = {}
        self.resolved: dict[int, int] = {}

    def add(self, metric: str, days: int, n: int) -> None:
        if metric == "received":
            self.received += n
        elif metric == "open":
            self.open += n
        else:
            h = self.first if metric == "first" else self.resolved
            h[days] = h.get(days, 0) + n


def _fetch(s: Session, stmt: Any) -> list[Any]:
    """The driver's own tuples (no Row objects built: these columns need no conversion)."""
    result = s.connection().execute(stmt)
    rows = list(result.cursor.fetchall()) if result.cursor is not None else []
    result.close()
    return rows


def dashboard(uow: UnitOfWork, p: Principal, *, now: datetime, since: datetime | None = None,
              until: datetime | None = None) -> Dashboard:
    """Consultations received in [since, until): per office, per field and per month, the number
    received and open and the median and 90th percentile of first-response and resolution times in
    開庁日; the open ones by age; how many are overdue. Merged duplicates are left out (their
    original counts). An office's responders see their offices only. Read from the roll-up kept on
    write (``consult_stat``): the histograms are exact, so the percentiles are those of the rows."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be after since", field="until",
                           message_ja="集計期間の終わりは始まりより後にしてください")
    with uow:
        s = uow.session
        scope = _scope(uow, p)
        names = dict(s.execute(select(ConsultOffice.id, ConsultOffice.name)).all())
        stmts = dashboard_statements(s, now=now, scope=scope, since=since, until=until)
        rolled = [_fetch(s, stmt) for stmt in stmts[:3]]
        partial = [row for stmt in stmts[3:-2] for row in _fetch(s, stmt)]
        counts = s.execute(stmts[-2]).one()
        late = s.execute(stmts[-1]).scalar() or 0
    namers: tuple[Callable[[Any], str], ...] = (lambda i: names.get(i, str(i)), lambda f: f or "（分野なし）", str)
    groups: list[dict[str, _Group]] = [{}, {}, {}]
    for acc, rows, name in zip(groups, rolled, namers, strict=True):
        for key, metric, days, n in rows:
            if n:
                group = name(key)
                (acc.get(group) or acc.setdefault(group, _Group())).add(metric, days, int(n))
    for office, field_code, month, packed in partial:     # the part-months of a period: few rows
        first, res, is_open = _unpack(packed)
        for acc, key, name in zip(groups, (office, field_code, month), namers, strict=True):
            g = acc.setdefault(name(key), _Group())
            g.add("received", 0, 1)
            if is_open:
                g.add("open", 0, 1)
            if first is not None:
                g.add("first", first, 1)
            if res is not None:
                g.add("resolved", res, 1)
    ages: dict[str, int] = {}
    at_least = [int(x) for x in counts]          # open, ≥3, ≥6, ≥11, ≥21 working days
    for i, (_, _, label) in enumerate(AGE_BANDS):
        n = at_least[i] - (at_least[i + 1] if i + 1 < len(at_least) else 0)
        if n:
            ages[label] = n
    by_office, by_field, by_month = ([Summary(name, g.received, g.open, percentile_counts(g.first, 50),
                                              percentile_counts(g.first, 90), percentile_counts(g.resolved, 50),
                                              percentile_counts(g.resolved, 90))
                                      for name, g in sorted(acc.items()) if g.received]
                                     for acc in groups)
    return Dashboard(by_office, by_field, by_month, ages, int(late))


# ---------------------------------------------------------------- the roll-up: check and repair


def _require_desk(uow: UnitOfWork, p: Principal) -> None:
    require(p, is_national_desk(p, offices.desk_of(uow.session, p)),
            message="the desk's figures are kept by the national desk",
            message_ja="相談窓口の集計の点検・再計算は国の相談窓口が行います",
            sign_in_ja="サインインしてください")


def stats_differences(uow: UnitOfWork, p: Principal) -> int:
    """How many roll-up keys differ from a recomputation from the consultations (0: in step)."""
    with uow.for_reading() as u:
        _require_desk(u, p)
        s = u.session
        kept = {tuple(r[:5]): int(r[5]) for r in s.execute(select(
            ConsultStat.office_id, ConsultStat.field_code, ConsultStat.month, ConsultStat.metric, ConsultStat.days,
            ConsultStat.n).where(ConsultStat.n != 0))}
        fresh = {tuple(r[:5]): int(r[5]) for r in s.execute(stat_from_cases(s.get_bind().dialect.name))}
    return sum(1 for k in kept.keys() | fresh.keys() if kept.get(k) != fresh.get(k))


def rebuild_stats(uow: UnitOfWork, p: Principal, *, now: datetime) -> int:
    """Recompute the dashboard's roll-up from the consultations (repair; the national desk), in one
    transaction that writers wait for; audited. The rows written."""
    require_signed_in(p, "集計の再計算にはサインインが必要です")
    if not p.can_write_at_all:
        raise PermissionDenied("read-only token", message_ja="この操作には書き込みの権限が必要です")
    with uow:
        s = uow.session
        _require_desk(uow, p)
        n = stat_rebuild(s)
        audit.record(s, actor=p.name, action="rebuild", entity="consult_stat", entity_key="all", at=now,
                     after={"rows": n}, summary=f"相談窓口の集計を相談の記録から再計算しました（{n}行）")
        uow.commit()
    return n


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
