"""What `make run` does, end to end in subprocesses: migrate, load, load again, serve.

Runs the installed `digiden` command on a fresh SQLite file and on a fresh PostgreSQL schema,
exactly as a newcomer's first run would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PgSchema, require_pg

DIGIDEN = [sys.executable, "-m", "digiden"]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DIGIDEN, *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def fresh_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIDEN_")}
    env.update(extra)
    return env


def first_and_second_run(env: dict[str, str]) -> None:
    for _ in range(2):
        r = run(env, "db", "upgrade")
        assert r.returncode == 0, r.stderr
    first = run(env, "db", "init", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["created"]["org_unit"] == 1789
    second = run(env, "db", "init", "--json")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["created"] == {"observation": 0}
    assert report["unchanged"] == {"org_unit": 1788, "strategy": 1, "observation": 30, "problem": 14,
                                   "measure": 33, "fiscal_index": 1741, "adjacency": 8804,
                                   "search_doc": 1851, "consult_office_area": 376}
    found = run(env, "search", "子育て支援", "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["id"] == "kodomo-katei-center"
    listing = run(env, "lg", "list", "--json")
    assert len(json.loads(listing.stdout)) == 1788


def test_fresh_sqlite_database(tmp_path: Path) -> None:
    env = fresh_env(DIGIDEN_DATA_DIR=str(tmp_path / "var"))
    first_and_second_run(env)
    assert (tmp_path / "var" / "digiden.sqlite3").exists()


@pytest.mark.postgres
def test_fresh_postgresql_database() -> None:
    require_pg()
    schema = PgSchema()
    try:
        first_and_second_run(fresh_env(DIGIDEN_DATABASE_URL=schema.url))
    finally:
        schema.drop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_on_http(tmp_path: Path) -> None:
    env = fresh_env(DIGIDEN_DATA_DIR=str(tmp_path / "var"))
    assert run(env, "db", "upgrade").returncode == 0
    assert run(env, "db", "init").returncode == 0
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([*DIGIDEN, "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        body = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    body = r.read().decode("utf-8")
                break
            except OSError:
                time.sleep(0.2)
        assert "主要KPIダッシュボード" in body
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
