"""Local governments' own strategies, their approval cycle, the inbox and the model-region
coverage, as the API and the CLI show them."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field

from digiden.domain.quantities import INT64_MAX
from digiden.shapes.base import Shape


class RevisionRefOut(Shape):
    org_unit: str
    name: str
    revision: int
    fiscal_year: int
    title: str
    status: str
    status_ja: str
    version: int = Field(description="send it back when saving, to detect concurrent edits")
    updated_at: str
    accepted_at: str | None
    synthetic: bool


class LocalIssueOut(Shape):
    field: str | None = Field(description="area code of the national strategy")
    text: str


class LocalMeasureOut(Shape):
    title: str
    field: str | None
    kind: str
    digital: bool
    state: str
    start_year: str
    support: str
    description: str


class LocalKpiOut(Shape):
    name: str
    unit: str
    baseline: float | None
    baseline_year: int | None
    target: float | None
    target_year: int | None
    actual: float | None
    actual_year: int | None
    national_kpi: str | None
    pillar: str | None


class ReviewOut(Shape):
    action: str
    from_: str = Field(serialization_alias="from", validation_alias=AliasChoices("from", "from_"))
    to: str
    actor: str
    comment: str
    at: str


class LocalStrategyOut(Shape):
    """A revision of a local strategy: its place in the cycle, its content in the input shape
    (what PUT takes back), its reviews and what the caller may do now."""

    org_unit: str
    name: str
    revision: int
    fiscal_year: str
    title: str
    status: str
    status_ja: str
    version: int
    updated_at: str
    accepted_at: str | None
    synthetic: bool
    vision: str
    model_types: list[str]
    issues: list[LocalIssueOut]
    measures: list[LocalMeasureOut]
    kpis: list[LocalKpiOut]
    reviews: list[ReviewOut]
    revisions: list[RevisionRefOut] = Field(description="every revision the caller may see")
    allowed_actions: list[str]
    can_edit: bool


class ChangeOut(Shape):
    section: str = Field(description="vision / model_types / issues / measures / kpis")
    key: str
    kind: str = Field(description="added / removed / changed")
    before: Any
    after: Any


class ActionIn(Shape):
    action: str = Field(description="submit, approve, accept, return, reopen")
    comment: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, ge=0, le=INT64_MAX)


class NotificationOut(Shape):
    id: int
    at: str
    message: str
    org_unit: str
    revision: int
    read: bool


class InboxOut(Shape):
    waiting: list[RevisionRefOut] = Field(description="what waits for the caller to act")
    counts: dict[str, int]
    unread: int
    practices: list[dict[str, Any]] = Field(description="good practices to review (nation) or to fix (owner)")
    notifications: list[NotificationOut]


class MarkedOut(Shape):
    marked: int = Field(description="how many messages were marked read")


class PrefecturePlacesOut(Shape):
    prefecture_code: str
    prefecture: str
    places: list[str]


class PrefectureOut(Shape):
    prefecture_code: str
    prefecture: str


class CoverageOut(Shape):
    model_type: str
    name: str
    with_: list[PrefecturePlacesOut] = Field(serialization_alias="with", validation_alias=AliasChoices("with", "with_"),
                                             description="prefectures with a model")
    without: list[PrefectureOut]
