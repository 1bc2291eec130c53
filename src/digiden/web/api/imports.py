"""JSON API for imports, batches, validation and exports."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask

from digiden.domain.access import may_follow_job
from digiden.domain.errors import InvalidInput, NotFound
from digiden.services.data import exports
from digiden.services.data.imports import (
    ImportFailed,
    ImportOptions,
    batch_changes,
    get_batch,
    list_batches,
    list_mappings,
    require_importer,
    revert_batch,
    run_import,
)
from digiden.services.data.imports.tempfiles import spool_path
from digiden.services.national import validation
from digiden.services.uow import UnitOfWork
from digiden.shapes import imports as shapes
from digiden.shapes.errors import ImportFailedOut
from digiden.web.auth import Actor
from digiden.web.deps import Now, Today, Uow
from digiden.web.edge import IdPath

router = APIRouter(prefix="/api/v1")


def save_upload(upload: UploadFile) -> Path:
    """Copy an upload to a private temporary file (kept until the import is over)."""
    suffix = Path(upload.filename or "upload").suffix.lower()
    if suffix not in (".csv", ".xlsx", ".txt", ".tsv", ""):
        raise InvalidInput(f"unsupported file type {suffix!r} (.csv or .xlsx)",
                           message_ja=f"対応していないファイル形式です（{suffix}）。CSV か .xlsx を選んでください",
                           field="file")
    path = spool_path("upload", suffix or ".csv")
    try:
        with open(path, "wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@router.post("/imports", tags=["imports"], summary="Import a CSV or .xlsx file (dry_run to check)",
             description="422: the file has errors and nothing was written; the body is the API's error "
                         "shape with the row-by-row report in `error.details.report`. "
                         "409: another import kept the database busy for longer than the wait.",
             response_model=shapes.ImportReport,
             responses={200: {"description": "a dry run, or a file with nothing to write: the report"},
                        201: {"model": shapes.ImportReport, "description": "imported: the report, with `batch_id`"},
                        422: {"model": ImportFailedOut,
                              "description": "the file has errors; nothing was written"}})
def import_file(
    uow: Uow, now: Now, actor: Actor, file: Annotated[UploadFile, File(description=".csv or .xlsx")],
    dry_run: Annotated[bool, Form()] = False, kpi: Annotated[str | None, Form()] = None,
    encoding: Annotated[str | None, Form()] = None, sheet: Annotated[str | None, Form()] = None,
    mapping: Annotated[str | None, Form(description="name of a saved mapping")] = None,
    save_mapping: Annotated[str | None, Form()] = None, source: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    require_importer(actor)     # before the upload is even saved
    path = save_upload(file)
    try:
        report = run_import(uow, path, ImportOptions(
            dry_run=dry_run, kpi=kpi or None, encoding=encoding or None, sheet=sheet or None,
            mapping_name=mapping or None, save_mapping=save_mapping or None, source_title=source or None,
            file_name=file.filename or path.name), actor=actor, now=now)
    except ImportFailed as e:
        body = e.envelope()
        body["error"]["details"]["report"] = _dump(e.report)     # type: ignore[index]
        return JSONResponse(body, status_code=422)
    finally:
        path.unlink(missing_ok=True)
    return JSONResponse(_dump(report), status_code=201 if report.batch_id else 200)


def _dump(report: object) -> dict[str, object]:
    return shapes.ImportReport.model_validate(report).model_dump(mode="json")


@router.get("/imports/jobs/{job_id}", tags=["imports"],
            summary="An import started on the web pages: state, progress, place in the queue")
def import_job(job_id: str, request: Request, actor: Actor) -> shapes.ImportJob:
    """``state`` is queued, running, done or failed; while queued, ``queue_position`` is the
    job's place in line (1 = next); ``waiting_for_other_import`` is true while an import from
    another process (the CLI) holds the database."""
    job = request.app.state.jobs.get(job_id)
    if job is None or not may_follow_job(actor, job.actor):
        raise NotFound("no such import job",
                       message_ja="その取込処理は見つかりません（サーバーの再起動で消えた可能性があります）")
    return shapes.ImportJob.model_validate(job.as_dict())


@router.get("/batches", tags=["imports"], summary="Import batches, newest first")
def batches(uow: Uow, actor: Actor) -> list[shapes.Batch]:
    return [shapes.Batch.model_validate(b) for b in list_batches(uow, actor)]


@router.get("/batches/{batch_id}", tags=["imports"],
            summary="One import batch, with the values it overwrote (before and after)")
def batch(batch_id: IdPath, uow: Uow, actor: Actor) -> shapes.BatchDetail:
    view = shapes.Batch.model_validate(get_batch(uow, actor, batch_id))
    changes = [shapes.Change.model_validate(c) for c in batch_changes(uow, actor, batch_id)]
    return shapes.BatchDetail(**dict(view), changes=changes)


@router.post("/batches/{batch_id}/revert", tags=["imports"], summary="Revert a whole import batch")
def revert(batch_id: IdPath, uow: Uow, now: Now, actor: Actor) -> shapes.Batch:
    return shapes.Batch.model_validate(revert_batch(uow, batch_id, actor=actor, now=now))


@router.get("/mappings", tags=["imports"], summary="Saved column mappings")
def mappings(uow: Uow, actor: Actor) -> list[shapes.Mapping]:
    return [shapes.Mapping.model_validate(m) for m in list_mappings(uow, actor)]


@router.get("/validation", tags=["validation"], summary="Violations of the KPIs' validation rules")
def violations(uow: Uow, kpi: str | None = None) -> list[shapes.Violation]:
    return [shapes.Violation.model_validate(v) for v in validation.run_rules(uow, kpi=kpi)]


MEDIA = {"csv": "text/csv", "json": "application/json",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


#: The JSON export: every table as a list of rows, each row's keys the table's columns
#: (services/data/exports.py COLUMNS, the same as the CSV's and the workbook's).
EXPORT_JSON_SCHEMA = {
    "type": "object", "title": "Export",
    "properties": {table: {"type": "array", "items": {
        "type": "object", "required": [c.key for c in cols],
        "properties": {c.key: {"description": c.ja} for c in cols}}}
        for table, cols in exports.COLUMNS.items()},
}


@router.get("/export", tags=["export"], summary="Download KPIs, targets, observations, statuses",
            response_class=FileResponse,
            responses={200: {"description": "the file: CSV (UTF-8 with BOM or CP932), .xlsx or JSON",
                             "content": {"text/csv": {}, XLSX_TYPE: {},
                                         "application/json": {"schema": EXPORT_JSON_SCHEMA}}}})
def export(uow: Uow, today: Today, format: str = "csv",
           table: Annotated[str, Query(description="kpis, targets, observations or statuses "
                                                   "(csv); all tables for xlsx/json")] = "observations",
           encoding: Annotated[str, Query(description="utf-8-sig (Excel) or cp932")] = "utf-8-sig",
           kpi: str | None = None) -> FileResponse:
    return export_response(uow, today, format, table, encoding, kpi)


def export_response(uow: UnitOfWork, today: date, fmt: str, table: str, encoding: str,
                    kpi: str | None) -> FileResponse:
    if fmt not in exports.FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}", message_ja=f"不明な形式です: {fmt}", field="format")
    tables = (table,) if fmt == "csv" else exports.TABLES
    if fmt == "csv" and table not in exports.TABLES:
        raise InvalidInput(f"unknown table {table!r}", message_ja=f"不明な表です: {table}", field="table")
    path = spool_path("export", f".{fmt}")
    try:
        exports.export(uow, fmt, path, today=today, encoding=encoding, tables=tables, kpi=kpi)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    stem = f"digiden-{table if fmt == 'csv' else 'export'}-{today.isoformat()}"
    media = MEDIA[fmt] + ("; charset=shift_jis" if fmt == "csv" and encoding.lower() == "cp932"
                          else "; charset=utf-8" if fmt == "csv" else "")
    return FileResponse(path, media_type=media, filename=f"{stem}.{fmt}",
                        background=BackgroundTask(path.unlink, missing_ok=True))
