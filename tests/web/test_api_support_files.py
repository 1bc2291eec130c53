"""重点支援 through the API, on both databases: files attached to an application (PDF and .xlsx
recognised by their content, size-limited, with their SHA-256), downloadable only by who may
open the application; yearly evaluation reports of a selected region with a stale save refused;
a rubric changed from a stale copy refused."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.support import attachments
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, SupportAttachment, SupportCall, SupportEvaluation
from tests.services.test_support_evaluations import region_with_kpis
from tests.web.helpers import Clients, count, refused
from tests.web.test_access_matrix import support_fixture

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def xlsx(extra: str = "xl/workbook.xml") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(extra, "<workbook/>")
    return buf.getvalue()


@pytest.fixture
def ids(session_factory: sessionmaker[Session], accounts: dict[str, Any]) -> dict[str, str]:
    return support_fixture(UnitOfWork(session_factory), accounts)


def test_files_are_attached_listed_downloaded_and_deleted(as_: Clients, ids: dict[str, str],
                                                          session_factory: sessionmaker[Session]) -> None:
    aizu, draft = as_("aizu"), ids["draft"]
    r = aizu.post(f"/api/v1/applications/{draft}/attachments",
                  files=[("files", ("事業計画書.pdf", PDF, "application/pdf")),
                         ("files", ("KPI.xlsx", xlsx(), "application/octet-stream"))])
    assert r.status_code == 201, r.text
    got = {x["file_name"]: x for x in r.json()}
    assert got["事業計画書.pdf"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert got["KPI.xlsx"]["media_type"] == attachments.XLSX and got["KPI.xlsx"]["size"] == len(xlsx())
    listed = aizu.get(f"/api/v1/applications/{draft}/attachments").json()
    assert [x["file_name"] for x in listed] == ["計画.pdf", "事業計画書.pdf", "KPI.xlsx"]   # the fixture's first
    fid = got["事業計画書.pdf"]["id"]
    d = aizu.get(f"/api/v1/applications/{draft}/attachments/{fid}")
    assert d.status_code == 200 and d.content == PDF and d.headers["content-type"] == "application/pdf"
    assert "attachment;" in d.headers["content-disposition"] and "filename*=UTF-8''" in d.headers["content-disposition"]
    assert d.headers["x-content-sha256"] == hashlib.sha256(PDF).hexdigest()
    # nobody else may open the draft: 404 exactly like an unknown file
    for who in ("public", "kitakata", "fukushima", "ministry", "sapporo"):
        hidden = refused(as_(who).get(f"/api/v1/applications/{draft}/attachments/{fid}"), 404)
        refused(as_(who).get(f"/api/v1/applications/{draft}/attachments"), 404)
        assert "事業計画書" not in str(hidden)
    refused(aizu.get(f"/api/v1/applications/{draft}/attachments/999999"), 404)
    refused(aizu.get(f"/api/v1/applications/{ids['joint']}/attachments/{fid}"), 404)   # another application's
    assert as_("admin").get(f"/api/v1/applications/{draft}/attachments/{fid}").status_code == 200
    # delete: the lead only, while a draft
    refused(as_("admin").delete(f"/api/v1/applications/{ids['selected']}/attachments/{fid}"), 404)
    assert aizu.delete(f"/api/v1/applications/{draft}/attachments/{fid}").status_code == 204
    assert [x["file_name"] for x in aizu.get(f"/api/v1/applications/{draft}/attachments").json()] == ["計画.pdf",
                                                                                                     "KPI.xlsx"]
    with UnitOfWork(session_factory).for_reading() as u:
        from sqlalchemy import select
        acts = list(u.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_key == draft,
                                                                       AuditEvent.entity == "support_application")))
    assert acts.count("application.attach") == 3 and acts.count("application.detach") == 1   # the fixture's too


@pytest.mark.parametrize(("name", "data", "why"), [
    ("計画.docx", b"PK\x03\x04 whatever", "PDF（.pdf）と Excel（.xlsx）だけ"),
    ("偽物.pdf", b"MZ\x90\x00 an executable", "PDFではありません"),
    ("偽物.xlsx", xlsx("word/document.xml"), "Excel（.xlsx）ではありません"),   # a .docx renamed
    ("空.pdf", b"", "空です"),
])
def test_a_refused_file_is_named_with_why_and_nothing_is_written(as_: Clients, ids: dict[str, str], name: str,
                                                                 data: bytes, why: str,
                                                                 session_factory: sessionmaker[Session]) -> None:
    before = count(session_factory, SupportAttachment)
    r = as_("aizu").post(f"/api/v1/applications/{ids['draft']}/attachments",
                         files=[("files", ("良い.pdf", PDF, "application/pdf")), ("files", (name, data, "x/y"))])
    err = refused(r, 422, "files")
    assert name in err["message_ja"] and why in err["message_ja"], err
    assert count(session_factory, SupportAttachment) == before


def test_files_over_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch, as_: Clients, ids: dict[str, str],
                                          session_factory: sessionmaker[Session]) -> None:
    monkeypatch.setattr(attachments, "MAX_BYTES", 100)
    before = count(session_factory, SupportAttachment)
    err = refused(as_("aizu").post(f"/api/v1/applications/{ids['draft']}/attachments",
                                   files=[("files", ("大きい.pdf", PDF + b"x" * 200, "application/pdf"))]), 422)
    assert "大きい.pdf" in err["message_ja"] and "上限" in err["message_ja"]
    assert count(session_factory, SupportAttachment) == before


def test_only_a_drafts_lead_attaches(as_: Clients, ids: dict[str, str]) -> None:
    pdf = [("files", ("a.pdf", PDF, "application/pdf"))]
    refused(as_("kitakata").post(f"/api/v1/applications/{ids['joint']}/attachments", files=pdf), 403)
    refused(as_("sapporo").post(f"/api/v1/applications/{ids['submitted']}/attachments", files=pdf), 409)
    refused(as_("public").post(f"/api/v1/applications/{ids['draft']}/attachments", files=pdf), 401)   # the edge


def test_evaluation_reports_through_the_api(as_: Clients, session_factory: sessionmaker[Session],
                                            accounts: dict[str, Any]) -> None:
    key = region_with_kpis(UnitOfWork(session_factory), accounts)
    aizu, admin, public = as_("aizu"), as_("admin"), as_("public")
    base = f"/api/v1/regions/{key}/evaluations/2026"
    r = aizu.put(f"{base}/self", json={"summary": "順調です", "rating": "B", "version": 0,
                                       "values": [{"index": 0, "actual": 14}]})
    assert r.status_code == 200 and r.json()["progress"][0]["status"] == "on_track", r.text
    v = r.json()["version"]
    err = refused(as_("kitakata").put(f"{base}/self", json={"summary": "古い版", "version": 0}), 409, "version")
    assert "他の人" in err["message_ja"]
    refused(aizu.put(f"{base}/self", json={"summary": "x", "version": "一"}), 422, "version")
    refused(aizu.put(f"{base}/national", json={"summary": "x"}), 403)
    refused(aizu.put(f"/api/v1/regions/{key}/evaluations/2026/other", json={}), 422)
    assert aizu.post(f"{base}/self/submit", json={"version": v}).status_code == 200
    assert admin.put(f"{base}/national", json={"summary": "国の評価", "rating": "A"}).status_code == 200
    assert public.get(f"/api/v1/regions/{key}").json()["evaluations"] == []
    assert admin.post(f"{base}/national/submit").json()["state"] == "submitted"
    region = public.get(f"/api/v1/regions/{key}").json()
    assert [e["kind"] for e in region["evaluations"]] == ["national"] and region["kpis"][0]["name"]
    assert {e["kind"] for e in as_("fukushima").get("/api/v1/evaluations").json()} == {"self", "national"}
    refused(public.get("/api/v1/regions/no-such-region"), 404)
    assert count(session_factory, SupportEvaluation) == 2


def test_a_rubric_changed_from_a_stale_copy_is_refused(as_: Clients, ids: dict[str, str],
                                                       session_factory: sessionmaker[Session]) -> None:
    admin, call = as_("admin"), ids["call"]
    v = admin.get(f"/api/v1/calls/{call}").json()["version"]
    crit = [{"code": "only", "name": "総合評価", "weight": 100, "max_points": 10}]
    r = admin.put(f"/api/v1/calls/{call}/rubric", json={"criteria": crit, "version": v})
    assert r.status_code == 200 and r.json()["version"] == v + 1, r.text
    other = [{"code": "other", "name": "別の基準", "weight": 100, "max_points": 5}]
    err = refused(admin.put(f"/api/v1/calls/{call}/rubric", json={"criteria": other, "version": v}), 409, "version")
    assert "評価基準" in err["message_ja"] and "読み込み直して" in err["message_ja"]
    refused(admin.put(f"/api/v1/calls/{call}/rubric", json={"criteria": other, "version": -1}), 422, "version")
    assert [c["code"] for c in admin.get(f"/api/v1/calls/{call}").json()["criteria"]] == ["only"]
    with UnitOfWork(session_factory).for_reading() as u:
        row = u.session.get(SupportCall, int(call))
        assert row is not None and row.version == v + 1
