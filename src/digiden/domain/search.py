"""Search rules that do not depend on the tokeniser or the database: which words count, how a
word is folded so that variants meet, how a query becomes an FTS expression, how a snippet is
marked, and the evaluation measures (nDCG, MRR).

The tokeniser (SudachiPy, services/knowledge/textja.py) turns text into (surface, normalised form, part of
speech); everything after that is here."""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from digiden.domain.errors import InvalidInput

MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 24

# Parts of speech that carry no meaning of their own for search (Sudachi's first level).
SKIP_POS = frozenset({"補助記号", "空白", "助詞", "助動詞"})

# Words a planner uses for the same thing. Each group folds to its first member, in the index
# and in the query, so 子育て支援 finds a practice about こども and オンライン診療 finds 遠隔医療.
# Kept short on purpose: every group trades precision for recall (docs/search.md).
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("子供", "子育て", "育児", "乳幼児"),
    ("高齢", "シニア", "年寄り"),
    ("遠隔", "オンライン", "リモート"),
    ("診療", "診察"),
    ("テレワーク", "リモートワーク"),
    ("移住", "定住", "ui"),
    ("dx", "デジタル化"),
    ("バス", "乗合"),
    ("ドローン", "無人航空機"),
)
_CANON = {w: g[0] for g in SYNONYM_GROUPS for w in g}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_KATAKANA = re.compile(r"^[\u30a0-\u30ff]+$")
_FTS_UNSAFE = re.compile(r"[\"'\\:&|!()<>*^]")


def clean_query(raw: str | None) -> str:
    """The query as the tokeniser should see it: control characters become spaces, runs of
    space collapse. Too long a query is refused with a message (not silently cut)."""
    s = _CONTROL.sub(" ", raw or "")
    s = re.sub(r"\s+", " ", s).strip()
    if len(s) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query: at most {MAX_QUERY_CHARS} characters ({len(s)} given)",
                           message_ja=f"検索語は{MAX_QUERY_CHARS}文字以内にしてください（{len(s)}文字）",
                           field="q")
    return s


def fold(normalised_form: str) -> str:
    """One index term from Sudachi's normalised form: NFKC, lower case, a katakana word's
    trailing long-vowel mark dropped (コミュニティー = コミュニティ), synonyms folded."""
    t = unicodedata.normalize("NFKC", normalised_form).lower().strip()
    if len(t) > 2 and _KATAKANA.match(t) and t.endswith("ー"):
        t = t[:-1]
    t = _FTS_UNSAFE.sub("", t)
    return _CANON.get(t, t)


def keep(part_of_speech: str, term: str) -> bool:
    return part_of_speech not in SKIP_POS and bool(term.strip())


_IDEOGRAPHS = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff々〆]+$")


def wants_prefix(query_term: str) -> bool:
    """Katakana and Latin words of two or more characters also match longer words that start
    with them (コミュニティ finds コミュニティバス, デジタル finds デジタルトランスフォーメーション).
    Kanji words are matched whole: Sudachi already splits 遠隔医療 into 遠隔 + 医療, and a kanji
    prefix (医 → 医師, 医療, 医薬) would mostly find other words."""
    return len(query_term) >= 2 and not _IDEOGRAPHS.match(query_term)


def matches(term: str, query_term: str) -> bool:
    """A document term matches a query term exactly, or by prefix where ``wants_prefix``."""
    return term == query_term or (wants_prefix(query_term) and term.startswith(query_term))


def unique_terms(terms: Iterable[str]) -> list[str]:
    out: list[str] = []
    for t in terms:
        if t and t not in out:
            out.append(t)
    return out[:MAX_QUERY_TERMS]


def fts5_expression(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: every term quoted (so NEAR, AND, -, : are plain words),
    prefix-matched where ``wants_prefix``, OR-ed; BM25 ranks documents with more of them first."""
    parts = [f'"{t}"*' if wants_prefix(t) else f'"{t}"' for t in terms]
    return " OR ".join(parts)


def tsquery_expression(terms: Sequence[str]) -> str:
    """The PostgreSQL equivalent for to_tsquery('simple', …)."""
    parts = [f"'{t}':*" if wants_prefix(t) else f"'{t}'" for t in terms]
    return " | ".join(parts)


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def snippet(text: str, spans: Sequence[Span], *, width: int = 90) -> tuple[str, str]:
    """A window of ``text`` around the densest run of matches, as (plain with 【】, HTML with
    <mark>). The HTML escapes everything but the marks it adds."""
    if not text:
        return "", ""
    if spans:
        best, best_n = spans[0].start, 0
        for s in spans:
            n = sum(1 for o in spans if s.start <= o.start < s.start + width)
            if n > best_n:
                best, best_n = s.start, n
        start = max(0, best - width // 4)
    else:
        start = 0
    end = min(len(text), start + width)
    inside = [s for s in spans if s.start >= start and s.end <= end]
    plain, marked, pos = [], [], start
    for s in inside:
        if s.start < pos:
            continue
        plain.append(text[pos:s.start])
        marked.append(html.escape(text[pos:s.start]))
        plain.append(f"【{text[s.start:s.end]}】")
        marked.append(f"<mark>{html.escape(text[s.start:s.end])}</mark>")
        pos = s.end
    plain.append(text[pos:end])
    marked.append(html.escape(text[pos:end]))
    pre = "…" if start > 0 else ""
    post = "…" if end < len(text) else ""
    return (pre + "".join(plain) + post).replace("\n", " "), (pre + "".join(marked) + post).replace("\n", " ")


# --- evaluation -------------------------------------------------------------------------------

def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], relevant: dict[str, float], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the first k results; ``relevant`` maps an id to
    its graded relevance (2 = should come first, 1 = also relevant)."""
    if not relevant:
        return 0.0
    gains = [relevant.get(r, 0.0) for r in ranked[:k]]
    ideal = sorted(relevant.values(), reverse=True)[:k]
    return dcg(gains) / dcg(ideal)


def reciprocal_rank(ranked: Sequence[str], relevant: Iterable[str]) -> float:
    rel = set(relevant)
    for i, r in enumerate(ranked):
        if r in rel:
            return 1.0 / (i + 1)
    return 0.0
