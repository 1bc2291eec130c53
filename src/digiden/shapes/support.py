"""重点支援 as the API and the CLI's --json show it: programmes, calls and their rubric,
applications, reviews and their progress, the selection proposal (optimal beside greedy, every
outcome explained) and published selections. Built from the views of services/support with
``Model.model_validate(view)``; the selection from ``services.support.selection.selection_dict``."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from digiden.shapes.base import IsoTime, Shape


class ProgrammeOut(Shape):
    code: str
    name: str
    kind: str = Field(description="selection | registration | adoption | grant")
    kind_ja: str = Field(description="選定 / 登録 / 採択 / 交付金")
    ministry: str
    model_type: str | None
    national_kpi: str | None = Field(description="code of the national KPI that counts its selections")
    origin: str = Field(description="seed (shipped) or admin")
    selections: int = Field(description="published selections not cancelled")


class CriterionOut(Shape):
    code: str
    name: str
    description: str
    weight: float = Field(description="share of the 100 points; the weights of a call sum to 100")
    max_points: float = Field(description="the scale reviewers mark on")
    regional_collaboration: bool = Field(description="the 地域間連携 criterion")


class CallOut(Shape):
    id: int
    programme: str
    programme_name: str
    kind: str
    round: int
    title: str
    opens_at: IsoTime
    closes_at: IsoTime
    phase: str = Field(description="before | open | closed (at the time of the request)")
    budget: int | None = Field(description="yen")
    per_application_cap: int | None = Field(description="yen")
    eligible_kinds: list[str]
    joint_allowed: bool
    joint_bonus: float = Field(description="points added to a joint proposal's score")
    criteria: list[CriterionOut]
    decided_at: IsoTime | None
    published_at: IsoTime | None
    synthetic: bool
    version: int = Field(description="send it back with a rubric change; a change made since is refused (409)")


class ApplicationMemberOut(Shape):
    code: str
    name: str
    confirmed: bool
    confirmed_at: IsoTime | None


class ApplicationOut(Shape):
    id: int
    call_id: int
    title: str
    lead_code: str
    lead_name: str
    members: list[ApplicationMemberOut]
    joint: bool
    summary: str
    fields: list[str]
    issues: str
    measures: list[dict[str, Any]]
    kpis: list[dict[str, Any]]
    requested_amount: int | None
    status: str = Field(description="draft | submitted | withdrawn | selected | not_selected")
    status_ja: str
    submitted_at: IsoTime | None
    version: int
    synthetic: bool


class SupportReviewOut(Shape):
    application: int
    reviewer: str
    scores: dict[str, float] = Field(description="raw points per criterion")
    comments: dict[str, str]
    total: float = Field(description="raw weighted score on 0–100")
    updated_at: IsoTime


class ReviewerProgressOut(Shape):
    reviewer: str
    assigned: int
    done: int
    conflicts: int


class ApplicationProgressOut(Shape):
    application: int
    title: str
    reviews: int
    eligible_reviewers: int


class ReviewProgressOut(Shape):
    call_id: int
    submitted: int
    reviewed: int
    reviewers: list[ReviewerProgressOut]
    applications: list[ApplicationProgressOut]


class ConstraintOut(Shape):
    key: str
    label_ja: str
    met: bool
    detail: str


class PlanOut(Shape):
    selected: list[int]
    total_score: float
    budget_used: int
    feasible: bool
    constraints: list[ConstraintOut]


class OutcomeOut(Shape):
    application: int
    title: str
    score: float | None
    amount: int
    reason: str = Field(description="selected | every_prefecture | not_reviewed | below_min_score | budget | "
                                    "max_selections | per_prefecture_cap | min_joint_share | not_worth")
    reason_ja: str
    shortfall: int | None = Field(description="budget: yen missing to fit it in")


class SelectionOut(Shape):
    call: int
    policy: dict[str, Any]
    selected: list[int]
    not_selected: list[OutcomeOut]
    outcomes: list[OutcomeOut]
    total_score: float
    budget_used: int
    budget: int | None
    constraints: list[ConstraintOut]
    greedy: PlanOut
    gain: float = Field(description="optimal total score − greedy total score")
    notes: list[str]


class PublishedSelectionOut(Shape):
    key: str = Field(description="stable: programme, round and lead (published) or call and application")
    programme: str
    round: int | None
    selected_on: date
    title: str
    lead_code: str
    lead_name: str
    prefecture_code: str
    members: list[tuple[str, str]]
    state: str = Field(description="selected | realised | registered | cancelled")
    origin: str = Field(description="published (loaded from its source) or decision (decided in digiden)")
    source_url: str
    note: str
    synthetic: bool


class SelectionCountOut(Shape):
    programme: str
    national_kpi: str | None
    total: int = Field(description="published selections, cancelled ones left out: digiden's count, shown "
                                   "beside (never mixed with) the published national figure")
    by_state: dict[str, int]
    by_prefecture: dict[str, int] = Field(description="two-digit prefecture code of the lead → count")
    local_governments: list[str] = Field(description="codes of every lead and member")


class ProgrammeDetailOut(ProgrammeOut):
    calls: list[CallOut]
    count: SelectionCountOut = Field(description="its published selections counted live")


class ReviewerAssignedOut(Shape):
    call: int
    reviewer: str
    home: str | None = Field(description="code of the local government the reviewer works for (its conflicts)")


class ConflictDeclaredOut(Shape):
    application: int
    declared: bool


class DecisionOut(Shape):
    call: int
    policy: dict[str, Any]
    selected: list[int]
    proposed: list[int] = Field(description="what the optimal proposal selected")
    changed: list[int] = Field(description="applications where the decision departs from the proposal")
    override_reason: str
    warnings: list[str] = Field(description="policy constraints the decision leaves unmet (with the reason given)")
    proposal: SelectionOut


class PublicationOut(Shape):
    call: int
    selections: int = Field(description="published selections made of the call's selected applications")


class ResultOut(Shape):
    application: int
    title: str
    lead_code: str
    lead_name: str
    members: list[ApplicationMemberOut]
    joint: bool
    requested_amount: int | None
    synthetic: bool


class CallResultsOut(Shape):
    """採択結果: a published call's selected applications (public)."""

    call: int
    title: str
    programme: str
    round: int
    published_at: IsoTime
    selected: list[ResultOut]
    synthetic: bool


