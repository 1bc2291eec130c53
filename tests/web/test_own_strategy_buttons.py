"""The edit link shows wherever staff meet their own strategy, only when following it is not
refused: on their local government's page (not while under review, where it led to a 409) and on
an accepted strategy's page (editing starts the next revision)."""

from __future__ import annotations

import re

import pytest

from digiden.services.local import local_strategies as ls
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.sqlite_only   # page logic over the services, whose workflow runs on both databases

EDIT = 'href="/local-governments/072028/strategy/edit"'


def test_the_local_government_page_follows_the_state_of_the_strategy(client_as, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    aizu, uow = client_as("aizu"), UnitOfWork(session_factory)
    page = "/local-governments/072028"
    assert EDIT in aizu.get(page).text and "自団体の戦略を作成する" in aizu.get(page).text
    ls.save(uow, accounts["aizu"], "072028", {"title": "会津若松市 戦略", "fiscal_year": "R6"}, now=FIXED_NOW)
    ls.act(uow, accounts["aizu"], "072028", 1, "submit", now=FIXED_NOW)
    html = aizu.get(page).text
    assert EDIT not in html and "審査中のため、今は編集できません" in html
    assert aizu.get("/local-governments/072028/strategy/edit").status_code == 409
    # another government's page and the public: no link at all
    assert EDIT not in client_as("aizu").get("/local-governments/072087").text
    assert "/strategy/edit" not in client_as("public").get(page).text


def test_an_accepted_strategy_offers_the_next_revision(client_as, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    aizu, uow = client_as("aizu"), UnitOfWork(session_factory)
    ls.save(uow, accounts["aizu"], "072028", {"title": "会津若松市 戦略", "fiscal_year": "R6"}, now=FIXED_NOW)
    ls.act(uow, accounts["aizu"], "072028", 1, "submit", now=FIXED_NOW)
    ls.act(uow, accounts["fukushima"], "072028", 1, "approve", now=FIXED_NOW)
    ls.act(uow, accounts["admin"], "072028", 1, "accept", now=FIXED_NOW)
    html = aizu.get("/local-governments/072028/strategy").text
    assert EDIT in html and "第2版の下書き" in html
    assert aizu.get("/local-governments/072028/strategy/edit").status_code == 200
    # the prefecture reading the same page has nothing to edit there
    assert EDIT not in client_as("fukushima").get("/local-governments/072028/strategy").text
    assert re.search(r"自団体の戦略を編集する", html)


def test_a_returned_strategy_shows_why_on_the_edit_form(client_as, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    aizu, uow = client_as("aizu"), UnitOfWork(session_factory)
    ls.save(uow, accounts["aizu"], "072028", {"title": "会津若松市 戦略", "fiscal_year": "R6"}, now=FIXED_NOW)
    ls.act(uow, accounts["aizu"], "072028", 1, "submit", now=FIXED_NOW)
    ls.act(uow, accounts["fukushima"], "072028", 1, "return", comment="KPIの目標年度を記入してください", now=FIXED_NOW)
    html = aizu.get("/local-governments/072028/strategy/edit").text
    assert "差し戻されています" in html and "「KPIの目標年度を記入してください」" in html
    assert "福島県" in html                                  # who returned it, as an organisation
    assert "合成データ" not in html                           # a real (test) strategy is not labelled demo


def test_a_demo_strategy_is_labelled_synthetic_on_the_edit_form(client_as, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    uow = UnitOfWork(session_factory)
    ls.save(uow, accounts["aizu"], "072028", {"title": "会津若松市 戦略", "fiscal_year": "R6"}, now=FIXED_NOW,
            synthetic=True)
    html = client_as("aizu").get("/local-governments/072028/strategy/edit").text
    assert "合成データ（デモ用）" in html
