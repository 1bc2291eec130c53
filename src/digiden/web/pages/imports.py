"""Pages for imports (upload, progress, dry-run report), batches, validation and export."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from digiden.domain.access import Principal, may_follow_job
from digiden.domain.errors import DigidenError, InvalidInput, NotFound
from digiden.services import audit
from digiden.services.data import exports
from digiden.services.data.imports import (
    BatchView,
    ChangeView,
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
from digiden.services.national import kpis, validation
from digiden.services.uow import UnitOfWork
from digiden.web.api.imports import export_response, save_upload
from digiden.web.auth import Actor
from digiden.web.deps import Now, Today, Uow
from digiden.web.edge import IdPath
from digiden.web.jobs import Job, new_id
from digiden.web.pages import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportFormContext:
    title: str
    kpis: tuple[kpis.KpiView, ...]
    mappings: tuple[dict[str, Any], ...]
    batches: tuple[BatchView, ...]
    error: DigidenError | None = None


def _form(request: Request, uow: UnitOfWork, today: date, actor: Principal, error: DigidenError | None = None,
          status: int = 200) -> HTMLResponse:
    ctx = ImportFormContext("ファイルの取込", tuple(kpis.list_kpis(uow, today=today)),
                            tuple(list_mappings(uow, actor)), tuple(list_batches(uow, actor, limit=20)), error)
    return render(request, "imports/index.html", ctx, status_code=status)


@router.get("/imports", response_class=HTMLResponse)
def import_page(request: Request, uow: Uow, today: Today, actor: Actor) -> HTMLResponse:
    require_importer(actor)
    return _form(request, uow, today, actor)


def _run(request: Request, job: Job) -> None:
    """Run one import job (in a worker thread, or inline in tests)."""
    factory = request.app.state.session_factory
    runner = request.app.state.jobs
    job.state = "running"
    runner.save(job)

    def progress(what: str, share: float) -> None:
        job.waiting = what == "waiting"
        job.progress = share
        runner.save(job, progress_only=True)

    try:
        job.report = run_import(UnitOfWork(factory), job.path, job.options, actor=job.actor,
                                now=request.app.state.clock(), progress=progress)
        job.state = "done"
    except ImportFailed as e:
        job.report, job.error, job.state = e.report, e, "failed"
    except DigidenError as e:
        job.error, job.state = e, "failed"
    except Exception:
        log.exception("import job %s failed", job.id)
        job.error = DigidenError("the import stopped because of an internal error; nothing was written",
                                 message_ja="内部エラーのため取込を中止しました。何も保存されていません")
        job.state = "failed"
    finally:
        job.waiting = False
        job.progress = 1.0
        if not job.options.dry_run or job.state == "failed":
            job.path.unlink(missing_ok=True)


@router.post("/imports", response_class=HTMLResponse)
def import_submit(
    request: Request, uow: Uow, today: Today, actor: Actor,
    file: Annotated[UploadFile | None, File()] = None, kpi: Annotated[str, Form()] = "",
    encoding: Annotated[str, Form()] = "", sheet: Annotated[str, Form()] = "",
    mapping: Annotated[str, Form()] = "", save_mapping: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "", dry_run: Annotated[str, Form()] = "",
) -> Response:
    require_importer(actor)
    if file is None or not file.filename:
        return _form(request, uow, today, actor, InvalidInput("choose a file", message_ja="ファイルを選んでください",
                                                       field="file"), 422)
    try:
        path = save_upload(file)
    except DigidenError as e:
        return _form(request, uow, today, actor, e, e.status_code)
    options = ImportOptions(dry_run=bool(dry_run), kpi=kpi or None, encoding=encoding or None,
                            sheet=sheet or None, mapping_name=mapping or None,
                            save_mapping=save_mapping or None, source_title=source or None,
                            file_name=file.filename)
    return _start(request, Job(new_id(), file.filename, path, options, actor))


def _start(request: Request, job: Job) -> Response:
    """Hand a job to the runner and send the browser to its progress page."""
    request.app.state.jobs.submit(lambda j: _run(request, j), job)
    return RedirectResponse(f"/imports/jobs/{job.id}", status_code=303)


@dataclass(frozen=True)
class JobContext:
    title: str
    job: Job


@router.get("/imports/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request, actor: Actor) -> HTMLResponse:
    job = request.app.state.jobs.get(job_id)
    if job is None or not may_follow_job(actor, job.actor):
        raise NotFound("no such import job",
                       message_ja="その取込処理は見つかりません（サーバーの再起動で消えた可能性があります）")
    ctx = JobContext(f"取込: {job.file_name}", job)
    name = "imports/_job.html" if request.headers.get("HX-Request") == "true" else "imports/job.html"
    failed = job.state == "failed" and job.error is not None
    return render(request, name, ctx, status_code=job.error.status_code if failed else 200)


@router.post("/imports/jobs/{job_id}/apply", response_class=HTMLResponse)
def job_apply(job_id: str, request: Request, actor: Actor) -> Response:
    """Import for real the file a dry run checked: only whoever ran the dry run applies it."""
    job = request.app.state.jobs.get(job_id)
    if job is None or job.actor.name != actor.name:
        raise NotFound("no such import job", message_ja="その取込処理は見つかりません")
    if job.state != "done" or not job.options.dry_run or not job.path.exists():
        raise InvalidInput("this dry run can no longer be applied; upload the file again",
                           message_ja="この確認結果からは取り込めません。もう一度ファイルを選んでください")
    return _start(request, Job(new_id(), job.file_name, job.path, replace(job.options, dry_run=False),
                               job.actor))


@dataclass(frozen=True)
class BatchContext:
    title: str
    batch: BatchView
    events: tuple[audit.AuditView, ...]
    changes: tuple[ChangeView, ...]


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(batch_id: IdPath, request: Request, uow: Uow, actor: Actor) -> HTMLResponse:
    b = get_batch(uow, actor, batch_id)
    return render(request, "imports/batch.html",
                  BatchContext(f"取込 #{b.id}", b, tuple(audit.history(uow, actor, batch_id=batch_id)),
                               tuple(batch_changes(uow, actor, batch_id))))


@router.post("/batches/{batch_id}/revert", response_class=HTMLResponse)
def batch_revert(batch_id: IdPath, request: Request, uow: Uow, now: Now, actor: Actor) -> Response:
    revert_batch(uow, batch_id, actor=actor, now=now)
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


@dataclass(frozen=True)
class ValidationContext:
    title: str
    violations: tuple[validation.Violation, ...]
    rules: tuple[tuple[str, str, list[dict[str, Any]]], ...]


@router.get("/validation", response_class=HTMLResponse)
def validation_page(request: Request, uow: Uow) -> HTMLResponse:
    return render(request, "imports/validation.html", ValidationContext(
        "検証ルール", tuple(validation.run_rules(uow)), tuple(validation.rules_by_kpi(uow))))


@dataclass(frozen=True)
class ExportContext:
    title: str
    tables: tuple[str, ...]


@router.get("/export", response_class=HTMLResponse)
def export_page(request: Request) -> HTMLResponse:
    return render(request, "imports/export.html", ExportContext("データの書き出し", exports.TABLES))


@router.get("/export/download")
def export_download(uow: Uow, today: Today, format: str = "csv", table: str = "observations",
                    encoding: str = "utf-8-sig") -> Response:
    return export_response(uow, today, format, table, encoding, None)
