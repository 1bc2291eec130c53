"""Search evaluation: run every query of queries.yaml and print nDCG@10 and MRR.

    make search-eval                      # a fresh SQLite database in a temporary folder
    python -m tests.search_eval.evaluate --url postgresql+psycopg://postgres@127.0.0.1:5432/test

Against a URL the script works in its own PostgreSQL schema (created and dropped)."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from digiden.domain.access import PUBLIC
from digiden.domain.search import ndcg_at_k, reciprocal_rank
from digiden.services.knowledge import search
from digiden.services.reference import init_reference_data
from digiden.services.uow import UnitOfWork
from digiden.store.db import make_engine, make_session_factory
from digiden.store.migrate import upgrade

QUERIES = Path(__file__).with_name("queries.yaml")


@dataclass(frozen=True)
class QueryResult:
    q: str
    ndcg: float
    rr: float
    top: list[str]


@dataclass(frozen=True)
class Report:
    results: list[QueryResult]

    @property
    def ndcg(self) -> float:
        return statistics.fmean(r.ndcg for r in self.results)

    @property
    def mrr(self) -> float:
        return statistics.fmean(r.rr for r in self.results)


def load_queries() -> list[tuple[str, dict[str, float]]]:
    doc = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))
    return [(q["q"], {str(k): float(v) for k, v in q["relevant"].items()}) for q in doc["queries"]]


def evaluate(uow: UnitOfWork, k: int = 10) -> Report:
    out = []
    for q, relevant in load_queries():
        r = search.search(uow, PUBLIC, q, limit=k, with_facets=False)
        ranked = [f"{h.kind}:{h.id}" for h in r.hits]
        out.append(QueryResult(q, ndcg_at_k(ranked, relevant, k), reciprocal_rank(ranked, relevant), ranked[:3]))
    return Report(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", help="a PostgreSQL URL (default: a fresh SQLite file)")
    ap.add_argument("--verbose", action="store_true", help="print every query")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        if args.url:
            from sqlalchemy import text
            admin = make_engine(args.url)
            schema = f"digiden_eval_{uuid.uuid4().hex[:8]}"
            with admin.begin() as c:
                c.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.url else "?"
            url = f"{args.url}{sep}options=-csearch_path%3D{schema}"
        else:
            url = f"sqlite:///{Path(tmp) / 'eval.sqlite3'}"
        engine = make_engine(url)
        try:
            upgrade(engine)
            init_reference_data(UnitOfWork(make_session_factory(engine)), actor="search-eval",
                                now=datetime.now(UTC))
            report = evaluate(UnitOfWork(make_session_factory(engine)))
        finally:
            engine.dispose()
            if schema:
                with admin.begin() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    for r in report.results:
        if args.verbose or r.rr < 1:
            print(f"{r.ndcg:5.2f} {r.rr:5.2f}  {r.q}  → {', '.join(r.top)}")
    backend = "PostgreSQL" if args.url else "SQLite"
    print(f"{len(report.results)} queries on {backend}: nDCG@10 = {report.ndcg:.3f}, MRR = {report.mrr:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
