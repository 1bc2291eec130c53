"""The one error shape of the API: every 4xx and 5xx is ``{"error": {code, message, message_ja,
details}}`` (docs/api.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from digiden.shapes.imports import ImportReport


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, the message in English and Japanese, and details."""

    code: str = Field(description="the kind of error: InvalidInput, NotFound, PermissionDenied, Conflict, "
                                  "SignInRequired, TooLarge, MethodNotAllowed, ServiceBusy, InternalError, …")
    message: str = Field(description="English, for developers and logs")
    message_ja: str = Field(description="Japanese, to show to the user")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="`field`: the input that was wrong (e.g. `measures[0].field`), where there is one; "
                    "`problems`: every problem of a request refused by its declared types")


class ErrorOut(BaseModel):
    """Every error of the JSON API (every 4xx and 5xx): `{"error": {code, message, message_ja, details}}`."""

    error: ErrorDetail


class ImportFailedDetails(BaseModel):
    """The details of a refused import file: the report of every problem of every row."""

    report: ImportReport | None = Field(
        default=None, description="every problem of every row, when the file could be read")
    field: str | None = None


class ImportFailedDetail(ErrorDetail):
    details: ImportFailedDetails      # type: ignore[assignment]


class ImportFailedOut(BaseModel):
    """422 of POST /api/v1/imports: the error shape, with the row-by-row report in `details.report`."""

    error: ImportFailedDetail
