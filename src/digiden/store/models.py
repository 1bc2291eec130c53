"""Tables. One class per concept of the domain; names match the vocabulary everywhere."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class OrgUnit(Base):
    """A local government (or the nation, a pseudo unit with code 'JP')."""

    __tablename__ = "org_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(96))       # 福島県会津若松市
    kana: Mapped[str] = mapped_column(String(128), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")  # normalised name + hiragana kana
    kind: Mapped[str] = mapped_column(String(24), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    prefecture_code: Mapped[str] = mapped_column(String(2), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    population_65_plus: Mapped[int | None] = mapped_column(Integer)
    aging_rate_pct: Mapped[float | None] = mapped_column(Float)
    population_as_of: Mapped[date | None] = mapped_column(Date)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    website: Mapped[str | None] = mapped_column(String(255))
    catchphrase: Mapped[str | None] = mapped_column(Text)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])


class Strategy(Base):
    """A strategy document: the national FY2023–27 one, later each local government's own."""

    __tablename__ = "strategy"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    title: Mapped[str] = mapped_column(String(200))
    short_title: Mapped[str] = mapped_column(String(200), default="")
    fy_from: Mapped[int] = mapped_column(Integer)
    fy_to: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    aim: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # overview, basic approach, cooperation
    source_checksum: Mapped[str] = mapped_column(String(64), default="")


class Area(Base):
    """A node of the strategy tree: half → pillar / foundation area → field."""

    __tablename__ = "area"
    __table_args__ = (UniqueConstraint("strategy_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategy.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    number: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    and_more: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class KpiBlock(Base):
    """One of the strategy's KPI blocks (地方のデジタル実装に向けたKPI …)."""

    __tablename__ = "kpi_block"
    __table_args__ = (UniqueConstraint("strategy_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategy.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    and_more: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ModelType(Base):
    """A model regional-vision type (スマートシティ …) or a key policy field (遠隔医療 …)."""

    __tablename__ = "model_type"
    __table_args__ = (UniqueConstraint("strategy_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategy.id"), index=True)
    code: Mapped[str] = mapped_column(String(48))
    category: Mapped[str] = mapped_column(String(24))   # model_vision | policy_field
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Practice(Base):
    """A good practice (優良事例). The seed's case studies are the first entries."""

    __tablename__ = "practice"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    strategy_id: Mapped[int | None] = mapped_column(ForeignKey("strategy.id"))
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(100))   # wording of the source
    partners: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(24), default="seed")
    # draft → submitted → published (or returned with a comment); the seed's are published
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))   # the field (分野)
    problem: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[str] = mapped_column(Text, default="")
    result_figures: Mapped[list[Any]] = mapped_column(default=list)  # [{label, value, unit}]
    fy_from: Mapped[int | None] = mapped_column(Integer)
    fy_to: Mapped[int | None] = mapped_column(Integer)
    support_text: Mapped[str] = mapped_column(Text, default="")      # national support, in words
    sources: Mapped[list[Any]] = mapped_column(default=list)         # [{title, url}]
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Optimistic lock: every UPDATE says `WHERE version = <the version loaded>`, so a save made
    # from a stale copy changes nothing and fails (StaleDataError → Conflict, 409) on every database.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class PracticeModelType(Base):
    __tablename__ = "practice_model_type"
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), primary_key=True)
    model_type_id: Mapped[int] = mapped_column(ForeignKey("model_type.id"), primary_key=True)


class PracticeOrgUnit(Base):
    __tablename__ = "practice_org_unit"
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)


