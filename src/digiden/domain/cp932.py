"""Shift_JIS (CP932) and the JIS characters Microsoft's table maps differently.

Python's cp932 decodes SJIS 0x8160 as FULLWIDTH TILDE (～, U+FF5E), while Japanese text and
JIS X 0208 mean WAVE DASH (〜, U+301C), and cannot encode WAVE DASH at all. The same holds for
a few more characters. We write and read CP932 with the JIS meaning, so that 「2022〜2026年度」
survives a trip through Excel's Shift_JIS unchanged.
"""

from __future__ import annotations

# JIS character (as stored) → the Microsoft code point CP932 can encode
_PAIRS = {"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u00a2": "\uffe0",
          "\u00a3": "\uffe1", "\u00ac": "\uffe2", "\u2014": "\u2015"}
TO_CP932 = str.maketrans(_PAIRS)
FROM_CP932 = str.maketrans({v: k for k, v in _PAIRS.items()})


def for_cp932(text: str) -> str:
    return text.translate(TO_CP932)


def from_cp932(text: str) -> str:
    return text.translate(FROM_CP932)
