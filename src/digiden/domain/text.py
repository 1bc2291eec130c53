"""Japanese text normalisation shared by the loaders and search."""

from __future__ import annotations

import re
import unicodedata

# Kangxi radicals and CJK compatibility ideographs that PDF extraction leaves behind (⽥ → 田).
_COMPAT = re.compile(r"[\u2e80-\u2fdf\uf900-\ufaff]")


def clean_text(text: str) -> str:
    """Normalise only what a reader would call an error (⽥ → 田), keeping the document's
    full-width punctuation and digits (（）、１人１台) as written."""
    return _COMPAT.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text).strip()


def match_key(text: str) -> str:
    """A key for matching names typed in files against stored names: NFKC, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def to_hiragana(text: str) -> str:
    """カタカナ → ひらがな (after NFKC, so half-width ｶﾀｶﾅ is covered too)."""
    s = unicodedata.normalize("NFKC", text)
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in s)


def search_key(text: str) -> str:
    """Normalise a name or kana for search: NFKC, hiragana, lower case, no spaces."""
    return re.sub(r"\s+", "", to_hiragana(text)).lower()
