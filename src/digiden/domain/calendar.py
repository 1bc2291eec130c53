"""Fiscal years (年度) and the Japanese era calendar (和暦).

年度 runs 1 April – 31 March: FY2024 = 2024-04-01 .. 2025-03-31. 「2024年度まで」 therefore
means "by 2025-03-31", while 「2025年まで」 (calendar year) means "by 2025-12-31".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum

from digiden.domain.errors import InvalidInput

JST = timezone(timedelta(hours=9), "JST")   # Japan has no daylight saving time


def japan_date(at: datetime) -> date:
    """The date in Japan of an instant (naive datetimes are taken as UTC, as stored). "Today"
    everywhere in digiden — statuses, deadlines, 年度, selection dates — is this date of the
    clock, not the UTC date: from 00:00 to 09:00 in Japan the UTC date is still yesterday."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(JST).date()


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    start: date  # first day of the era

    @property
    def offset(self) -> int:
        """Gregorian year = era year + offset."""
        return self.start.year - 1


# Newest first: lookup walks down until the date is on or after the era's start.
ERAS: tuple[Era, ...] = (
    Era("令和", "R", date(2019, 5, 1)),
    Era("平成", "H", date(1989, 1, 8)),
    Era("昭和", "S", date(1926, 12, 25)),
    Era("大正", "T", date(1912, 7, 30)),
    Era("明治", "M", date(1868, 1, 25)),
)
_ERA_BY_KEY = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS}


class YearKind(StrEnum):
    """Whether a year label means a fiscal year (年度) or a calendar year (年)."""

    FISCAL = "fiscal"
    CALENDAR = "calendar"


#: The dates this service records: 1900-01-01 to 2200-12-31. Earlier or later dates are typing
#: mistakes (0001-01-01, 20244-03-31) rather than statistics, and would break the arithmetic of
#: trends and forecasts.
MIN_YEAR = 1900
MAX_YEAR = 2200
DATE_MIN = date(MIN_YEAR, 1, 1)
DATE_MAX = date(MAX_YEAR, 12, 31)


def out_of_range(text: str) -> InvalidInput:
    return InvalidInput(f"out of range: {text!r} (dates from {DATE_MIN} to {DATE_MAX})",
                        message_ja=f"範囲外です: {text}"
                                   f"（{MIN_YEAR}年1月1日〜{MAX_YEAR}年12月31日の範囲で入力してください）")


def fiscal_year(d: date) -> int:
    """The fiscal year (年度) a date falls in: 2025-03-31 → 2024, 2025-04-01 → 2025."""
    return d.year if d.month >= 4 else d.year - 1


def fiscal_year_start(fy: int) -> date:
    return date(fy, 4, 1)


def fiscal_year_end(fy: int) -> date:
    """Last day of a fiscal year: FY2024 → 2025-03-31."""
    return date(fy + 1, 3, 31)


def calendar_year_end(year: int) -> date:
    return date(year, 12, 31)


def year_end(year: int, kind: YearKind) -> date:
    """The deadline that 「N年度まで」 (fiscal) or 「N年まで」 (calendar) names."""
    return fiscal_year_end(year) if kind is YearKind.FISCAL else calendar_year_end(year)


def era_of(d: date) -> Era:
    for era in ERAS:
        if d >= era.start:
            return era
    raise InvalidInput(f"date {d.isoformat()} is before the Meiji era",
                       message_ja=f"{d.isoformat()} は明治より前の日付です")


def _era_year_text(n: int) -> str:
    return "元" if n == 1 else str(n)


def format_wareki_date(d: date) -> str:
    """2024-04-01 → 令和6年4月1日; 2019-05-01 → 令和元年5月1日."""
    era = era_of(d)
    return f"{era.name}{_era_year_text(d.year - era.offset)}年{d.month}月{d.day}日"


def format_wareki_fiscal_year(fy: int) -> str:
    """FY2024 → 令和6年度. FY2019 began under 平成 but is officially called 令和元年度."""
    era = era_of(fiscal_year_end(fy))
    return f"{era.name}{_era_year_text(fy - era.offset)}年度"


def format_fiscal_year(fy: int) -> str:
    """FY2024 → 2024年度（令和6年度）."""
    return f"{fy}年度（{format_wareki_fiscal_year(fy)}）"


_ERA_YEAR = re.compile(
    r"^(?P<era>令和|平成|昭和|大正|明治|[RHSTM])\s*(?P<n>元|\d{1,2})\s*(?P<suffix>年度|年)?$",
    re.IGNORECASE,
)
_GREGORIAN = re.compile(r"^(?:FY\s*)?(?P<y>\d{4})\s*(?P<suffix>年度|年)?$", re.IGNORECASE)


@dataclass(frozen=True)
class YearLabel:
    """A parsed year label: the Gregorian year and whether it is a fiscal year."""

    year: int
    kind: YearKind


