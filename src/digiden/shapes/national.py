"""The national strategy, its KPIs (targets, status) and observed values, as the API and the
CLI show them."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field

from digiden.shapes.base import CodeName, Shape


class StrategySummaryOut(Shape):
    code: str = Field(description="e.g. national-fy2023")
    title: str
    fy_from: int = Field(description="first fiscal year of the strategy")
    fy_to: int = Field(description="last fiscal year of the strategy")
    version: int
    status: str


class AreaOut(Shape):
    """A node of the area tree: half → pillar / foundation area → field."""

    code: str
    kind: str
    number: int | None
    name: str
    description: str
    and_more: bool = Field(description="the strategy lists more than it names (等)")
    kpis: list[str] = Field(description="codes of the KPIs that belong here")
    children: list[AreaOut]


class CaseStudyOut(Shape):
    code: str
    title: str
    place: str | None
    partners: list[str]
    org_units: list[CodeName] = Field(description="local governments (code, full name)")
    types: list[str] = Field(description="model type codes")


class ModelTypeOut(Shape):
    code: str
    category: str
    name: str
    case_studies: list[str] = Field(description="case study codes")


class KpiBlockOut(Shape):
    code: str
    name: str
    intro: str
    and_more: bool
    kpis: list[str] = Field(description="KPI codes")


class StrategyOut(StrategySummaryOut):
    aim: str
    overview: list[str]
    basic_approach: list[str]
    cooperation: list[dict[str, Any]] = Field(description="kinds of cooperation, as the strategy lists them")
    areas: list[AreaOut]
    kpi_blocks: list[KpiBlockOut]
    model_types: list[ModelTypeOut]
    case_studies: list[CaseStudyOut]


class ValueUnitOut(Shape):
    value: float
    unit: str


class EquivalentOut(ValueUnitOut):
    qualifier: str


class TargetOut(Shape):
    breakdown: str | None
    deadline: str | None = Field(description="YYYY-MM-DD; null when the strategy sets none")
    deadline_kind: str
    deadline_label: str | None
    deadline_approximate: bool
    value: float | None
    qualifier: str = Field(description="exact, over, at_least, range, ...")
    low: float | None
    high: float | None
    nationwide: bool
    denominator: ValueUnitOut | None
    equivalent: EquivalentOut | None
    display: str = Field(description="as the strategy says it (1,000団体, 11〜19か所)")


class NextMilestoneOut(Shape):
    deadline: str | None
    value: float | None
    qualifier: str
    low: float | None
    high: float | None
    breakdown: str | None
    display: str


class MilestoneStateOut(Shape):
    deadline: str | None
    value: float | None
    state: str
    label: str
    met_on: str | None
    forecast: str | None
    forecast_passed: bool = Field(default=False, description="the forecast date is already past: not a forecast "
                                  "any more, the next figure is awaited")


class PartStatusOut(Shape):
    """The assessment of one series (a breakdown, or the whole when there is none)."""

    breakdown: str | None
    key: str
    label: str
    reason: str
    method: str
    ratio: float | None
    ratio_text: str | None = Field(default=None, description="R in words (実績のペースは必要なペースの3.9倍)")
    milestones: list[MilestoneStateOut]


class StatusOut(Shape):
    key: str = Field(description="achieved, on_track, needs_acceleration, stalled, deteriorating, "
                     "awaiting_data (a deadline passed with no value published since), not_assessable")
    label: str
    next_milestone: NextMilestoneOut | None
    forecast: str | None = Field(description="YYYY-MM-DD the trend reaches the next milestone; see forecast_passed")
    reason: str
    reason_en: str
    parts: list[PartStatusOut]
    forecast_passed: bool = Field(default=False, description="the forecast date is already past: the pages do not "
                                  "show it as a forecast, the next figure is awaited")
    forecast_text: str | None = Field(default=None, description="the forecast as the pages say it")
    latest_as_of: str | None = Field(default=None, description="date of the newest value the status rests on")
    data_age_months: int | None = Field(default=None, description="calendar months from latest_as_of to the day "
                                        "of assessment")
    stale: bool = Field(default=False, description="data_age_months is above stale_after_months")
    stale_after_months: int = Field(default=24, description="the documented limit (docs/methodology.md)")
    age_text: str = Field(default="", description="最新の実績: 2025年3月末（20か月前）")
    badge_text: str = Field(default="", description="the badge's words, with a note when the data are stale")


class CumulativeOut(Shape):
    from_fy: int
    to_fy: int
    from_: str = Field(serialization_alias="from", validation_alias=AliasChoices("from", "from_"),
                       description="YYYY-MM-DD")
    to: str = Field(description="YYYY-MM-DD")


class BaselineOut(Shape):
    value: float
    qualifier: str
    as_of: str
    text: str


class OutlookOut(Shape):
    deadline: str
    text: str


class ObservationOut(Shape):
    """An observed value of a KPI for the nation (JP) or a local government."""

    id: int
    kpi: str = Field(description="KPI code")
    org_unit: str = Field(description="local government code, or JP")
    org_unit_name: str
    as_of: str = Field(description="YYYY-MM-DD, or YYYY-MM when only the month is known")
    as_of_date: str = Field(description="YYYY-MM-DD")
    precision: str
    breakdown: str | None
    value: float
    unit: str
    qualifier: str
    source_title: str
    source_url: str | None
    status: str
    created_by: str
    created_at: str
    batch_id: int | None
    note: str


class ObservationCreatedOut(ObservationOut):
    created: bool = Field(description="false when an observation at the same key was updated")


class ObservationIn(Shape):
    """A value to record. Text fields are parsed as people write them (１，０００ / 2万人強)."""

    kpi: str = Field(description="KPI code or exact name")
    as_of: str = Field(description="YYYY-MM-DD, or YYYY-MM when only the month is known")
    value: str | float = Field(description="the number; 2万人強 and 12.5% are understood (finite)")
    org_unit: str = Field(default="JP", description="local government code, or JP (national)")
    breakdown: str = ""
    qualifier: str = Field(default="", description="超 / 強 / 程度 / 以上, or the English key")
    source_title: str = Field(description="where the number comes from")
    source_url: str = ""
    note: str = ""


class KpiOut(Shape):
    code: str
    name: str
    unit: str
    direction: str
    cumulative: CumulativeOut | None = Field(description="the window a cumulative KPI counts over")
    breakdowns: list[str]
    targets: list[TargetOut]
    status: StatusOut
    block: str = Field(description="KPI block code")
    area: str | None = Field(description="area code")
    wording: str
    aggregation: str
    baseline: BaselineOut | None
    outlook: OutlookOut | None
    latest: list[ObservationOut] = Field(description="the newest observation per breakdown")
    local_fact: str | None = Field(description="also counted live from accepted local strategies")
    ministry: str | None = Field(description="the ministry whose editors keep its values")


class PrefectureCountOut(Shape):
    prefecture_code: str
    prefecture: str
    count: int
    of: int = Field(description="local governments of the counted kind in the prefecture")


class ReportedOut(Shape):
    value: float
    as_of: str | None
    source: str
    display: str | None = Field(default=None, description="as published: 1,000団体超")


class ComputedKpiOut(Shape):
    """A national KPI counted live from the local governments' accepted strategies."""

    kpi: str
    fact: str
    rule: str
    value: int
    unit: str
    denominator: int = Field(description="how many local governments could count")
    as_of: str | None = Field(description="the newest acceptance among the counted records")
    org_units: list[str] = Field(description="the counted local governments")
    synthetic_records: int = Field(description="counted records that are synthetic (demo data)")
    by_prefecture: list[PrefectureCountOut]
    reported: ReportedOut | None = Field(description="the published national figure, where there is one")
    difference: float | None = Field(description="value − reported; kept for scripts, not shown on the pages: "
                                     "a count of digiden's records is not a measurement of the published total")


class KpiDetailOut(KpiOut):
    computed: ComputedKpiOut | None
    observations: list[ObservationOut] = Field(description="national observations")
    local_observations: list[ObservationOut]
    area_path: list[CodeName]
