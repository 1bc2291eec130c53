"""A published FAQ entry is linked from the page of each measure it concerns, and from nowhere
while it is a draft (issue 15, item 6), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from digiden.services.consult import cases, faq
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW as NOW


def test_a_measure_page_links_its_published_faq(as_: Any, soumu: str, accounts: dict[str, Any],
                                                session_factory: sessionmaker[Session]) -> None:
    uow = UnitOfWork(session_factory)
    cid = cases.ask(uow, accounts["aizu"], subject="補助の対象", body="光ファイバの保守費用は補助の対象ですか",
                    measures=[soumu], now=NOW)
    cases.reply(uow, accounts["ministry"], cid, "保守費用は対象外です。整備費用が対象です。", now=NOW)
    fid = faq.draft_from_case(uow, accounts["ministry"], cid, now=NOW)
    page = as_("public").get(f"/measures/{soumu}")
    assert page.status_code == 200 and f'href="/faq/{fid}"' not in page.text and "相談FAQ" not in page.text
    faq.act(uow, accounts["ministry"], fid, "submit", now=NOW)
    faq.act(uow, accounts["admin"], fid, "publish", now=NOW)
    page = as_("public").get(f"/measures/{soumu}")
    assert "この施策についての相談FAQ（1件）" in page.text and f'href="/faq/{fid}"' in page.text
    assert "補助の対象" in page.text
