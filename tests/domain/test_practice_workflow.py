"""A good practice's review before publishing: every step in every state, allowed or refused,
and the Japanese words for them (pure rules)."""

from __future__ import annotations

import itertools

import pytest

from digiden.domain.errors import Conflict, InvalidInput
from digiden.domain.practice import (
    PUBLIC_STATUSES,
    REVIEW_ACTIONS,
    Action,
    Status,
    created,
    edit_action,
    review_actions,
    transition,
)

D, S, P, R = Status.DRAFT, Status.SUBMITTED, Status.PUBLISHED, Status.RETURNED

# Every allowed step, written out: (state, step) → next state.
ALLOWED = {
    (D, Action.SAVE): D, (D, Action.SUBMIT): S, (D, Action.PUBLISH): P,
    (R, Action.SAVE): D, (R, Action.SUBMIT): S, (R, Action.PUBLISH): P,
    (S, Action.SAVE): D, (S, Action.SUBMIT): S, (S, Action.PUBLISH): P, (S, Action.RETURN): R,
    (P, Action.SAVE): P, (P, Action.SUBMIT): P, (P, Action.UNPUBLISH): R,
}
REFUSED = sorted(set(itertools.product(Status, Action)) - set(ALLOWED))


def test_the_refused_steps_are_exactly_these() -> None:
    assert REFUSED == sorted([(D, Action.RETURN), (D, Action.UNPUBLISH), (R, Action.RETURN),
                              (R, Action.UNPUBLISH), (S, Action.UNPUBLISH), (P, Action.PUBLISH),
                              (P, Action.RETURN)])


@pytest.mark.parametrize(("status", "action"), sorted(ALLOWED))
def test_every_allowed_step(status: Status, action: Action) -> None:
    assert transition(status, action) is ALLOWED[(status, action)]


@pytest.mark.parametrize(("status", "action"), REFUSED)
def test_every_refused_step_is_a_conflict_in_japanese(status: Status, action: Action) -> None:
    with pytest.raises(Conflict) as e:
        transition(status, action)
    assert e.value.message_ja == f"「{status.label_ja}」の事例にはこの操作はできません"
    assert status.value in e.value.message


def test_a_published_practice_cannot_be_published_again_or_returned() -> None:
    with pytest.raises(Conflict) as e:
        transition(P, Action.RETURN)
    assert e.value.message_ja == "「公開」の事例にはこの操作はできません"
    assert e.value.message == "a published practice cannot be returned"


def test_a_new_practice_is_a_draft_saved_or_submitted() -> None:
    assert created(submit=False) is D and created(submit=True) is S
    assert edit_action(submit=True) is Action.SUBMIT and edit_action(submit=False) is Action.SAVE


def test_the_nation_publishes_returns_and_withdraws_with_a_comment() -> None:
    assert REVIEW_ACTIONS == {Action.PUBLISH, Action.RETURN, Action.UNPUBLISH}
    assert [a for a in Action if a.is_review] == [Action.PUBLISH, Action.RETURN, Action.UNPUBLISH]
    assert [a for a in Action if a.needs_comment] == [Action.RETURN, Action.UNPUBLISH]
    assert review_actions(D) == review_actions(R) == (Action.PUBLISH,)
    assert review_actions(S) == (Action.PUBLISH, Action.RETURN)
    assert review_actions(P) == (Action.UNPUBLISH,)


def test_only_published_practices_are_public_and_authors_edit_drafts_and_returned_ones() -> None:
    assert PUBLIC_STATUSES == {P}
    assert [s for s in Status if s.editable_by_authors] == [D, R]


def test_japanese_labels() -> None:
    assert {s.value: s.label_ja for s in Status} == {
        "draft": "下書き", "submitted": "審査待ち", "published": "公開", "returned": "差戻し"}
    assert {a.value: a.label_ja for a in Action} == {
        "save": "下書きとして保存する", "submit": "審査に提出する", "publish": "公開する",
        "return": "差し戻す", "unpublish": "公開を取り下げる"}


def test_parsing_names_the_unknown_in_japanese() -> None:
    assert Status.parse("returned") is R and Action.parse_review("unpublish") is Action.UNPUBLISH
    with pytest.raises(InvalidInput) as e:
        Status.parse("archived")
    assert (e.value.message_ja, e.value.field) == ("不明な状態です: archived", "status")
    for text in ("save", "submit", "delete", ""):     # the authors' steps are no review steps
        with pytest.raises(InvalidInput) as e:
            Action.parse_review(text)
        assert (e.value.message_ja, e.value.field) == (f"不明な操作です: {text}", "action")
