"""The search page says what the search did: the synonyms it searched with, and, when nothing
matched, the related words with their counts and the records those words find."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.sqlite_only   # the services are checked on both databases in tests/services


def test_an_empty_search_shows_related_words_and_their_records(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/search", params={"q": "空き家"}).text
    assert "一致する施策・優良事例・KPI・地方公共団体は見つかりませんでした" in html
    assert "関連する語で探す" in html and re.search(r'href="/search\?q=[^"]+"', html)
    assert "で見つかった記録</h2>" in html
    assert "<ol" not in html.split("見つかりませんでした")[1]     # not listed as result 「1.」


def test_a_synonym_search_says_which_synonyms_it_used(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/search", params={"q": "支援"}).text
    assert "同じ意味の語も探しました: 支援 → 応援" in html


def test_a_word_found_only_through_its_synonyms_says_so(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/search", params={"q": "サポート"}).text
    assert "「サポート」を含む記録は見つかりませんでした。同じ意味の語（支援" in html
    assert "同じ意味の語も探しました" not in html                 # said once, by the message
