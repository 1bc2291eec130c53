"""Notices of the desk by e-mail, against a real SMTP server (aiosmtpd) started by the test; with
no server configured nothing is sent. On SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from digiden.domain.access import Principal
from digiden.domain.errors import InvalidInput
from digiden.services.common import LoadReport
from digiden.services.consult import cases, desk, notify, offices
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultNotice, ConsultRule

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[notify.SmtpSettings, Inbox]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield notify.SmtpSettings(host="127.0.0.1", port=port, sender="desk@digiden.example"), inbox
    finally:
        controller.stop()


@pytest.fixture
def measure(uow: UnitOfWork, accounts: dict[str, Principal]) -> str:
    with uow:
        offices.load_reference_offices(uow.session, LoadReport(), actor="reference-data", now=NOW)
        uow.commit()
    offices.set_contact(uow, accounts["admin"], "東北総合通信局", "tohoku-lead@soumu.example", now=NOW)
    offices.set_contact(uow, accounts["admin"], offices.DESK_CODE, "desk@cas.example", now=NOW)
    offices.add_responder(uow, accounts["admin"], "東北総合通信局", "ministry", lead=True, now=NOW)
    with uow:
        rule = uow.session.scalars(select(ConsultRule).where(ConsultRule.ministry == "総務省")).first()
        assert rule is not None and rule.measure_code
        return rule.measure_code


def _subject(raw: bytes) -> str:
    return str(make_header(decode_header(message_from_bytes(raw)["Subject"])))


def test_notices_are_mailed_when_a_server_is_configured(uow: UnitOfWork, accounts: dict[str, Principal], measure: str,
                                                        smtp_server: tuple[notify.SmtpSettings, Inbox]) -> None:
    smtp, inbox = smtp_server
    cid = cases.ask(uow, accounts["aizu"], subject="光ファイバの補助", body="対象ですか", measures=[measure],
                    asker_name="山田太郎", asker_email="yamada@example.lg.jp", now=NOW, smtp=smtp)
    assert [(m[0], m[1]) for m in inbox.messages] == [("desk@digiden.example", ["tohoku-lead@soumu.example"])]
    assert f"新しい相談 #{cid}" in _subject(inbox.messages[0][2])
    body = message_from_bytes(inbox.messages[0][2]).get_payload(decode=True).decode()
    assert "山田" not in body and "yamada@" not in body          # no personal details in notices
    cases.reply(uow, accounts["ministry"], cid, "対象です", now=NOW, smtp=smtp)
    assert inbox.messages[-1][1] == ["yamada@example.lg.jp"]
    # the overdue check mails the office and the national desk
    late = NOW + timedelta(days=30)
    desk.escalate_overdue(uow, now=late, smtp=smtp)
    assert {tuple(m[1]) for m in inbox.messages[-2:]} == {("tohoku-lead@soumu.example",), ("desk@cas.example",)}
    with uow:
        sent = list(uow.session.scalars(select(ConsultNotice.emailed_at).where(ConsultNotice.case_id == cid)))
    assert len(sent) == 4 and all(at is not None for at in sent)
    # sending again sends nothing twice
    n = len(inbox.messages)
    assert notify.send_pending(uow, smtp, now=late).sent == 0 and len(inbox.messages) == n


def test_nothing_is_sent_without_a_server(uow: UnitOfWork, accounts: dict[str, Principal], measure: str,
                                          smtp_server: tuple[notify.SmtpSettings, Inbox]) -> None:
    _, inbox = smtp_server
    cid = cases.ask(uow, accounts["aizu"], subject="件名", body="本文", measures=[measure],
                    asker_email="yamada@example.lg.jp", now=NOW, smtp=None)
    assert notify.send_pending(uow, None, now=NOW).skipped
    assert inbox.messages == []
    with uow:
        n = uow.session.scalars(select(ConsultNotice).where(ConsultNotice.case_id == cid)).one()
        assert n.emailed_at is None and n.email_to == "tohoku-lead@soumu.example"   # still in the inbox


def test_an_unreachable_server_fails_nothing_and_leaves_the_notice_for_later(
        uow: UnitOfWork, accounts: dict[str, Principal], measure: str) -> None:
    dead = notify.SmtpSettings(host="127.0.0.1", port=_free_port(), timeout=2)
    cid = cases.ask(uow, accounts["aizu"], subject="件名", body="本文", measures=[measure], now=NOW, smtp=dead)
    with uow:
        n = uow.session.scalars(select(ConsultNotice).where(ConsultNotice.case_id == cid)).one()
        assert n.emailed_at is None and n.email_error == ""


def test_settings_from_the_environment() -> None:
    assert notify.smtp_from_env({}) is None
    assert notify.smtp_from_env({"DIGIDEN_SMTP_HOST": " "}) is None
    s = notify.smtp_from_env({"DIGIDEN_SMTP_HOST": "mail.example", "DIGIDEN_SMTP_PORT": "587",
                              "DIGIDEN_SMTP_FROM": "desk@example", "DIGIDEN_SMTP_STARTTLS": "1"})
    assert s == notify.SmtpSettings(host="mail.example", port=587, sender="desk@example", starttls=True)
    with pytest.raises(InvalidInput) as e:
        notify.smtp_from_env({"DIGIDEN_SMTP_HOST": "mail.example", "DIGIDEN_SMTP_PORT": "x"})
    assert "ポート番号" in e.value.message_ja


def test_a_subject_with_a_line_break_is_mailed_on_one_line_and_forges_no_header(
        uow: UnitOfWork, smtp_server: tuple[notify.SmtpSettings, Inbox]) -> None:
    """An audit asked with the subject 「…\\r\\nBcc: evil@example.com」: the consultation was saved,
    then the mail raised and the asker got a 500. Now the header is folded onto one line."""
    smtp, inbox = smtp_server
    with uow:
        n = notify.record(uow.session, kind="case_new", subject="改行テスト\r\nBcc: evil@example.com",
                          message="本文", at=NOW, email_to="lead@soumu.example")
        uow.session.flush()
        nid = n.id
        uow.commit()
    assert notify.send_pending(uow, smtp, now=NOW, notice_ids=[nid]) == notify.SendReport(sent=1)
    [(_, rcpt, raw)] = inbox.messages
    assert rcpt == ["lead@soumu.example"]
    msg = message_from_bytes(raw)
    assert msg["Bcc"] is None
    assert str(make_header(decode_header(msg["Subject"]))) == "[digiden 相談窓口] 改行テスト Bcc: evil@example.com"


def test_a_notice_the_mail_server_missed_is_sent_by_the_next_overdue_check(
        uow: UnitOfWork, smtp_server: tuple[notify.SmtpSettings, Inbox]) -> None:
    """An audit found that a notice written while the server was unreachable was never tried
    again, although this guide said it would be."""
    smtp, inbox = smtp_server
    down = notify.SmtpSettings(host="127.0.0.1", port=_free_port(), sender=smtp.sender, timeout=2)
    with uow:
        n = notify.record(uow.session, kind="case_new", subject="再送の確認", message="本文", at=NOW,
                          email_to="lead@soumu.example")
        uow.session.flush()
        nid = n.id
        uow.commit()
    assert notify.send_pending(uow, down, now=NOW, notice_ids=[nid]) == notify.SendReport(failed=1)
    assert inbox.messages == []
    desk.escalate_overdue(uow, now=NOW + timedelta(hours=1), smtp=smtp)
    assert [rcpt for _, rcpt, _ in inbox.messages] == [["lead@soumu.example"]]
    with uow.for_reading() as u:
        assert u.session.get(ConsultNotice, nid).emailed_at is not None  # type: ignore[union-attr]
