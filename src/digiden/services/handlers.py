"""Which handlers run for which event: the one place side effects are wired.

``UnitOfWork.commit()`` (``services/uow.py``) finds ``HANDLERS`` here by name. *In the
transaction* handlers write in the same transaction as the change, just before it commits (search
indexing: the index and its version in ``search_meta`` change with the record, or not at all).
*After commit* handlers are pure notifications that write nothing to the database; there are none
yet (the in-app notifications of the review cycle are rows written with the change, so they stay
in the service that makes them).

To add a side effect: write ``handler(session, events)`` (or ``notify(events)`` for after commit)
in the module that owns the effect and list it below. ``tests/services/test_events.py`` checks
that every event whose ``changes_search_text`` is true has a search handler.
"""

from __future__ import annotations

from digiden.domain.events import (
    FaqPublished,
    FaqWithdrawn,
    PracticeChanged,
    PracticePublished,
    PracticeWithdrawn,
    StrategyAccepted,
    StrategyReopened,
)
from digiden.services.knowledge import search
from digiden.services.uow import Handlers

HANDLERS = Handlers(
    in_transaction={
        StrategyAccepted: [search.on_strategy_events],
        StrategyReopened: [search.on_strategy_events],
        PracticePublished: [search.on_practice_events],
        PracticeChanged: [search.on_practice_events],
        PracticeWithdrawn: [search.on_practice_events],
        FaqPublished: [search.on_faq_events],
        FaqWithdrawn: [search.on_faq_events],
    },
    after_commit={},
)
