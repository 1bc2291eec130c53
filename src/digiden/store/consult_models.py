"""Tables of the consultation desk (ワンストップ相談) and of support plans (伴走型支援), issue 15.

On the declarative Base of ``store/models.py`` (imported by ``store/__init__.py`` so that
``Base.metadata`` always holds them); every table's name starts with ``consult_``. The states,
kinds and rules these columns hold are those of ``domain/consult.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from digiden.domain.consult import State
from digiden.store.models import Base

# --- offices, who answers for them, routing rules, service levels ------------------------------


class ConsultOffice(Base):
    """An office that answers consultations: the national desk, a ministry's section, or a
    regional branch office (地方支分部局) of the reference data or added by an administrator."""

    __tablename__ = "consult_office"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)    # the office's name for reference offices
    name: Mapped[str] = mapped_column(String(100))
    ministry: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))                  # domain.consult.OfficeKind
    family: Mapped[str] = mapped_column(String(32), default="")    # 総合通信局 … ("" but for regional offices)
    contact_email: Mapped[str] = mapped_column(String(254), default="")   # the office lead's address
    origin: Mapped[str] = mapped_column(String(16), default="reference")  # reference | admin
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsultOfficeArea(Base):
    """A prefecture a regional office covers for its family: one office per (family, prefecture).
    ``confirmed`` is False for the reference rows marked INFERRED(未検証) until an administrator
    confirms them against the current organisation orders."""

    __tablename__ = "consult_office_area"
    __table_args__ = (UniqueConstraint("family", "prefecture_code", name="uq_consult_office_area_family"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("consult_office.id"), index=True)
    family: Mapped[str] = mapped_column(String(32))
    prefecture_code: Mapped[str] = mapped_column(String(2))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsultResponder(Base):
    """A user who answers for an office (its lead receives the overdue notices)."""

    __tablename__ = "consult_responder"
    office_id: Mapped[int] = mapped_column(ForeignKey("consult_office.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True, index=True)
    lead: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsultRule(Base):
    """A routing rule administered by the desk (domain.consult.Rule)."""

    __tablename__ = "consult_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    field_code: Mapped[str | None] = mapped_column(String(32))
    measure_code: Mapped[str | None] = mapped_column(String(64))
    ministry: Mapped[str] = mapped_column(String(64))
    family: Mapped[str] = mapped_column(String(32), default="")
    priority: Mapped[int] = mapped_column(Integer, default=100)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsultServiceLevel(Base):
    """The desk's service levels per kind, in 開庁日 (the domain's defaults until changed)."""

    __tablename__ = "consult_service_level"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    first_response_days: Mapped[int] = mapped_column(Integer)
    resolution_days: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- consultations -------------------------------------------------------------------------


class ConsultCase(Base):
    """A consultation (相談) of a local government. The asker's name, e-mail and phone are
    personal data: shown to its own local government and the responders only, never exported."""

    __tablename__ = "consult_case"
    __table_args__ = (Index("ix_consult_case_state_received", "state", "received_at"),
                      Index("ix_consult_case_office_received", "office_id", "received_at"),
                      Index("ix_consult_case_received", "received_at"))    # a period's part-months
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    asker_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    asker_name: Mapped[str] = mapped_column(String(100), default="")
    asker_email: Mapped[str] = mapped_column(String(254), default="")
    asker_phone: Mapped[str] = mapped_column(String(32), default="")
    share_with_prefecture: Mapped[bool] = mapped_column(Boolean, default=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    field_code: Mapped[str | None] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16))
    office_id: Mapped[int] = mapped_column(ForeignKey("consult_office.id"))
    routing_reason: Mapped[str] = mapped_column(Text, default="")
    routing_unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # 開庁日 from receipt, stored when it happens, so the dashboard aggregates integers
    first_response_days: Mapped[int | None] = mapped_column(Integer)
    resolution_days: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue_noticed: Mapped[str] = mapped_column(String(40), default="")   # kinds already escalated, comma-separated
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("consult_case.id"))
    answered_by_suggestion: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)    # optimistic lock
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsultStat(Base):
    """The desk dashboard's roll-up, kept on write: per office × field × month of receipt (Japan
    time, ``YYYY-MM``), how many consultations were received (``metric`` 'received') and are open
    ('open'), and the histograms of their first-response ('first') and resolution ('resolved') times
    in 開庁日 (``days``: the exact stored integer; 0 for the two counts) — ``n`` consultations each.
    Merged duplicates are not counted; ``field_code`` '' is "no field".

    Beside each office × field × month cell the same table keeps its sums over every field
    (``field_code`` '*'), over every month (``month`` '*') and over both, so the dashboard's three
    groupings read a few thousand rows instead of summing every cell each time (the cells serve a
    period of whole months). Changed by ``services/consult/cases.py`` in the transaction of every
    step that changes a consultation's office, state or times (``stat_add``, an atomic upsert);
    ``stat_rebuild`` recomputes it from ``consult_case``. A row may hold n = 0 after a consultation
    moved away from it."""

    __tablename__ = "consult_stat"
    # covering indexes: each grouping seeks one level ('*') and reads it in order, no table
    __table_args__ = (Index("ix_consult_stat_by_field", "field_code", "month", "metric", "days", "office_id", "n"),
                      Index("ix_consult_stat_by_month", "month", "field_code", "metric", "days", "office_id", "n"))
    office_id: Mapped[int] = mapped_column(ForeignKey("consult_office.id"), primary_key=True)
    field_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    metric: Mapped[str] = mapped_column(String(8), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


#: a roll-up cell's key: (office id, field code or '', month YYYY-MM, metric, days)
StatKey = tuple[int, str, str, str, int]
#: the roll-up's "every field" / "every month" (never a field code or a month)
ALL = "*"
OPEN_STATES = tuple(x.value for x in State if x.open)


def month_of_receipt(dialect: str, received_at: Any) -> Any:
    """The month of receipt in Japan time (YYYY-MM) as an SQL expression: SQLite keeps UTC times
    as text without an offset, PostgreSQL as timestamptz."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", received_at), "YYYY-MM")
    return func.strftime("%Y-%m", received_at, "+9 hours")


