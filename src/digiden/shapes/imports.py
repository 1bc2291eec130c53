"""The JSON of imports: the import report, the web import job, batches and what they
overwrote, saved mappings, and the violations of the KPIs' validation rules.

Built from the views of ``digiden.services.data.imports`` (``from_attributes``); the
attribute ``file_format`` is shown as ``format``, datetimes as ISO text."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field

from digiden.shapes.base import IsoTime, Shape
from digiden.shapes.knowledge import or_none

OptionalText = Annotated[str | None, BeforeValidator(or_none)]
Number = int | float


class ImportProblem(Shape):
    """One problem of one row (or of the whole file when ``row`` is null)."""

    row: int | None = Field(description="the row in the file (1 = the header), null for the whole file")
    column: str | None
    value: str
    message: str
    message_ja: str
    severity: str = Field(description="error or warning")


class ImportReport(Shape):
    """What an import did (or, on a dry run, would do), row by row."""

    rows: int
    created: int
    updated: int
    unchanged: int
    missing: int = Field(description="cells left empty or marked as not collected")
    errors: list[ImportProblem] = Field(description="the first 1,000 errors")
    error_count: int
    warnings: list[ImportProblem]
    batch_id: int | None = Field(description="the batch written; null on a dry run")
    dry_run: bool
    file_name: str
    checksum: str = Field(description="SHA-256 of the file")
    format: str = Field(validation_alias=AliasChoices("format", "file_format"), description="csv or xlsx")
    encoding: str
    sheet: str
    shape: str = Field(description="long or wide")
    values: int
    ignored_columns: list[str]
    mapping: dict[str, str] = Field(description="role → the column used")
    actions: list[dict[str, Any]] = Field(description="what would be written, value by value (the first 500)")


class ImportJob(Shape):
    """An import started on the web pages."""

    id: str
    file_name: str
    state: str = Field(description="queued, running, done or failed")
    progress: float = Field(description="0 to 1")
    queue_position: int | None = Field(description="while queued: the place in line (1 = next)")
    waiting_for_other_import: bool = Field(description="another process's import holds the database")
    dry_run: bool
    report: ImportReport | None
    error: dict[str, Any] | None = Field(description="why the job failed (the API's error shape)")


class Batch(Shape):
    """An import batch."""

    id: int
    kind: str
    file_name: str
    checksum: str
    created_by: str
    created_at: IsoTime
    rows: int
    created: int
    updated: int
    unchanged: int
    status: str = Field(description="applied or reverted")
    format: str = Field(validation_alias=AliasChoices("format", "file_format"))
    encoding: str
    shape: str
    warnings: int
    reverted_at: IsoTime | None
    reverted_by: str | None
    kpis: list[str] = Field(description="codes of the KPIs it wrote")


class Change(Shape):
    """One value an import batch overwrote: before and after."""

    kpi: str
    org_unit: str
    as_of: str
    breakdown: OptionalText
    before: Number
    before_source: str
    after: Number | None = Field(description="null once the batch is reverted")
    after_source: str | None


class BatchDetail(Batch):
    changes: list[Change]


class Mapping(Shape):
    """A saved column mapping."""

    name: str
    mapping: dict[str, str]
    created_by: str
    created_at: IsoTime


class Violation(Shape):
    """A value that breaks one of its KPI's validation rules."""

    kpi: str
    org_unit: str
    as_of: str
    breakdown: OptionalText
    value: Number
    rule: str
    severity: str
    message: str
    message_ja: str
    batch_id: int | None
