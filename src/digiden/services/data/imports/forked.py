"""The forked reader: the row parser run in a child process (the second core) for large files.

Crash-safe: the child dies with its parent and never holds the parent's database connection."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from digiden.domain.errors import DigidenError, InvalidInput, NotFound
from digiden.services.data.imports.parse import Chunk
from digiden.services.data.imports.readers import open_table
from digiden.services.data.imports.report import ImportOptions


def _die_with_parent(parent_pid: int) -> None:
    """In the forked child: be killed by the kernel when the parent dies (Linux
    PR_SET_PDEATHSIG), and leave now if the parent already died before that was set."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _drop_inherited_sockets(keep: set[int]) -> None:
    """In the forked child: every socket inherited from the parent (its database connection,
    a web server's listening socket and client connections) is replaced by /dev/null. The
    child never uses them, and holding them would keep them open after the parent died: the
    database would not see the parent's connection close, so its transaction and locks would
    stay. dup2 over the descriptor (rather than close) keeps the number taken, so no object
    inherited from the parent can ever reach another file through it."""
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in fds:
            if fd <= 2 or fd in keep or fd == devnull:
                continue
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.dup2(devnull, fd)
            except OSError:
                continue
    finally:
        os.close(devnull)


def parse_in_child(parse: Callable[..., Iterator[Chunk]], path: Path, options: ImportOptions,
            recognise_fn: Callable[[list[str]], bool]) -> Iterator[Chunk]:
    """Run the parser in a forked child (the second core) and yield its chunks here.

    The child dies with the parent: it holds only the write end of the pipe (so a dead parent
    means a broken pipe, never a child blocked forever on a full one), asks the kernel to kill
    it when the parent dies, checks its parent between chunks, and replaces the inherited
    sockets (the parent's database connection) with /dev/null, so the database sees the
    parent's connection close the moment the parent is gone and rolls its transaction back.
    The parser itself touches no database."""
    ctx = mp.get_context("fork")
    parent_end, child_end = ctx.Pipe(duplex=False)
    parent_pid = os.getpid()

    def child() -> None:
        code = 0
        try:
            parent_end.close()
            _die_with_parent(parent_pid)
            _drop_inherited_sockets({child_end.fileno()})
            t = open_table(path, encoding=options.encoding, sheet=options.sheet, recognise=recognise_fn)
            for ch in parse(t.rows, t.progress):
                if os.getppid() != parent_pid:
                    os._exit(1)
                child_end.send(ch)
            child_end.send(None)
        except DigidenError as e:
            with contextlib.suppress(OSError):
                child_end.send(("error", type(e).__name__, e.message, e.message_ja, e.field))
        except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises
            code = 1
            with contextlib.suppress(OSError):
                child_end.send(("crash", repr(e)))
        finally:
            # Leave without running finalizers: the parent's database connections were
            # inherited and must not be closed (or rolled back) from here.
            os._exit(code)

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    child_end.close()
    try:
        while True:
            try:
                item = parent_end.recv()
            except EOFError:
                raise RuntimeError("the import parser stopped unexpectedly") from None
            if item is None:
                return
            if isinstance(item, tuple):
                if item[0] == "error":
                    cls = {"NotFound": NotFound}.get(item[1], InvalidInput)
                    raise cls(item[2], message_ja=item[3], field=item[4])
                raise RuntimeError(f"import parser failed: {item[1]}")
            yield item
    finally:
        parent_end.close()          # a child still sending gets a broken pipe and leaves
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=10)


PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def use_fork(path: Path, options: ImportOptions) -> bool:
    """Whether to parse in a forked child: as asked, else for files of PARALLEL_MIN_BYTES or more
    on a machine with a second core."""
    if options.parallel is not None:
        return options.parallel and "fork" in mp.get_all_start_methods()
    return (path.stat().st_size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
            and "fork" in mp.get_all_start_methods())
