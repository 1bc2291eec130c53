"""The consultation desk (ワンストップ相談) and support plans (伴走型支援) as the API and the CLI's
``--json`` show them: built from the views of ``services/consult`` with ``Model.model_validate(view)``.

The asker's name, e-mail and phone appear only in ``CaseOut`` and are null for whoever may not see
them; no list, export or FAQ shape has a field for them."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from digiden.shapes.base import IsoTime, Shape
from digiden.shapes.local import InboxOut

# --- requests -------------------------------------------------------------------------------


class CaseIn(Shape):
    subject: str = Field(max_length=200)
    body: str = Field(max_length=20_000)
    kind: str = Field("general", description="general | programme | data | legal | support")
    field: str | None = Field(None, description="area code of the national strategy, or a social issue's code")
    measures: list[str] = Field(default_factory=list, max_length=50)
    asker_name: str = Field("", max_length=100)
    asker_email: str = Field("", max_length=254)
    asker_phone: str = Field("", max_length=32)
    share_with_prefecture: bool = True
    answered_by_suggestion: bool = Field(False, description="the suggestions shown while typing answered it")


class ReplyIn(Shape):
    body: str = Field(max_length=20_000)
    note: bool = Field(False, description="an internal note, visible to responders only")


class MoveIn(Shape):
    office: str = Field(max_length=100, description="the office's code (its name for regional offices)")
    reason: str = Field(max_length=2000)
    version: int | None = Field(None, ge=0, strict=True,
                                description="the consultation's `version` as you last read it: if someone changed it "
                                            "since, 409 and nothing is done; omitted: no check")


class StepIn(Shape):
    comment: str = Field("", max_length=2000)
    version: int | None = Field(None, ge=0, strict=True,
                                description="the consultation's `version` as you last read it: if someone changed it "
                                            "since, 409 and nothing is done; omitted: no check")


class RuleIn(Shape):
    ministry: str = Field(max_length=64)
    field: str | None = None
    measure: str | None = None
    family: str = Field("", max_length=32, description="総合通信局, 経済産業局, … or an added family")
    priority: int = Field(100, ge=0, le=10_000)


class PlanIn(Shape):
    org_unit: str
    title: str = Field(max_length=200)
    origin: str = Field(description="request | selected")
    starts_on: date
    ends_on: date | None = None
    case_id: int | None = None


class ActionIn(Shape):
    title: str = Field(max_length=200)
    owner: str = Field(max_length=100)
    due_on: date
    meeting_id: int | None = None


# --- consultations --------------------------------------------------------------------------


class CaseSummaryOut(Shape):
    id: int
    org_unit: str
    org_unit_name: str
    subject: str
    kind: str
    field: str | None
    state: str
    state_ja: str
    office: str
    received_at: IsoTime
    first_response_at: IsoTime | None
    resolved_at: IsoTime | None
    first_response_due: date = Field(description="the last 開庁日 (Japan time) to answer on time")
    resolution_due: date
    overdue: list[str] = Field(description="first_response and/or resolution")
    age_working_days: int
    synthetic: bool


class MessageOut(Shape):
    id: int
    kind: str = Field(description="reply | note (notes only for responders)")
    side: str
    office: str | None
    author: str
    body: str
    at: IsoTime


class MoveOut(Shape):
    action: str = Field(description="route | reassign | share | escalate | merge | state")
    from_office: str | None
    to_office: str | None
    from_state: str
    to_state: str
    reason: str
    actor: str
    at: IsoTime


class AttachmentOut(Shape):
    id: int
    file_name: str
    media_type: str
    size: int
    message_id: int | None


class CaseOut(Shape):
    summary: CaseSummaryOut
    body: str
    measures: list[str]
    shared_with: list[str]
    routing_reason: str
    routing_unconfirmed: bool = Field(description="routed by a regional office assignment not yet confirmed")
    merged_into: int | None
    share_with_prefecture: bool
    asker_name: str | None
    asker_email: str | None
    asker_phone: str | None
    messages: list[MessageOut]
    moves: list[MoveOut]
    attachments: list[AttachmentOut]
    may_respond: bool
    may_reply: bool
    version: int


class AreaOut(Shape):
    family: str
    prefecture_code: str
    prefecture: str
    office: str
    confirmed: bool = Field(description="false: INFERRED(未検証) in the reference data, not yet confirmed")
    note: str
    source_url: str


class EscalatedOut(Shape):
    case_id: int
    overdue: list[str]


class SummaryOut(Shape):
    group: str
    received: int
    open: int
    first_response_median: float | None = Field(description="開庁日")
    first_response_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None


class DashboardOut(Shape):
    by_office: list[SummaryOut]
    by_field: list[SummaryOut]
    by_month: list[SummaryOut]
    open_by_age: dict[str, int]
    overdue: int


class FaqOut(Shape):
    id: int
    question: str
    answer: str
    field: str | None
    measures: list[str]
    state: str
    state_ja: str
    published_at: IsoTime | None
    synthetic: bool
    version: int = Field(description="send it back with an edit or step: if someone changed the entry since, 409")


class FaqStepIn(Shape):
    version: int | None = Field(None, ge=0, strict=True,
                                description="the entry's `version` as you last read it: if someone changed it since, "
                                            "409 and nothing is done; omitted: no check")


# --- support plans --------------------------------------------------------------------------


class StaffOut(Shape):
    username: str
    display_name: str
    side: str
    office: str | None
    role_note: str


class GoalOut(Shape):
    id: int
    title: str
    measure: str | None
    kpi: str | None
    local_measure: str
    local_kpi: str
    achieved: bool


class MeetingOut(Shape):
    id: int
    held_on: date
    title: str
    minutes: str
    recorded_by: str


class ActionOut(Shape):
    id: int
    title: str
    owner: str
    due_on: date
    state: str
    state_ja: str
    overdue: bool
    meeting_id: int | None


class ProgressOut(Shape):
    goals: int
    goals_achieved: int
    actions: int
    actions_done: int
    actions_overdue: int
    percent: float | None = Field(description="done action items over those not dropped")


class TimelineOut(Shape):
    at: IsoTime
    kind: str
    text: str


class PlanOut(Shape):
    id: int
    org_unit: str
    org_unit_name: str
    title: str
    origin: str
    state: str
    state_ja: str
    starts_on: date
    ends_on: date | None
    case_id: int | None
    staff: list[StaffOut]
    goals: list[GoalOut]
    meetings: list[MeetingOut]
    actions: list[ActionOut]
    progress: ProgressOut
    timeline: list[TimelineOut]
    may_edit: bool
    synthetic: bool


# --- the API's own answers ------------------------------------------------------------------


class SuggestionHitOut(Shape):
    kind: str = Field(description="measure or practice")
    id: str
    title: str
    snippet: str
    synthetic: bool


class SuggestedGovernmentOut(Shape):
    code: str
    name: str
    score: float
    reasons: list[str]


class SuggestionsOut(Shape):
    query: str
    measures: list[SuggestionHitOut]
    practices: list[SuggestionHitOut]
    faq: list[FaqOut]
    similar: list[SuggestedGovernmentOut] = Field(description="local governments most like the asker's")


class NoticeOut(Shape):
    id: int
    kind: str
    subject: str
    message: str
    case_id: int | None
    plan_id: int | None = None
    at: IsoTime
    read: bool


class DoneOut(Shape):
    """What a change that has no record of its own to show answers."""

    done: bool
    count: int | None = None


class CreatedOut(Shape):
    id: int


class ServiceLevelIn(Shape):
    first_response_days: int = Field(ge=1, le=365)
    resolution_days: int = Field(ge=1, le=3650)


class RuleOut(Shape):
    id: int
    ministry: str
    field_code: str | None
    measure_code: str | None
    family: str
    priority: int


class ReassignedOut(Shape):
    """A re-assignment's answer: the responder who handed it on may no longer see it, so the
    consultation itself is not repeated (``visible``: whether you still can; then GET it)."""

    id: int
    office: str
    visible: bool


class RouteGapOut(Shape):
    rule_id: int
    ministry: str
    key: str = Field(description="the measure's or the field's code the rule is for")
    family: str
    prefectures: list[str] = Field(description="prefecture codes")
    prefecture_names: list[str]


class RouteCheckOut(Shape):
    """`digiden consult route-check --json`: what the routing rules leave to the national desk."""

    rules: int
    without_office: list[RouteGapOut] = Field(description="pairs no office covers: the national desk receives them")
    unconfirmed: list[RouteGapOut] = Field(description="pairs routed through an assignment not yet confirmed")


class InboxWithDeskOut(InboxOut):
    """The inbox (GET /api/v1/inbox) with the consultation desk's notices addressed to the caller:
    its offices' (the national desk's for its members) and its local government's."""

    desk_notices: list[NoticeOut] = Field(default_factory=list,
                                          description="the consultation desk's notices, newest first")
    desk_unread: int = Field(0, description="how many of desk_notices are unread")
