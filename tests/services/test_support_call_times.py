"""A call's opening and closing times as an administrator types them (a date is Japan time; an
offset is kept) are the moments applicants meet, on both databases. Before, SQLite stored the
digits of a Japan-time deadline without its offset and read them back as UTC: a call typed to close
on 2026-12-09 (23:59 JST) accepted applications until 08:59 JST the next morning. A year no call
can have (9999 broke every page that showed the call) is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digiden.domain.errors import Conflict, InvalidInput
from digiden.services.support import applications as apps
from digiden.services.support import programmes as pg
from digiden.services.uow import UnitOfWork
from digiden.store.models import SupportCall
from tests.services.test_support import app_doc, call_doc, count

OPENS = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_deadline_typed_as_a_japanese_date_closes_at_midnight_japan_time(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    call = pg.create_call(uow, accounts["admin"], "digital-garden-city-grant",
                          call_doc(opens_at="2026-11-01", closes_at="2026-12-09"), now=OPENS)
    read = pg.get_call(uow, call.id, now=OPENS)
    assert read.closes_at == datetime(2026, 12, 9, 14, 59, tzinfo=UTC)       # 23:59 in Japan
    assert read.opens_at == datetime(2026, 10, 31, 15, 0, tzinfo=UTC)        # 00:00 in Japan
    early = apps.save_draft(uow, accounts["sapporo"], call.id, app_doc(title="札幌", members=[]), now=OPENS)
    late = apps.save_draft(uow, accounts["kitakata"], call.id, app_doc(title="喜多方", members=[]), now=OPENS)
    assert apps.submit(uow, accounts["sapporo"], early.id,
                       now=datetime(2026, 12, 9, 14, 58, tzinfo=UTC)).status == "submitted"
    with pytest.raises(Conflict) as e:                                        # 00:00 JST on the 10th
        apps.submit(uow, accounts["kitakata"], late.id, now=datetime(2026, 12, 9, 15, 0, tzinfo=UTC))
    assert "締切（2026年12月9日 23:59（日本時間））" in e.value.message_ja


def test_an_offset_typed_is_the_moment_meant(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    call = pg.create_call(uow, accounts["admin"], "digital-garden-city-grant",
                          call_doc(opens_at="2026-11-01T09:00:00-05:00", closes_at="2026-12-01T09:00:00+09:00"),
                          now=OPENS)
    read = pg.get_call(uow, call.id, now=OPENS)
    assert read.opens_at == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    assert read.closes_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("field", ["opens_at", "closes_at"])
def test_a_year_no_call_can_have_is_refused_and_nothing_written(uow: UnitOfWork, accounts, field: str) -> None:  # type: ignore[no-untyped-def]
    before = count(uow, SupportCall)
    with pytest.raises(InvalidInput) as e:
        pg.create_call(uow, accounts["admin"], "digital-garden-city-grant",
                       call_doc(**{field: "9999-12-31T23:59:59+09:00"}), now=OPENS)
    assert e.value.field == field
    assert "2000年から2100年までの日時" in e.value.message_ja and "9999年" in e.value.message_ja
    assert count(uow, SupportCall) == before


def test_a_misspelt_kpi_key_is_refused_instead_of_dropped(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    """An audit sent target_fiscal_year (the form and the API say target_fy): the year was dropped
    in silence and saved as none."""
    from digiden.store.models import SupportApplication
    call = pg.create_call(uow, accounts["admin"], "digital-garden-city-grant", call_doc(), now=OPENS)
    before = count(uow, SupportApplication)
    with pytest.raises(InvalidInput) as e:
        apps.save_draft(uow, accounts["sapporo"], call.id, app_doc(
            title="札幌", members=[], kpis=[{"name": "利用者数", "unit": "人", "baseline": 10, "target": 100,
                                             "target_fiscal_year": 2028}]), now=OPENS)
    assert e.value.field == "kpis[0].target_fiscal_year"
    assert "KPI1の項目「target_fiscal_year」は使えません" in e.value.message_ja and "target_fy" in e.value.message_ja
    assert count(uow, SupportApplication) == before
