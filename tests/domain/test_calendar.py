from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digiden.domain.calendar import (
    Precision,
    YearKind,
    fiscal_year,
    fiscal_year_end,
    fiscal_year_start,
    format_fiscal_year,
    format_wareki_date,
    format_wareki_fiscal_year,
    parse_as_of,
    parse_year,
    year_end,
)
from digiden.domain.errors import InvalidInput


@pytest.mark.parametrize(("d", "fy"), [
    (date(2024, 4, 1), 2024), (date(2025, 3, 31), 2024), (date(2025, 4, 1), 2025),
    (date(2024, 12, 31), 2024), (date(2024, 1, 1), 2023),
])
def test_fiscal_year_runs_april_to_march(d: date, fy: int) -> None:
    assert fiscal_year(d) == fy


def test_by_fiscal_year_and_by_calendar_year_are_different_deadlines() -> None:
    # 「2024年度まで」 = 2025-03-31; 「2025年まで」 = 2025-12-31
    assert year_end(2024, YearKind.FISCAL) == date(2025, 3, 31)
    assert year_end(2025, YearKind.CALENDAR) == date(2025, 12, 31)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_every_date_lies_within_its_fiscal_year(d: date) -> None:
    fy = fiscal_year(d)
    assert fiscal_year_start(fy) <= d <= fiscal_year_end(fy)


@given(st.integers(min_value=1990, max_value=2100))
def test_fiscal_year_end_is_the_day_before_the_next_start(fy: int) -> None:
    assert (fiscal_year_start(fy + 1) - fiscal_year_end(fy)).days == 1


@pytest.mark.parametrize(("text", "year", "kind"), [
    ("2024年度", 2024, YearKind.FISCAL), ("令和6年度", 2024, YearKind.FISCAL),
    ("R6", 2024, YearKind.FISCAL), ("FY2024", 2024, YearKind.FISCAL),
    ("ｒ６", 2024, YearKind.FISCAL), ("２０２４年度", 2024, YearKind.FISCAL),
    ("2025年", 2025, YearKind.CALENDAR), ("令和元年", 2019, YearKind.CALENDAR),
    ("令和元年度", 2019, YearKind.FISCAL), ("平成31年", 2019, YearKind.CALENDAR),
    ("平成30年度", 2018, YearKind.FISCAL), ("H30", 2018, YearKind.FISCAL),
    ("昭和64年", 1989, YearKind.CALENDAR),
])
def test_year_labels_in_both_calendars(text: str, year: int, kind: YearKind) -> None:
    label = parse_year(text)
    assert (label.year, label.kind) == (year, kind)


@pytest.mark.parametrize("text", ["平成32年", "令和0年", "2024年度末まで", "next year", ""])
def test_impossible_year_labels_are_errors(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_year(text)


@pytest.mark.parametrize(("d", "text"), [
    (date(2024, 4, 1), "令和6年4月1日"), (date(2019, 5, 1), "令和元年5月1日"),
    (date(2019, 4, 30), "平成31年4月30日"), (date(1989, 1, 7), "昭和64年1月7日"),
    (date(1989, 1, 8), "平成元年1月8日"),
])
def test_wareki_dates(d: date, text: str) -> None:
    assert format_wareki_date(d) == text


def test_fiscal_year_2019_is_called_reiwa_gannendo() -> None:
    assert format_wareki_fiscal_year(2019) == "令和元年度"
    assert format_wareki_fiscal_year(2024) == "令和6年度"
    assert format_fiscal_year(2018) == "2018年度（平成30年度）"


@given(st.integers(min_value=1990, max_value=2100))
def test_fiscal_year_wareki_round_trips(fy: int) -> None:
    assert parse_year(format_wareki_fiscal_year(fy)).year == fy


@pytest.mark.parametrize(("text", "d", "precision"), [
    ("2024-03-31", date(2024, 3, 31), Precision.DAY),
    ("2023-06", date(2023, 6, 30), Precision.MONTH),
    ("2024/2", date(2024, 2, 29), Precision.MONTH),
    ("2024年3月", date(2024, 3, 31), Precision.MONTH),
    ("令和6年3月31日", date(2024, 3, 31), Precision.DAY),
    ("R6.3.31", date(2024, 3, 31), Precision.DAY),
    ("２０２４－０３－３１", date(2024, 3, 31), Precision.DAY),
])
def test_as_of_dates_keep_their_precision(text: str, d: date, precision: Precision) -> None:
    a = parse_as_of(text)
    assert (a.date, a.precision) == (d, precision)


def test_month_precision_prints_as_a_month() -> None:
    assert parse_as_of("2023-06").label() == "2023年6月"
    assert parse_as_of("2023-06").iso() == "2023-06"


@pytest.mark.parametrize("text", ["2024-02-30", "2024-13", "yesterday", "2024-3-31-1", ""])
def test_a_date_that_is_not_a_date_is_an_error(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_as_of(text)
