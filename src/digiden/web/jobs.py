"""Background import jobs for the web pages, so a long import shows progress.

Jobs run one at a time per app (an app serves one database), in submission order, in one
worker thread; while a job waits its turn its page says 「順番待ち（N番目）」 and the API gives
``queue_position``. Imports from other processes (the CLI, another server) are kept in line by
the database-level lock that every import takes (see ``take_import_lock``).

Jobs live in memory (the durable result is the import batch). Tests run them inline.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digiden.domain.access import Principal
from digiden.domain.errors import DigidenError
from digiden.services.data.imports.tempfiles import remove_stale_temp_files

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


class JobRunner:
    def __init__(self, *, inline: bool = False):
        self.inline = inline
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pending: deque[tuple[Job, Callable[[Job], None]]] = deque()
        self._worker: threading.Thread | None = None
        # The app is starting: remove the uploads and exports that killed processes left.
        remove_stale_temp_files()

    def submit(self, job_fn: Callable[[Job], None], job: Job) -> Job:
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
            job_fn(job)
        return job

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._worker = None
                    return
                job, fn = self._pending.popleft()
                job.queue_position = None
                for i, (waiting, _fn) in enumerate(self._pending, start=1):
                    waiting.queue_position = i
            try:
                fn(job)
            except Exception:  # the job fails, the queue goes on
                log.exception("import job %s failed", job.id)
                job.error = job.error or DigidenError("the import stopped because of an internal error",
                                                      message_ja="内部エラーのため取込を中止しました。何も保存されていません")
                job.state = "failed"

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


def new_id() -> str:
    return uuid.uuid4().hex[:16]
