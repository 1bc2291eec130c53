"""伴走型支援 from the pages alone (issue 15, item 5): the national desk opens a plan for a local
government, assigns national and regional staff and adds goals linked to a national measure and
KPI; bad input is said beside its form with nothing written; the local government and others do
not get the desk's forms. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from digiden.store.consult_models import ConsultPlan, ConsultPlanGoal, ConsultPlanStaff
from digiden.store.models import AuditEvent
from tests.conftest import FIXED_NOW as NOW
from tests.web.helpers import Clients, count

PLAN = {"org_unit": "072028", "title": "会津若松市の窓口DX伴走支援", "origin": "request", "starts_on": "2026-12-01",
        "ends_on": "2027-03-31"}


def _version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page)[1]  # type: ignore[index]


def test_the_desk_opens_a_plan_assigns_staff_and_adds_goals_through_the_pages(
        as_: Clients, soumu: str, clock: list[Any], session_factory: sessionmaker[Session]) -> None:
    admin = as_("admin")
    listing = admin.get("/plans")
    assert "支援計画を作る" in listing.text and 'action="/plans"' in listing.text
    # an end before the start: said beside the form, what was typed kept, nothing written
    before = (count(session_factory, ConsultPlan), count(session_factory, AuditEvent))
    r = admin.post("/plans", data=PLAN | {"ends_on": "2026-11-01"})
    assert r.status_code == 422 and "何も作成されていません" in r.text and "終了日" in r.text
    assert 'value="会津若松市の窓口DX伴走支援"' in r.text
    r = admin.post("/plans", data=PLAN | {"org_unit": "999999"})
    assert r.status_code in (404, 422) and "999999" in r.text
    assert (count(session_factory, ConsultPlan), count(session_factory, AuditEvent)) == before
    r = admin.post("/plans", data=PLAN, follow_redirects=False)
    assert r.status_code == 303
    plan = re.fullmatch(r"/plans/(\d+)\?done=started", r.headers["location"])[1]  # type: ignore[index]
    page = admin.get(r.headers["location"]).text
    assert "支援計画を作成しました" in page and "会津若松市" in page and "担当する職員を割り当てる" in page
    # staff: an unknown account is said beside the form; the 総務省 account as regional staff
    r = admin.post(f"/plans/{plan}/staff", data={"username": "no-such-user", "side": "national"})
    assert "ユーザー「no-such-user」は存在しません" in r.text and count(session_factory, ConsultPlanStaff) == 0
    r = admin.post(f"/plans/{plan}/staff", data={"username": "ministry", "side": "regional",
                                                 "office": "東北総合通信局", "role_note": "通信の相談"},
                   follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(f"/plans/{plan}").text
    assert "地方支分部局" in page and "東北総合通信局" in page and "通信の相談" in page
    # goals: an unknown measure is refused; one linked to a national measure and KPI is listed
    clock[0] = NOW + timedelta(minutes=1)
    r = admin.post(f"/plans/{plan}/goals", data={"title": "光回線の整備", "measure": "no-such-measure",
                                                 "version": _version(page)})
    assert r.status_code == 422 and "施策「no-such-measure」は登録されていません" in r.text
    assert count(session_factory, ConsultPlanGoal) == 0
    r = admin.post(f"/plans/{plan}/goals", data={"title": "光回線の整備", "measure": soumu,
                                                 "kpi": "5g-population-coverage", "local_kpi": "光回線の世帯カバー率",
                                                 "version": _version(page)}, follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(f"/plans/{plan}").text
    assert "光回線の整備" in page and f'href="/measures/{soumu}"' in page and "光回線の世帯カバー率" in page
    # the local government sees its plan and may add goals, but neither opens plans nor assigns staff
    aizu = as_("aizu")
    mine = aizu.get(f"/plans/{plan}").text
    assert "光回線の整備" in mine and "担当する職員を割り当てる" not in mine and "目標を加える" in mine
    assert "支援計画を作る" not in aizu.get("/plans").text
    assert aizu.post("/plans", data=PLAN).status_code == 403
    assert aizu.post(f"/plans/{plan}/staff", data={"username": "aizu", "side": "national"}).status_code == 403
    # another local government: the plan is 404 for the staff form too
    assert as_("kitakata").post(f"/plans/{plan}/staff", data={"username": "x", "side": "national"}).status_code == 404
