"""The JSON of the knowledge side: the measures catalogue and roadmap, good practices, search,
similar municipalities, recommendations, collaboration partners and groups.

Built from the views of ``digiden.services.knowledge`` with ``Model.model_validate(view)``
(``from_attributes``): the views keep compact tuples, which the validators below read as the
objects the API shows — a ``(code, name)`` pair becomes ``{"code", "name"}``, an enum its value,
a ``datetime`` its ISO text, a score its rounded value."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BaseModel, BeforeValidator, Field

from digiden.domain.quantities import INT64_MAX
from digiden.domain.similarity import LABELS_JA
from digiden.shapes.base import CodeName, IsoTime, Shape


def _pair(*names: str) -> Any:
    """A tuple (or list) read as the mapping of its first ``len(names)`` items."""
    def read(v: Any) -> Any:
        if isinstance(v, (tuple, list)):
            return dict(zip(names, v, strict=False))
        return v
    return BeforeValidator(read)


def _rounded(digits: int) -> Any:
    return AfterValidator(lambda x: None if x is None else round(x, digits))


def _value_of(v: Any) -> Any:
    return getattr(v, "value", v)


def or_none(v: Any) -> Any:
    return v or None


EnumValue = Annotated[str, BeforeValidator(_value_of)]


class CodeTitle(Shape):
    code: str
    title: str


Pair = Annotated[CodeName, _pair("code", "name")]


# ---------------------------------------------------------------- catalogue

class Problem(Shape):
    """A social issue (社会課題) and the fields of the strategy it maps to."""

    code: str
    name: str
    fields: list[str] = Field(description="codes of the strategy's fields, e.g. P4.3")


class RoadmapEntry(Shape):
    """One fiscal year of a measure's roadmap (工程表)."""

    fiscal_year: int
    text: str
    milestone: bool = Field(description="a milestone year (◆)")
    basis: str
    activities: list[str] = Field(default_factory=list,
                                  description="what happened that year (●): published figures, practices, spread")


class PracticeLink(Shape):
    code: str
    title: str
    place: str
    synthetic: bool


class Measure(Shape):
    """A measure (施策) of the catalogue with its roadmap and the practices that used it."""

    code: str
    title: str
    ministry: str
    support: str = Field(description="kind of national support: grant, subsidy, tax, people, advice, data_system")
    support_label: str
    eligible: str
    summary: str
    named_in_strategy: bool = Field(validation_alias=AliasChoices("named_in_strategy", "in_seed"),
                                    description="named in the national strategy (not added later)")
    fields: list[Pair]
    problems: list[Pair]
    kpis: list[Pair]
    roadmap: list[RoadmapEntry]
    practices: list[PracticeLink]


class RoadmapMeasure(Shape):
    code: str
    title: str
    roadmap: list[RoadmapEntry]


class RoadmapGroup(Shape):
    """Measures of one field (or ministry) on the roadmap."""

    key: str
    label: str
    measures: list[RoadmapMeasure]


class CliRoadmapMeasure(Shape):
    code: str
    roadmap: list[RoadmapEntry]


class CliRoadmapGroup(Shape):
    """``digiden measure roadmap --json``: as the API's, without the measures' titles."""

    key: str
    label: str
    measures: list[CliRoadmapMeasure]


# ---------------------------------------------------------------- practices

class Figure(Shape):
    """A result with its number: 利用者数 1,200人 (2024年度)."""

    label: str
    value: float
    unit: str
    qualifier: str = Field(description="exact, approx, over, under…")
    fiscal_year: int | None = Field(validation_alias=AliasChoices("fiscal_year", "year"))


class Adoption(Shape):
    """A local government that adopted the practice (横展開)."""

    code: str
    name: str
    fiscal_year: int
    adaptation: str
    result: str
    recorded_by: str
    synthetic: bool


class Source(Shape):
    title: str
    url: str


class Practice(Shape):
    """A good practice (優良事例) with its spread."""

    code: str
    title: str
    status: EnumValue = Field(description="draft, submitted, returned, published or unpublished")
    origin: str
    place: str
    org_units: list[Pair]
    field: Pair | None
    model_types: list[Pair]
    problem: str
    solution: str
    results: str
    fy_from: int | None
    fy_to: int | None
    support: str = Field(validation_alias=AliasChoices("support", "support_text"),
                         description="national support used, in words")
    measures: list[Annotated[CodeTitle, _pair("code", "title")]]
    sources: list[Annotated[Source, _pair("title", "url")]]
    partners: list[str]
    figures: list[Figure]
    adoptions: list[Adoption]
    review_comment: str
    version: int = Field(description="send it back on update (optimistic locking)")
    synthetic: bool


class PracticeRow(Shape):
    """A practice in a list."""

    code: str
    title: str
    place: str
    field: str
    status: EnumValue
    adoptions: int = Field(description="how many local governments adopted it")
    synthetic: bool


class PracticeImport(Shape):
    """What an import of practices created."""

    created: list[str] = Field(description="codes of the practices created")
    status: str


