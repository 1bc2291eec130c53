"""The API says what the pages say: a search that finds nothing offers the related words and
what they found, a synonym search names its synonyms, and the roadmap gives each year's activity."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sqlite_only   # the same services answer on both databases (tests/services)


def test_an_empty_search_offers_related_words_and_their_records(anon) -> None:  # type: ignore[no-untyped-def]
    body = anon.get("/api/v1/search", params={"q": "空き家"}).json()
    assert body["total"] == 0 and body["results"] == []
    assert body["searched_instead"], body
    assert body["related_results"] and all(r["url"].startswith("/") for r in body["related_results"])
    assert all(w["count"] >= 0 and w["word"] for w in body["related"])


def test_a_synonym_search_names_the_synonyms(anon) -> None:  # type: ignore[no-untyped-def]
    body = anon.get("/api/v1/search", params={"q": "サポート"}).json()
    assert body["total"] > 0
    assert "支援" in body["synonyms"].get("サポート", []), body["synonyms"]


def test_the_roadmap_gives_what_happened_each_year(anon) -> None:  # type: ignore[no-untyped-def]
    groups = anon.get("/api/v1/roadmap").json()
    years = [y for g in groups for m in g["measures"] for y in m["roadmap"]]
    active = [y for y in years if y["activities"]]
    assert active, "no year of any measure shows an activity"
    assert all(isinstance(a, str) and a for y in active for a in y["activities"])
