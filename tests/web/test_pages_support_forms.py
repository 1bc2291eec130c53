"""重点支援 through the HTML pages, on both databases: an applicant writes a draft application
(alone or jointly), a member confirms itself, the lead submits (refused after the deadline, with
the deadline in Japanese), withdraws and attaches files (a refused file named with why, nothing
written); a stale save is refused with the form kept; a selected region's page with its yearly
evaluation written through its form; the selection KPI's page shows digiden's count beside the
published national figure."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.support import programmes as pg
from digiden.services.uow import UnitOfWork
from digiden.store.models import SupportApplication, SupportAttachment, SupportEvaluation
from tests.conftest import FIXED_NOW as NOW
from tests.services.test_support_evaluations import region_with_kpis
from tests.web.helpers import Clients, count

GRANT = "digital-garden-city-grant"
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture
def call(session_factory: sessionmaker[Session], accounts: dict[str, Any]) -> int:
    return pg.create_call(UnitOfWork(session_factory), accounts["admin"], GRANT, {
        "round": 5, "title": "合成データ: 画面の公募", "opens_at": (NOW - timedelta(days=1)).isoformat(),
        "closes_at": (NOW + timedelta(hours=1)).isoformat(), "budget": 10_000_000, "joint_allowed": True,
        "joint_bonus": 5, "synthetic": True,
        "criteria": [{"code": "v", "name": "整合", "weight": 100, "max_points": 5}]}, now=NOW).id


FORM = {"title": "合成データ: 会津の提案", "members": "072087", "requested_amount": "5,000,000",
        "summary": "概要", "fields": "交通、観光", "measures-0-title": "データ連携", "measures-0-digital": "1",
        "kpis-0-name": "利用者数", "kpis-0-unit": "人", "kpis-0-baseline": "1,000", "kpis-0-target": "2000",
        "kpis-0-target_fy": "2028", "kpis-1-name": ""}


def test_an_applicant_writes_confirms_submits_through_the_pages(as_: Clients, call: int,
                                                                 session_factory: sessionmaker[Session]) -> None:
    aizu = as_("aizu")
    page = aizu.get(f"/calls/{call}")
    assert f'href="/calls/{call}/applications/new"' in page.text
    assert "この公募に申請する" not in as_("public").get(f"/calls/{call}").text
    form = aizu.get(f"/calls/{call}/applications/new")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text and "下書きを保存する" in form.text
    r = aizu.post(f"/calls/{call}/applications", data=FORM, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    app_id = int(re.search(r"/applications/(\d+)", r.headers["location"])[1])   # type: ignore[index]
    shown = aizu.get(r.headers["location"]).text
    assert "下書きを保存しました" in shown and "喜多方市" in shown and "参加未確認" in shown and "利用者数" in shown
    with UnitOfWork(session_factory).for_reading() as u:
        a = u.session.get(SupportApplication, app_id)
        assert a is not None and a.requested_amount == 5_000_000 and a.fields == ["交通", "観光"]
        assert a.kpis[0]["baseline"] == 1000 and a.kpis[0]["target_fy"] == 2028 and len(a.kpis) == 1
        assert a.measures[0]["digital"] is True

    # a bad value: the form again with the message and what was typed, nothing written
    bad = aizu.post(f"/calls/{call}/applications", data=FORM | {"kpis-0-baseline": "たくさん"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text and "KPI1の基準値は数値" in bad.text
    assert 'value="たくさん"' in bad.text and count(session_factory, SupportApplication) == 1

    # an edit from a stale copy is refused with the form kept; the newer save stays
    edit = aizu.get(f"/applications/{app_id}/edit")
    assert edit.status_code == 200 and 'name="version" value="1"' in edit.text
    assert aizu.post(f"/applications/{app_id}/edit", data=FORM | {"title": "新しい題", "version": "1"},
                     follow_redirects=False).status_code == 303
    stale = aizu.post(f"/applications/{app_id}/edit", data=FORM | {"title": "古い題", "version": "1"})
    assert stale.status_code == 409 and "他の人がこの申請を保存しました" in stale.text
    assert 'value="古い題"' in stale.text
    assert "最新の内容を読み込み直す" in stale.text
    # nobody else edits it: 404 to those who may not open it, 403 to a member
    assert as_("sapporo").get(f"/applications/{app_id}/edit").status_code == 404
    assert as_("kitakata").get(f"/applications/{app_id}/edit").status_code == 403

    # submission refused until the member confirms itself, then submitted
    refused = aizu.post(f"/applications/{app_id}/submit")
    assert refused.status_code == 409 and "喜多方市" in refused.text and "何も変更されていません" in refused.text
    kit = as_("kitakata")
    assert "としてこの共同提案への参加を確認する" in kit.get(f"/applications/{app_id}").text
    assert kit.post(f"/applications/{app_id}/confirm", data={"member": "072087"},
                    follow_redirects=False).status_code == 303
    assert aizu.post(f"/applications/{app_id}/confirm", data={"member": "072087"}).status_code == 403
    r = aizu.post(f"/applications/{app_id}/submit", follow_redirects=False)
    assert r.status_code == 303 and "申請を提出しました" in aizu.get(r.headers["location"]).text
    assert aizu.get(f"/applications/{app_id}/edit").status_code == 409             # no longer a draft
    r = aizu.post(f"/applications/{app_id}/withdraw", data={"reason": "見直し"}, follow_redirects=False)
    assert r.status_code == 303 and "取り下げ" in aizu.get(r.headers["location"]).text


def test_a_form_post_without_the_csrf_token_is_refused(as_: Clients, call: int,
                                                       session_factory: sessionmaker[Session]) -> None:
    c = as_("aizu")
    token = c.headers.pop("X-CSRF-Token")
    try:
        assert c.post(f"/calls/{call}/applications", data=FORM).status_code == 403
    finally:
        c.headers["X-CSRF-Token"] = token
    assert count(session_factory, SupportApplication) == 0


def test_submission_after_the_deadline_names_the_deadline(as_: Clients, call: int, clock: list[Any]) -> None:
    aizu = as_("aizu")
    r = aizu.post(f"/calls/{call}/applications", data=FORM | {"members": ""}, follow_redirects=False)
    app_id = int(re.search(r"/applications/(\d+)", r.headers["location"])[1])   # type: ignore[index]
    clock[0] = NOW + timedelta(hours=2)
    late = aizu.post(f"/applications/{app_id}/submit")
    assert late.status_code == 409 and "締切" in late.text and "日本時間" in late.text and "2026年11月29日" in late.text
    assert "下書き" in aizu.get(f"/applications/{app_id}").text
    new = aizu.post(f"/calls/{call}/applications", data=FORM | {"members": ""})
    assert new.status_code == 409 and "締切（2026年11月29日 19:00（日本時間））" in new.text


def test_files_are_attached_and_deleted_through_the_page(as_: Clients, call: int,
                                                         session_factory: sessionmaker[Session]) -> None:
    aizu = as_("aizu")
    r = aizu.post(f"/calls/{call}/applications", data=FORM | {"members": ""}, follow_redirects=False)
    app_id = int(re.search(r"/applications/(\d+)", r.headers["location"])[1])   # type: ignore[index]
    page = aizu.get(f"/applications/{app_id}").text
    assert 'enctype="multipart/form-data"' in page and "10MB" in page and "添付資料はありません" in page
    bad = aizu.post(f"/applications/{app_id}/attachments",
                    files=[("files", ("計画.pdf", PDF, "application/pdf")), ("files", ("実行.pdf", b"MZ...", "x/y"))])
    assert bad.status_code == 422 and "「実行.pdf」" in bad.text and "PDFではありません" in bad.text
    assert count(session_factory, SupportAttachment) == 0
    r = aizu.post(f"/applications/{app_id}/attachments", files=[("files", ("計画.pdf", PDF, "application/pdf"))],
                  follow_redirects=False)
    assert r.status_code == 303
    page = aizu.get(r.headers["location"]).text
    import hashlib
    assert "資料を添付しました" in page and hashlib.sha256(PDF).hexdigest() in page and "計画.pdf" in page
    with UnitOfWork(session_factory).for_reading() as u:
        fid = u.session.scalars(select(SupportAttachment.id)).one()
    assert f'href="/api/v1/applications/{app_id}/attachments/{fid}"' in page
    assert aizu.get(f"/api/v1/applications/{app_id}/attachments/{fid}").content == PDF
    assert as_("kitakata").post(f"/applications/{app_id}/attachments/{fid}/delete").status_code == 404
    r = aizu.post(f"/applications/{app_id}/attachments/{fid}/delete", follow_redirects=False)
    assert r.status_code == 303 and count(session_factory, SupportAttachment) == 0


def test_a_region_page_and_its_evaluation_form(as_: Clients, session_factory: sessionmaker[Session],
                                               accounts: dict[str, Any]) -> None:
    key = region_with_kpis(UnitOfWork(session_factory), accounts)
    programme = as_("public").get(f"/programmes/{GRANT}").text
    assert "/regions/" in programme
    public = as_("public").get(f"/regions/{key}")
    assert public.status_code == 200 and "約束した KPI" in public.text and "オンライン申請の利用率" in public.text
    assert "提出済みの国の評価だけ" in public.text and "を記入する" not in public.text
    aizu = as_("aizu")
    page = aizu.get(f"/regions/{key}").text
    assert "2026年度の自己評価を記入する" in page and "2026年度の国の評価を記入する" not in page
    form = {"kind": "self", "fiscal_year": "2026", "version": "0", "summary": "合成データ: 順調", "rating": "B",
            "actual-0": "14", "note-0": "", "actual-1": "", "action": "save"}
    r = aizu.post(f"/regions/{key}/evaluations", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    shown = aizu.get(r.headers["location"]).text
    assert "評価を保存しました" in shown and "順調" in shown and "下書き" in shown
    stale = as_("kitakata").post(f"/regions/{key}/evaluations", data=form | {"summary": "古い"})
    assert stale.status_code == 409 and "他の人がこの評価を保存しました" in stale.text
    bad = aizu.post(f"/regions/{key}/evaluations", data=form | {"version": "1", "actual-0": "多い"})
    assert bad.status_code == 422 and "数値で入力してください" in bad.text and 'value="多い"' in bad.text
    assert as_("sapporo").post(f"/regions/{key}/evaluations", data=form).status_code == 403
    r = aizu.post(f"/regions/{key}/evaluations", data=form | {"version": "1", "action": "submit"},
                  follow_redirects=False)
    assert r.status_code == 303
    with UnitOfWork(session_factory).for_reading() as u:
        e = u.session.scalars(select(SupportEvaluation)).one()
        assert (e.state, e.summary) == ("submitted", "合成データ: 順調")
    assert "合成データ: 順調" in as_("fukushima").get(f"/regions/{key}").text          # its prefecture
    assert "合成データ: 順調" not in as_("public").get(f"/regions/{key}").text         # a self-assessment
    assert as_("public").get("/regions/no-such-region").status_code == 404


def test_the_selection_kpi_shows_digidens_count_beside_the_national_figure(as_: Clients) -> None:
    r = as_("public").get("/kpis/decarbonization-leading-areas")
    assert r.status_code == 200
    assert "digiden に登録された選定" in r.text and "合算しません" in r.text
    assert 'href="/programmes/decarbonization-leading"' in r.text and "<svg" in r.text
