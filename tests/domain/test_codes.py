import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import digiden
from digiden.domain.codes import check_digit, is_valid_code, normalize_code, prefecture_org_code
from digiden.domain.errors import InvalidInput

DATA = Path(digiden.__file__).resolve().parent / "data"


@pytest.mark.parametrize(("five", "digit"), [
    ("07202", 8), ("01000", 6), ("13101", 6), ("39000", 3), ("46303", 5), ("06403", 3),
])
def test_check_digit_of_known_codes(five: str, digit: int) -> None:
    assert check_digit(five) == digit


def test_five_digit_input_gets_its_check_digit() -> None:
    assert normalize_code("07202") == "072028"
    assert normalize_code("０７２０２８") == "072028"


def test_a_wrong_check_digit_is_refused_with_the_right_code_named() -> None:
    with pytest.raises(InvalidInput) as e:
        normalize_code("072027")
    assert "072028" in e.value.message
    assert "検査数字" in e.value.message_ja


@pytest.mark.parametrize("text", ["7202", "0720288", "abcde", "", "07-20"])
def test_malformed_codes_are_refused(text: str) -> None:
    assert not is_valid_code(text)


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_every_five_digit_code_has_exactly_one_valid_check_digit(five: str) -> None:
    valid = [d for d in range(10) if is_valid_code(f"{five}{d}")]
    assert valid == [check_digit(five)]


def test_every_published_code_carries_its_check_digit() -> None:
    """The 1,788 codes of the packaged 総務省 list (data/local_governments.csv), as published:
    each one's sixth digit is the check digit of its first five, and each is valid."""
    with (DATA / "local_governments.csv").open(encoding="utf-8", newline="") as f:
        codes = [row["code"] for row in csv.DictReader(f)]
    assert len(codes) == 1788
    wrong = [c for c in codes if check_digit(c[:5]) != int(c[5]) or not is_valid_code(c)]
    assert wrong == []


def test_prefecture_codes() -> None:
    assert prefecture_org_code("13") == "130001"
    assert prefecture_org_code("1") == "010006"
