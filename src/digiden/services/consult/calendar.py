"""The working-day calendar of the desk: domain.consult.WorkingCalendar with Japan's national
holidays from the maintained ``holidays`` library (国民の祝日, 振替休日 and 国民の休日 as the
law defines them, updated with the library), plus the 12/29–1/3 closure of 行政機関の休日に関する
法律 that the domain applies itself."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from digiden.domain.consult import WorkingCalendar

if TYPE_CHECKING:
    from holidays.countries.japan import Japan


@lru_cache(maxsize=1)
def _japan() -> Japan:
    # loaded on the first date the desk counts, not when the server starts (0.15 s of a cold start)
    from holidays.countries.japan import Japan
    return Japan(language="ja")


def is_national_holiday(d: date) -> bool:
    return d in _japan()


def holiday_name(d: date) -> str | None:
    """The holiday's Japanese name (元日, 振替休日 …), or 年末年始 for 12/29–1/3, or None."""
    name = _japan().get(d)
    if name:
        return str(name)
    if (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3):
        return "年末年始（行政機関の休日）"
    return None


@lru_cache(maxsize=1)
def japan_calendar() -> WorkingCalendar:
    """The one calendar of the process (its per-year tables are computed once)."""
    return WorkingCalendar(is_national_holiday)
