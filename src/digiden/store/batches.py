"""SQL of import batches: the import lock (one importer per database) and reverting a batch."""

from __future__ import annotations

from sqlalchemy import Connection

# One import at a time per database (per schema on PostgreSQL), across processes: the web
# app's job queue keeps its own imports in line, this keeps the CLI and the API in line too.
PG_IMPORT_LOCK = "pg_try_advisory_xact_lock(hashtext('digiden.import'), hashtext(current_schema()))"


def try_import_lock(conn: Connection) -> bool:
    """PostgreSQL: take the transaction-level import lock if it is free (True) or not (False)."""
    return bool(conn.exec_driver_sql(f"SELECT {PG_IMPORT_LOCK}").scalar())


def take_write_lock(conn: Connection) -> None:
    """SQLite: take the database's write lock now, before anything is read (raises
    OperationalError, locked or busy, when another writer holds it past the busy timeout)."""
    conn.exec_driver_sql("UPDATE import_batch SET id = id WHERE id < 0")


def remove_created(conn: Connection, batch_id: int) -> int:
    """Delete the observations a batch created (not those it only overwrote); how many."""
    return conn.exec_driver_sql(
        f"DELETE FROM observation WHERE batch_id = {int(batch_id)} AND id NOT IN "
        f"(SELECT observation_id FROM observation_change WHERE batch_id = {int(batch_id)})").rowcount


def restore_overwritten(conn: Connection, batch_id: int) -> int:
    """Put back the values (and sources) a batch overwrote, as recorded in observation_change;
    how many."""
    return conn.exec_driver_sql(
        "UPDATE observation AS o SET value = ch.old_value, qualifier = ch.old_qualifier, "
        "as_of_precision = ch.old_precision, source_title = ch.old_source_title, "
        "source_url = ch.old_source_url, batch_id = ch.old_batch_id, updated_at = NULL, "
        f"source_row = NULL FROM observation_change ch WHERE ch.batch_id = {int(batch_id)} "
        "AND ch.observation_id = o.id").rowcount