class Problem(Base):
    """A social issue (社会課題) as a local government names it, mapped to strategy fields."""

    __tablename__ = "problem"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    field_codes: Mapped[list[Any]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Measure(Base):
    """A national measure (施策) of the catalogue: who runs it, what support, for whom."""

    __tablename__ = "measure"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    ministry: Mapped[str] = mapped_column(String(64), index=True)
    support: Mapped[str] = mapped_column(String(24))
    eligible: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    in_seed: Mapped[bool] = mapped_column(Boolean, default=False)
    field_codes: Mapped[list[Any]] = mapped_column(default=list)
    problem_codes: Mapped[list[Any]] = mapped_column(default=list)
    kpi_codes: Mapped[list[Any]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)


class RoadmapItem(Base):
    """One fiscal year of a measure's roadmap (工程表)."""

    __tablename__ = "roadmap_item"
    __table_args__ = (UniqueConstraint("measure_id", "fiscal_year", name="uq_roadmap_item_year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    milestone: Mapped[bool] = mapped_column(Boolean, default=False)
    basis: Mapped[str] = mapped_column(String(24), default="period")  # period | kpi_target


class PracticeMeasure(Base):
    __tablename__ = "practice_measure"
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), primary_key=True)


class Adoption(Base):
    """横展開: a local government took up a practice (when, adapted how, with what result)."""

    __tablename__ = "adoption"
    __table_args__ = (UniqueConstraint("practice_id", "org_unit_id", name="uq_adoption_pair"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    adaptation: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class FiscalIndex(Base):
    """主要財政指標 of one municipality for one fiscal year (総務省)."""

    __tablename__ = "fiscal_index"
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    fiscal_strength: Mapped[float | None] = mapped_column(Float)          # 財政力指数
    current_balance_ratio: Mapped[float | None] = mapped_column(Float)    # 経常収支比率 %
    real_debt_service_ratio: Mapped[float | None] = mapped_column(Float)  # 実質公債費比率 %
    future_burden_ratio: Mapped[float | None] = mapped_column(Float)      # 将来負担比率 %
    laspeyres_index: Mapped[float | None] = mapped_column(Float)          # ラスパイレス指数


class Adjacency(Base):
    """Two municipalities that share a border (both directions are stored)."""

    __tablename__ = "adjacency"
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    neighbour_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)


class SearchDoc(Base):
    """One searchable record (measure, practice, local government) with its tokenised text.

    The full-text index itself is SQLite FTS5 (`search_fts`, rowid = id) or, on PostgreSQL,
    the `tsv` column with a GIN index; both are created by migration 0004."""

    __tablename__ = "search_doc"
    __table_args__ = (UniqueConstraint("kind", "ref_id", name="uq_search_doc_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))          # measure | practice | local_government
    ref_id: Mapped[int] = mapped_column(Integer)
    ref_code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    title_terms: Mapped[str] = mapped_column(Text, default="")
    body_terms: Mapped[str] = mapped_column(Text, default="")
    body_spans: Mapped[str] = mapped_column(Text, default="")   # "start,end" of each body term, for snippets
    boost: Mapped[float] = mapped_column(Float, default=1.0)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class SearchMeta(Base):
    """The search index's version: a new value with every change, so that each process knows
    when its in-memory copy of the documents is stale (even after a rolled-back write)."""

    __tablename__ = "search_meta"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))


class SearchFacet(Base):
    __tablename__ = "search_facet"
    doc_id: Mapped[int] = mapped_column(ForeignKey("search_doc.id", ondelete="CASCADE"),
                                        primary_key=True)
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)  # field|model_type|pref|support
    value: Mapped[str] = mapped_column(String(64), primary_key=True)


Index("ix_search_facet_value", SearchFacet.facet, SearchFacet.value)


class CollaborationGroup(Base):
    """地域間連携: local governments working together on a shared social issue."""

    __tablename__ = "collaboration_group"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    problem_code: Mapped[str | None] = mapped_column(String(48))   # a social issue, field or model type
    description: Mapped[str] = mapped_column(Text, default="")
    initiatives: Mapped[list[Any]] = mapped_column(default=list)   # joint initiatives, in words
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    members: Mapped[list[CollaborationMember]] = relationship(cascade="all, delete-orphan")


class CollaborationMember(Base):
    __tablename__ = "collaboration_member"
    group_id: Mapped[int] = mapped_column(ForeignKey("collaboration_group.id"), primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), default="")


