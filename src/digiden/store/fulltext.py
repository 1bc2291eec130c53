"""The full-text index's own SQL: the SQLite FTS5 table `search_fts` or, on PostgreSQL, the
`tsv` column of `search_doc` (both made by migration 0004, outside the models). Terms arrive
already tokenised (services/knowledge/textja.py); nothing here knows Japanese. The reads that run before
every search go to the driver directly, without the ORM."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


def is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def _rows(s: Session, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    cur = s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, params or {})
        return cur.fetchall()  # type: ignore[no-any-return]
    finally:
        cur.close()


def write(s: Session, rows: list[dict[str, Any]]) -> None:
    """Index (or re-index) documents: ``[{"id", "t": title terms, "b": body terms}]``."""
    if not rows:
        return
    if is_postgres(s):
        s.execute(text("UPDATE search_doc SET tsv = setweight(to_tsvector('simple', :t), 'A') || "
                       "setweight(to_tsvector('simple', :b), 'B') WHERE id = :id"), rows)
    else:
        s.execute(text("DELETE FROM search_fts WHERE rowid = :id"), [{"id": r["id"]} for r in rows])
        s.execute(text("INSERT INTO search_fts (rowid, title_terms, body_terms) VALUES (:id, :t, :b)"), rows)


def remove(s: Session, doc_id: int) -> None:
    """Before the `search_doc` row goes (on PostgreSQL the index goes with the row)."""
    if not is_postgres(s):
        s.execute(text("DELETE FROM search_fts WHERE rowid = :id"), {"id": doc_id})


def clear(s: Session) -> None:
    if not is_postgres(s):
        s.execute(text("DELETE FROM search_fts"))


def version(s: Session) -> str:
    """The index version (search_meta), read before every search."""
    rows = _rows(s, "SELECT value FROM search_meta WHERE key = 'version'")
    return str(rows[0][0]) if rows else ""


def match_bm25(s: Session, fts5_expression: str) -> list[tuple[int, float]]:
    """SQLite: (doc id, FTS5 BM25 with title terms weighted 4 : 1) of every match."""
    return _rows(s, "SELECT rowid, -bm25(search_fts, 4.0, 1.0) FROM search_fts WHERE search_fts MATCH :q",
                 {"q": fts5_expression})


def match_ids(s: Session, tsquery_expression: str) -> list[int]:
    """PostgreSQL: the ids of every match (the GIN index finds them; scoring is digiden's)."""
    return [r[0] for r in _rows(s, "SELECT id FROM search_doc WHERE tsv @@ to_tsquery('simple', %(q)s)",
                                {"q": tsquery_expression})]
