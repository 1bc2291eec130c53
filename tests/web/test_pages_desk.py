"""The desk's own pages (issue 15) on both databases: the dashboard shows the API's numbers and is
refused to whom the API refuses it; the offices with unconfirmed (INFERRED) areas shown as 未確認
until the national desk confirms them (audited), and an office added through the form; the rule
editor naming the field × prefecture pairs a rule would leave without an office and refusing to
save it; support plans: who sees them, a plan someone may not open 404 exactly as an unknown id,
meetings and action items through the forms, a due date before the start refused in Japanese and a
stale save refused (409) with nothing written."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.consult import plans
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultPlanAction, ConsultPlanMeeting, ConsultRule
from digiden.store.models import AuditEvent
from tests.conftest import FIXED_NOW as NOW
from tests.web.helpers import Clients, count

QUESTION = {"subject": "光ファイバ整備の補助について", "body": "補助の対象になりますか。", "kind": "programme"}
HX = {"HX-Request": "true"}


def _days(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}".rstrip("0").rstrip(".")


def _stat_rows(page: str) -> list[list[str]]:
    """The rows of the dashboard's per-office/field/month tables as text (group and six figures)."""
    out = []
    for table in re.findall(r'<table class="cards desk-stats">(.*?)</table>', page, re.S):
        for row in re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", table, re.S):
            cells = [re.sub(r"<span class=\"cell-label\">.*?</span>", "", c) for c in re.split(r"</th>|</td>", row)]
            out.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells if c.strip()])
    return out


def test_the_dashboard_shows_the_apis_numbers_and_is_refused_as_the_api_refuses_it(
        as_: Clients, soumu: str, clock: list[Any]) -> None:
    ministry = as_("ministry")
    ids = []
    for who in ("aizu", "aizu", "sapporo", "kitakata"):
        r = as_(who).post("/api/v1/consultations", json=QUESTION | {"measures": [soumu]})
        assert r.status_code == 201, r.text
        ids.append(r.json()["summary"]["id"])
    clock[0] = NOW + timedelta(hours=5)          # within the sessions' 8 hours
    for cid in ids[:2]:
        r = ministry.post(f"/api/v1/consultations/{cid}/replies", json={"body": "対象になります。"})
        assert r.status_code == 201
    assert as_("aizu").post(f"/api/v1/consultations/{ids[0]}/resolve").status_code == 200
    for who in ("admin", "ministry"):
        api = as_(who).get("/api/v1/desk/dashboard").json()
        page = as_(who).get("/desk")
        assert page.status_code == 200
        expected = [[s["group"], f"{s['received']}件", f"{s['open']}件", _days(s["first_response_median"]),
                     _days(s["first_response_p90"]), _days(s["resolution_median"]), _days(s["resolution_p90"])]
                    for s in api["by_office"] + api["by_field"] + api["by_month"]]
        assert _stat_rows(page.text) == expected and expected
        for label, n in api["open_by_age"].items():
            assert re.search(rf"{label}</th><td class=\"num\"><span class=\"cell-label\">件数</span>{n}件", page.text)
        assert f"{api['overdue']}件" in page.text and "開庁日" in page.text
    for who in ("aizu", "fukushima"):
        api, page = as_(who).get("/api/v1/desk/dashboard"), as_(who).get("/desk")
        assert page.status_code == api.status_code == 403
        assert api.json()["error"]["message_ja"] in page.text
    _sign_in_first(as_, "/desk", "/api/v1/desk/dashboard")


