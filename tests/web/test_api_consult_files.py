"""Files on the consultation desk's API, on both databases: a question asked with attachments
(multipart) and downloaded by whoever may open the consultation (404 to anyone else, as an unknown
one); every file checked before anything is written — a refused type, content that is not what its
name says, too many or too large files refuse the whole question in Japanese naming the file, with
nothing written; and the desk's lists ask the anonymous public to sign in (401)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from digiden.domain.errors import InvalidInput
from digiden.services.consult import cases
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultAttachment, ConsultCase, ConsultMessage
from digiden.store.models import AuditEvent
from tests.conftest import FIXED_NOW as NOW
from tests.web.helpers import Clients, count, refused

FORM = {"subject": "光ファイバ整備の補助について", "body": "資料を添付します。", "kind": "programme"}
PDF = ("計画書.pdf", b"%PDF-1.7 plan", "application/pdf")
CSV = ("表.csv", "年度,件数\n2026,3\n".encode(), "text/csv")


def rows(session_factory: sessionmaker[Session]) -> tuple[int, ...]:
    return tuple(count(session_factory, m) for m in (ConsultCase, ConsultAttachment, ConsultMessage, AuditEvent))


def test_a_question_is_asked_with_files_and_downloaded_by_who_may_see_it(as_: Clients, soumu: str) -> None:
    r = as_("aizu").post("/api/v1/consultations/files", data=FORM | {"measures": [soumu]},
                         files=[("files", PDF), ("files", CSV)])
    assert r.status_code == 201, r.text[:500]
    case = r.json()
    cid = case["summary"]["id"]
    assert case["summary"]["office"] == "東北総合通信局" and case["measures"] == [soumu]
    files = {a["file_name"]: a for a in case["attachments"]}
    assert set(files) == {"計画書.pdf", "表.csv"} and files["計画書.pdf"]["media_type"] == "application/pdf"
    path = f"/api/v1/consultations/{cid}/attachments/{files['表.csv']['id']}"
    for who in ("aizu", "fukushima", "ministry", "admin"):     # the asker, its prefecture, the office, the desk
        got = as_(who).get(path)
        assert got.status_code == 200 and got.content == CSV[1], who
        assert got.headers["content-disposition"].startswith("attachment;")
    for who in ("kitakata", "sapporo"):
        refused(as_(who).get(path), 404)
    # the public: 404 as for a consultation that does not exist (a sign-in prompt would tell it exists)
    refused(as_("public").get(path), 404)
    refused(as_("public").get(path.replace(f"/consultations/{cid}/", "/consultations/999999999/")), 404)
    # a file of another consultation is not found through this one
    other = as_("kitakata").post("/api/v1/consultations/files", data=FORM, files=[("files", PDF)]).json()
    refused(as_("aizu").get(f"/api/v1/consultations/{cid}/attachments/{other['attachments'][0]['id']}"), 404)
    refused(as_("kitakata").get(f"/api/v1/consultations/{other['summary']['id']}/attachments/"
                                f"{files['表.csv']['id']}"), 404)


def test_the_form_without_files_and_the_desk_filing_for_a_town(as_: Clients) -> None:
    r = as_("sapporo").post("/api/v1/consultations/files", data=FORM | {"share_with_prefecture": "false"})
    assert r.status_code == 201 and r.json()["attachments"] == [] and r.json()["share_with_prefecture"] is False
    r = as_("admin").post("/api/v1/consultations/files?org_unit=064033", data=FORM, files=[("files", PDF)])
    assert r.status_code == 201 and r.json()["summary"]["org_unit"] == "064033"


@pytest.mark.parametrize(("files", "named"), [
    ([PDF, ("tool.exe", b"MZ\x90\x00", "application/octet-stream")], "tool.exe"),   # a refused type among good ones
    ([("報告.pdf", b"not a pdf at all", "application/pdf")], "報告.pdf"),            # not what its name says
    ([("空.txt", b"", "text/plain")], "空.txt"),                                     # empty
    ([(f"資料{i}.pdf", b"%PDF-1.7", "application/pdf") for i in range(6)], "5件"),   # too many
])
def test_a_refused_file_refuses_the_question_naming_it(as_: Clients, session_factory: sessionmaker[Session],
                                                        files: list[Any], named: str) -> None:
    as_("aizu")                                   # signed in (an audit event) before counting
    before = rows(session_factory)
    err = refused(as_("aizu").post("/api/v1/consultations/files", data=FORM, files=[("files", f) for f in files]),
                  422, "attachment")
    assert named in err["message_ja"]
    assert rows(session_factory) == before


def test_a_file_over_the_limits_writes_nothing(as_: Clients, session_factory: sessionmaker[Session],
                                               accounts: dict[str, Any]) -> None:
    as_("aizu")
    before = rows(session_factory)
    # over 5MB: through the edge (web/limits.py ATTACHMENT_PATHS), then refused naming the file
    big = ("大きい.pdf", b"%PDF-1.7 " + b"0" * (5 * 1024 * 1024 + 1), "application/pdf")
    r = as_("aizu").post("/api/v1/consultations/files", data=FORM, files=[("files", big)])
    assert r.status_code == 422 and "大きい.pdf" in r.json()["error"]["message_ja"]
    # over the desk's own 5MB per file, the service refuses it naming the file
    with pytest.raises(InvalidInput) as e:
        cases.ask(UnitOfWork(session_factory), accounts["aizu"], subject="件名", body="本文",
                  attachments=[cases.Attachment("大きい.pdf", b"%PDF-1.7 " + b"0" * (5 * 1024 * 1024))], now=NOW)
    assert "大きい.pdf" in e.value.message_ja and "5MB" in e.value.message_ja
    assert rows(session_factory) == before


def test_a_reply_with_a_refused_file_writes_nothing(as_: Clients, soumu: str,
                                                    session_factory: sessionmaker[Session]) -> None:
    cid = as_("aizu").post("/api/v1/consultations", json=FORM | {"measures": [soumu]}).json()["summary"]["id"]
    as_("ministry")
    before = rows(session_factory)
    err = refused(as_("ministry").post(f"/api/v1/consultations/{cid}/replies/files", data={"body": "回答です"},
                                       files=[("files", PDF), ("files", ("x.js", b"alert(1)", "text/javascript"))]),
                  422, "attachment")
    assert "x.js" in err["message_ja"]
    assert rows(session_factory) == before
    state = as_("aizu").get(f"/api/v1/consultations/{cid}").json()["summary"]["state"]
    assert state == "assigned"                                    # the refused answer did not answer it


def test_bad_form_fields_are_refused_in_japanese(as_: Clients, session_factory: sessionmaker[Session]) -> None:
    as_("aizu"), as_("ministry"), as_("public")
    before = rows(session_factory)
    refused(as_("aizu").post("/api/v1/consultations/files", data=FORM | {"subject": "  "}, files=[("files", PDF)]),
            422, "subject")
    refused(as_("aizu").post("/api/v1/consultations/files", data=FORM | {"kind": "other"}, files=[("files", PDF)]),
            422)
    refused(as_("aizu").post("/api/v1/consultations/files", data={"body": "件名なし"}), 422)
    refused(as_("ministry").post("/api/v1/consultations/files", data=FORM, files=[("files", PDF)]), 403)
    assert as_("public").post("/api/v1/consultations/files", data=FORM, files=[("files", PDF)]).status_code == 401
    assert rows(session_factory) == before


def test_the_desks_lists_ask_the_public_to_sign_in(as_: Clients) -> None:
    for path in ("/api/v1/consultations", "/api/v1/plans"):
        err = refused(as_("public").get(path), 401)
        assert "サインイン" in err["message_ja"]
        assert as_("kitakata").get(path).status_code == 200
