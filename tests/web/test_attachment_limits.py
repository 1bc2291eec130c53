"""Files attached to a consultation pass the edge up to the upload limit and are then held to the
desk's own limit per file, refused in Japanese naming the file (issue 15, bad input). Before, the
edge capped the whole request at the ordinary 1 MiB body limit and answered a 2 MB PDF with its
generic 413 page, the typed question lost. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from digiden.domain.consult import ATTACHMENT_MAX_BYTES
from digiden.store.consult_models import ConsultCase
from digiden.web.edge import BODY_LIMIT
from tests.web.helpers import Clients

QUESTION = {"subject": "図面の確認", "body": "添付の図面で補助の対象になりますか。", "kind": "programme"}


def _cases(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(ConsultCase)) or 0)


def test_a_pdf_above_the_body_limit_reaches_the_desk(as_: Clients, soumu: str,
                                                     session_factory: sessionmaker[Session]) -> None:
    pdf = b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024)
    assert BODY_LIMIT < len(pdf) < ATTACHMENT_MAX_BYTES
    r = as_("aizu").post("/consultations", data=QUESTION | {"measures": soumu},
                         files=[("attachments", ("図面.pdf", pdf, "application/pdf"))], follow_redirects=False)
    assert r.status_code == 303, r.text[:400]
    page = as_("aizu").get(r.headers["location"]).text
    assert "図面.pdf" in page


def test_a_file_over_the_desks_limit_is_refused_by_name_and_nothing_is_written(
        as_: Clients, soumu: str, session_factory: sessionmaker[Session]) -> None:
    before = _cases(session_factory)
    big = b"%PDF-1.7\n" + b"0" * ATTACHMENT_MAX_BYTES
    r = as_("aizu").post("/consultations", data=QUESTION | {"measures": soumu},
                         files=[("attachments", ("大きな図面.pdf", big, "application/pdf"))])
    assert r.status_code == 422
    assert "大きな図面.pdf" in r.text and "MBを超えています" in r.text
    assert "添付の図面で補助の対象になりますか。" in r.text          # the typed question is kept
    assert _cases(session_factory) == before


def test_the_ask_forms_suggestions_stay_open_to_everyone_under_the_body_limit(as_: Clients) -> None:
    r = as_("public").post("/consultations/suggestions", data={"subject": "補助"})
    assert r.status_code == 200
    r = as_("public").post("/consultations/suggestions", data={"subject": "補" * (BODY_LIMIT // 2)})
    assert r.status_code == 413


def test_attachments_larger_than_a_request_may_carry_are_refused_at_the_edge_in_japanese(as_: Clients) -> None:
    """Refused by Content-Length before the body is read: a Japanese page that leads back to the
    ask form, or the API's error shape."""
    from digiden.web.limits import ATTACHMENT_BODY_LIMIT
    headers = {"content-length": str(ATTACHMENT_BODY_LIMIT + 1), "content-type": "multipart/form-data; boundary=x"}
    r = as_("aizu").post("/consultations", content=b"--x--", headers=headers)
    assert r.status_code == 413
    assert "添付ファイルが大きすぎます（1回に送れるのは合計 64 MB まで）" in r.text
    assert 'href="/consultations/new"' in r.text
    r = as_("aizu").post("/consultations/7/replies", content=b"--x--", headers=headers)
    assert r.status_code == 413 and 'href="/consultations/7"' in r.text
    r = as_("aizu").post("/api/v1/consultations", content=b"--x--", headers=headers)
    assert r.status_code == 413 and r.json()["error"]["details"] == {"field": "attachments"}