def parse_year(text: str, *, default_kind: YearKind = YearKind.FISCAL) -> YearLabel:
    """Parse 2024年度 / 令和6年度 / R6 / FY2024 / 平成31年 / 令和元年 / 2024.

    Labels ending in 年度, or written FY…, are fiscal years; labels ending in 年 are calendar
    years; bare labels (R6, 2024) take ``default_kind``.
    """
    s = unicodedata.normalize("NFKC", text).strip()
    m = _ERA_YEAR.match(s)
    if m:
        era = _ERA_BY_KEY[m["era"].upper() if len(m["era"]) == 1 else m["era"]]
        n = 1 if m["n"] == "元" else int(m["n"])
        if n < 1:
            raise InvalidInput(f"era year must be 1 or more: {text!r}",
                               message_ja=f"元号の年は1以上です: {text}")
        year = era.offset + n
        # 平成31年 ran to April 2019; 平成32年 never existed.
        nxt = ERAS[ERAS.index(era) - 1] if ERAS.index(era) > 0 else None
        if nxt is not None and year > nxt.start.year:
            raise InvalidInput(f"{text!r} is past the end of {era.name}",
                               message_ja=f"{text} は{era.name}の範囲外です")
        kind = _kind(m["suffix"], default_kind)
        return YearLabel(year, kind)
    m = _GREGORIAN.match(s)
    if m:
        kind = YearKind.FISCAL if s.upper().startswith("FY") else _kind(m["suffix"], default_kind)
        return YearLabel(int(m["y"]), kind)
    raise InvalidInput(f"not a year: {text!r} (expected e.g. 2024年度, 令和6年度, R6, FY2024)",
                       message_ja=f"年として読めません: {text}（例: 2024年度、令和6年度、R6、FY2024）")


def _kind(suffix: str | None, default: YearKind) -> YearKind:
    if suffix == "年度":
        return YearKind.FISCAL
    if suffix == "年":
        return YearKind.CALENDAR
    return default


_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?$")
_JA_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(?:(\d{1,2})日)?$")
_WAREKI_DATE = re.compile(
    r"^(令和|平成|昭和|大正|明治|[RHSTM])\s*(元|\d{1,2})[年.\-/](\d{1,2})(?:[月.\-/](\d{1,2})日?)?月?$",
    re.IGNORECASE,
)


class Precision(StrEnum):
    """How precisely an as-of date is known."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True)
class AsOf:
    """An as-of date with its precision. Month precision is stored as the month's last day."""

    date: date
    precision: Precision

    def label(self) -> str:
        if self.precision is Precision.MONTH:
            return f"{self.date.year}年{self.date.month}月"
        if self.precision is Precision.YEAR:
            return f"{self.date.year}年"
        return f"{self.date.year}年{self.date.month}月{self.date.day}日"

    def iso(self) -> str:
        if self.precision is Precision.MONTH:
            return f"{self.date.year:04d}-{self.date.month:02d}"
        if self.precision is Precision.YEAR:
            return f"{self.date.year:04d}"
        return self.date.isoformat()


def month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date.fromordinal(date(year, month + 1, 1).toordinal() - 1)


def _make_date(y: int, mo: int, d: int | None, text: str) -> AsOf:
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise out_of_range(text)
    try:
        if d is None:
            if not 1 <= mo <= 12:
                raise ValueError
            return AsOf(month_end(y, mo), Precision.MONTH)
        return AsOf(date(y, mo, d), Precision.DAY)
    except ValueError:
        raise InvalidInput(f"not a valid date: {text!r}",
                           message_ja=f"日付として正しくありません: {text}") from None


def parse_as_of(text: str) -> AsOf:
    """Parse an as-of date: 2024-03-31, 2023-06 (month precision), 2024/3/31, 2024年3月,
    令和6年3月31日, R6.3.31."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    if not s:
        raise InvalidInput("date is empty", message_ja="日付が空です")
    for pattern in (_ISO_DATE, _JA_DATE):
        m = pattern.match(s)
        if m:
            return _make_date(int(m[1]), int(m[2]), int(m[3]) if m[3] else None, text)
    m = _WAREKI_DATE.match(s)
    if m:
        era = _ERA_BY_KEY[m[1].upper() if len(m[1]) == 1 else m[1]]
        n = 1 if m[2] == "元" else int(m[2])
        return _make_date(era.offset + n, int(m[3]), int(m[4]) if m[4] else None, text)
    raise InvalidInput(f"not a date: {text!r} (expected YYYY-MM-DD or YYYY-MM)",
                       message_ja=f"日付として読めません: {text}（例: 2024-03-31、2024-03、令和6年3月31日）")


def years_between(a: date, b: date) -> float:
    """Fractional years from a to b (365.25-day years)."""
    return (b.toordinal() - a.toordinal()) / 365.25


def add_years(d: date, years: float) -> date:
    return date.fromordinal(d.toordinal() + round(years * 365.25))
