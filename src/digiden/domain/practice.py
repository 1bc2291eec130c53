"""A good practice's review before publishing (優良事例の審査): its states, the steps between
them and the practices nobody needs to sign in to see. Pure: no I/O.

The authors (staff of its local governments or their prefecture) save a practice as a draft or
submit it; the nation publishes it, returns it with a comment, or withdraws a published one
with a comment. Who may take a step is decided in ``domain.access`` (``can_edit_practice``,
``can_review_practice``); what the step does, here."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from digiden.domain.errors import Conflict, InvalidInput


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    RETURNED = "returned"

    @property
    def label_ja(self) -> str:
        return STATUS_LABELS_JA[self]

    @property
    def editable_by_authors(self) -> bool:
        """Its authors change it while it is a draft or returned (the nation at any time)."""
        return self in (Status.DRAFT, Status.RETURNED)

    @classmethod
    def parse(cls, text: str) -> Status:
        if text in cls._value2member_map_:
            return cls(text)
        raise InvalidInput(f"unknown status {text!r}", message_ja=f"不明な状態です: {text}", field="status")


STATUS_LABELS_JA: Mapping[Status, str] = {
    Status.DRAFT: "下書き",
    Status.SUBMITTED: "審査待ち",
    Status.PUBLISHED: "公開",
    Status.RETURNED: "差戻し",
}

# Seen by everyone, the anonymous public included. Every other state is seen only by those the
# visibility rule in ``domain.access`` (``practice_reach``) names.
PUBLIC_STATUSES: frozenset[Status] = frozenset({Status.PUBLISHED})


class Action(StrEnum):
    SAVE = "save"              # the authors keep it as a draft
    SUBMIT = "submit"          # the authors send it for review
    PUBLISH = "publish"        # the nation publishes it
    RETURN = "return"          # back to the authors, with a comment
    UNPUBLISH = "unpublish"    # the nation withdraws a published practice, with a comment

    @property
    def label_ja(self) -> str:
        return ACTION_LABELS_JA[self]

    @property
    def is_review(self) -> bool:
        """A step of the nation's review (the others are its authors' saves)."""
        return self in REVIEW_ACTIONS

    @property
    def needs_comment(self) -> bool:
        return self in (Action.RETURN, Action.UNPUBLISH)

    @classmethod
    def parse_review(cls, text: str) -> Action:
        """A review step as the form or the API names it."""
        if text in cls._value2member_map_ and cls(text).is_review:
            return cls(text)
        raise InvalidInput(f"unknown action {text!r}", message_ja=f"不明な操作です: {text}", field="action")


ACTION_LABELS_JA: Mapping[Action, str] = {
    Action.SAVE: "下書きとして保存する",
    Action.SUBMIT: "審査に提出する",
    Action.PUBLISH: "公開する",
    Action.RETURN: "差し戻す",
    Action.UNPUBLISH: "公開を取り下げる",
}

REVIEW_ACTIONS: frozenset[Action] = frozenset({Action.PUBLISH, Action.RETURN, Action.UNPUBLISH})

# (state, step) → the next state. A saved change to a published practice (the nation's
# correction) keeps it published; any other save makes a draft, any submission a submission.
TRANSITIONS: Mapping[tuple[Status, Action], Status] = {
    (Status.DRAFT, Action.SAVE): Status.DRAFT,
    (Status.DRAFT, Action.SUBMIT): Status.SUBMITTED,
    (Status.RETURNED, Action.SAVE): Status.DRAFT,
    (Status.RETURNED, Action.SUBMIT): Status.SUBMITTED,
    (Status.SUBMITTED, Action.SAVE): Status.DRAFT,
    (Status.SUBMITTED, Action.SUBMIT): Status.SUBMITTED,
    (Status.PUBLISHED, Action.SAVE): Status.PUBLISHED,
    (Status.PUBLISHED, Action.SUBMIT): Status.PUBLISHED,
    (Status.DRAFT, Action.PUBLISH): Status.PUBLISHED,
    (Status.RETURNED, Action.PUBLISH): Status.PUBLISHED,
    (Status.SUBMITTED, Action.PUBLISH): Status.PUBLISHED,
    (Status.SUBMITTED, Action.RETURN): Status.RETURNED,
    (Status.PUBLISHED, Action.UNPUBLISH): Status.RETURNED,
}


def transition(status: Status, action: Action) -> Status:
    """The state after the step, or Conflict if the step is not possible in this state."""
    new = TRANSITIONS.get((status, action))
    if new is None:
        raise Conflict(f"a {status.value} practice cannot be {action.value}ed",
                       message_ja=f"「{status.label_ja}」の事例にはこの操作はできません")
    return new


def created(*, submit: bool) -> Status:
    """A new practice: a draft saved or submitted."""
    return transition(Status.DRAFT, edit_action(submit=submit))


def edit_action(*, submit: bool) -> Action:
    """The step a saved form (or API body) takes: submit it, or keep it as a draft."""
    return Action.SUBMIT if submit else Action.SAVE


def review_actions(status: Status) -> tuple[Action, ...]:
    """The review steps possible in this state, in the order the review form offers them."""
    return tuple(a for a in (Action.PUBLISH, Action.RETURN, Action.UNPUBLISH) if (status, a) in TRANSITIONS)


# Waiting for whom: a submission for the nation's review, a returned practice for its authors.
WAITING_FOR_REVIEW = Status.SUBMITTED
WAITING_FOR_AUTHORS = Status.RETURNED