class Kpi(Base):
    """A key performance indicator with its unit, direction and where it sits."""

    __tablename__ = "kpi"
    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategy.id"), index=True)
    block_id: Mapped[int | None] = mapped_column(ForeignKey("kpi_block.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    area_basis: Mapped[str] = mapped_column(String(16), default="seed")
    model_type_id: Mapped[int | None] = mapped_column(ForeignKey("model_type.id"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)  # NFKC, for matching files
    wording: Mapped[str] = mapped_column(Text, default="")
    lead: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(16))
    unit_note: Mapped[str] = mapped_column(String(100), default="")
    direction: Mapped[str] = mapped_column(String(16))
    aggregation: Mapped[str] = mapped_column(String(24))
    scope: Mapped[str] = mapped_column(String(16), default="national")
    cumulative_from_fy: Mapped[int | None] = mapped_column(Integer)
    cumulative_to_fy: Mapped[int | None] = mapped_column(Integer)
    breakdowns: Mapped[list[Any]] = mapped_column(default=list)
    baseline_value: Mapped[float | None] = mapped_column(Float)
    baseline_qualifier: Mapped[str | None] = mapped_column(String(16))
    baseline_as_of: Mapped[date | None] = mapped_column(Date)
    baseline_precision: Mapped[str | None] = mapped_column(String(8))
    baseline_text: Mapped[str | None] = mapped_column(String(100))
    outlook_deadline: Mapped[date | None] = mapped_column(Date)
    outlook_text: Mapped[str | None] = mapped_column(Text)
    headline: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    rules: Mapped[list[Any]] = mapped_column(default=list)   # validation rules (data, not code)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    # counted live from accepted local strategies (domain.local.Fact), if it is such a KPI
    local_fact: Mapped[str | None] = mapped_column(String(32))
    # the ministry whose editors keep its observations (assigned by a national administrator)
    ministry: Mapped[str | None] = mapped_column(String(64))

    targets: Mapped[list[Target]] = relationship(
        back_populates="kpi", order_by="Target.position", cascade="all, delete-orphan")


class Target(Base):
    """A dated (or undated) target of a KPI, as the strategy states it."""

    __tablename__ = "target"
    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"), index=True)
    breakdown: Mapped[str] = mapped_column(String(32), default="")
    deadline: Mapped[date | None] = mapped_column(Date)
    deadline_kind: Mapped[str] = mapped_column(String(16), default="none")  # fiscal|calendar|within|none
    deadline_label: Mapped[str] = mapped_column(String(32), default="")
    deadline_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    value: Mapped[float | None] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    qualifier: Mapped[str] = mapped_column(String(16), default="exact")
    nationwide: Mapped[bool] = mapped_column(Boolean, default=False)
    denominator_value: Mapped[float | None] = mapped_column(Float)
    denominator_unit: Mapped[str | None] = mapped_column(String(16))
    equivalent_value: Mapped[float | None] = mapped_column(Float)
    equivalent_unit: Mapped[str | None] = mapped_column(String(16))
    equivalent_qualifier: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)

    kpi: Mapped[Kpi] = relationship(back_populates="targets")


class ImportBatch(Base):
    """One load of a file: who, when, which file, and what it did."""

    __tablename__ = "import_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    file_name: Mapped[str] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="applied")   # applied | reverted
    file_format: Mapped[str] = mapped_column(String(16), default="")
    encoding: Mapped[str] = mapped_column(String(16), default="")
    shape: Mapped[str] = mapped_column(String(8), default="")
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    reverted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reverted_by: Mapped[str | None] = mapped_column(String(64))


class ObservationChange(Base):
    """What an import batch overwrote, so that the batch can be reverted as a whole."""

    __tablename__ = "observation_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observation.id", ondelete="CASCADE"),
                                                index=True)
    old_value: Mapped[float] = mapped_column(Float)
    old_qualifier: Mapped[str] = mapped_column(String(16))
    old_precision: Mapped[str] = mapped_column(String(8))
    old_source_title: Mapped[str] = mapped_column(Text, default="")
    old_source_url: Mapped[str | None] = mapped_column(Text)
    old_batch_id: Mapped[int | None] = mapped_column(Integer)


