"""The seed's target wording parses into the targets the strategy file states."""

from datetime import date

import pytest

from digiden.domain.calendar import YearKind
from digiden.domain.quantities import Qualifier
from digiden.domain.targets import parse_target_wording


def test_two_dated_targets_by_fiscal_year() -> None:
    a, b = parse_target_wording("1,000団体（2024年度まで）、1,200団体（2027年度まで）")
    assert (a.value, a.unit, a.deadline.resolve(2023)) == (1000, "団体", date(2025, 3, 31))
    assert (b.value, b.deadline.resolve(2023)) == (1200, date(2028, 3, 31))


def test_calendar_year_deadline() -> None:
    (t,) = parse_target_wording("700団体（2025年まで）")
    assert t.deadline.kind is YearKind.CALENDAR
    assert t.deadline.resolve(2023) == date(2025, 12, 31)


def test_nationwide_rollout_has_no_date_and_a_denominator() -> None:
    (t,) = parse_target_wording("全国展開（1,741市区町村）を目指す")
    assert t.nationwide and t.value == 1741
    assert t.deadline.resolve(2023) is None


def test_breakdown_denominators_are_kept() -> None:
    (t,) = parse_target_wording("100％（小学校18,805校、中学校9,437校）（2025年度）")
    assert t.value == 100 and t.unit == "%"
    assert [(c.label, c.value, c.unit) for c in t.counts] == [("小学校", 18805, "校"),
                                                              ("中学校", 9437, "校")]
    assert t.deadline.resolve(2023) == date(2026, 3, 31)


def test_equivalent_count_keeps_its_about() -> None:
    (t,) = parse_target_wording("70％（約3万5千事業者）（2025年度）")
    assert t.counts[0].value == 35000 and t.counts[0].qualifier is Qualifier.ABOUT


def test_jussu_within_about_five_years() -> None:
    (t,) = parse_target_wording("⼗数か所（５年程度）")   # as extracted, with a Kangxi radical
    assert (t.qualifier, t.low, t.high) == (Qualifier.RANGE, 11, 19)
    assert t.deadline.within_years == 5 and t.deadline.approximate
    assert t.deadline.resolve(2023) == date(2028, 3, 31)


def test_completion() -> None:
    (t,) = parse_target_wording("完成（2025年度）")
    assert t.qualifier is Qualifier.COMPLETE and t.deadline.resolve(2023) == date(2026, 3, 31)


def test_cumulative_window() -> None:
    (t,) = parse_target_wording("230万⼈（2022〜2026年度累計）")
    assert (t.value, t.cumulative_from_fy, t.cumulative_to_fy) == (2_300_000, 2022, 2026)
    assert t.deadline.resolve(2023) == date(2027, 3, 31)


def test_baseline_then_target() -> None:
    (t,) = parse_target_wording("現在２万⼈強→５万⼈（2027年度まで)")
    assert t.baseline == (20000, "人", Qualifier.SLIGHTLY_OVER)
    assert t.value == 50000


def test_two_part_selection_and_realisation() -> None:
    sel, real = parse_target_wording("2025年度までに少なくとも100か所選定し、2030年度までに実現")
    assert (sel.value, sel.qualifier, sel.action) == (100, Qualifier.AT_LEAST, "選定")
    assert sel.deadline.resolve(2023) == date(2026, 3, 31)
    assert (real.qualifier, real.action) == (Qualifier.COMPLETE, "実現")
    assert real.deadline.resolve(2023) == date(2031, 3, 31)


def test_about_with_approximate_date_then_at_least() -> None:
    a, b = parse_target_wording("50か所程度（2025年度⽬途）、100か所以上（2027年度まで）")
    assert (a.value, a.qualifier, a.deadline.approximate) == (50, Qualifier.ABOUT, True)
    assert (b.value, b.qualifier) == (100, Qualifier.AT_LEAST)


@pytest.mark.parametrize("wording", ["", "そのうち", "（2025年度）"])
def test_unreadable_wording_is_an_error(wording: str) -> None:
    from digiden.domain.errors import InvalidInput
    with pytest.raises(InvalidInput):
        parse_target_wording(wording)
