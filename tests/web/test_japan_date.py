""""Today" is the date in Japan (audit of 2026-11-30: the web app and the CLI took the UTC date
of their clock, so from 00:00 to 09:00 in Japan the dashboard judged every KPI as of yesterday,
the KPI status cache kept yesterday's key, and a selection decided at 08:00 on 1 April was dated
31 March — the previous 年度)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from digiden.domain.calendar import fiscal_year, japan_date
from tests.conftest import make_client

JUST_AFTER_MIDNIGHT_IN_JAPAN = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)   # 2026-12-01 00:30 JST


@pytest.mark.sqlite_only
def test_japan_date() -> None:
    assert japan_date(JUST_AFTER_MIDNIGHT_IN_JAPAN) == date(2026, 12, 1)
    assert japan_date(datetime(2026, 11, 30, 14, 59, tzinfo=UTC)) == date(2026, 11, 30)
    assert japan_date(datetime(2026, 11, 30, 15, 30)) == date(2026, 12, 1)   # naive: UTC, as stored
    # 08:00 on 1 April in Japan is already the new 年度
    assert fiscal_year(japan_date(datetime(2027, 3, 31, 23, 0, tzinfo=UTC))) == 2027


def test_the_dashboard_judges_as_of_the_date_in_japan(session_factory) -> None:
    with make_client(session_factory, clock=lambda: JUST_AFTER_MIDNIGHT_IN_JAPAN) as c:
        page = c.get("/").text
    assert "2026年12月1日時点の判定" in page
    assert "2026年11月30日時点の判定" not in page


def test_the_cli_takes_the_date_in_japan(session_factory, engine) -> None:
    from digiden.cli_common import Runtime
    rt = Runtime(session_factory=session_factory, engine=engine, clock=lambda: JUST_AFTER_MIDNIGHT_IN_JAPAN,
                 actor="test")
    assert rt.today == date(2026, 12, 1)
