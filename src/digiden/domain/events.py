"""What happened, as small immutable facts: services raise them through ``UnitOfWork.emit`` and
the unit of work hands them to the handlers of ``services/handlers.py`` when it commits.

An event names one thing that happened to one record, by its id (never an ORM object: a handler
reads the record's state as it is at commit). ``changes_search_text`` says whether what the
public can find by search may have changed; ``tests/services/test_events.py`` checks that every
such event has a search handler, so a new write path that emits its event cannot leave search
stale. Pure: no database, no framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Event:
    """The base of every domain event."""

    changes_search_text: ClassVar[bool] = False


# ---------------------------------------------------------------- local strategies

@dataclass(frozen=True)
class StrategyAccepted(Event):
    """The nation accepted a revision of a local strategy: it is public, and what it says is
    part of its local government's search entry."""

    org_unit_id: int
    strategy_id: int
    revision: int
    changes_search_text: ClassVar[bool] = True


@dataclass(frozen=True)
class StrategyReopened(Event):
    """An accepted revision was re-opened for correction: it is no longer public."""

    org_unit_id: int
    strategy_id: int
    revision: int
    changes_search_text: ClassVar[bool] = True


# ---------------------------------------------------------------- good practices

@dataclass(frozen=True)
class PracticePublished(Event):
    """A practice became public (published by review, or imported as published)."""

    practice_id: int
    changes_search_text: ClassVar[bool] = True


@dataclass(frozen=True)
class PracticeChanged(Event):
    """A practice's content was saved (in whatever state it is now)."""

    practice_id: int
    changes_search_text: ClassVar[bool] = True


@dataclass(frozen=True)
class PracticeWithdrawn(Event):
    """A published practice was taken off the public site (unpublished by review)."""

    practice_id: int
    changes_search_text: ClassVar[bool] = True


# ---------------------------------------------------------------- consultation desk

@dataclass(frozen=True)
class FaqPublished(Event):
    """An FAQ entry made from an answered consultation became public."""

    faq_id: int
    changes_search_text: ClassVar[bool] = True


@dataclass(frozen=True)
class FaqWithdrawn(Event):
    """A published FAQ entry was taken off the public site (withdrawn or returned to a draft)."""

    faq_id: int
    changes_search_text: ClassVar[bool] = True


PRACTICE_EVENTS: tuple[type[Event], ...] = (PracticePublished, PracticeChanged, PracticeWithdrawn)
STRATEGY_EVENTS: tuple[type[Event], ...] = (StrategyAccepted, StrategyReopened)


def all_events() -> list[type[Event]]:
    """Every concrete event class (for the tests that check each has its handlers)."""
    out: list[type[Event]] = []
    todo = list(Event.__subclasses__())
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(out, key=lambda c: c.__name__)
