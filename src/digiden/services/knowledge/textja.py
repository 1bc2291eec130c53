"""Japanese tokenisation with SudachiPy and its core dictionary (loaded once per process; one
tokenizer per thread, as Sudachi's tokenizer objects are not shared between threads)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from digiden.domain.search import fold, keep

_local = threading.local()


@lru_cache(maxsize=1)
def _dictionary() -> Any:
    from sudachipy import Dictionary  # type: ignore[import-untyped]
    return Dictionary(dict="core")


def _tokenizer() -> Any:
    tok = getattr(_local, "tok", None)
    if tok is None:
        from sudachipy import SplitMode
        tok = _dictionary().tokenizer(mode=SplitMode.A)
        _local.tok = tok
    return tok


@dataclass(frozen=True)
class Token:
    term: str     # folded normalised form (what the index holds)
    start: int    # character offsets in the text given
    end: int


# Sudachi refuses input above ~49,149 bytes; longer text is tokenised in pieces.
_CHUNK = 12_000


def tokens(text: str) -> list[Token]:
    """The meaningful words of ``text`` (Sudachi mode A: shortest units, so 医療 is found in
    遠隔医療), with their offsets for highlighting."""
    out: list[Token] = []
    if not text:
        return out
    tok = _tokenizer()
    for base in range(0, len(text), _CHUNK):
        piece = text[base:base + _CHUNK]
        for m in tok.tokenize(piece):
            pos = m.part_of_speech()[0]
            term = fold(m.normalized_form())
            if keep(pos, term):
                out.append(Token(term, base + m.begin(), base + m.end()))
    return out


def terms(text: str) -> list[str]:
    return [t.term for t in tokens(text)]


def term_string(text: str) -> str:
    """The index form of a text: its terms separated by spaces."""
    return " ".join(terms(text))


# ---------------------------------------------------------------- synonyms

_HIRAGANA = re.compile(r"^[\u3040-\u309f]+$")


@lru_cache(maxsize=1 << 17)
def synonym_groups(term: str) -> frozenset[int]:
    """The groups of Sudachi's synonym dictionary (SudachiDict's ``synonyms.txt``) that an index
    term belongs to. The core dictionary carries each word's group numbers, so no other file
    is needed: two terms are synonyms when they share a group (利用・活用, 支援・援助・後押し,
    計画・構想・プラン). Only for a term that is one noun (体言, as chikkarpy expands by default),
    not a number, of two characters or more, and neither all hiragana nor all Latin letters:
    the dictionary's own flags that stop an ambiguous word from being expanded are in
    ``synonyms.txt``, not in the core dictionary, and those are where such words fall
    (家 → 家庭, いま, あか → 赤, you → 貴方)."""
    if len(term) < 2 or _HIRAGANA.match(term) or term.isascii():
        return frozenset()
    ms = _tokenizer().tokenize(term)
    if len(ms) != 1:
        return frozenset()
    m = ms[0]
    pos = m.part_of_speech()
    if pos[0] != "名詞" or pos[1] == "数詞" or fold(m.normalized_form()) != term:
        return frozenset()
    return frozenset(m.synonym_group_ids())
