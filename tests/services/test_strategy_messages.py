"""What a planner reads when a strategy file or form is refused: Japanese names, each example once."""

from __future__ import annotations

import pytest

from digiden.domain.errors import InvalidInput
from digiden.services.local.local_strategies import MAX_ITEMS, parse_input

pytestmark = pytest.mark.sqlite_only   # parsing only; no database


def test_too_many_measures_names_the_list_in_japanese() -> None:
    doc = {"title": "戦略", "fiscal_year": "令和6年度",
           "measures": [{"title": f"施策{i}"} for i in range(MAX_ITEMS + 1)]}
    with pytest.raises(InvalidInput) as e:
        parse_input(doc)
    assert e.value.message_ja == f"施策は{MAX_ITEMS}件までです"
    assert e.value.field == "measures"


def test_a_list_that_is_not_a_list_is_named_in_japanese() -> None:
    with pytest.raises(InvalidInput) as e:
        parse_input({"title": "戦略", "fiscal_year": "令和6年度", "kpis": "KPI"})
    assert e.value.message_ja == "KPIは一覧で指定してください"


def test_an_unreadable_year_gives_its_examples_once() -> None:
    with pytest.raises(InvalidInput) as e:
        parse_input({"title": "戦略", "fiscal_year": "来年"})
    assert e.value.message_ja.count("（例:") == 1, e.value.message_ja
    assert "来年" in e.value.message_ja
