"""The national dashboard's body (statuses, charts, map) is built once per database, data version
and day, and every request puts its own header around it (web/pages dashboard_body). A write
shows on the next request; what one reader's page says about them (name, CSRF token, menu)
never reaches another reader. Both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from digiden.domain.access import system
from digiden.services.national import observations
from digiden.services.uow import UnitOfWork
from digiden.web import pages
from digiden.web.cache import PerDataVersion
from tests.conftest import FIXED_NOW, make_client, sign_in_directly

MAIN = re.compile(r'<main id="main">(.*)</main>', re.S)


def main_of(html: str) -> str:
    m = MAIN.search(html)
    assert m is not None
    return m[1]


def row_of(html: str, code: str) -> str:
    """The dashboard's table row of one KPI."""
    m = re.search(rf'<tr>\s*<td><a href="/kpis/{re.escape(code)}">.*?</tr>', html, re.S)
    assert m is not None, code
    return m[0]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Each time the body is built from the data (an empty cache to begin with)."""
    monkeypatch.setattr(pages, "_bodies", PerDataVersion(entries=4))
    made: list[Any] = []
    real = pages.dashboard_context

    def counting(uow: UnitOfWork, today: Any) -> Any:
        made.append(today)
        return real(uow, today)
    monkeypatch.setattr(pages, "dashboard_context", counting)
    return made


def test_the_body_is_built_once_per_data_version(anon, builds: list[Any]) -> None:  # type: ignore[no-untyped-def]
    first = anon.get("/")
    second = anon.get("/")
    assert first.status_code == second.status_code == 200
    assert builds == [FIXED_NOW.date()]
    assert main_of(first.text) == main_of(second.text)


def test_a_write_through_the_api_shows_on_the_next_request(client, anon, builds: list[Any]) -> None:  # type: ignore[no-untyped-def]
    before = row_of(anon.get("/").text, "digital-implementation")
    assert row_of(anon.get("/").text, "digital-implementation") == before and len(builds) == 1
    r = client.post("/api/v1/observations", json={
        "kpi": "digital-implementation", "as_of": "2026-03-31", "value": "1400",
        "source_title": "デジタル庁 調べ"})
    assert r.status_code == 201, r.text
    after = row_of(anon.get("/").text, "digital-implementation")
    assert after != before
    assert "1,400" in after and "1,400" not in before
    assert len(builds) == 2
    assert row_of(client.get("/").text, "digital-implementation") == after   # the same for everyone


def test_a_write_by_a_service_shows_on_the_next_request(session_factory: sessionmaker[Session], anon,  # type: ignore[no-untyped-def]
                                                         builds: list[Any]) -> None:
    before = row_of(anon.get("/").text, "satellite-offices")
    observations.add_observation(
        UnitOfWork(session_factory), observations.ObservationInput(
            kpi="satellite-offices", as_of="2026-03-31", value="1234", source_title="テスト調べ"),
        actor=system("planner@example"), now=FIXED_NOW, today=FIXED_NOW.date())
    after = row_of(anon.get("/").text, "satellite-offices")
    assert "1,234" in after and "1,234" not in before
    assert len(builds) == 2


def test_another_day_is_built_again(session_factory: sessionmaker[Session], builds: list[Any]) -> None:
    clock = [FIXED_NOW]
    with make_client(session_factory, clock=lambda: clock[0]) as c:
        assert "2026年11月29日時点の判定" in c.get("/").text
        clock[0] = datetime(2031, 4, 1, 3, 0, tzinfo=UTC)
        assert "2031年4月1日時点の判定" in c.get("/").text
    assert len(builds) == 2


def test_a_signed_in_page_and_an_anonymous_page_share_only_the_body(  # type: ignore[no-untyped-def]
        session_factory: sessionmaker[Session], builds: list[Any]) -> None:
    with make_client(session_factory) as admin, make_client(session_factory) as anon, \
            make_client(session_factory) as other:
        sign_in_directly(admin, session_factory, "admin")
        sign_in_directly(other, session_factory, "aizu")
        csrf = admin.headers["X-CSRF-Token"]
        mine = admin.get("/").text             # built for the administrator's request …
        public = anon.get("/").text            # … and then served to the public
        theirs = other.get("/").text
        again = admin.get("/").text            # and the public's back to a signed-in reader
        assert len(builds) == 1
        assert main_of(mine) == main_of(public) == main_of(theirs) == main_of(again)
        who = re.search(r'<span class="who">([^<]+)</span>', mine)
        assert who is not None and csrf in mine and "サインアウト" in mine
        for page in (public, theirs):
            assert who[1] not in page
            assert csrf not in page
        assert 'class="who"' not in public and "X-CSRF-Token" not in public and "サインイン" in public
        assert "/observations/new" in mine and "/observations/new" not in public   # the admin's menu
        assert other.headers["X-CSRF-Token"] in theirs and other.headers["X-CSRF-Token"] not in again
        assert who[1] in again and csrf in again
