"""Finding local governments the way Japanese users type."""

from __future__ import annotations

import pytest

from digiden.domain.errors import InvalidInput, NotFound
from digiden.services.registry import localgov
from digiden.services.uow import UnitOfWork


@pytest.mark.parametrize("query", ["会津若松", "あいづわかまつ", "アイヅワカマツ", "ｱｲﾂﾞﾜｶﾏﾂ",
                                   "07202", "072028", "０７２０２８"])
def test_name_kana_in_any_script_and_codes_find_it(uow: UnitOfWork, query: str) -> None:
    rows, total = localgov.search(uow, query)
    assert "072028" in [r.code for r in rows]


def test_filter_by_prefecture_and_kind(uow: UnitOfWork) -> None:
    rows, total = localgov.search(uow, "", prefecture="福島県", kind="village")
    assert total == 15 and all(r.prefecture == "福島県" and r.kind == "village" for r in rows)
    assert localgov.search(uow, "", kind="designated_city", limit=100)[1] == 20
    assert localgov.search(uow, "", prefecture="13", kind="special_ward")[1] == 23


def test_bad_check_digit_is_a_clear_error(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput) as e:
        localgov.search(uow, "072027")
    assert "072028" in e.value.message


def test_unknown_code_is_not_found(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        localgov.get(uow, "999997")   # valid check digit, no such local government


def test_detail_has_population_city_hall_and_case_studies(uow: UnitOfWork) -> None:
    d = localgov.get(uow, "072028")
    assert d.population == 115556 and d.aging_rate_pct == pytest.approx(31.58)
    assert d.lat is not None and d.website and "aizuwakamatsu" in d.website
    assert [p.title for p in d.practices] == ["AiCT"]


def test_prefecture_detail_lists_its_municipalities(uow: UnitOfWork) -> None:
    d = localgov.get(uow, "070009")
    assert d.unit.kind == "prefecture" and len(d.municipalities) == 59
    assert d.website == "https://www.pref.fukushima.lg.jp/"


def test_case_studies_by_prefecture_cover_all_47(uow: UnitOfWork) -> None:
    counts = {c.prefecture: c.count for c in localgov.case_studies_by_prefecture(uow)}
    assert len(counts) == 47
    assert counts["福島県"] == 2 and counts["東京都"] == 0 and sum(counts.values()) == 11


def test_wildcards_in_queries_are_literal(uow: UnitOfWork) -> None:
    assert localgov.search(uow, "%")[1] == 0
    assert localgov.search(uow, "_")[1] == 0
