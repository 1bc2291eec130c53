"""How many requests one server process works on at once (``DIGIDEN_THREADS``; default 4 per core, at least 8).

FastAPI runs every synchronous route and dependency (all of digiden's pages and API routes,
which use the synchronous SQLAlchemy session) in anyio's default thread pool, which lets 40
threads run at once. Python runs one thread at a time (the GIL), so more threads than cores
do not answer sooner; they take turns, and the event loop thread, which reads requests and
writes answers, queues for the interpreter with them. With a limit, the requests that find no
free thread wait in the event loop (costing nothing) until one is free.

Measured for issue 12 on the 2-core bench machine (bench/threads_ab.py: servers differing only
in the limit, interleaved): in-process, reading one local government (localgov.get) from N
threads at once cost 2.8–3.8 ms of CPU a read with 2–8 threads and 5.0–5.5 ms with 16–32. Over
HTTP on a quiet machine (load average 0.2–2.9), 8 threads instead of 40 took a local
government's page at 32 connections from 130 to 179 req/s (32 ÷ 8: 0.73 → 0.94; CPU per request
at 32 connections 9.4 → 7.2 ms) and the KPI list from 121 to 130 req/s (0.79 → 0.88); one KPI's
observations and the dashboard did not change beyond noise. Runs on the loaded machine (load
average 3–10) were within noise either way.

The default, :func:`default_threads`, is 4 per core and at least 8. A request waiting for a
database lock holds its thread while it waits (an SQLite writer waits for the process's turn
lock, store/db.py), so a burst of writers, or a few slow requests (large exports, uploads), can
keep the other requests waiting until it has passed; 16 writers at once with 8 threads: no
errors, writes/s unchanged on both databases (bench/concurrency.py).

Apply it with ``limit_threads(app)`` once, when the app is built: it wraps the app's lifespan,
so the limit is set in the event loop that serves the requests (each worker process has its
own loop and pool).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread

MIN_THREADS = 2
MAX_THREADS = 256


def default_threads() -> int:
    """Four per core, at least 8."""
    return max(8, 4 * (os.cpu_count() or 1))


def configured_threads() -> int:
    """``DIGIDEN_THREADS`` (settings ``threads``, checked to be in range), else the default."""
    from digiden.config import get_settings
    n = get_settings().threads
    return default_threads() if n is None else n


def _checked(n: int) -> int:
    if not MIN_THREADS <= n <= MAX_THREADS:
        raise ValueError(f"threads must be between {MIN_THREADS} and {MAX_THREADS}, not {n}")
    return n


def set_thread_limit(n: int) -> int:
    """Let at most ``n`` threads of the running event loop's default pool work at once; returns
    the limit it replaced. Must run inside the event loop (anyio keeps one pool per loop)."""
    limiter = to_thread.current_default_thread_limiter()
    before = int(limiter.total_tokens)
    limiter.total_tokens = _checked(n)
    return before


def limit_threads(app: Any, threads: int | None = None) -> None:
    """Set the request thread limit (``threads``, else :func:`configured_threads`) when ``app``
    starts, after the app's own lifespan has started (which it keeps)."""
    n = _checked(configured_threads() if threads is None else threads)
    app.state.threads = n
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            set_thread_limit(n)    # after the app's own start: the last one applied decides
            yield state

    app.router.lifespan_context = lifespan
