"""Numbers as Japanese documents and spreadsheets write them.

1,000 / １，０００ / 1千 / 2万人強 / 230万人 / 3万5千 / 約50 / 100以上 / 十数か所 / 12.5%.
The qualifier (強, 程度, 以上 …) is data, not noise: it is returned alongside the value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from digiden.domain.errors import InvalidInput

#: Whole numbers digiden stores or accepts (ids, versions, counts) fit a signed 64-bit column.
INT64_MAX = 2**63 - 1


class Qualifier(StrEnum):
    """How a stated number is to be read. Stable English keys; Japanese labels for the UI."""

    EXACT = "exact"                  # 1,000団体
    AT_LEAST = "at_least"            # 以上 / 少なくとも
    ABOUT = "about"                  # 程度 / 約 / 目途
    RANGE = "range"                  # 十数 (11–19)
    COMPLETE = "complete"            # 完成 / 実現
    OVER = "over"                    # 超
    SLIGHTLY_OVER = "slightly_over"  # 強 (a little more than)
    SLIGHTLY_UNDER = "slightly_under"  # 弱
    AT_MOST = "at_most"              # 以下
    UNDER = "under"                  # 未満

    @property
    def label(self) -> str:
        return QUALIFIER_LABELS[self]

    @classmethod
    def parse(cls, text: str | None) -> Qualifier:
        """Accept an English key or the Japanese word: '超' → OVER, 'at_least' → AT_LEAST."""
        s = unicodedata.normalize("NFKC", text or "").strip()
        if not s:
            return cls.EXACT
        for q in cls:
            if s == q.value:
                return q
        if s in _WORDS:
            return _WORDS[s]
        raise InvalidInput(f"unknown qualifier {text!r}", message_ja=f"不明な限定語です: {text}",
                           field="qualifier")


QUALIFIER_LABELS: dict[Qualifier, str] = {
    Qualifier.EXACT: "",
    Qualifier.AT_LEAST: "以上",
    Qualifier.ABOUT: "程度",
    Qualifier.RANGE: "範囲",
    Qualifier.COMPLETE: "完成",
    Qualifier.OVER: "超",
    Qualifier.SLIGHTLY_OVER: "強",
    Qualifier.SLIGHTLY_UNDER: "弱",
    Qualifier.AT_MOST: "以下",
    Qualifier.UNDER: "未満",
}

_WORDS: dict[str, Qualifier] = {
    "以上": Qualifier.AT_LEAST, "少なくとも": Qualifier.AT_LEAST,
    "程度": Qualifier.ABOUT, "約": Qualifier.ABOUT, "目途": Qualifier.ABOUT, "ほど": Qualifier.ABOUT,
    "超": Qualifier.OVER, "余": Qualifier.OVER,
    "強": Qualifier.SLIGHTLY_OVER, "弱": Qualifier.SLIGHTLY_UNDER,
    "以下": Qualifier.AT_MOST, "未満": Qualifier.UNDER,
    "完成": Qualifier.COMPLETE, "実現": Qualifier.COMPLETE,
    "範囲": Qualifier.RANGE,
}

@dataclass(frozen=True)
class Quantity:
    """A parsed number: ``value`` (None for 完成 or a pure range), optional ``low``/``high``
    bounds for ranges such as 十数 (11–19), the unit as written and the qualifier."""

    value: float | None
    unit: str = ""
    qualifier: Qualifier = Qualifier.EXACT
    low: float | None = None
    high: float | None = None


_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
                 "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL = {"十": 10, "百": 100, "千": 1000}
_LARGE = {"万": 10_000, "億": 100_000_000, "兆": 1_000_000_000_000}
_NUMBER_HEAD = re.compile(r"^[-+]?(?:\d+(?:\.\d+)?|[〇零一二三四五六七八九十百千])")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[〇零一二三四五六七八九]|[十百千万億兆]")
_MISSING = {"", "-", "―", "—", "–", "‐", "…", "...", "‥", "－", "ー", "x", "X", "×", "*", "NA", "N/A"}


def normalize_text(text: str) -> str:
    """NFKC (full width → half width, CJK compatibility ideographs → standard), trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def is_missing(text: str | None) -> bool:
    """Empty, '-', '―', '…' and the like mean "no value" (missing, never zero)."""
    if text is None:
        return True
    return normalize_text(str(text)).replace(" ", "") in _MISSING


def _parse_numeral(s: str) -> tuple[float, int]:
    """Parse a leading numeral with 十百千万億兆; return (value, characters consumed)."""
    large_total = 0.0
    small_total = 0.0
    current: float | None = None
    pos = 0
    seen_any = False
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            break
        tok = m.group(0)
        if tok[0].isdigit():
            if current is not None:  # 二三 — positional kanji digits
                current = current * 10 + float(tok)
            else:
                current = float(tok)
        elif tok in _KANJI_DIGITS:
            d = _KANJI_DIGITS[tok]
            current = d if current is None else current * 10 + d
        elif tok in _SMALL:
            small_total += (1 if current is None else current) * _SMALL[tok]
            current = None
        else:  # large multiplier
            base = small_total + (current or 0)
            large_total += (base if (base or current is not None) else 1) * _LARGE[tok]
            small_total = 0
            current = None
        seen_any = True
        pos = m.end()
    if not seen_any:
        raise ValueError(s)
    return large_total + small_total + (current or 0), pos