def stat_add(s: Session, deltas: Mapping[StatKey, int]) -> None:
    """Add cell ``deltas`` to the roll-up, with their sums over every field, every month and both,
    in the caller's transaction: ``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`` (both
    databases), so concurrent writers of one key add up instead of overwriting each other. Keys in
    sorted order, so two transactions touching the same keys take their row locks in the same
    order (no deadlock on PostgreSQL)."""
    levels: dict[StatKey, int] = {}
    for (office, field, month, metric, days), n in deltas.items():
        for key in ((office, field, month, metric, days), (office, ALL, month, metric, days),
                    (office, field, ALL, metric, days), (office, ALL, ALL, metric, days)):
            levels[key] = levels.get(key, 0) + n
    rows = [{"office_id": k[0], "field_code": k[1], "month": k[2], "metric": k[3], "days": k[4], "n": n}
            for k, n in sorted(levels.items()) if n]
    if not rows:
        return
    ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = ins(ConsultStat)
    stmt = stmt.on_conflict_do_update(index_elements=["office_id", "field_code", "month", "metric", "days"],
                                      set_={"n": ConsultStat.n + stmt.excluded.n})
    s.execute(stmt, rows)


def stat_from_cases(dialect: str) -> Any:
    """The roll-up recomputed from ``consult_case``: a SELECT of (office_id, field_code, month,
    metric, days, n), cells and their sums, the rows ``stat_rebuild`` writes (and a test compares
    the kept one with)."""
    c = ConsultCase
    counted = c.state != State.MERGED.value

    def part(metric: str, days: Any, *where: Any) -> Any:
        return (select(c.office_id.label("office_id"), func.coalesce(c.field_code, "").label("field_code"),
                       month_of_receipt(dialect, c.received_at).label("month"), literal(metric).label("metric"),
                       days.label("days"))
                .where(counted, *where))
    rows = union_all(part("received", literal(0)), part("open", literal(0), c.state.in_(OPEN_STATES)),
                     part("first", c.first_response_days, c.first_response_days.is_not(None)),
                     part("resolved", c.resolution_days, c.resolution_days.is_not(None))).subquery()

    def level(every_field: bool, every_month: bool) -> Any:
        field = literal_column(f"'{ALL}'") if every_field else rows.c.field_code
        month = literal_column(f"'{ALL}'") if every_month else rows.c.month
        grouped = [rows.c.office_id, *([] if every_field else [field]), *([] if every_month else [month]),
                   rows.c.metric, rows.c.days]
        return (select(rows.c.office_id, field.label("field_code"), month.label("month"), rows.c.metric,
                       rows.c.days, func.count().label("n")).group_by(*grouped))
    return union_all(level(False, False), level(True, False), level(False, True), level(True, True))


