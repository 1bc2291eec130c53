"""How many requests one server process works on at once (``DIGIDEN_THREADS``; unset: anyio's 40).

FastAPI runs every synchronous route and dependency (all of digiden's pages and API routes,
which use the synchronous SQLAlchemy session) in anyio's default thread pool, which lets 40
threads run at once. Python runs one thread at a time (the GIL), so more threads than cores
do not answer sooner; they take turns, and the event loop thread, which reads requests and
writes answers, queues for the interpreter with them. With a limit, the requests that find no
free thread wait in the event loop (costing nothing) until one is free.

Measured for issue 12 on the 2-core bench machine (shared with other work, load average 3–10):
in-process, reading one local government (localgov.get) from N threads at once cost 2.8–3.8 ms
of CPU a read with 2–8 threads and 5.0–5.5 ms with 16–32. Over HTTP (bench/threads_ab.py, four runs ×
four pages), 8 threads instead of 40 kept the server's CPU per request flatter from 8 to 32
connections and gave a better 32 ÷ 8 on 11 of 16 page-runs, but the mean only moved from 0.95
to 0.97, within the machine's noise. So the default stays anyio's: a low limit also lets a few
slow requests (large exports, uploads) hold every thread while the rest of the site waits,
which the bench does not measure. A request waiting for a database lock holds its thread while
it waits (an SQLite writer waits for the process's turn lock, store/db.py), so with a small
limit a burst of writers keeps readers waiting until it has passed (16 writers with 8 threads:
no errors, writes/s unchanged). The setting is for a deployment that measures a gain on its
own machine.

Apply it with ``limit_threads(app)`` once, when the app is built: it wraps the app's lifespan,
so the limit is set in the event loop that serves the requests (each worker process has its
own loop and pool).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread

MIN_THREADS = 2
MAX_THREADS = 256


def configured_threads() -> int | None:
    """``DIGIDEN_THREADS`` (settings ``threads``, checked to be in range), or None: anyio's own."""
    from digiden.config import get_settings
    return get_settings().threads


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
    starts, after the app's own lifespan has started (which it keeps). Without either, the app
    is left as it is."""
    n = configured_threads() if threads is None else threads
    app.state.threads = n
    if n is None:
        return
    _checked(n)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            set_thread_limit(n)    # after the app's own start: the last one applied decides
            yield state

    app.router.lifespan_context = lifespan
