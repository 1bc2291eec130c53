"""重点支援 pages (issue 14) on both databases, as the public, an applicant and the nation: the
programmes with digiden's live count beside (never mixed with) the national KPI's published
figure, a call's rubric and published 採択結果 with its CSV, the applications each viewer may
open, the selection proposal beside greedy with policy switches, the decision and publication
through the page forms, and an application that is 404 to whom may not open it exactly as an
unknown id is."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.support import applications as apps
from digiden.services.support import programmes as pg
from digiden.services.support import review
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, SupportCall
from tests.conftest import FIXED_NOW as NOW
from tests.web.test_access_matrix import support_fixture

GRANT = "digital-garden-city-grant"


@pytest.fixture
def ids(session_factory: sessionmaker[Session], accounts: dict[str, Any]) -> dict[str, str]:
    return support_fixture(UnitOfWork(session_factory), accounts)


def test_programmes_show_the_national_figure_beside_digidens_count(as_, ids) -> None:  # type: ignore[no-untyped-def]
    r = as_("public").get("/programmes")
    assert r.status_code == 200
    for name in ("スマートシティ", "脱炭素先行地域", "デジタル田園都市国家構想交付金"):
        assert name in r.text
    assert "国の KPI（公表値）" in r.text and "digiden の集計" in r.text and "足し合わせません" in r.text
    detail = as_("public").get("/programmes/decarbonization-leading")
    assert detail.status_code == 200
    # the 77 published selections, counted live, by state, on a prefecture map and in a table
    assert "選定地域の数" in detail.text and "<svg" in detail.text and "選定" in detail.text
    assert "合算しません" in detail.text
    assert "うち1件はデモ用の合成データです" in r.text          # the fixture's published synthetic selection
    grant = as_("public").get(f"/programmes/{GRANT}")
    assert f'href="/calls/{ids["closed"]}"' in grant.text and "合成データ" in grant.text
    assert as_("public").get("/programmes/no-such-programme").status_code == 404


def test_a_published_call_shows_its_rubric_and_result_to_the_public(as_, ids) -> None:  # type: ignore[no-untyped-def]
    r = as_("public").get(f"/calls/{ids['closed']}")
    assert r.status_code == 200
    assert "評価基準" in r.text and "100点" in r.text and "採択結果" in r.text and "合成データ" in r.text
    assert "日本時間" in r.text and "50,000,000円" in r.text
    assert f'/api/v1/calls/{ids["closed"]}/results?format=csv' in r.text
    assert "喜多方市" in r.text                                   # the selected proposal
    assert "閲覧できる申請" not in r.text and "審査の進み具合" not in r.text
    unpublished = as_("public").get(f"/calls/{ids['call']}")
    assert "まだ公表されていません" in unpublished.text
    assert as_("public").get("/calls/999999").status_code == 404


def test_applicants_see_their_own_applications_with_status_and_nobody_elses(as_, ids) -> None:  # type: ignore[no-untyped-def]
    aizu = as_("aizu").get(f"/calls/{ids['call']}")
    assert f'href="/applications/{ids["draft"]}"' in aizu.text and "下書き" in aizu.text
    assert f'href="/applications/{ids["submitted"]}"' not in aizu.text     # 札幌市's
    assert "審査の進み具合" not in aizu.text and "選定案を見る" not in aizu.text
    admin = as_("admin").get(f"/calls/{ids['call']}")
    assert "審査の進み具合" in admin.text and f'href="/applications/{ids["submitted"]}"' in admin.text


@pytest.mark.parametrize("who", ["public", "kitakata", "sapporo", "fukushima"])
def test_an_application_one_may_not_open_is_404_like_an_unknown_id(as_, ids, who: str) -> None:  # type: ignore[no-untyped-def]
    c = as_(who)
    hidden, unknown = c.get(f"/applications/{ids['draft']}"), c.get("/applications/999999")
    assert hidden.status_code == unknown.status_code == 404
    assert "合成データ: 申請" not in hidden.text
    assert re.sub(r"\d+", "N", hidden.text) == re.sub(r"\d+", "N", unknown.text)


def test_the_applicant_opens_its_application(as_, ids) -> None:  # type: ignore[no-untyped-def]
    r = as_("aizu").get(f"/applications/{ids['joint']}")
    assert r.status_code == 200
    assert "合成データ: 申請" in r.text and "下書き" in r.text and "喜多方市" in r.text and "参加未確認" in r.text
    assert "合成データ（デモ用）" in r.text


def test_the_selection_page_is_the_nations(as_, ids) -> None:  # type: ignore[no-untyped-def]
    assert as_("aizu").get(f"/calls/{ids['call']}/selection").status_code == 403
    assert as_("public").get(f"/calls/{ids['call']}/selection", follow_redirects=False).status_code == 303
    r = as_("admin").get(f"/calls/{ids['call']}/selection")
    assert r.status_code == 200
    assert "最適解（提案）" in r.text and "貪欲法（比較）" in r.text and "未審査" in r.text
    assert "再計算する" in r.text


def test_an_unreadable_policy_is_told_in_japanese_with_the_form_kept(as_, ids) -> None:  # type: ignore[no-untyped-def]
    r = as_("admin").get(f"/calls/{ids['call']}/selection?per_prefecture_cap=abc")
    assert r.status_code == 422
    assert 'role="alert"' in r.text and "何も変更されていません" in r.text and 'value="abc"' in r.text


def _closed_call(session_factory: sessionmaker[Session], accounts: dict[str, Any]) -> tuple[int, int, int]:
    """A call closing in an hour with two submitted and scored applications (会津若松市, 札幌市)."""
    uow = UnitOfWork(session_factory)
    crit = [{"code": "vision", "name": "整合", "weight": 100, "max_points": 5}]
    call = pg.create_call(uow, accounts["admin"], GRANT, {
        "round": 9, "title": "合成データ: ページの公募", "opens_at": (NOW - timedelta(days=1)).isoformat(),
        "closes_at": (NOW + timedelta(hours=1)).isoformat(), "budget": 3_000_000, "synthetic": True,
        "criteria": crit}, now=NOW).id
    a = apps.save_draft(uow, accounts["aizu"], call, {"title": "合成データ: 会津の提案", "requested_amount": 2_000_000},
                        now=NOW).id
    b = apps.save_draft(uow, accounts["sapporo"], call, {"title": "合成データ: 札幌の提案",
                                                         "requested_amount": 2_000_000}, now=NOW).id
    apps.submit(uow, accounts["aizu"], a, now=NOW)
    apps.submit(uow, accounts["sapporo"], b, now=NOW)
    review.assign_reviewer(uow, accounts["admin"], call, "ministry", now=NOW)
    review.score(uow, accounts["ministry"], a, {"vision": 5}, now=NOW)
    review.score(uow, accounts["ministry"], b, {"vision": 3}, now=NOW)
    return call, a, b


def test_the_nation_decides_and_publishes_through_the_page(as_, clock, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    call, a, b = _closed_call(session_factory, accounts)
    admin = as_("admin")
    clock[0] = NOW + timedelta(hours=2)
    page = admin.get(f"/calls/{call}/selection")
    assert "この条件の最適解で選定を決定する" in page.text and "予算" in page.text
    # one fits the budget: the better one selected, the other told why (in its own row)
    rows = {r.split("</td>", 1)[0]: r for r in page.text.split('<tr><td><a href="/applications/')[1:]}
    assert "<strong>選定</strong>" in rows[f'{a}">合成データ: 会津の提案</a>']
    assert "<strong>不選定</strong>" in rows[f'{b}">合成データ: 札幌の提案</a>']
    assert "予算が不足" in rows[f'{b}">合成データ: 札幌の提案</a>']
    r = admin.post(f"/calls/{call}/decision", data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("done=decided")
    assert "採択結果を公表する" in admin.get(r.headers["location"]).text
    r = admin.post(f"/calls/{call}/publication", follow_redirects=False)
    assert r.status_code == 303
    public = as_("public").get(f"/calls/{call}")
    assert "合成データ: 会津の提案" in public.text and "合成データ: 札幌の提案" not in public.text
    # the applicant not selected sees its own application as 不選定, and why; nobody else sees it
    sapporo = as_("sapporo").get(f"/calls/{call}").text
    assert "選定されなかった" in sapporo and "理由: " in sapporo and "予算が不足" in sapporo
    assert "予算が不足" not in public.text and "予算が不足" not in as_("aizu").get(f"/calls/{call}").text
    with UnitOfWork(session_factory).for_reading() as u:
        assert u.session.get(SupportCall, call).published_at is not None   # type: ignore[union-attr]
        actions = set(u.session.scalars(select(AuditEvent.action).where(
            AuditEvent.entity == "support_call", AuditEvent.entity_key == str(call))))
    assert {"call.decide", "call.publish"} <= actions                   # both steps audited


def test_a_decision_before_the_deadline_is_refused_on_the_page_with_nothing_written(  # type: ignore[no-untyped-def]
        as_, session_factory, accounts) -> None:
    call, _a, _b = _closed_call(session_factory, accounts)
    r = as_("admin").post(f"/calls/{call}/decision", data={}, follow_redirects=False)
    assert r.status_code == 409 and 'role="alert"' in r.text and "何も変更されていません" in r.text
    with UnitOfWork(session_factory).for_reading() as u:
        assert u.session.get(SupportCall, call).decided_at is None   # type: ignore[union-attr]


def test_only_the_nation_may_decide_or_publish(as_, ids, session_factory) -> None:  # type: ignore[no-untyped-def]
    for who in ("aizu", "ministry"):
        assert as_(who).post(f"/calls/{ids['call']}/decision", data={}).status_code == 403
        assert as_(who).post(f"/calls/{ids['closed']}/publication").status_code == 403


def test_the_menu_leads_to_the_programmes(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/").text
    assert '<a href="/programmes" >重点支援</a>' in html or '<a href="/programmes">重点支援</a>' in html
    assert 'href="/programmes" aria-current="page">重点支援' in anon.get("/programmes").text