_PREFIXES: tuple[tuple[str, Qualifier], ...] = (
    ("少なくとも", Qualifier.AT_LEAST), ("約", Qualifier.ABOUT), ("およそ", Qualifier.ABOUT),
)
_SUFFIXES: tuple[tuple[str, Qualifier], ...] = (
    ("以上", Qualifier.AT_LEAST), ("程度", Qualifier.ABOUT), ("ほど", Qualifier.ABOUT),
    ("以下", Qualifier.AT_MOST), ("未満", Qualifier.UNDER),
    ("強", Qualifier.SLIGHTLY_OVER), ("弱", Qualifier.SLIGHTLY_UNDER),
    ("超", Qualifier.OVER), ("余", Qualifier.OVER),
)


def parse_quantity(text: str, *, field: str | None = None) -> Quantity:
    """Parse a number as people write it.

    >>> parse_quantity("2万人強")
    Quantity(value=20000.0, unit='人', qualifier=<Qualifier.SLIGHTLY_OVER: 'slightly_over'>, low=None, high=None)
    """
    raw = text
    s = normalize_text(str(text)).replace(",", "").replace(" ", "").replace("　", "")
    if s.startswith("現在"):
        s = s[2:]
    qualifier = Qualifier.EXACT
    for word, q in _PREFIXES:
        if s.startswith(word):
            s, qualifier = s[len(word):], q
            break
    if s.startswith("十数"):
        unit, _ = _split_unit_and_qualifier(s[2:])
        return Quantity(None, unit, Qualifier.RANGE, low=11, high=19)
    if not _NUMBER_HEAD.match(s):
        raise InvalidInput(f"not a number: {raw!r}", message_ja=f"数値として読めません: {raw}",
                           field=field)
    sign = -1.0 if s.startswith("-") else 1.0
    body = s.lstrip("+-")
    try:
        value, used = _parse_numeral(body)
    except ValueError:
        raise InvalidInput(f"not a number: {raw!r}", message_ja=f"数値として読めません: {raw}",
                           field=field) from None
    unit, q2 = _split_unit_and_qualifier(body[used:])
    if q2 is not Qualifier.EXACT:
        qualifier = q2
    if any(ch.isdigit() for ch in unit):
        raise InvalidInput(f"not a number: {raw!r}", message_ja=f"数値として読めません: {raw}",
                           field=field)
    return Quantity(sign * value, unit, qualifier)


def _split_unit_and_qualifier(rest: str) -> tuple[str, Qualifier]:
    """Split '人強' → ('人', 強), '以上' → ('', 以上), 'か所程度' → ('か所', 程度)."""
    for word, q in _SUFFIXES:
        if rest.endswith(word):
            return rest[: -len(word)], q
    return rest, Qualifier.EXACT


def parse_number(text: str, *, field: str | None = None) -> float:
    """Just the value of :func:`parse_quantity`; a range or a missing value is an error."""
    q = parse_quantity(text, field=field)
    if q.value is None:
        raise InvalidInput(f"not a single number: {text!r}",
                           message_ja=f"単一の数値ではありません: {text}", field=field)
    return q.value


def format_number(value: float | None) -> str:
    """1234567.0 → '1,234,567'; 99.84 → '99.84'."""
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def format_quantity(value: float | None, unit: str, qualifier: Qualifier | str = Qualifier.EXACT,
                    low: float | None = None, high: float | None = None) -> str:
    """Render a value the way the strategy writes it: 2万人強 → '20,000人強', 十数 → '11〜19か所'."""
    q = Qualifier(qualifier) if not isinstance(qualifier, Qualifier) else qualifier
    if q is Qualifier.RANGE and low is not None and high is not None:
        return f"{format_number(low)}〜{format_number(high)}{unit}"
    if q is Qualifier.COMPLETE and value is None:
        return "完成"
    return f"{format_number(value)}{unit}{q.label if q is not Qualifier.COMPLETE else ''}"


# Units that count things: their values are whole numbers.
COUNT_UNITS = frozenset({"団体", "市区町村", "都市", "地域", "か所", "人", "校", "事業者", "件"})


def parse_value(text: str, unit: str) -> tuple[float, Qualifier]:
    """A single value for a KPI counted in ``unit``, as typed (１，０００ / 2万人強 / 12.5%).
    A range, or a unit other than the KPI's, is an error naming the field ``value``."""
    q = parse_quantity(text, field="value")
    if q.value is None:
        raise InvalidInput(f"value must be a single number, got {text!r}",
                           message_ja=f"値は1つの数値で入力してください: {text}", field="value")
    if q.unit and q.unit != unit:
        raise InvalidInput(f"value is in {q.unit!r} but the KPI counts {unit!r}",
                           message_ja=f"単位が違います（{q.unit}）。このKPIの単位は「{unit}」です",
                           field="value")
    return q.value, q.qualifier


def value_problem(value: float, unit: str) -> tuple[str, str] | None:
    """What is wrong with a value for a KPI counted in ``unit`` (English, Japanese), if
    anything: negative values, percentages over 100, fractional counts."""
    if value < 0:
        return "value must not be negative", "値に負の数は入力できません"
    if unit == "%" and value > 100:
        return (f"a percentage cannot exceed 100, got {value:g}",
                f"割合は100以下で入力してください（入力値 {value:g}）")
    if unit in COUNT_UNITS and not float(value).is_integer():
        return (f"a count must be a whole number, got {value:g}",
                f"件数は整数で入力してください（入力値 {value:g}）")
    return None
