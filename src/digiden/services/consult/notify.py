"""Notices of the desk: a row for the inbox (``consult_notice``) written with the change itself,
and an e-mail when an SMTP server is configured.

E-mail goes out after the change is committed (``send_pending``), never inside its transaction:
a rolled-back change sends nothing, and a slow mail server holds no database lock. With no SMTP
server configured nothing is sent and the notices stay unsent (``emailed_at`` NULL), so a server
configured later does not flood anyone with old news: ``send_pending`` only sends notices younger
than ``MAX_AGE``.

Settings (read from the environment by ``smtp_from_env`` until config.py carries them):
``DIGIDEN_SMTP_HOST`` (empty: no e-mail), ``DIGIDEN_SMTP_PORT`` (25), ``DIGIDEN_SMTP_FROM``,
``DIGIDEN_SMTP_USER`` / ``DIGIDEN_SMTP_PASSWORD`` (optional), ``DIGIDEN_SMTP_STARTTLS`` (1/0).
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiden.domain.errors import InvalidInput
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultNotice

log = logging.getLogger(__name__)
MAX_AGE = timedelta(days=3)
BATCH = 200
FOOTER = "このメールは digiden（デジタル田園都市国家構想）の相談窓口から自動で送信しています。\n"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "digiden@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


def smtp_from_env(env: Mapping[str, str] | None = None) -> SmtpSettings | None:
    """The SMTP server of the environment, or None when ``DIGIDEN_SMTP_HOST`` is unset or empty."""
    e = os.environ if env is None else env
    host = (e.get("DIGIDEN_SMTP_HOST") or "").strip()
    if not host:
        return None
    port_text = (e.get("DIGIDEN_SMTP_PORT") or "25").strip()
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidInput(f"DIGIDEN_SMTP_PORT is not a port: {port_text}", field="DIGIDEN_SMTP_PORT",
                           message_ja=f"DIGIDEN_SMTP_PORT にはポート番号（1〜65535）を指定してください: {port_text}")
    return SmtpSettings(host=host, port=int(port_text),
                        sender=(e.get("DIGIDEN_SMTP_FROM") or "digiden@localhost").strip(),
                        username=(e.get("DIGIDEN_SMTP_USER") or None),
                        password=(e.get("DIGIDEN_SMTP_PASSWORD") or None),
                        starttls=(e.get("DIGIDEN_SMTP_STARTTLS") or "0").strip() in ("1", "true", "yes"))


def record(s: Session, *, kind: str, subject: str, message: str, at: datetime, case_id: int | None = None,
           plan_id: int | None = None, office_id: int | None = None, org_unit_id: int | None = None,
           email_to: str = "") -> ConsultNotice:
    """A notice to an office (``office_id``) or to a local government (``org_unit_id``), in the
    current transaction; ``email_to`` is where it is mailed once committed (if SMTP is configured).
    Notices carry no personal details of askers: a number, a subject and what happened."""
    n = ConsultNotice(case_id=case_id, plan_id=plan_id, recipient_office_id=office_id,
                      recipient_org_unit_id=org_unit_id, kind=kind, subject=subject[:200], message=message,
                      email_to=email_to.strip(), at=at)
    s.add(n)
    return n


@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    failed: int = 0
    skipped: bool = False   # no SMTP server configured: nothing was tried


def _one_line(text: str) -> str:
    """A header value on one line: a subject someone typed with a line break (or a forged
    ``\r\nBcc:``) is folded into spaces, never a header of its own."""
    return " ".join(text.split())


def _message(smtp: SmtpSettings, to: str, subject: str, body: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = smtp.sender
    m["To"] = _one_line(to)
    m["Subject"] = f"[digiden 相談窓口] {_one_line(subject)}"
    m["Date"] = formatdate(localtime=False)
    m["Message-ID"] = make_msgid(domain=smtp.sender.rsplit("@", 1)[-1] or "digiden")
    m.set_content(body + "\n\n-- \n" + FOOTER)
    return m


def send_pending(uow: UnitOfWork, smtp: SmtpSettings | None, *, now: datetime,
                 notice_ids: list[int] | None = None) -> SendReport:
    """Send the committed notices that have an address and were not sent yet (only ``notice_ids``
    when given; only those younger than MAX_AGE), then record each outcome. Without an SMTP server
    this does nothing at all."""
    if smtp is None:
        return SendReport(skipped=True)
    with uow:
        q = (select(ConsultNotice.id, ConsultNotice.email_to, ConsultNotice.subject, ConsultNotice.message)
             .where(ConsultNotice.email_to != "", ConsultNotice.emailed_at.is_(None),
                    ConsultNotice.email_error == "", ConsultNotice.at >= now - MAX_AGE)
             .order_by(ConsultNotice.id).limit(BATCH))
        if notice_ids is not None:
            if not notice_ids:
                return SendReport()
            q = q.where(ConsultNotice.id.in_(notice_ids))
        pending = list(uow.session.execute(q))
    if not pending:
        return SendReport()
    outcome: dict[int, str] = {}
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            for nid, to, subject, body in pending:
                try:
                    client.send_message(_message(smtp, to, subject, body))
                    outcome[nid] = ""
                except (smtplib.SMTPException, ValueError) as e:   # one bad notice never stops the others
                    outcome[nid] = f"{type(e).__name__}: {e}"[:500]
    except (OSError, smtplib.SMTPException) as e:
        log.warning("SMTP server %s:%s not usable: %s", smtp.host, smtp.port, e)
        return SendReport(failed=len(pending))   # left unsent: the next call tries again
    with uow:
        for n in uow.session.scalars(select(ConsultNotice).where(ConsultNotice.id.in_(list(outcome)))):
            if outcome[n.id]:
                n.email_error = outcome[n.id]
            else:
                n.emailed_at = now
        uow.commit()
    failed = sum(1 for v in outcome.values() if v)
    return SendReport(sent=len(outcome) - failed, failed=failed)
