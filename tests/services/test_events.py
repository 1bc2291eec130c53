"""Side effects wired once: services emit domain events, the unit of work hands them to the
handlers of services/handlers.py — in the transaction just before commit, or after it — and no
write path calls the search index itself."""

from __future__ import annotations

import ast
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from digiden.domain import events
from digiden.domain.access import PUBLIC
from digiden.services.handlers import HANDLERS
from digiden.services.knowledge import practices, search
from digiden.services.uow import Handlers, UnitOfWork, registered_handlers, runs
from digiden.store.models import Practice, SearchMeta
from tests.conftest import FIXED_NOW as NOW

SRC = Path(__file__).resolve().parents[2] / "src" / "digiden"
DOC = {"title": "ドローンによる山間部の薬の配送", "org_units": ["064033"], "field": "P4.2",
       "problem": "通院の難しい高齢者", "solution": "ドローンで処方薬を届ける"}


# ---------------------------------------------------------------- the wiring

def test_every_event_that_changes_search_text_has_a_search_handler() -> None:
    searchable = [e for e in events.all_events() if e.changes_search_text]
    assert {e.__name__ for e in searchable} >= {"StrategyAccepted", "StrategyReopened", "PracticePublished",
                                                "PracticeChanged", "PracticeWithdrawn"}
    for e in searchable:
        owners = {h.__module__ for h in HANDLERS.in_transaction.get(e, ())}
        assert "digiden.services.knowledge.search" in owners, \
            f"{e.__name__} changes search text but has no search handler"


def test_the_unit_of_work_finds_the_handler_table_by_name() -> None:
    assert registered_handlers() is HANDLERS


def test_events_are_small_immutable_facts() -> None:
    for e in events.all_events():
        assert e.__dataclass_params__.frozen, e.__name__      # type: ignore[attr-defined]
        assert e.__module__ == "digiden.domain.events"


# What of digiden.services.knowledge.search the rest of the code may use: asking, not writing. Anything
# else (the handlers, remove, rebuild, the document builders) only the handler table, the search
# module itself, and the commands that rebuild the whole index may touch.
QUERY_API = {"search", "SearchResult", "Hit", "FacetValue", "FACETS", "FACET_LABELS", "KINDS", "document_count"}
MAY_WRITE_THE_INDEX = {"services/knowledge/search.py", "services/handlers.py", "services/reference.py",
                       "cli_knowledge.py"}


def _index_writes(tree: ast.AST) -> list[tuple[int, str]]:
    aliases = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "digiden.services.knowledge.search":
            found += [(node.lineno, a.name) for a in node.names if a.name not in QUERY_API]
        if isinstance(node, ast.ImportFrom) and node.module == "digiden.services.knowledge":
            aliases |= {a.asname or a.name for a in node.names if a.name == "search"}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr not in QUERY_API and isinstance(node.value, ast.Name)
                and node.value.id in aliases):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return sorted(found)


def test_no_write_path_calls_the_search_index() -> None:
    """A write path says what happened (uow.emit); it never indexes by hand."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel in MAY_WRITE_THE_INDEX:
            continue
        offenders += [f"{rel}:{line}: {name}" for line, name in _index_writes(ast.parse(path.read_text("utf-8")))]
    assert offenders == []


def test_the_source_check_sees_a_hand_written_index_call() -> None:
    code = ("from digiden.services.knowledge import search as s\nfrom digiden.services.knowledge.search import remove\n"
            "def publish(x):\n    s.on_practice_events(x, [])\n")
    assert [n for _, n in _index_writes(ast.parse(code))] == ["remove", "s.on_practice_events"]
    assert _index_writes(ast.parse("from digiden.services.knowledge import search\nsearch.search(u, p, 'q')\n")) == []


# ---------------------------------------------------------------- dispatch

def test_runs_cut_events_into_consecutive_runs_of_one_class() -> None:
    e = [events.PracticePublished(1), events.PracticePublished(2), events.PracticeWithdrawn(1),
         events.PracticePublished(3)]
    assert [(c.__name__, [x.practice_id for x in r]) for c, r in runs(e)] == [
        ("PracticePublished", [1, 2]), ("PracticeWithdrawn", [1]), ("PracticePublished", [3])]


class Recorder:
    """In-transaction and after-commit handlers that note what they saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def during(self, s: Session, evs: Sequence[events.PracticeChanged]) -> None:
        # the change is flushed and visible to the handler, and what it writes commits with it
        title = s.scalar(select(Practice.title).where(Practice.id == evs[0].practice_id))
        s.merge(SearchMeta(key="recorder", value=str(title)[:64]))
        self.seen.append(("during", [e.practice_id for e in evs]))

    def after(self, evs: Sequence[events.PracticeChanged]) -> None:
        self.seen.append(("after", [e.practice_id for e in evs]))


