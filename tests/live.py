"""Real databases and a real server for tests that need more than one connection.

Most tests run inside one rolled-back transaction (see conftest.py). Tests of concurrency,
crashes, backups and hostile clients need what users get instead: a database of their own
with committed data, several connections, and uvicorn listening on a loopback port.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from digiden.store.db import make_engine, make_session_factory


@dataclass
class LiveDb:
    """A migrated database with the reference data, committed, owned by one test module."""

    backend: str
    url: str
    engine: Engine
    session_factory: sessionmaker[Session]
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        self.engine.dispose()
        for fn in reversed(self._cleanup):
            fn()


def open_live_db(backend: str, prepare: Callable[[Engine], Engine]) -> LiveDb:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="digiden-live-"))
        url = f"sqlite:///{folder / 'digiden.sqlite3'}"
        engine = prepare(make_engine(url))
        db = LiveDb(backend, url, engine, make_session_factory(engine))
        import shutil
        db._cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
        return db
    from tests.conftest import PgSchema
    schema = PgSchema()
    engine = prepare(make_engine(schema.url))
    db = LiveDb(backend, schema.url, engine, make_session_factory(engine))
    db._cleanup.append(schema.drop)
    return db


class LiveServer:
    """uvicorn serving ``create_app(session_factory)`` on 127.0.0.1 in a thread."""

    def __init__(self, session_factory: sessionmaker[Session], *, clock: Callable[[], datetime] | None = None,
                 **app_kw: Any) -> None:
        import uvicorn

        from digiden.web.app import create_app
        kw: dict[str, Any] = {"secure_cookies": False} | app_kw
        if clock is not None:
            kw["clock"] = clock
        self.app = create_app(session_factory, **kw)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()
