"""The evaluation set keeps the ranking honest: a change that makes planners' queries find the
wrong things first fails here (figures and their reading: docs/search.md)."""

from __future__ import annotations

from digiden.services.uow import UnitOfWork
from tests.search_eval.evaluate import evaluate, load_queries


def test_the_set_has_at_least_forty_queries_with_answers() -> None:
    qs = load_queries()
    assert len(qs) >= 40
    assert all(any(g == 2 for g in rel.values()) for _, rel in qs)


def test_planners_queries_find_the_right_records_first(uow: UnitOfWork, backend: str) -> None:
    report = evaluate(uow)
    misses = [r.q for r in report.results if r.rr == 0]
    assert not misses, f"nothing relevant in the first 10 for: {misses}"
    assert report.mrr >= 0.9, report.mrr
    assert report.ndcg >= 0.9, report.ndcg