def _table(r: Recorder, *extra: Any) -> Handlers:
    return Handlers(in_transaction={events.PracticeChanged: [r.during, *extra]},
                    after_commit={events.PracticeChanged: [r.after]})


def _first_practice(uow: UnitOfWork) -> int:
    with uow.for_reading() as u:
        return int(u.session.scalars(select(Practice.id).order_by(Practice.id)).first() or 0)


def _meta(session_factory: sessionmaker[Session], key: str) -> str | None:
    with session_factory() as s:
        return s.get(SearchMeta, key).value if s.get(SearchMeta, key) else None   # type: ignore[union-attr]


def test_handlers_run_in_the_transaction_then_after_commit(session_factory: sessionmaker[Session]) -> None:
    r = Recorder()
    uow = UnitOfWork(session_factory, handlers=_table(r))
    pid = _first_practice(uow)
    with uow:
        uow.session.get(Practice, pid).title = "イベントの試験"      # type: ignore[union-attr]
        uow.emit(events.PracticeChanged(pid))
        uow.emit(events.PracticeChanged(pid))
        assert r.seen == []                       # nothing runs before commit
        uow.commit()
    assert r.seen == [("during", [pid, pid]), ("after", [pid, pid])]
    assert _meta(session_factory, "recorder") == "イベントの試験"


def test_an_in_transaction_handler_that_fails_rolls_the_change_back(session_factory: sessionmaker[Session]) -> None:
    def boom(s: Session, evs: Sequence[Any]) -> None:
        raise RuntimeError("handler failed")

    r = Recorder()
    uow = UnitOfWork(session_factory, handlers=_table(r, boom))
    pid = _first_practice(uow)
    with pytest.raises(RuntimeError, match="handler failed"), uow:
        uow.session.get(Practice, pid).title = "保存されない"      # type: ignore[union-attr]
        uow.emit(events.PracticeChanged(pid))
        uow.commit()
    assert r.seen == [("during", [pid])]          # no after-commit notice for what was not saved
    assert _meta(session_factory, "recorder") is None
    with uow.for_reading() as u:
        assert u.session.get(Practice, pid).title != "保存されない"   # type: ignore[union-attr]


def test_an_after_commit_handler_that_fails_is_logged_and_the_change_stays(
        session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture) -> None:
    def broken(evs: Sequence[Any]) -> None:
        raise RuntimeError("mail server down")

    uow = UnitOfWork(session_factory, handlers=Handlers(after_commit={events.PracticeChanged: [broken]}))
    pid = _first_practice(uow)
    with caplog.at_level(logging.ERROR, logger="digiden.services.uow"), uow:
        uow.session.get(Practice, pid).title = "通知に失敗しても保存"      # type: ignore[union-attr]
        uow.emit(events.PracticeChanged(pid))
        uow.commit()
    assert "mail server down" in caplog.text
    with uow.for_reading() as u:
        assert u.session.get(Practice, pid).title == "通知に失敗しても保存"   # type: ignore[union-attr]


def test_events_of_a_unit_of_work_left_without_commit_are_dropped(session_factory: sessionmaker[Session]) -> None:
    r = Recorder()
    uow = UnitOfWork(session_factory, handlers=_table(r))
    with uow:
        uow.emit(events.PracticeChanged(1))
    with uow:
        uow.commit()
    assert r.seen == []


def test_a_reading_unit_of_work_refuses_events(session_factory: sessionmaker[Session]) -> None:
    with UnitOfWork(session_factory, read_only=True) as u, pytest.raises(RuntimeError, match="reading"):
        u.emit(events.PracticeChanged(1))
    with pytest.raises(RuntimeError, match="outside"):
        UnitOfWork(session_factory).emit(events.PracticeChanged(1))


def test_search_indexing_commits_or_rolls_back_with_the_change(session_factory: sessionmaker[Session],
                                                               accounts) -> None:  # type: ignore[no-untyped-def]
    """The real search handler, then one that fails: the practice stays unpublished, the index
    and its version are as they were."""
    def boom(s: Session, evs: Sequence[Any]) -> None:
        raise RuntimeError("after indexing")

    uow = UnitOfWork(session_factory)
    p = practices.add(uow, accounts["admin"], DOC, now=NOW)
    version = _meta(session_factory, "version")
    failing = Handlers(in_transaction={events.PracticePublished: [search.on_practice_events, boom]})
    with pytest.raises(RuntimeError, match="after indexing"):
        practices.review(UnitOfWork(session_factory, handlers=failing), accounts["admin"], p.code, "publish",
                         now=NOW)
    assert _meta(session_factory, "version") == version
    assert p.code not in [h.id for h in search.search(uow, PUBLIC, "ドローン 薬").hits]
    assert practices.get(uow, accounts["admin"], p.code).status.value == "submitted"
