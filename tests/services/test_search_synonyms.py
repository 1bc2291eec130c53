"""Synonyms from Sudachi's dictionary widen a query at a quarter weight, and the result says so
when only they matched; a problem word that the catalogue never uses (買い物弱者, 空き家) still
finds nothing itself, but brings the records of related words beside the empty result; the
words offered instead say truly how many records each finds."""

from __future__ import annotations

import pytest

from digiden.domain.access import PUBLIC
from digiden.services.knowledge import search, textja
from digiden.services.uow import UnitOfWork


def ids(r: search.SearchResult) -> list[str]:
    return [h.id for h in r.hits]


@pytest.mark.parametrize(("q", "first"), [
    ("買い物弱者", {"logistics-dx", "transport-redesign", "sakai-autonomous-bus", "ishinomaki-transport-robots"}),
    ("買物難民", {"logistics-dx", "transport-redesign", "sakai-autonomous-bus", "ishinomaki-transport-robots"}),
    ("空き家", {"kitakata-kura-satellite-office"}),
])
def test_a_problem_word_the_catalogue_does_not_use_finds_related_records(uow: UnitOfWork, q: str,
                                                                          first: set[str]) -> None:
    """Nothing matches the query itself (total 0, no hits: the page says so), and beside that
    empty result come the records of the related words, the words with their counts, and the
    nearest fields."""
    r = search.search(uow, PUBLIC, q)
    assert r.total == 0 and not r.hits and not r.message and r.nearest
    key = q.replace("買物", "買い物")
    assert r.searched_instead and set(r.searched_instead) <= set(search.RELATED_WORDS[key])
    assert r.related_hits and r.related_hits[0].id in first, [h.id for h in r.related_hits[:5]]
    assert [x.word for x in r.related][:len(r.searched_instead)] == r.searched_instead


def test_synonyms_find_records_without_the_word_and_say_so(uow: UnitOfWork) -> None:
    """サポート is in no record; Sudachi puts it in one group with 支援, 援助, 応援, 後押し."""
    r = search.search(uow, PUBLIC, "サポート")
    assert "支援" in r.synonyms["サポート"] and r.total > 0
    assert r.message == ("「サポート」を含む記録は見つかりませんでした。同じ意味の語（"
                         + "・".join(r.synonyms["サポート"]) + "）を含む記録を表示しています。")
    assert "【支援】" in " ".join(h.snippet for h in r.hits[:3])


def test_the_word_itself_ranks_before_its_synonyms(uow: UnitOfWork) -> None:
    r = search.search(uow, PUBLIC, "後押し")
    assert "支援" in r.synonyms["後押し"] and not r.message
    with_word = [h.id for h in r.hits if "【後押し】" in h.snippet]
    assert with_word and ids(r)[:len(with_word)] == with_word, ids(r)[:6]
    assert r.total > len(with_word)                     # the records with 支援 are found too


def test_related_words_offered_find_what_they_say(uow: UnitOfWork) -> None:
    for q in ("買い物弱者", "空き家", "サポート"):
        r = search.search(uow, PUBLIC, q)
        assert r.related, q
        for x in r.related:
            assert search.search(uow, PUBLIC, x.word, with_facets=False).total == x.count, (q, x)


def test_nothing_related_still_offers_the_fields(uow: UnitOfWork) -> None:
    r = search.search(uow, PUBLIC, "量子コンピュータ")
    assert r.total == 0 and not r.hits and not r.related_hits and not r.related and not r.message
    assert r.nearest


def test_a_filter_narrows_the_related_records_too(uow: UnitOfWork) -> None:
    r = search.search(uow, PUBLIC, "空き家", kind="practice")
    assert r.total == 0 and [h.id for h in r.related_hits] == ["kitakata-kura-satellite-office"]
    assert not search.search(uow, PUBLIC, "空き家", kind="local_government", pref="01").related_hits


def test_a_filter_is_named_when_only_synonyms_match(uow: UnitOfWork) -> None:
    r = search.search(uow, PUBLIC, "サポート", kind="measure")
    assert r.total > 0 and r.message.startswith("絞り込んだ範囲に「サポート」を含む記録は見つかりませんでした")


def test_words_found_are_not_widened_by_related_words(uow: UnitOfWork) -> None:
    """Related words are not synonyms: a query whose words find records keeps to them."""
    r = search.search(uow, PUBLIC, "空き家 サテライトオフィス")
    assert not r.searched_instead and not r.related_hits and not r.message
    assert ids(r)[0] == "kitakata-kura-satellite-office"


def test_only_unambiguous_nouns_are_expanded() -> None:
    assert textja.synonym_groups("支援") and textja.synonym_groups("利用")
    for word in ("家", "いま", "あか", "you", "5", "空き家", "見守る"):
        assert not textja.synonym_groups(word), word


def test_the_nearest_fields_share_more_than_a_kana_syllable_pair(uow: UnitOfWork) -> None:
    """量子コンピュータ and データ連携基盤 share only ータ: not a field near the query."""
    r = search.search(uow, PUBLIC, "量子コンピュータ")
    assert r.total == 0 and not r.nearest_by_words
    assert [f for f, _ in r.nearest] and {f for f, _ in r.nearest} == {"pillar"}
