"""What an import is asked to do and what it answers: options, problems, the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from digiden.domain.errors import InvalidInput
from digiden.shapes import imports as shapes

MAX_REPORTED_ERRORS = 1000
MAX_ACTIONS = 500

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    kpi: str | None = None              # for files without a KPI column
    encoding: str | None = None         # detected when None
    sheet: str | None = None            # first readable sheet when None
    mapping: dict[str, str] | None = None
    mapping_name: str | None = None     # use a saved mapping
    save_mapping: str | None = None     # save the mapping used under this name
    source_title: str | None = None     # for rows without a source column
    file_name: str | None = None        # the name the user knows the file by (uploads)
    parallel: bool | None = None        # parse in a forked process; None: for files ≥ 32 MB
    lock_wait: float | None = None      # seconds to wait for another import; None: the default


@dataclass
class Problem:
    row: int | None
    column: str | None
    value: str
    message: str
    message_ja: str
    severity: str = "error"


@dataclass
class ImportReport:
    file_name: str
    checksum: str
    file_format: str = ""
    encoding: str = ""
    sheet: str = ""
    shape: str = ""
    dry_run: bool = False
    rows: int = 0
    values: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    error_count: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    batch_id: int | None = None
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, p: Problem) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(p)

    def as_dict(self) -> dict[str, Any]:
        """For cli.py and web/jobs.py."""
        return shapes.ImportReport.model_validate(self).model_dump(mode="json")


class ImportFailed(InvalidInput):
    """The file has problems; nothing was written. ``report`` lists them row by row."""

    def __init__(self, report: ImportReport):
        first = report.errors[0] if report.errors else None
        super().__init__(
            f"{report.error_count} problem(s) in {report.file_name}; nothing was written"
            + (f" (first: {first.message})" if first else ""),
            message_ja=f"{report.file_name} に {report.error_count} 件の問題があります。何も保存していません"
            + (f"（最初の問題: {first.message_ja}）" if first else ""),
            field=first.column if first else None)
        self.report = report