class BatchKpi(Base):
    """Which KPIs an import batch touched, with counts (for a KPI's history)."""

    __tablename__ = "batch_kpi"
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"), primary_key=True)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)


class ImportMapping(Base):
    """A saved column mapping for a file layout that a local government sends every year."""

    __tablename__ = "import_mapping"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SeriesRollup(Base):
    """Per KPI × as-of × breakdown: count, sum and count of positive values over local
    governments. Kept in step with `observation` in the same transaction as every change, so
    the national dashboard reads a few thousand rows instead of millions."""

    __tablename__ = "series_rollup"
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    breakdown: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[float] = mapped_column(Float, default=0.0)
    positive: Mapped[int] = mapped_column(Integer, default=0)


class Observation(Base):
    """An observed value of a KPI for an org unit at an as-of date, with its source."""

    __tablename__ = "observation"
    __table_args__ = (
        # The unique series-point index also serves KPI-first and KPI + local-government lookups.
        UniqueConstraint("kpi_id", "org_unit_id", "as_of", "breakdown",
                         name="uq_observation_series_point"),
        # The observation listing (services/national/observations.py) filters by KPI and orders
        # by (as_of, breakdown, id), paging by keyset on those: this index serves the filter, the
        # order and the cursor, so a page reads its rows in order instead of sorting the KPI's
        # 100k+ rows (5.4M-row bench database: bare first page 76 -> 7 ms, the listing service
        # 414 -> 18 ms). It costs the bulk import: +6-20 % on 2M rows (bench/observations.py
        # --import-cost; a (kpi, as_of) index was once measured at a fifth).
        Index("ix_observation_kpi_listing", "kpi_id", "as_of", "breakdown", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"))
    # No index of its own: bulk inserts would scatter it; lookups by local government use the
    # unique (kpi, org_unit, as_of, breakdown) index with the KPI ids as an IN-list.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    as_of: Mapped[date] = mapped_column(Date)
    as_of_precision: Mapped[str] = mapped_column(String(8), default="day")
    breakdown: Mapped[str] = mapped_column(String(32), default="")
    value: Mapped[float] = mapped_column(Float)
    qualifier: Mapped[str] = mapped_column(String(16), default="exact")
    source_title: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="approved")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    source_row: Mapped[int | None] = mapped_column(Integer)   # row in the batch's file
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """Every mutation: who, when, what, before and after."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity", "entity_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_key: Mapped[str] = mapped_column(String(128))
    kpi_id: Mapped[int | None] = mapped_column(ForeignKey("kpi.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text, default="")


class UserAccount(Base):
    """A person who signs in: a role, and for local staff the local government they work for."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(24))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    ministry: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    """A bearer token for machine clients. Only its SHA-256 is kept."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(32))           # "read" or "read write"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser. The cookie holds a random secret; only its SHA-256 is kept."""

    __tablename__ = "web_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LocalStrategy(Base):
    """One revision of a local government's 地方版総合戦略 for a fiscal year."""

    __tablename__ = "local_strategy"
    __table_args__ = (UniqueConstraint("org_unit_id", "revision", name="uq_local_strategy_revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    vision: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(24), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)   # optimistic lock
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}   # as for Practice
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    model_types: Mapped[list[LocalStrategyModelType]] = relationship(cascade="all, delete-orphan")
    issues: Mapped[list[LocalIssue]] = relationship(order_by="LocalIssue.position",
                                                    cascade="all, delete-orphan")
    measures: Mapped[list[LocalMeasure]] = relationship(order_by="LocalMeasure.position",
                                                        cascade="all, delete-orphan")
    kpis: Mapped[list[LocalKpi]] = relationship(order_by="LocalKpi.position",
                                                cascade="all, delete-orphan")


class LocalStrategyModelType(Base):
    __tablename__ = "local_strategy_model_type"
    strategy_id: Mapped[int] = mapped_column(ForeignKey("local_strategy.id"), primary_key=True)
    model_type_id: Mapped[int] = mapped_column(ForeignKey("model_type.id"), primary_key=True)


class LocalIssue(Base):
    """A social issue the local government faces: a field of the national strategy + its words."""

    __tablename__ = "local_issue"
    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("local_strategy.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class LocalMeasure(Base):
    """A measure the local government runs, digital implementations included."""

    __tablename__ = "local_measure"
    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("local_strategy.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    kind: Mapped[str] = mapped_column(String(32), default="other")
    digital: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="planned")
    start_fy: Mapped[int | None] = mapped_column(Integer)
    support: Mapped[str] = mapped_column(String(32), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class LocalKpi(Base):
    """A local KPI with its target, optionally linked to a national KPI or a pillar."""

    __tablename__ = "local_kpi"
    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("local_strategy.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), default="")
    baseline_value: Mapped[float | None] = mapped_column(Float)
    baseline_fy: Mapped[int | None] = mapped_column(Integer)
    target_value: Mapped[float | None] = mapped_column(Float)
    target_fy: Mapped[int | None] = mapped_column(Integer)
    actual_value: Mapped[float | None] = mapped_column(Float)
    actual_fy: Mapped[int | None] = mapped_column(Integer)
    national_kpi_id: Mapped[int | None] = mapped_column(ForeignKey("kpi.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)


class ReviewEvent(Base):
    """One step of the approval cycle, with the reviewer's comment."""

    __tablename__ = "review_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("local_strategy.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """An inbox message for a local government's staff (org unit) or for the nation (NULL)."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("local_strategy.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportJob(Base):
    """An import started on the web pages, as every worker of the app sees it: its state,
    progress and result live here, not in one worker's memory, so that a browser polling its
    progress may land on any worker (``digiden serve --workers N``). The durable result of an
    import is its batch; a job row is the progress report, kept until it is old."""

    __tablename__ = "import_job"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)                  # the upload, on the server's disk
    state: Mapped[str] = mapped_column(String(16))           # queued | running | done | failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    queue_position: Mapped[int | None] = mapped_column(Integer)
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)   # ImportOptions as given
    actor: Mapped[dict[str, Any]] = mapped_column(JSON)     # who started it (name, role, org)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    worker: Mapped[str] = mapped_column(String(64))          # host:pid that runs it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DataVersion(Base):
    """One row whose token changes in every transaction that commits a write (see
    ``store/dataversion.py``): caches of values computed from the data (the national dashboard's
    statuses) are keyed by it, so every process and worker knows when its copy is stale."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


# --- 重点支援: programmes, calls, applications, review, selections (issue 14) -------------------


class SupportProgramme(Base):
    """A national support programme (制度): 選定 / 登録 / 採択 / 交付金, the model-vision type it
    builds and the national KPI that counts its selections."""

    __tablename__ = "support_programme"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))              # domain.support.ProgrammeKind
    ministry: Mapped[str] = mapped_column(String(100), default="")
    model_type_id: Mapped[int | None] = mapped_column(ForeignKey("model_type.id"))
    kpi_id: Mapped[int | None] = mapped_column(ForeignKey("kpi.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16), default="seed")   # seed | admin
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class SupportCall(Base):
    """A call for proposals (公募) of a programme, with its rubric (criteria) and, once decided,
    the selection's settings and result."""

    __tablename__ = "support_call"
    __table_args__ = (UniqueConstraint("programme_id", "round", name="uq_support_call_round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("support_programme.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    budget: Mapped[int | None] = mapped_column(BigInteger)                 # yen
    per_application_cap: Mapped[int | None] = mapped_column(BigInteger)    # yen
    eligible_kinds: Mapped[list[Any]] = mapped_column(default=list)
    joint_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    joint_bonus: Mapped[float] = mapped_column(Float, default=0.0)
    policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)        # the selection's switches
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON)      # the last proposal computed
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)      # what was decided, and why
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    criteria: Mapped[list[SupportCriterion]] = relationship(order_by="SupportCriterion.position",
                                                            cascade="all, delete-orphan")


class SupportCriterion(Base):
    """One criterion of a call's rubric: weight (the weights sum to 100) and maximum points."""

    __tablename__ = "support_criterion"
    __table_args__ = (UniqueConstraint("call_id", "code", name="uq_support_criterion_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("support_call.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    regional_collaboration: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class SupportApplication(Base):
    """A proposal to a call by one local government (the lead) or jointly with members."""

    __tablename__ = "support_application"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("support_call.id"), index=True)
    lead_org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    collaboration_group_id: Mapped[int | None] = mapped_column(ForeignKey("collaboration_group.id"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[Any]] = mapped_column(default=list)       # area codes (分野)
    issues: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[list[Any]] = mapped_column(default=list)     # [{title, digital, description}]
    # [{name, unit, baseline, target, target_fy, national_kpi}]
    kpis: Mapped[list[Any]] = mapped_column(default=list)
    requested_amount: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)   # domain.support.AppStatus
    override_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    members: Mapped[list[SupportApplicationMember]] = relationship(cascade="all, delete-orphan")


class SupportApplicationMember(Base):
    """A member of a joint proposal; it confirms its participation itself."""

    __tablename__ = "support_application_member"
    application_id: Mapped[int] = mapped_column(ForeignKey("support_application.id"), primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_by: Mapped[str | None] = mapped_column(String(64))


class SupportReviewer(Base):
    """An account assigned to review a call; ``home_org_unit_id`` is the local government it works
    for (its own and its prefecture's applications are conflicts)."""

    __tablename__ = "support_reviewer"
    call_id: Mapped[int] = mapped_column(ForeignKey("support_call.id"), primary_key=True)
    reviewer: Mapped[str] = mapped_column(String(64), primary_key=True)   # username
    home_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    assigned_by: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SupportConflict(Base):
    """A conflict of interest a reviewer declared for one application."""

    __tablename__ = "support_conflict"
    application_id: Mapped[int] = mapped_column(ForeignKey("support_application.id"), primary_key=True)
    reviewer: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SupportReview(Base):
    """One reviewer's scores of one application: points per criterion (raw) and comments; the
    weighted raw total on 0–100. Normalised scores are computed, never stored."""

    __tablename__ = "support_review"
    __table_args__ = (UniqueConstraint("application_id", "reviewer", name="uq_support_review_reviewer"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("support_application.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(64), index=True)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    comments: Mapped[dict[str, Any]] = mapped_column(JSON)
    total: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SupportSelection(Base):
    """A published selection (選定・登録・採択): a model region. Either decided in digiden
    (``application_id``) or a published selection loaded from its source (``origin`` published)."""

    __tablename__ = "support_selection"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("support_programme.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("support_call.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("support_application.id"), unique=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)     # stable: programme, round and lead
    round: Mapped[int | None] = mapped_column(Integer)
    selected_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200), default="")
    lead_org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="selected")   # selected | realised | registered | cancelled
    origin: Mapped[str] = mapped_column(String(16))                      # published | decision
    source_url: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    members: Mapped[list[SupportSelectionMember]] = relationship(cascade="all, delete-orphan")


class SupportAttachment(Base):
    """A file attached to an application (PDF or xlsx, size-limited), kept in the database so
    that ``digiden backup`` carries it; ``sha256`` is computed on upload and checked on download."""

    __tablename__ = "support_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("support_application.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SupportEvaluation(Base):
    """A yearly evaluation report of a selected region (選定地域の評価): the region's
    self-assessment or the national assessment of one fiscal year, with the actual value of each
    committed KPI (``values``: [{index, actual, note}]) so progress is judged with the same method
    as the national KPIs."""

    __tablename__ = "support_evaluation"
    __table_args__ = (UniqueConstraint("selection_id", "fiscal_year", "kind", name="uq_support_evaluation_year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("support_selection.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))                  # self | national
    summary: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[str | None] = mapped_column(String(16))         # the assessor's overall judgement
    values: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(16), default="draft")   # draft | submitted
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class SupportSelectionMember(Base):
    __tablename__ = "support_selection_member"
    selection_id: Mapped[int] = mapped_column(ForeignKey("support_selection.id"), primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
