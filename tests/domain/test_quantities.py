import pytest
from hypothesis import given
from hypothesis import strategies as st

from digiden.domain.errors import InvalidInput
from digiden.domain.quantities import (
    Qualifier,
    format_number,
    format_quantity,
    is_missing,
    parse_number,
    parse_quantity,
)


@pytest.mark.parametrize(("text", "value", "unit", "qualifier"), [
    ("1,000", 1000, "", Qualifier.EXACT),
    ("１，０００", 1000, "", Qualifier.EXACT),
    ("1千", 1000, "", Qualifier.EXACT),
    ("2万人強", 20000, "人", Qualifier.SLIGHTLY_OVER),
    ("現在２万人強", 20000, "人", Qualifier.SLIGHTLY_OVER),
    ("230万人", 2_300_000, "人", Qualifier.EXACT),
    ("3万5千", 35000, "", Qualifier.EXACT),
    ("約3万5千事業者", 35000, "事業者", Qualifier.ABOUT),
    ("三万五千", 35000, "", Qualifier.EXACT),
    ("1.5億", 150_000_000, "", Qualifier.EXACT),
    ("約50", 50, "", Qualifier.ABOUT),
    ("50か所程度", 50, "か所", Qualifier.ABOUT),
    ("100以上", 100, "", Qualifier.AT_LEAST),
    ("少なくとも100か所", 100, "か所", Qualifier.AT_LEAST),
    ("1000超", 1000, "", Qualifier.OVER),
    ("12.5%", 12.5, "%", Qualifier.EXACT),
    ("99.9％", 99.9, "%", Qualifier.EXACT),
    ("1,234", 1234, "", Qualifier.EXACT),
    ("１２３４", 1234, "", Qualifier.EXACT),
    ("2万", 20000, "", Qualifier.EXACT),
    ("５万人", 50000, "人", Qualifier.EXACT),
])
def test_numbers_as_people_write_them(text: str, value: float, unit: str,
                                      qualifier: Qualifier) -> None:
    q = parse_quantity(text)
    assert (q.value, q.unit, q.qualifier) == (value, unit, qualifier)


def test_jussu_is_a_range_of_eleven_to_nineteen() -> None:
    q = parse_quantity("十数か所")
    assert (q.value, q.low, q.high, q.unit, q.qualifier) == (None, 11, 19, "か所", Qualifier.RANGE)


@pytest.mark.parametrize("text", ["abc", "", "万", "12a3", "one thousand"])
def test_things_that_are_not_numbers_are_errors(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_number(text)


@pytest.mark.parametrize("text", ["", "-", "―", "…", " ", "－", None])
def test_missing_markers_mean_missing_not_zero(text: str | None) -> None:
    assert is_missing(text)
    assert not is_missing("0")


@given(st.integers(min_value=0, max_value=10**12))
def test_formatted_numbers_parse_back(n: int) -> None:
    assert parse_number(format_number(n)) == n


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=0, max_value=9999))
def test_man_composes_with_the_rest(man: int, rest: int) -> None:
    assert parse_number(f"{man}万{rest}") == man * 10_000 + rest


def test_format_quantity_restates_the_qualifier() -> None:
    assert format_quantity(20000, "人", Qualifier.SLIGHTLY_OVER) == "20,000人強"
    assert format_quantity(None, "か所", Qualifier.RANGE, 11, 19) == "11〜19か所"
    assert format_quantity(None, "", Qualifier.COMPLETE) == "完成"
    assert format_quantity(100, "か所", Qualifier.AT_LEAST) == "100か所以上"


@pytest.mark.parametrize(("word", "q"), [("超", Qualifier.OVER), ("強", Qualifier.SLIGHTLY_OVER),
                                         ("程度", Qualifier.ABOUT), ("", Qualifier.EXACT),
                                         ("at_least", Qualifier.AT_LEAST)])
def test_qualifier_words(word: str, q: Qualifier) -> None:
    assert Qualifier.parse(word) is q


def test_unknown_qualifier_is_an_error() -> None:
    with pytest.raises(InvalidInput):
        Qualifier.parse("たぶん")
