"""Background import jobs for the web pages, so a long import shows progress.

Jobs live in memory (the durable result is the import batch). Tests run them inline.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digiden.domain.access import Principal
from digiden.domain.errors import DigidenError


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


class JobRunner:
    def __init__(self, *, inline: bool = False):
        self.inline = inline
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, job_fn: Callable[[Job], None], job: Job) -> Job:
        with self._lock:
            self.jobs[job.id] = job
            if len(self.jobs) > 200:  # forget the oldest finished jobs
                for k in [k for k, j in self.jobs.items() if j.state in ("done", "failed")][:50]:
                    self.jobs.pop(k, None)
        if self.inline:
            job_fn(job)
        else:
            threading.Thread(target=job_fn, args=(job,), daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


def new_id() -> str:
    return uuid.uuid4().hex[:16]
