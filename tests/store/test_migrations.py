"""Migrations: the Alembic head matches the models on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from digiden.store.migrate import current_revision, head_revision, include_object
from digiden.store.models import Base


def _context(conn):  # type: ignore[no-untyped-def]
    return MigrationContext.configure(conn, opts={"include_object": include_object})


def test_database_is_at_head_and_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(_context(conn), Base.metadata)
    assert diff == []


def _chain(url: str) -> None:
    from sqlalchemy import text

    from digiden.store.db import make_engine
    from digiden.store.migrate import upgrade
    engine = make_engine(url)
    upgrade(engine, "0001")
    with engine.begin() as c:   # a database someone already uses, at the first schema
        c.execute(text("INSERT INTO org_unit (code, name, full_name, kana, search_text, kind, "
                       "prefecture_code) VALUES ('JP', '国', '国（全国）', 'クニ', 'くに', 'nation', '00')"))
        c.execute(text("INSERT INTO practice (code, title, place, partners, summary, origin, status, position) "
                       "VALUES ('old', '既存の事例', NULL, '[]', '', 'seed', 'published', 1)"))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert compare_metadata(_context(conn), Base.metadata) == []
        assert conn.execute(text("SELECT count(*) FROM org_unit")).scalar_one() == 1
        # a practice from before the knowledge tables keeps its data and gets the new columns' defaults
        row = conn.execute(text("SELECT title, problem, version, synthetic FROM practice WHERE code = 'old'")).one()
        assert (row.title, row.problem, row.version, bool(row.synthetic)) == ("既存の事例", "", 1, False)
    engine.dispose()


def test_an_existing_sqlite_database_upgrades_to_head(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _chain(f"sqlite:///{tmp_path / 'old.sqlite3'}")


@pytest.mark.postgres
def test_an_existing_postgresql_database_upgrades_to_head() -> None:
    from tests.conftest import PgSchema, require_pg
    require_pg()
    schema = PgSchema()
    try:
        _chain(schema.url)
    finally:
        schema.drop()