def _sign_in_first(as_: Clients, page_path: str, api_path: str) -> None:
    """The public: the API answers 401, the page sends to the sign-in form and back."""
    assert as_("public").get(api_path).status_code == 401
    r = as_("public").get(page_path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def _area_row(page: str, family: str, pref: str) -> str:
    m = re.search(rf'<tr id="area-{family}-{pref}">(.*?)</tr>', page, re.S)
    assert m, f"no row for {family}/{pref}"
    return m[1]


def test_an_unconfirmed_area_shows_as_such_until_the_national_desk_confirms_it(
        as_: Clients, session_factory: sessionmaker[Session]) -> None:
    admin = as_("admin")                           # signed in (audited) before counting
    public = as_("public").get("/desk/offices")
    assert public.status_code == 200 and "北海道総合通信局" in public.text
    assert "未確認" in _area_row(public.text, "総合通信局", "01")
    assert 'action="/desk/offices/confirm"' not in public.text
    for who in ("ministry", "aizu"):
        assert 'action="/desk/offices/confirm"' not in as_(who).get("/desk/offices").text
    before = count(session_factory, AuditEvent)
    for who in ("ministry", "aizu", "public"):
        r = as_(who).post("/desk/offices/confirm", data={"family": "総合通信局", "prefecture": "01"})
        assert r.status_code in (401, 403)
    assert count(session_factory, AuditEvent) == before
    page = admin.get("/desk/offices").text
    assert "北海道の管轄を確認済みにする" in _area_row(page, "総合通信局", "01")
    r = admin.post("/desk/offices/confirm", data={"family": "総合通信局", "prefecture": "01"}, follow_redirects=False)
    assert r.status_code == 303
    after = admin.get(r.headers["location"])
    assert "管轄を確認済みにしました" in after.text
    row = _area_row(after.text, "総合通信局", "01")
    assert "確認済み" in row and "未確認" not in row
    with UnitOfWork(session_factory).for_reading() as u:
        ev = u.session.scalars(select(AuditEvent).where(AuditEvent.action == "consult.area_confirm")).one()
        assert ev.entity_key == "総合通信局/01" and ev.actor == "admin"
    # confirming it again is refused in Japanese on the page, nothing written
    again = admin.post("/desk/offices/confirm", data={"family": "総合通信局", "prefecture": "01"})
    assert again.status_code == 409 and "既に確認済み" in again.text
    assert count(session_factory, AuditEvent) == before + 1


def test_the_national_desk_adds_an_office_of_another_ministry_through_the_form(
        as_: Clients, session_factory: sessionmaker[Session]) -> None:
    admin = as_("admin")
    before = count(session_factory, AuditEvent)
    office = {"name": "北海道教育事務所", "ministry": "文部科学省", "family": "教育事務所"}
    bad = admin.post("/desk/offices", data=office)
    assert bad.status_code == 422 and "管轄する都道府県を指定してください" in bad.text
    assert 'value="北海道教育事務所"' in bad.text           # what was typed comes back
    assert count(session_factory, AuditEvent) == before
    r = admin.post("/desk/offices", data=office | {"prefectures": ["01"]}, follow_redirects=False)
    assert r.status_code == 303
    page = admin.get("/desk/offices").text
    assert "北海道教育事務所" in page and "管理者が追加" in page
    assert "確認済み" in _area_row(page, "教育事務所", "01")
    with UnitOfWork(session_factory).for_reading() as u:
        assert u.session.scalars(select(AuditEvent.entity_key).where(
            AuditEvent.action == "consult.office_add")).all() == ["北海道教育事務所"]
    assert as_("ministry").post("/desk/offices", data={"name": "x", "ministry": "y"}).status_code == 403


def test_the_rule_editor_names_the_pairs_left_without_an_office_and_refuses_to_save(
        as_: Clients, session_factory: sessionmaker[Session]) -> None:
    admin = as_("admin")
    page = admin.get("/desk/rules")
    assert page.status_code == 200 and "振り分けルール" in page.text and "一般的な相談" in page.text
    assert "担当部局のない分野×都道府県の組み合わせはありません" in page.text
    for who in ("ministry", "aizu"):
        api, mine = as_(who).get("/api/v1/desk/rules"), as_(who).get("/desk/rules")
        assert mine.status_code == api.status_code == 403
    _sign_in_first(as_, "/desk/rules", "/api/v1/desk/rules")
    # デジタル庁 has no office: every prefecture is left without one, and the editor says so while typing
    frag = admin.get("/desk/rules/check", params={"ministry": "デジタル庁", "field": "P1"}, headers=HX)
    assert frag.status_code == 200 and "<html" not in frag.text
    assert "担当部局のない組み合わせが47組" in frag.text and "P1×北海道" in frag.text and "P1×沖縄県" in frag.text
    ok = admin.get("/desk/rules/check", params={"ministry": "総務省", "field": "P1", "family": "総合通信局"},
                   headers=HX)
    assert "すべての都道府県に担当部局があります" in ok.text
    rules, events = count(session_factory, ConsultRule), count(session_factory, AuditEvent)
    r = admin.post("/desk/rules", data={"ministry": "デジタル庁", "field": "P1", "family": "", "priority": "100"})
    assert r.status_code == 422
    assert "担当部局のない組み合わせが47組あります" in r.text and "P1×北海道" in r.text
    assert "何も変更されていません" in r.text
    assert 'value="デジタル庁"' in r.text
    assert (count(session_factory, ConsultRule), count(session_factory, AuditEvent)) == (rules, events)
    bad = admin.post("/desk/rules", data={"ministry": "総務省", "field": "P1", "priority": "高い"})
    assert bad.status_code == 422 and "優先度" in bad.text
    r = admin.post("/desk/rules", data={"ministry": "総務省", "field": "P1", "family": "総合通信局", "priority": "50"},
                   follow_redirects=False)
    assert r.status_code == 303 and count(session_factory, ConsultRule) == rules + 1
    # a service level through its form; a resolution shorter than the first response is refused
    refused = admin.post("/desk/service-levels/general", data={"first_response_days": "5", "resolution_days": "2"})
    assert refused.status_code == 422 and "何も変更されていません" in refused.text
    done = admin.post("/desk/service-levels/general", data={"first_response_days": "4", "resolution_days": "16"},
                      follow_redirects=False)
    assert done.status_code == 303
    assert 'value="16"' in admin.get("/desk/rules").text


@pytest.fixture
def plan_id(session_factory: sessionmaker[Session], accounts: dict[str, Any]) -> int:
    return plans.start(UnitOfWork(session_factory), accounts["admin"], org_code="072028",
                       title="合成データ: 窓口のデジタル化の伴走支援", origin="request", starts_on=date(2026, 12, 1),
                       now=NOW, synthetic=True)


def test_plans_are_listed_for_whom_may_see_them(as_: Clients, plan_id: int) -> None:
    for who in ("admin", "aizu", "fukushima"):
        r = as_(who).get("/plans")
        assert r.status_code == 200 and f'href="/plans/{plan_id}"' in r.text and "合成データ" in r.text
    for who in ("kitakata", "sapporo", "ministry"):
        assert f'href="/plans/{plan_id}"' not in as_(who).get("/plans").text
    _sign_in_first(as_, "/plans", "/api/v1/plans")


@pytest.mark.parametrize("who", ["kitakata", "sapporo", "hokkaido", "ministry"])
def test_a_plan_one_may_not_open_is_404_like_an_unknown_id(as_: Clients, plan_id: int, who: str) -> None:
    c = as_(who)
    for hidden_path, unknown_path, data in (
            (f"/plans/{plan_id}", "/plans/999999", None),
            (f"/plans/{plan_id}/meetings", "/plans/999999/meetings", {"held_on": "2026-12-02", "title": "横から"}),
            (f"/plans/{plan_id}/actions", "/plans/999999/actions",
             {"title": "横から", "owner": "x", "due_on": "2026-12-20"})):
        hidden = c.get(hidden_path) if data is None else c.post(hidden_path, data=data)
        unknown = c.get(unknown_path) if data is None else c.post(unknown_path, data=data)
        assert hidden.status_code == unknown.status_code == 404
        assert "窓口のデジタル化" not in hidden.text
        assert re.sub(r"\d+", "N", hidden.text) == re.sub(r"\d+", "N", unknown.text)
    public = as_("public")
    hidden, unknown = (public.get(p, follow_redirects=False) for p in (f"/plans/{plan_id}", "/plans/999999"))
    assert hidden.status_code == unknown.status_code == 303
    assert public.get(f"/api/v1/plans/{plan_id}").status_code == public.get("/api/v1/plans/999999").status_code \
        == 401


def test_meetings_and_action_items_through_the_forms(as_: Clients, plan_id: int, clock: list[Any],
                                                    session_factory: sessionmaker[Session]) -> None:
    aizu = as_("aizu")
    page = aizu.get(f"/plans/{plan_id}")
    assert page.status_code == 200 and "合成データ（デモ用）" in page.text and "会議を記録する" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)[1]  # type: ignore[index]
    clock[0] = NOW + timedelta(minutes=1)
    r = aizu.post(f"/plans/{plan_id}/meetings", data={"held_on": "2026-12-02", "title": "初回打合せ",
                                                      "minutes": "現状の確認", "version": version},
                  follow_redirects=False)
    assert r.status_code == 303
    page = aizu.get(f"/plans/{plan_id}")
    assert "初回打合せ" in page.text and "現状の確認" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)[1]  # type: ignore[index]
    # a due date before the plan's start: refused in Japanese, what was typed kept, nothing written
    actions, events = count(session_factory, ConsultPlanAction), count(session_factory, AuditEvent)
    r = aizu.post(f"/plans/{plan_id}/actions", data={"title": "要件整理", "owner": "企画課", "due_on": "2026-11-30",
                                                     "version": version})
    assert r.status_code == 422
    assert "期限（2026-11-30）が開始日（2026-12-01）より前です" in r.text and 'value="要件整理"' in r.text
    bad_date = aizu.post(f"/plans/{plan_id}/actions", data={"title": "要件整理", "owner": "企画課", "due_on": "12/20",
                                                            "version": version})
    assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.text
    assert (count(session_factory, ConsultPlanAction), count(session_factory, AuditEvent)) == (actions, events)
    clock[0] = NOW + timedelta(minutes=2)
    r = aizu.post(f"/plans/{plan_id}/actions", data={"title": "要件整理", "owner": "企画課", "due_on": "2026-12-20",
                                                     "version": version}, follow_redirects=False)
    assert r.status_code == 303
    page = aizu.get(f"/plans/{plan_id}").text
    action = re.search(rf'action="/plans/{plan_id}/actions/(\d+)/state"', page)[1]  # type: ignore[index]
    version = re.search(r'name="version" value="(\d+)"', page)[1]  # type: ignore[index]
    clock[0] = NOW + timedelta(minutes=3)
    r = aizu.post(f"/plans/{plan_id}/actions/{action}/state", data={"state": "done", "version": version},
                  follow_redirects=False)
    assert r.status_code == 303
    done = as_("admin").get(f"/plans/{plan_id}").text
    assert "取組「要件整理」完了" in done and "取組 1/1 完了" in done
    # the prefecture follows the plan: no forms, and a post is refused
    pref = as_("fukushima").get(f"/plans/{plan_id}").text
    assert "閲覧のみ" in pref and 'action="/plans/' not in pref
    assert as_("fukushima").post(f"/plans/{plan_id}/meetings",
                                 data={"held_on": "2026-12-03", "title": "県から"}).status_code == 403


