"""Search rules without the tokeniser or a database: folding, query expressions, snippets, metrics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digiden.domain.errors import InvalidInput
from digiden.domain.search import (
    MAX_QUERY_CHARS,
    Span,
    clean_query,
    fold,
    fts5_expression,
    matches,
    ndcg_at_k,
    reciprocal_rank,
    snippet,
    tsquery_expression,
)


def test_variants_fold_to_one_term() -> None:
    assert fold("子供") == fold("子育て") == fold("育児") == "子供"
    assert fold("コミュニティー") == fold("コミュニティ") == "コミュニティ"
    assert fold("DX") == fold("ｄｘ") == "dx"
    assert fold("オンライン") == fold("遠隔")
    assert fold("サーバー") == "サーバ" and fold("ー") == "ー"     # a lone mark is not stripped


def test_prefix_matching_starts_at_two_characters() -> None:
    assert matches("コミュニティバス", "コミュニティ")
    assert matches("医療", "医療") and not matches("医療機関", "医")
    assert matches("市", "市") and not matches("市場", "市")
    assert not matches("医療機関", "医療")       # kanji words match whole (Sudachi splits compounds)
    assert matches("デジタルトランスフォーメーション", "デジタル")


def test_syntax_characters_never_reach_the_query_language() -> None:
    assert fold('"NEAR*') == "near"
    expr = fts5_expression(["near", "a", "子供", "コミュニティ"])
    assert expr == '"near"* OR "a" OR "子供" OR "コミュニティ"*'
    assert tsquery_expression(["near", "子供"]) == "'near':* | '子供'"


def test_query_cleaning() -> None:
    assert clean_query("  子育て\x00\t支援\n") == "子育て 支援"
    assert clean_query(None) == ""
    with pytest.raises(InvalidInput) as e:
        clean_query("あ" * (MAX_QUERY_CHARS + 1))
    assert "200文字以内" in e.value.message_ja


def test_snippet_marks_matches_and_escapes_the_rest() -> None:
    text = "<b>前置き</b>。" + "ほげ" * 60 + "子育て世帯へのオンライン相談"
    at = text.index("子育て")
    plain, html = snippet(text, [Span(at, at + 3)])
    assert "【子育て】" in plain and plain.startswith("…")
    assert "<mark>子育て</mark>" in html and "<b>" not in html
    plain, html = snippet("<script>x</script>", [])
    assert html == "&lt;script&gt;x&lt;/script&gt;"


@given(st.text(max_size=300), st.lists(st.tuples(st.integers(0, 299), st.integers(1, 5)), max_size=8))
def test_snippets_of_any_text_are_escaped(text: str, raw: list[tuple[int, int]]) -> None:
    spans = sorted({Span(a, min(len(text), a + n)) for a, n in raw if a < len(text)}, key=lambda s: s.start)
    _, html = snippet(text, spans)
    assert "<" not in html.replace("<mark>", "").replace("</mark>", "")


def test_ndcg_and_mrr() -> None:
    rel = {"a": 2.0, "b": 1.0}
    assert ndcg_at_k(["a", "b", "c"], rel) == pytest.approx(1.0)
    assert ndcg_at_k(["c", "b", "a"], rel) < ndcg_at_k(["b", "a", "c"], rel) < 1
    assert ndcg_at_k(["x"], {}) == 0.0
    assert reciprocal_rank(["c", "b"], rel) == 0.5
    assert reciprocal_rank(["c"], rel) == 0.0
