"""Paging through `GET /api/v1/audit` (issue 12 goal 3): a national administrator reads past the
newest 1,000 events by following `Link: <…>; rel="next"` (RFC 8288, keyset cursor `after` on the
event id, newest first), every event exactly once. The cursor never widens what a reader sees:
each event of a page passes the same visibility rules as before, and the next link appears only
when one more event *the reader may see* follows (hidden events after the last visible one give
no link and no empty page). A cursor made under other filters, or edited, is a 422 with a Japanese
message. The CLI's `digiden audit` pages the same way (`--after`). Both databases."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services import audit
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, Kpi, OrgUnit
from tests.conftest import FIXED_NOW as NOW
from tests.web.helpers import refused

AIZU = "072028"
KPI, OTHER_KPI = "5g-population-coverage", "satellite-offices"


def _next(r: Any) -> str | None:
    link = r.headers.get("link")
    if link is None:
        return None
    m = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert m, link
    assert m.group(1).startswith("/api/v1/audit?") and "after=" in m.group(1)
    return m.group(1)


def _walk(client: Any, url: str, limit: int) -> tuple[list[int], int]:
    """The ids of every page reached by following the links, and the number of pages."""
    ids: list[int] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        r = client.get(next_url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert isinstance(body, list) and 1 <= len(body) <= limit, (pages, body)   # never an empty page
        ids += [e["id"] for e in body]
        pages += 1
        next_url = _next(r)
        assert pages < 100
    return ids, pages


class Seed:
    """Write audit events straight into the (rolled back) test transaction, on a clean trail."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.sf = session_factory
        with self.sf() as s, s.begin():
            s.execute(delete(AuditEvent))
            self.aizu = s.scalars(select(OrgUnit.id).where(OrgUnit.code == AIZU)).one()
            self.kpis = {c: i for c, i in s.execute(select(Kpi.code, Kpi.id).where(Kpi.code.in_([KPI, OTHER_KPI])))}
        self.n = 0

    def add(self, kind: str, kpi: str | None = None) -> int:
        """``kind``: "visible" (national data, every signed-in reader), "ruled" (passes the coarse SQL
        filter for 福島県 but not the per-event rule: 会津若松市's draft, a practice that does not
        exist) or "admin" (an account: the administrator's only)."""
        self.n += 1
        kw: dict[str, Any] = {"kpi_id": self.kpis[kpi] if kpi else None}
        if kind == "visible":
            kw |= {"entity": "observation", "entity_key": f"obs-{self.n}"}
        elif kind == "ruled" and self.n % 2:
            kw |= {"entity": "local_strategy", "entity_key": f"{AIZU}#1", "org_unit_id": self.aizu,
                   "after": {"status": "draft", "vision": "下書き draft-secret"}}
        elif kind == "ruled":
            kw |= {"entity": "practice", "entity_key": "no-such-practice", "after": {"status": "draft"}}
        else:
            kw |= {"entity": "user", "entity_key": f"user-{self.n}"}
        with self.sf() as s, s.begin():
            ev = audit.record(s, actor="test", action="update", at=NOW + timedelta(seconds=self.n),
                              summary=f"{kind} {self.n}", **kw)
            s.flush()
            return ev.id


@pytest.fixture
def seed(session_factory: sessionmaker[Session]) -> Seed:
    return Seed(session_factory)


def _all_ids(session_factory: sessionmaker[Session]) -> list[int]:
    with session_factory() as s:
        return list(s.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc())))


