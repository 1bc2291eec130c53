"""The approval cycle, the facts national KPIs count, and revision diffs (pure rules)."""

from __future__ import annotations

import pytest

from digiden.domain.errors import Conflict
from digiden.domain.local import (
    Action,
    Fact,
    MeasureFacts,
    MeasureKind,
    MeasureState,
    Status,
    diff,
    facts_of,
    transition,
)


def test_the_cycle_goes_owner_prefecture_nation() -> None:
    s, who = transition(Status.DRAFT, Action.SUBMIT, owner_is_prefecture=False)
    assert (s, who) == (Status.SUBMITTED, "owner")
    s, who = transition(s, Action.APPROVE, owner_is_prefecture=False)
    assert (s, who) == (Status.PREFECTURE_APPROVED, "prefecture")
    s, who = transition(s, Action.ACCEPT, owner_is_prefecture=False)
    assert (s, who) == (Status.ACCEPTED, "nation")
    assert transition(s, Action.REOPEN, owner_is_prefecture=False) == (Status.RETURNED, "nation")


def test_a_prefectures_own_strategy_goes_straight_to_the_nation() -> None:
    assert transition(Status.DRAFT, Action.SUBMIT, owner_is_prefecture=True)[0] is Status.PREFECTURE_APPROVED


@pytest.mark.parametrize(("status", "action"), [
    (Status.DRAFT, Action.ACCEPT), (Status.DRAFT, Action.APPROVE), (Status.ACCEPTED, Action.SUBMIT),
    (Status.SUBMITTED, Action.ACCEPT), (Status.RETURNED, Action.APPROVE), (Status.ACCEPTED, Action.RETURN),
])
def test_steps_out_of_order_are_refused_in_japanese(status: Status, action: Action) -> None:
    with pytest.raises(Conflict) as e:
        transition(status, action, owner_is_prefecture=False)
    assert "行えません" in e.value.message_ja


def m(kind: MeasureKind = MeasureKind.OTHER, digital: bool = False, state: MeasureState = MeasureState.IN_PLACE,
      fy: int | None = 2023) -> MeasureFacts:
    return MeasureFacts(kind, digital, state, fy)


def test_facts_count_measures_in_place_and_ever_used_furusato() -> None:
    assert facts_of([m(digital=True)]) == {Fact.DIGITAL_IMPLEMENTATION}
    assert facts_of([m(digital=True, state=MeasureState.PLANNED)]) == set()
    assert facts_of([m(MeasureKind.SATELLITE_OFFICE, state=MeasureState.ENDED)]) == set()
    # 企業版ふるさと納税を「活用したことのある」: an ended use still counts
    assert facts_of([m(MeasureKind.CORPORATE_FURUSATO, state=MeasureState.ENDED)]) == {Fact.CORPORATE_FURUSATO}
    assert facts_of([m(MeasureKind.NEW_MOBILITY, digital=True)]) == {Fact.NEW_MOBILITY,
                                                                      Fact.DIGITAL_IMPLEMENTATION}
    assert facts_of([m(MeasureKind.KODOMO_CENTER, fy=2026)], as_of_fy=2025) == set()


def test_diff_names_added_removed_and_changed_items() -> None:
    old = {"header": {"title": "A", "fiscal_year": 2023}, "measures": [{"key": "x", "state": "planned"},
                                                                      {"key": "y"}]}
    new = {"header": {"title": "A", "fiscal_year": 2024}, "measures": [{"key": "x", "state": "in_place"},
                                                                      {"key": "z"}]}
    got = [(c.section, c.key, c.kind) for c in diff(old, new)]
    assert got == [("header", "fiscal_year", "changed"), ("measures", "y", "removed"),
                   ("measures", "x", "changed"), ("measures", "z", "added")]
