"""The web import as it runs in production: in a worker thread, with the page polling progress.

Uses its own SQLite file (no shared test transaction), migrated and loaded like `make run`."""

from __future__ import annotations

import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from digiden.domain.access import system
from digiden.services.local.accounts import create_user
from digiden.services.reference import init_reference_data
from digiden.services.uow import UnitOfWork
from digiden.store.db import make_engine, make_session_factory
from digiden.store.migrate import upgrade
from digiden.web.app import create_app
from tests.conftest import FIXED_NOW, PASSWORD, fixed_clock, sign_in

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def test_upload_runs_in_the_background_and_the_page_shows_progress_then_the_result(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    init_reference_data(UnitOfWork(factory), actor="t", now=FIXED_NOW)
    create_user(UnitOfWork(factory), system("t"), username="importer", password=PASSWORD, role="national_admin",
                now=FIXED_NOW)
    with TestClient(create_app(factory, clock=fixed_clock, secure_cookies=False)) as client:
        sign_in(client, "importer")
        with open(FIX / "wide_bom.csv", "rb") as f:
            r = client.post("/imports", files={"file": ("wide_bom.csv", f.read())},
                            data={"kpi": "digital-promotion-talent"}, follow_redirects=False)
        assert r.status_code == 303
        job = r.headers["location"]
        html = ""
        for _ in range(100):
            html = client.get(job, headers={"HX-Request": "true"}).text
            if "処理中" not in html:
                break
            assert 'hx-trigger="load delay:1s"' in html and "<progress" in html
            time.sleep(0.05)
        assert "取り込みました" in html
        batch = int(re.search(r"/batches/(\d+)", html).group(1))  # type: ignore[union-attr]
        assert client.get(f"/api/v1/batches/{batch}").json()["created"] == 8
    engine.dispose()