class PracticeIn(BaseModel):
    """A practice as the API takes it (checked further by services.knowledge.practices.parse_input)."""

    title: str
    org_units: list[str] = Field(description="local government codes (6 digits, or 5 without check digit)")
    field: str | None = Field(default=None, description="a field of the strategy, e.g. P4.2")
    model_types: list[str] = []
    problem: str
    solution: str
    results: str = ""
    figures: list[dict[str, Any]] = Field(default=[], description="[{label, value, unit, fiscal_year}] e.g. "
                                          "{label: 利用者数, value: '1,200人', fiscal_year: 2024}")
    fy_from: str | None = Field(default=None, description="2023, 2023年度, 令和5年度, R5")
    fy_to: str | None = None
    support: str = Field(default="", description="national support used, in words")
    measures: list[str] = Field(default=[], description="codes of catalogue measures used")
    sources: list[dict[str, str]] = Field(default=[], description="[{title, url}]")
    partners: list[str] = []
    submit: bool = Field(default=True, description="false keeps it as a draft")
    version: int | None = Field(default=None, ge=0, le=INT64_MAX,
                                description="on update: the version you edited")


class ReviewIn(BaseModel):
    action: str = Field(description="publish, return or unpublish")
    comment: str = ""


class AdoptionIn(BaseModel):
    org_unit: str
    fiscal_year: str = Field(description="2024, 2024年度, 令和6年度, R6")
    adaptation: str = ""
    result: str = ""


# ---------------------------------------------------------------- search

class SearchHit(Shape):
    """A search result as ``digiden search --json`` prints it."""

    kind: str = Field(description="measure, practice, kpi, local_government or faq")
    id: str
    title: str
    score: Annotated[float, _rounded(4)]
    snippet: str = Field(description="matches in 【】")


class SearchResultItem(SearchHit):
    """A search result as the API gives it."""

    snippet_html: str = Field(description="matches in <mark>, the rest escaped")
    url: str = Field(description="the page of the result")
    synthetic: bool


class FacetValue(Shape):
    value: str
    label: str
    count: int


class RelatedWord(Shape):
    word: str
    count: int = Field(description="records a search for this word alone finds")


class SearchResult(Shape):
    query: str
    terms: list[str] = Field(description="the words searched for, after analysis")
    total: int
    message: str = Field(description="why nothing was searched (only symbols or particles), or that only "
                                     "synonyms of the query matched; else empty")
    filters: dict[str, str]
    results: list[SearchResultItem] = Field(validation_alias=AliasChoices("results", "hits"))
    facets: dict[str, list[FacetValue]]
    synonyms: dict[str, list[str]] = Field(default_factory=dict,
                                           description="query word → its synonyms (Sudachi) searched with it")
    related: list[RelatedWord] = Field(default_factory=list,
                                       description="when nothing matched: words to try instead, with their counts")
    searched_instead: list[str] = Field(default_factory=list,
                                        description="when nothing matched: the related words that were searched")
    related_results: list[SearchResultItem] = Field(
        default_factory=list, validation_alias=AliasChoices("related_results", "related_hits"),
        description="what the related words found; kept apart from results (total stays 0)")


class IndexReport(Shape):
    """``digiden reindex --json``."""

    documents: dict[str, int]
    seconds: Annotated[float, _rounded(3)]


# ---------------------------------------------------------------- similarity

def _components(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return {k: {"similarity": s, "weight": w} for k, s, w in v}
    return v


class Component(Shape):
    similarity: Annotated[float | None, _rounded(4)]
    weight: float


class SimilarItem(Shape):
    """A similar municipality (``digiden similar --json``)."""

    code: str
    name: str
    score: Annotated[float, _rounded(4)]
    reasons: list[str]


class SimilarDetail(SimilarItem):
    """A similar municipality with the score's components (the API)."""

    components: Annotated[dict[str, Component], BeforeValidator(_components)]


class SimilarResult(Shape):
    """類似団体 of one municipality."""

    code: str
    name: str
    weights: dict[str, float]
    compared: int = Field(description="how many municipalities were compared")
    weight_labels: dict[str, str] = Field(default_factory=lambda: dict(LABELS_JA))
    similar: list[SimilarDetail] = Field(validation_alias=AliasChoices("similar", "items"))


class Recommendation(Shape):
    code: str
    title: str
    place: str
    score: Annotated[float, _rounded(4)]
    why: list[str]
    synthetic: bool


class Recommendations(Shape):
    code: str
    name: str
    message: str
    issues: list[Pair] = Field(description="the issues (fields, model types) the advice is for")
    recommendations: list[Recommendation] = Field(validation_alias=AliasChoices("recommendations", "items"))


class SharingMember(Shape):
    code: str
    name: str
    experience: bool = Field(description="has a digital measure in this field in place")


class PartnerMember(SharingMember):
    fiscal_strength: float | None
    population: int | None


class PartnerGroup(Shape):
    members: list[PartnerMember]
    complementary: list[str]
    score: Annotated[float, _rounded(3)]


class Partners(Shape):
    """Collaboration partners for a social issue, in candidate groups."""

    issue: Pair
    fields: list[str]
    within_km: float
    anchor: str | None
    sharing: list[SharingMember]
    groups: list[PartnerGroup]


class GroupMember(Shape):
    code: str
    name: str
    role: str


class Group(Shape):
    """A saved collaboration group (地域間連携)."""

    id: int
    name: str
    issue: Pair | None
    description: str
    initiatives: list[str]
    members: list[Annotated[GroupMember, _pair("code", "name", "role")]]
    created_by: str
    created_at: IsoTime
    synthetic: bool


class GroupIn(BaseModel):
    name: str
    issue: str | None = None
    members: list[str]
    description: str = ""
    initiatives: list[str] = []
