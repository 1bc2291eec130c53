"""The request thread limit (web/threads.py): set in the loop that serves the requests, when the
app starts, keeping the app's own start-up; at most that many synchronous routes run at once;
configured by DIGIDEN_THREADS within bounds, with a default of at least 8."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import pytest
from anyio import to_thread
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from digiden.config import Settings, get_settings
from digiden.web import threads

pytestmark = pytest.mark.sqlite_only   # no database involved


def app_with_busy_route(together: int = 1) -> tuple[FastAPI, dict[str, Any]]:
    """An app whose own lifespan records that it ran, with a synchronous route that records how
    many of its calls were running at once; each call waits (up to 10 s) until ``together`` of
    them run, so that a pool that allows as many surely shows it."""
    seen: dict[str, Any] = {"running": 0, "most": 0, "started": False}
    lock = threading.Condition()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        seen["started"] = True
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/busy")
    def busy() -> dict[str, int]:
        with lock:
            seen["running"] += 1
            seen["most"] = max(seen["most"], seen["running"])
            lock.notify_all()
            lock.wait_for(lambda: seen["running"] >= together, timeout=10)
        time.sleep(0.02)    # a moment for one more to start, if the pool allowed it
        with lock:
            seen["running"] -= 1
        return {}

    @app.get("/limit")
    async def limit() -> dict[str, float]:
        return {"tokens": to_thread.current_default_thread_limiter().total_tokens}

    return app, seen


def serve_together(app: FastAPI, requests: int) -> float:
    """Start the app (its lifespan), send ``requests`` requests to /busy at once, and return the
    thread limit the serving loop had."""
    with TestClient(app) as c, ThreadPoolExecutor(requests) as pool:
        for r in list(pool.map(lambda _: c.get("/busy"), range(requests))):
            assert r.status_code == 200
        return float(c.get("/limit").json()["tokens"])


def test_at_most_the_limit_of_synchronous_routes_run_at_once() -> None:
    app, seen = app_with_busy_route(together=3)
    threads.limit_threads(app, 3)
    assert serve_together(app, 12) == 3
    assert seen["started"]              # the app's own lifespan still runs
    assert seen["most"] == 3
    assert app.state.threads == 3


def test_without_the_limit_anyio_runs_them_all() -> None:
    """The finding: anyio's default pool lets 40 threads share the interpreter."""
    app, seen = app_with_busy_route(together=12)
    assert serve_together(app, 12) == 40
    assert seen["most"] == 12


def test_the_limit_comes_from_the_settings_with_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    try:
        monkeypatch.delenv("DIGIDEN_THREADS", raising=False)
        assert threads.configured_threads() == threads.default_threads() >= 8
        app, _ = app_with_busy_route()
        threads.limit_threads(app)
        assert serve_together(app, 1) == threads.default_threads()
        get_settings.cache_clear()
        monkeypatch.setenv("DIGIDEN_THREADS", "6")
        assert threads.configured_threads() == 6
        app, _ = app_with_busy_route()
        threads.limit_threads(app)
        assert serve_together(app, 1) == 6
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("bad", ["1", "257", "many"])
def test_a_limit_out_of_bounds_is_refused(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGIDEN_THREADS", bad)
    with pytest.raises(ValidationError, match="threads"):
        Settings()
    app, _ = app_with_busy_route()
    with pytest.raises(ValueError, match="between 2 and 256"):
        threads.limit_threads(app, 1)