def test_the_administrator_pages_through_every_event_once(seed: Seed, session_factory, client_as) -> None:  # type: ignore[no-untyped-def]
    for i in range(23):
        seed.add(("visible", "ruled", "admin")[i % 3])
    admin = client_as("admin")                        # signing in may add events of its own
    every = _all_ids(session_factory)
    assert len(every) >= 23
    for limit in (1, 5, 23, len(every)):
        ids, pages = _walk(admin, f"/api/v1/audit?limit={limit}", limit)
        assert ids == every, limit                    # newest first, each once, none left out
        assert pages == -(-len(every) // limit)
    r = admin.get("/api/v1/audit", params={"limit": 5})
    link = _next(r)
    assert link is not None and "limit=5" in link     # the link keeps the caller's parameters
    # the first page is what it was before paging existed
    assert [e["id"] for e in r.json()] == every[:5]


def test_the_next_link_needs_one_more_event_the_reader_may_see(seed: Seed, session_factory, client_as,  # type: ignore[no-untyped-def]
                                                               accounts) -> None:
    # oldest → newest: hidden events before, between and after the visible ones
    seed.add("ruled")
    v1, v2 = seed.add("visible"), seed.add("visible")
    seed.add("ruled"), seed.add("admin"), seed.add("ruled")
    v3, v4 = seed.add("visible"), seed.add("visible")
    for _ in range(5):
        seed.add("ruled")
        seed.add("admin")
    visible = [v4, v3, v2, v1]
    pref = client_as("fukushima")
    for limit in (1, 2, 3, 4, 5):
        ids, pages = _walk(pref, f"/api/v1/audit?limit={limit}", limit)
        assert ids == visible, limit
        assert pages == -(-len(visible) // limit), limit    # no page of nothing at the end
    r = pref.get("/api/v1/audit", params={"limit": 4})
    assert [e["id"] for e in r.json()] == visible and "link" not in r.headers
    assert "draft-secret" not in r.text
    # the service says the same
    page = audit.history_page(UnitOfWork(session_factory), accounts["fukushima"], limit=2)
    assert [e.id for e in page.items] == [v4, v3] and page.next_after is not None
    last = audit.history_page(UnitOfWork(session_factory), accounts["fukushima"], limit=2, after=page.next_after)
    assert [e.id for e in last.items] == [v2, v1] and last.next_after is None
    # history() (the pages' reader) is unchanged: the newest visible events
    assert [e.id for e in audit.history(UnitOfWork(session_factory), accounts["fukushima"], limit=3)] == [v4, v3, v2]


def test_a_cursor_never_shows_what_the_reader_may_not_see(seed: Seed, session_factory, client_as, accounts) -> None:  # type: ignore[no-untyped-def]
    v1 = seed.add("visible")
    hidden = [seed.add("ruled"), seed.add("admin"), seed.add("ruled")]
    v2 = seed.add("visible")
    admin, pref = client_as("admin"), client_as("fukushima")
    # the administrator's page ends on an event the prefecture may not see; the prefecture
    # following that cursor still sees only what it may see
    r = admin.get("/api/v1/audit", params={"limit": 1000})
    ids = [e["id"] for e in r.json()]
    pos = ids.index(hidden[-1])
    link = _next(admin.get("/api/v1/audit", params={"limit": pos + 1}))
    assert link is not None
    r = pref.get(link)
    assert r.status_code == 200 and [e["id"] for e in r.json()] == [v1] and "link" not in r.headers
    # a cursor built by hand (the digest is no secret) only moves the start
    token = audit._encode_cursor(audit._fingerprint(None, None, None), v2)
    r = pref.get("/api/v1/audit", params={"after": token})
    assert [e["id"] for e in r.json()] == [v1] and "draft-secret" not in r.text
    for h in hidden:
        token = audit._encode_cursor(audit._fingerprint(None, None, None), h + 1)
        assert all(e["id"] not in hidden for e in pref.get("/api/v1/audit", params={"after": token}).json())
    # the public reads nothing, cursor or not (401 before the cursor is looked at)
    assert client_as("public").get("/api/v1/audit", params={"after": "garbage"}).status_code == 401


def test_a_cursor_belongs_to_its_filters(seed: Seed, client_as) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        seed.add("visible", kpi=KPI)
        seed.add("visible", kpi=OTHER_KPI)
    admin = client_as("admin")
    ids, pages = _walk(admin, f"/api/v1/audit?kpi={KPI}&limit=3", 3)
    assert len(ids) == 4 and pages == 2
    link = _next(admin.get("/api/v1/audit", params={"kpi": KPI, "limit": 3}))
    assert link is not None
    cursor = re.search(r"after=([^&]+)", link).group(1)  # type: ignore[union-attr]
    for other in ({"kpi": OTHER_KPI}, {}, {"org_unit": AIZU}, {"kpi": KPI, "batch": 1}):
        err = refused(admin.get("/api/v1/audit", params={**other, "after": cursor}), 422, "after")
        assert "別の絞り込み" in err["message_ja"], err
    assert admin.get("/api/v1/audit", params={"kpi": KPI, "limit": 2, "after": cursor}).status_code == 200
    for bad in (cursor[:-1], "x" + cursor, cursor.split(".")[0], "not-a-cursor", "a" * 201):
        refused(admin.get("/api/v1/audit", params={"kpi": KPI, "after": bad}), 422, "after")


def test_the_openapi_declares_the_link_header(client_as) -> None:  # type: ignore[no-untyped-def]
    op = client_as("public").get("/openapi.json").json()["paths"]["/api/v1/audit"]["get"]
    assert "Link" in op["responses"]["200"]["headers"]
    assert any(p["name"] == "after" for p in op["parameters"])
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["type"] == "array"


def test_the_cli_pages_with_after(seed: Seed, session_factory, cli) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        seed.add("visible")
    code, out, err = cli("audit", "--limit", "3", "--json")
    assert code == 0, err
    first = [e["summary"] for e in json.loads(out)]
    m = re.search(r"--after (\S+)", err)
    assert len(first) == 3 and m, err
    code, out, err = cli("audit", "--limit", "100", "--json", "--after", m.group(1))
    assert code == 0, err
    rest = [e["summary"] for e in json.loads(out)]
    with session_factory() as s:
        every = list(s.scalars(select(AuditEvent.summary).order_by(AuditEvent.id.desc())))
    assert first + rest == every and "--after" not in err