class AttachmentOut(Shape):
    id: int
    application: int
    file_name: str
    media_type: str = Field(description="application/pdf or the .xlsx media type")
    size: int = Field(description="bytes")
    sha256: str = Field(description="hex SHA-256 computed on upload; checked again on every download")
    uploaded_by: str
    uploaded_at: IsoTime


class KpiProgressOut(Shape):
    index: int = Field(description="the committed KPI's position in the application's `kpis`")
    name: str
    unit: str
    actual: float | None = Field(description="the actual value of the report's fiscal year")
    note: str
    status: str = Field(description="the national KPIs' progress status (domain.progress): achieved | on_track | "
                                    "needs_acceleration | stalled | deteriorating | awaiting_data | "
                                    "not_assessable")
    status_ja: str
    reason: str


class EvaluationOut(Shape):
    id: int
    region: str = Field(description="the selected region's key")
    fiscal_year: int
    kind: str = Field(description="self (the region's self-assessment) | national (the nation's assessment)")
    kind_ja: str
    summary: str
    rating: str | None = Field(description="A | B | C | D (計画を上回る … 遅れている)")
    rating_ja: str
    state: str = Field(description="draft | submitted")
    state_ja: str
    progress: list[KpiProgressOut]
    created_by: str
    updated_at: IsoTime
    submitted_at: IsoTime | None
    version: int = Field(description="send it back with the next save; a save made since is refused (409)")
    synthetic: bool


class CommittedKpiOut(Shape):
    index: int
    name: str
    unit: str
    baseline: float | None
    target: float | None
    target_fy: int | None


class RegionOut(Shape):
    key: str
    programme: str
    programme_name: str
    title: str
    state: str = Field(description="selected | realised | registered | cancelled")
    selected_on: date
    lead_code: str
    lead_name: str
    prefecture_code: str
    members: list[tuple[str, str]]
    application: int | None = Field(description="the application it came from (decided in digiden)")
    call: int | None
    kpis: list[CommittedKpiOut] = Field(description="the KPIs the region committed to in its application")
    evaluations: list[EvaluationOut] = Field(description="the reports you may see, newest fiscal year first")
    may_write_self: bool
    may_write_national: bool
    synthetic: bool
