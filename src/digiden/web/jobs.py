"""Background import jobs for the web pages, so a long import shows progress.

Jobs run one at a time per app (an app serves one database), in submission order, in one
worker thread; while a job waits its turn its page says 「順番待ち（N番目）」 and the API gives
``queue_position``. Imports from other processes (the CLI, another server) are kept in line by
the database-level lock that every import takes (see ``take_import_lock``).

A job's state, progress and result are also written to the database (services/data/jobs.py),
so that its page and ``GET /api/v1/imports/jobs/{id}`` answer on every worker of the app, not
only on the one running it; the durable result of an import remains its batch. Tests run jobs
inline.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from digiden.domain.access import Principal
from digiden.domain.errors import DigidenError
from digiden.services.data import jobs as stored
from digiden.services.data.imports.report import ImportOptions
from digiden.services.data.imports.tempfiles import remove_stale_temp_files
from digiden.services.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    file_name: str
    path: Path
    options: Any
    actor: Principal
    state: str = "queued"          # queued | running | done | failed
    progress: float = 0.0
    report: Any = None
    error: DigidenError | None = None
    queue_position: int | None = None   # while queued: 1 = next to run
    waiting: bool = False          # running, but another process's import holds the database

    def as_dict(self) -> dict[str, Any]:
        err = self.error
        return {"id": self.id, "file_name": self.file_name, "state": self.state,
                "progress": round(self.progress, 4), "queue_position": self.queue_position,
                "waiting_for_other_import": self.waiting, "dry_run": bool(self.options.dry_run),
                "report": self.report.as_dict() if self.report is not None else None,
                "error": err.as_dict() if err is not None else None}

    def columns(self) -> dict[str, Any]:
        """The job as the ``import_job`` table holds it."""
        d = self.as_dict()
        return {"id": self.id, "file_name": self.file_name, "path": str(self.path), "state": self.state,
                "progress": d["progress"], "queue_position": self.queue_position, "waiting": self.waiting,
                "options": dataclasses.asdict(self.options), "actor": stored.principal_dict(self.actor),
                "report": d["report"], "error": d["error"], "worker": WORKER}


class Stored:
    """A report of a job another worker ran, read like the report object it was made from
    (``r.errors[0].row``, ``r.mapping.items()``) from its stored JSON."""

    ALIASES = {"file_format": "format"}     # the report's attribute → its name in the JSON

    def __init__(self, d: dict[str, Any]):
        self._d = d

    def __getattr__(self, name: str) -> Any:
        try:
            v = self._d[self.ALIASES.get(name, name)]
        except KeyError:
            raise AttributeError(name) from None
        return [Stored(x) if isinstance(x, dict) else x for x in v] if isinstance(v, list) else v

    def as_dict(self) -> dict[str, Any]:
        return self._d


class StoredError(DigidenError):
    """The error of a job another worker ran, as stored."""

    def __init__(self, d: dict[str, Any]):
        details = dict(d.get("details") or {})
        super().__init__(str(d.get("message", "")), message_ja=str(d.get("message_ja", "")),
                         field=details.pop("field", None), details=details)
        self.stored_code = str(d.get("code", "DigidenError"))
        self.status_code = 422 if self.stored_code in ("InvalidInput", "ImportFailed") else \
            {"NotFound": 404, "Conflict": 409, "PermissionDenied": 403}.get(self.stored_code, 400)

    @property
    def code(self) -> str:
        return self.stored_code


def job_from(row: dict[str, Any]) -> Job:
    """A job another worker runs (or ran), from its row."""
    return Job(id=row["id"], file_name=row["file_name"], path=Path(row["path"]),
               options=ImportOptions(**row["options"]), actor=stored.principal_from(row["actor"]),
               state=row["state"], progress=float(row["progress"]),
               report=Stored(row["report"]) if row["report"] is not None else None,
               error=StoredError(row["error"]) if row["error"] is not None else None,
               queue_position=row["queue_position"], waiting=bool(row["waiting"]))


#: This process, as the job table names the worker running a job.
WORKER = f"{socket.gethostname()[:40]}:{os.getpid()}"
#: At most one progress write per job in this many seconds.
PROGRESS_EVERY = 0.5


class JobRunner:
    """Runs this worker's jobs; ``get`` finds a job of any worker (with a session factory)."""

    def __init__(self, *, inline: bool = False, session_factory: sessionmaker[Session] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.inline = inline
        self.factory = session_factory
        self.clock = clock
        self._saved_at: dict[str, float] = {}
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pending: deque[tuple[Job, Callable[[Job], None]]] = deque()
        self._worker: threading.Thread | None = None
        # The app is starting: remove the uploads and exports that killed processes left.
        remove_stale_temp_files()

    def save(self, job: Job, *, progress_only: bool = False, final: bool = False) -> None:
        """Write the job's row. Only the final write (done or failed, in the worker thread)
        waits for the database; the others give way at once when it is busy — on SQLite another
        process's import holds the write lock, and an upload must not hang on it — and the next
        write tells. A progress update is also skipped if one was written less than
        ``PROGRESS_EVERY`` s ago."""
        if self.factory is None:
            return
        if progress_only and time.monotonic() - self._saved_at.get(job.id, 0.0) < PROGRESS_EVERY:
            return
        self._saved_at[job.id] = time.monotonic()
        uow = UnitOfWork(self.factory)
        try:
            stored.record(uow if final else uow.for_writing(wait_seconds=0.2), job.columns(), now=self.clock())
        except OperationalError:
            if final:
                raise
            log.debug("import job %s: the database is busy; its row is written later", job.id)

    def submit(self, job_fn: Callable[[Job], None], job: Job) -> Job:
        try:
            self.forget_old()
        except OperationalError:
            pass     # busy: another submission will tidy up
        self.save(job)
        with self._lock:
            self.jobs[job.id] = job
            if len(self.jobs) > 200:  # forget the oldest finished jobs
                in_use = {j.path for j in self.jobs.values() if j.state in ("queued", "running")}
                for k in [k for k, j in self.jobs.items() if j.state in ("done", "failed")][:50]:
                    old = self.jobs.pop(k, None)
                    if old is not None and old.path not in in_use:   # a dry run's file goes with it
                        old.path.unlink(missing_ok=True)
            if not self.inline:
                self._pending.append((job, job_fn))
                job.queue_position = len(self._pending)
                if self._worker is None:
                    self._worker = threading.Thread(target=self._work, daemon=True, name="digiden-import-jobs")
                    self._worker.start()
        if self.inline:
            self.run(job, job_fn)
        return job

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._worker = None
                    return
                job, fn = self._pending.popleft()
                job.queue_position = None
                queued = [waiting for waiting, _fn in self._pending]
                for i, waiting in enumerate(queued, start=1):
                    waiting.queue_position = i
            for waiting in queued:
                self.save(waiting)
            self.run(job, fn)

    def run(self, job: Job, fn: Callable[[Job], None]) -> None:
        """Run one job and record its outcome (whatever happens, the row says done or failed)."""
        try:
            fn(job)
        except Exception:  # the job fails, the queue goes on
            log.exception("import job %s failed", job.id)
            job.error = job.error or DigidenError("the import stopped because of an internal error",
                                                  message_ja="内部エラーのため取込を中止しました。何も保存されていません")
            job.state = "failed"
        finally:
            self._saved_at.pop(job.id, None)
            try:
                self.save(job, final=True)
            except Exception:
                log.exception("the outcome of import job %s could not be recorded", job.id)

    def get(self, job_id: str) -> Job | None:
        """A job of this worker (live), else as the database has it (another worker's)."""
        job = self.jobs.get(job_id)
        if job is not None or self.factory is None:
            return job
        row = stored.find(UnitOfWork(self.factory), job_id)
        return job_from(row) if row is not None else None

    def forget_old(self) -> None:
        """Forget finished jobs older than a week, and their dry-run files."""
        if self.factory is None:
            return
        for path in stored.forget_finished(UnitOfWork(self.factory), now=self.clock()):
            if not any(str(j.path) == path for j in self.jobs.values()):
                Path(path).unlink(missing_ok=True)


def new_id() -> str:
    return uuid.uuid4().hex[:16]