def stat_rebuild(s: Session) -> int:
    """Replace the roll-up by its recomputation from ``consult_case`` (repair, and after rows were
    written around the services, as the bench does); the rows written."""
    s.execute(delete(ConsultStat))
    sub = stat_from_cases(s.get_bind().dialect.name).subquery()
    s.execute(insert(ConsultStat).from_select(["office_id", "field_code", "month", "metric", "days", "n"],
                                              select(*sub.c)))
    return int(s.scalar(select(func.count()).select_from(ConsultStat)) or 0)


class ConsultCaseMeasure(Base):
    """A national measure the consultation is about (also used for routing)."""

    __tablename__ = "consult_case_measure"
    case_id: Mapped[int] = mapped_column(ForeignKey("consult_case.id"), primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), primary_key=True, index=True)


class ConsultShare(Base):
    """A second office the consultation is shared with (it sees and answers it too)."""

    __tablename__ = "consult_share"
    case_id: Mapped[int] = mapped_column(ForeignKey("consult_case.id"), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("consult_office.id"), primary_key=True, index=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsultMessage(Base):
    """A message of the thread: a reply (the asker sees it) or an internal note (responders only)."""

    __tablename__ = "consult_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consult_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))          # reply | note
    side: Mapped[str] = mapped_column(String(12))         # asker | responder
    office_id: Mapped[int | None] = mapped_column(ForeignKey("consult_office.id"))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsultAttachment(Base):
    """A file attached to a consultation or one of its messages (size and type limited)."""

    __tablename__ = "consult_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consult_case.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("consult_message.id"))
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsultMove(Base):
    """Every move of a consultation: routed, re-assigned, shared, escalated, merged, and each
    change of state, with who and why."""

    __tablename__ = "consult_move"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consult_case.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_office_id: Mapped[int | None] = mapped_column(ForeignKey("consult_office.id"))
    to_office_id: Mapped[int | None] = mapped_column(ForeignKey("consult_office.id"))
    from_state: Mapped[str] = mapped_column(String(16), default="")
    to_state: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsultNotice(Base):
    """A notice of the desk to an office or to a local government (the inbox shows them), and
    whether it was also sent by e-mail."""

    __tablename__ = "consult_notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("consult_case.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("consult_plan.id"), index=True)
    recipient_office_id: Mapped[int | None] = mapped_column(ForeignKey("consult_office.id"), index=True)
    recipient_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    email_to: Mapped[str] = mapped_column(String(254), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_error: Mapped[str] = mapped_column(Text, default="")


# --- FAQ ------------------------------------------------------------------------------------


class ConsultFaq(Base):
    """An FAQ entry made from an answered consultation, without the asker's identity; published
    after review by someone other than its author."""

    __tablename__ = "consult_faq"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("consult_case.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    field_code: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class ConsultFaqMeasure(Base):
    __tablename__ = "consult_faq_measure"
    faq_id: Mapped[int] = mapped_column(ForeignKey("consult_faq.id"), primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), primary_key=True, index=True)


# --- support plans (伴走型支援) --------------------------------------------------------------


class ConsultPlan(Base):
    """A hands-on support plan for one local government (asked for, or selected by the nation)."""

    __tablename__ = "consult_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(16))         # request | selected
    case_id: Mapped[int | None] = mapped_column(ForeignKey("consult_case.id"))
    state: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsultPlanStaff(Base):
    """An official assigned to the plan (the 地方創生コンシェルジュ idea), national or regional."""

    __tablename__ = "consult_plan_staff"
    plan_id: Mapped[int] = mapped_column(ForeignKey("consult_plan.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True, index=True)
    side: Mapped[str] = mapped_column(String(16))           # national | regional
    office_id: Mapped[int | None] = mapped_column(ForeignKey("consult_office.id"))
    role_note: Mapped[str] = mapped_column(String(200), default="")


class ConsultPlanGoal(Base):
    """A goal of the plan, linked to a national measure or KPI and/or to the local strategy's
    measure or KPI by its name (a local strategy's rows are replaced by each revision)."""

    __tablename__ = "consult_plan_goal"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("consult_plan.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measure.id"))
    kpi_id: Mapped[int | None] = mapped_column(ForeignKey("kpi.id"))
    local_measure: Mapped[str] = mapped_column(String(200), default="")
    local_kpi: Mapped[str] = mapped_column(String(200), default="")
    achieved: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ConsultPlanMeeting(Base):
    """A meeting of the plan with its minutes."""

    __tablename__ = "consult_plan_meeting"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("consult_plan.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsultPlanAction(Base):
    """An action item: who owns it, by when, and whether it is done."""

    __tablename__ = "consult_plan_action"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("consult_plan.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("consult_plan_meeting.id"))
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(100))
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
