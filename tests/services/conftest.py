"""Set-ups shared by the consultation desk's service tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from digiden.domain.access import Principal, system
from digiden.services.common import LoadReport
from digiden.services.consult import offices
from digiden.services.local import accounts as acc
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultRule

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)    # Monday 10:00 in Japan


@pytest.fixture
def soumu_measure(uow: UnitOfWork, accounts: dict[str, Principal]) -> str:
    """The desk loaded; the 総務省 editor answers for 東北総合通信局 (as its lead)."""
    with uow:
        offices.load_reference_offices(uow.session, LoadReport(), actor="reference-data", now=NOW)
        uow.commit()
    offices.add_responder(uow, accounts["admin"], "東北総合通信局", "ministry", lead=True, now=NOW)
    with uow:
        rule = uow.session.scalars(select(ConsultRule).where(ConsultRule.ministry == "総務省")
                                   .order_by(ConsultRule.id)).first()
        assert rule is not None and rule.measure_code
        return rule.measure_code


@pytest.fixture(scope="module")
def desk_db(live_db):  # type: ignore[no-untyped-def]
    """A module's own committed database (for threads writing at once): the desk loaded, an asker
    of 会津若松市 and the 総務省 editor answering for 東北総合通信局 as its lead."""
    uow = UnitOfWork(live_db.session_factory)
    with uow:
        offices.load_reference_offices(uow.session, LoadReport(), actor="reference-data", now=NOW)
        uow.commit()
    admin = system("test-setup")
    acc.create_user(uow, admin, username="c-aizu", password="correct horse battery", role="municipality_staff",
                    org_unit="072028", now=NOW)
    acc.create_user(uow, admin, username="c-soumu", password="correct horse battery", role="ministry_editor",
                    ministry="総務省", now=NOW)
    offices.add_responder(uow, admin, "東北総合通信局", "c-soumu", lead=True, now=NOW)
    with uow:
        measure = uow.session.scalars(select(ConsultRule.measure_code).where(ConsultRule.ministry == "総務省")).first()
    return live_db, measure, acc.user_principal(uow, "c-aizu"), acc.user_principal(uow, "c-soumu")
