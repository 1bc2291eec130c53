"""digiden's temporary files: uploads spooled for an import, exports on their way to the user.

Each is named ``digiden-<kind>-<pid>-…`` in the system's temporary folder, so that what a
process left behind when it was killed (kill -9, a crash, a power cut) can be told from what a
running process is still using: :func:`remove_stale_temp_files` removes the files of processes
that no longer run (and any older than a day). The web app runs it when it starts (the import
job runner is created), the CLI should too.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

KINDS = ("upload", "export")
MAX_AGE_SECONDS = 24 * 3600
_NAME = re.compile(r"digiden-(upload|export)-(?:(\d+)-)?")


def spool_path(kind: str, suffix: str) -> Path:
    """A new empty private file for ``kind`` (upload | export), named with this process id."""
    if kind not in KINDS:
        raise ValueError(kind)
    fd, name = tempfile.mkstemp(prefix=f"digiden-{kind}-{os.getpid()}-", suffix=suffix)
    os.close(fd)
    return Path(name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(folder: Path | None = None, *, max_age: float = MAX_AGE_SECONDS) -> list[Path]:
    """Remove digiden's temporary files whose process is gone, or that are older than
    ``max_age`` seconds. Returns what was removed. Safe to call while other digiden processes
    run: their files name them and are kept."""
    where = folder or Path(tempfile.gettempdir())
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(where))
    except OSError:
        return []
    for e in entries:
        m = _NAME.match(e.name)
        if m is None:
            continue
        try:
            if not e.is_file(follow_symlinks=False):
                continue
            old = now - e.stat(follow_symlinks=False).st_mtime > max_age
            gone = m.group(2) is not None and not _alive(int(m.group(2)))
            if old or gone:
                os.unlink(e.path)
                removed.append(Path(e.path))
        except OSError:
            continue
    return removed
