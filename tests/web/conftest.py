"""Fixtures of the web tests: one signed-in client per account on a clock the test may move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.consult import offices
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultRule
from tests.conftest import FIXED_NOW, make_client, sign_in_directly
from tests.web.helpers import Clients


@pytest.fixture
def clock() -> list[datetime]:
    """The app's time; a test moves it with ``clock[0] = …`` (past a deadline, say)."""
    return [FIXED_NOW]


@pytest.fixture
def as_(session_factory: sessionmaker[Session], clock: list[datetime]) -> Iterator[Clients]:
    """as_("aizu") → a client signed in as that account (the same one for the whole test);
    as_("public") → one signed in as nobody."""
    opened: dict[str, Any] = {}

    def make(who: str) -> Any:
        if who not in opened:
            c = make_client(session_factory, clock=lambda: clock[0])
            c.__enter__()
            if who != "public":
                sign_in_directly(c, session_factory, who)
            opened[who] = c
        return opened[who]
    yield make
    for c in opened.values():
        c.__exit__(None, None, None)


@pytest.fixture
def soumu(session_factory: sessionmaker[Session], accounts: dict[str, Any]) -> str:
    """The 総務省 account answers for 東北総合通信局; a measure the 総務省 routing rule covers."""
    uow = UnitOfWork(session_factory)
    offices.add_responder(uow, accounts["admin"], "東北総合通信局", "ministry", lead=True, now=FIXED_NOW)
    with uow:
        rule = uow.session.scalars(select(ConsultRule).where(ConsultRule.ministry == "総務省",
                                                             ConsultRule.measure_code.is_not(None))
                                   .order_by(ConsultRule.id)).first()
        assert rule is not None and rule.measure_code
        return rule.measure_code
