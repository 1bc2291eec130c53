"""`digiden backup` and `digiden restore` cover everything: a database with accounts, tokens,
sessions, a local strategy, a practice, an import batch and their audit trail is backed up,
restored into an EMPTY database and compared table by table, row by row; the tables are listed
from the models AND from the database's own catalogue, so the hand-made full-text tables are
compared too. Both databases (PostgreSQL through pg_dump/pg_restore).

A SQLite backup taken while another thread writes is a consistent snapshot."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select, text

from digiden.domain.access import system
from digiden.domain.errors import Conflict, InvalidInput
from digiden.services.data.imports import ImportOptions, run_import
from digiden.services.knowledge import practices
from digiden.services.local import accounts, local_strategies
from digiden.services.uow import UnitOfWork
from digiden.store.backup import backup, pg_schema, restore
from digiden.store.db import make_engine
from digiden.store.models import AuditEvent, Base
from tests.conftest import FIXED_NOW as NOW
from tests.conftest import PG_URL

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PASSWORD = "correct horse battery"


def fill(engine: Engine) -> None:
    """Something in every kind of table, through the services, committed."""
    from digiden.store.db import make_session_factory
    uow = UnitOfWork(make_session_factory(engine))
    op = system("backup-test")
    accounts.create_user(uow, op, username="aizu-bk", password=PASSWORD, role="municipality_staff",
                         org_unit="072028", now=NOW)
    accounts.create_user(uow, op, username="editor-bk", password=PASSWORD, role="ministry_editor",
                         ministry="総務省", now=NOW)
    accounts.create_token(uow, op, username="aizu-bk", name="集計", scopes="read", now=NOW)
    accounts.sign_in(uow, "aizu-bk", PASSWORD, now=NOW)                       # a session
    aizu = accounts.user_principal(uow, "aizu-bk")
    local_strategies.save(uow, aizu, "072028", {
        "title": "会津若松市 総合戦略", "fiscal_year": "令和6年度", "vision": "データで暮らしを便利に",
        "measures": [{"title": "データ連携基盤", "field": "F1.3", "digital": True, "state": "in_place"}]}, now=NOW)
    local_strategies.act(uow, aizu, "072028", 1, "submit", now=NOW)
    practices.add(uow, aizu, {"title": "AIオンデマンド交通", "org_units": ["072028"], "field": "P4.3",
                              "problem": "路線バスの廃止", "solution": "AIで配車"}, now=NOW)
    run_import(uow, FIXTURES / "wide_bom.csv", ImportOptions(kpi="digital-promotion-talent"), actor=op, now=NOW)


def catalogue_tables(engine: Engine) -> set[str]:
    """Every table the database itself lists (SQLite: sqlite_master, so FTS5 and its shadow tables)."""
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            return set(c.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")))
        return set(c.scalars(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                             {"s": pg_schema(engine.url)}))


def rows_of(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    q = '"' + table.replace('"', '""') + '"'
    with engine.connect() as c:
        if engine.dialect.name == "postgresql":
            cols = [col["name"] for col in inspect(engine).get_columns(table)]
            sel = ", ".join(f'"{n}"::text' for n in cols)      # tsvector and jsonb compared as text
            return sorted((tuple(r) for r in c.execute(text(f"SELECT {sel} FROM {q}"))), key=repr)
        return sorted((tuple(r) for r in c.execute(text(f"SELECT * FROM {q}"))), key=repr)


@pytest.fixture
def empty_engine(live_db, tmp_path: Path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """An empty database to restore into: a new SQLite file, or on PostgreSQL a new database
    whose search_path names the same schema (pg_dump archives keep their schema's name)."""
    if live_db.backend == "sqlite":
        e = make_engine(f"sqlite:///{tmp_path / 'restored.sqlite3'}")
        yield e
        e.dispose()
        return
    name = f"digiden_r_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = live_db.engine.url.set(database=name)
    e = make_engine(url.render_as_string(hide_password=False))
    yield e
    e.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_restore_into_an_empty_database_gives_back_every_row_of_every_table(  # type: ignore[no-untyped-def]
        live_db, empty_engine: Engine, tmp_path: Path) -> None:
    fill(live_db.engine)
    report = backup(live_db.engine, tmp_path / "digiden.bak")
    assert report.bytes > 0 and report.rows > 0 and report.revision is not None
    restored = restore(empty_engine, tmp_path / "digiden.bak")
    assert restored.rows == report.rows and restored.revision == report.revision

    models = {t.name for t in Base.metadata.sorted_tables}
    original = catalogue_tables(live_db.engine)
    assert models <= original, models - original
    assert "alembic_version" in original
    if live_db.backend == "sqlite":
        assert {"search_fts", "search_fts_data"} <= original     # made by hand in migration 0004
    assert catalogue_tables(empty_engine) == original
    for table in sorted(original):
        before = rows_of(live_db.engine, table)
        assert rows_of(empty_engine, table) == before, table
    for table in ("user_account", "api_token", "web_session", "local_strategy", "practice", "import_batch",
                  "audit_event", "search_doc"):
        assert table in original and rows_of(live_db.engine, table), f"{table} was not exercised"

    # the restored database works: the full-text index answers and the accounts sign in
    from digiden.services.knowledge import search
    from digiden.store.db import make_session_factory
    uow = UnitOfWork(make_session_factory(empty_engine))
    assert search.search(uow, system("t"), "会津若松").hits
    assert accounts.sign_in(uow, "aizu-bk", PASSWORD, now=NOW)[2].name == "aizu-bk"


def test_restore_refuses_a_database_with_data_unless_forced(live_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bak = tmp_path / "again.bak"
    backup(live_db.engine, bak)
    with pytest.raises(Conflict) as e:
        restore(live_db.engine, bak)
    assert "空のデータベース" in e.value.message_ja and "--force" in e.value.message
    with pytest.raises(Conflict):              # and a backup never overwrites silently
        backup(live_db.engine, bak)
    with live_db.engine.connect() as c:
        events = c.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    restore(live_db.engine, bak, force=True)
    with live_db.engine.connect() as c:
        assert c.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == events
    not_a_backup = tmp_path / "x.csv"
    not_a_backup.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(InvalidInput):
        restore(live_db.engine, not_a_backup, force=True)


def test_a_sqlite_backup_taken_while_another_thread_writes_is_consistent(tmp_path: Path) -> None:
    """Each writer transaction adds a pair of audit events; a backup must hold whole pairs and
    pass PRAGMA integrity_check."""
    import sqlite3

    from digiden.store.migrate import upgrade
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.sqlite3'}")
    upgrade(engine)
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        while not stop.is_set():
            with engine.begin() as c:
                for side in ("a", "b"):
                    c.execute(AuditEvent.__table__.insert().values(
                        at=NOW, actor="probe", action=f"probe-{side}", entity="probe", entity_key=str(written[0]),
                        summary="x" * 2000))
            written[0] += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for i in range(5):
            while written[0] < 50 * (i + 1):
                stop.wait(0.01)
            bak = tmp_path / f"busy-{i}.bak"
            backup(engine, bak)
            con = sqlite3.connect(bak)
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            a, b = (con.execute("SELECT count(*) FROM audit_event WHERE action = ?", (f"probe-{s}",)).fetchone()[0]
                    for s in "ab")
            assert a == b and a > 0
            assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            con.close()
    finally:
        stop.set()
        t.join()
        engine.dispose()
    assert written[0] >= 250
