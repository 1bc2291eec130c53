"""全国地方公共団体コード (JIS X 0402) with its check digit.

The check digit: weights 6,5,4,3,2 over the first five digits; check = (11 − sum mod 11) mod 10.
"""

from __future__ import annotations

import unicodedata

from digiden.domain.errors import InvalidInput

#: The code the registry gives the nation itself (国), beside the JIS codes of local governments.
NATION_CODE = "JP"

_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(five: str) -> int:
    """The check digit for a 5-digit code: check_digit('07202') == 8."""
    if len(five) != 5 or not five.isascii() or not five.isdigit():
        raise InvalidInput(f"a check digit needs 5 digits, got {five!r}",
                           message_ja=f"検査数字の計算には5桁の数字が必要です: {five}", field="code")
    total = sum(int(c) * w for c, w in zip(five, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def normalize_code(text: str) -> str:
    """Return the 6-digit code for a 5- or 6-digit input, validating the check digit.

    '07202' → '072028'; '072028' → '072028'; '072027' → InvalidInput (bad check digit).
    """
    s = unicodedata.normalize("NFKC", str(text)).strip().replace("-", "")
    if not s.isascii() or not s.isdigit() or len(s) not in (5, 6):
        raise InvalidInput(
            f"local government code must be 5 or 6 digits, got {text!r}",
            message_ja=f"団体コードは5桁または6桁の数字です: {text}", field="code")
    expected = check_digit(s[:5])
    if len(s) == 6 and int(s[5]) != expected:
        raise InvalidInput(
            f"check digit of {s} is wrong (expected {s[:5]}{expected})",
            message_ja=f"団体コード {s} の検査数字が違います（正しくは {s[:5]}{expected}）",
            field="code")
    return f"{s[:5]}{expected}"


def is_valid_code(text: str) -> bool:
    try:
        normalize_code(text)
    except InvalidInput:
        return False
    return True


def prefecture_org_code(pref_number: str) -> str:
    """The 6-digit code of a prefecture from its 2-digit number: '07' → '070009'."""
    five = f"{int(pref_number):02d}000"
    return f"{five}{check_digit(five)}"
