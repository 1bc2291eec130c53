"""Period labels as column headers of wide spreadsheets: 2024年度, 令和6年度, R6, FY2024,
2024/3末, 2024年3月末, 2024-03-31. A fiscal-year label means its last day (the value as at
year end); a month label means the month's last day."""

from __future__ import annotations

import re
import unicodedata

from digiden.domain.calendar import (
    MAX_YEAR,
    MIN_YEAR,
    AsOf,
    Precision,
    YearKind,
    fiscal_year_end,
    month_end,
    out_of_range,
    parse_as_of,
    parse_year,
)
from digiden.domain.errors import InvalidInput

_MONTH_END = re.compile(r"^(\d{4})[/.\-年](\d{1,2})月?末?$")
_WAREKI_MONTH_END = re.compile(r"^(令和|平成|[RH])\s*(元|\d{1,2})[/.\-年](\d{1,2})月?末?$", re.IGNORECASE)


def _check_year(year: int, text: str) -> None:
    """Periods name dates from calendar.DATE_MIN to DATE_MAX (1900–2200)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise out_of_range(text)


def parse_period(text: str) -> AsOf:
    """The as-of date a column header stands for.

    >>> parse_period("令和6年度").date.isoformat()
    '2025-03-31'
    """
    s = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")
    if not s:
        raise InvalidInput("empty period header", message_ja="期間の見出しが空です")
    m = _MONTH_END.match(s)
    if m and ("末" in s or "/" in s or "月" in s):
        y, mo = int(m[1]), int(m[2])
        _check_year(y, text)
        if not 1 <= mo <= 12:
            raise InvalidInput(f"not a month: {text!r}", message_ja=f"月として正しくありません: {text}")
        return AsOf(month_end(y, mo), Precision.MONTH)
    m = _WAREKI_MONTH_END.match(s)
    if m:
        label = parse_year(f"{m[1]}{m[2]}年")
        _check_year(label.year, text)
        mo = int(m[3])
        if not 1 <= mo <= 12:
            raise InvalidInput(f"not a month: {text!r}", message_ja=f"月として正しくありません: {text}")
        return AsOf(month_end(label.year, mo), Precision.MONTH)
    try:
        label = parse_year(s.removesuffix("末"), default_kind=YearKind.FISCAL)
    except InvalidInput:
        return parse_as_of(s)
    _check_year(label.year, text)
    if label.kind is YearKind.FISCAL:
        return AsOf(fiscal_year_end(label.year), Precision.YEAR)
    return AsOf(month_end(label.year, 12), Precision.YEAR)


def looks_like_period(text: str) -> bool:
    try:
        parse_period(text)
    except InvalidInput:
        return False
    return True


def fiscal_year_field(value: object, field: str, label: str, *, required: bool = False) -> int | None:
    """A fiscal year typed in a form or file (2024年度, 令和6年度, R6), within 1989–2100;
    an empty value is None unless required. Errors name the field and its Japanese label."""
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise InvalidInput(f"{field} is required", message_ja=f"{label}を入力してください", field=field)
        return None
    try:
        y = parse_year(text, default_kind=YearKind.FISCAL)
    except InvalidInput as e:
        raise InvalidInput(f"{field}: {e.message}",
                           message_ja=f"{label}: {e.message_ja}",
                           field=field) from None
    if not 1989 <= y.year <= 2100:
        raise InvalidInput(f"{field}: year out of range", message_ja=f"{label}は1989〜2100年度の範囲で入力してください",
                           field=field)
    return y.year