def test_a_stale_save_is_refused_with_nothing_written(as_: Clients, plan_id: int, clock: list[Any],
                                                      session_factory: sessionmaker[Session]) -> None:
    aizu, admin = as_("aizu"), as_("admin")
    version = re.search(r'name="version" value="(\d+)"', aizu.get(f"/plans/{plan_id}").text)[1]  # type: ignore[index]
    clock[0] = NOW + timedelta(minutes=5)
    r = admin.post(f"/plans/{plan_id}/meetings", data={"held_on": "2026-12-02", "title": "国との打合せ"},
                   follow_redirects=False)
    assert r.status_code == 303
    meetings, actions = count(session_factory, ConsultPlanMeeting), count(session_factory, ConsultPlanAction)
    clock[0] = NOW + timedelta(minutes=6)
    for path, data in ((f"/plans/{plan_id}/meetings", {"held_on": "2026-12-03", "title": "二回目"}),
                       (f"/plans/{plan_id}/actions", {"title": "調達", "owner": "企画課", "due_on": "2027-01-20"})):
        stale = aizu.post(path, data=data | {"version": version})
        assert stale.status_code == 409
        assert "読み込んだ後に他の人が変更しました" in stale.text and "読み込み直す" in stale.text
    assert (count(session_factory, ConsultPlanMeeting), count(session_factory, ConsultPlanAction)) == \
        (meetings, actions)
