"""Backup and restore of the whole database: every table, the search index, the audit trail.

SQLite: the online-backup API (``sqlite3.Connection.backup``) copies the database in one step
under a read transaction, so a backup taken while the server writes is a consistent snapshot
(writers go on in WAL mode). The backup is one self-contained SQLite file.

PostgreSQL: ``pg_dump --format=custom`` of the schema digiden uses (the first entry of
``search_path`` in the URL's ``options=-csearch_path=…``, else ``public``), restored with
``pg_restore`` in one transaction. pg_dump's snapshot is consistent by itself.

A restore refuses to replace a database that holds data unless ``force`` is given, and never
leaves a half-restored database behind: SQLite copies pages in one step, PostgreSQL drops and
restores in a single transaction (a failure changes nothing).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, text
from sqlalchemy.engine import URL

from digiden.domain.errors import Conflict, DigidenError, InvalidInput
from digiden.store.migrate import current_revision
from digiden.store.models import Base

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class ToolMissing(DigidenError):
    """pg_dump / pg_restore are not installed where digiden runs (exit 1)."""


class ToolFailed(DigidenError):
    """pg_dump / pg_restore ran and failed; the message is their first error line (exit 1)."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    backend: str
    bytes: int
    tables: int
    rows: int
    revision: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "backend": self.backend, "bytes": self.bytes, "tables": self.tables,
                "rows": self.rows, "revision": self.revision}


def sqlite_path(engine: Engine) -> Path:
    db = engine.url.database
    if not db or db == ":memory:":
        raise InvalidInput("an in-memory SQLite database cannot be backed up or restored",
                           message_ja="メモリ上の SQLite データベースはバックアップ・復元できません")
    return Path(db)


def pg_schema(url: URL) -> str:
    """The schema digiden's tables live in: the first entry of search_path in ``options``."""
    options = url.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    m = re.search(r"search_path\s*=\s*([^\s]+)", options)
    if not m:
        return "public"
    first = m.group(1).split(",")[0].strip().strip('"')
    return first or "public"


def _pg_conn(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password (that goes in PGPASSWORD) and without options."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None).difference_update_query(["options"])
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} is not installed: install the PostgreSQL client tools of the server's "
                          "version (Debian/Ubuntu: apt install postgresql-client)",
                          message_ja=f"{name} がありません。サーバと同じ版の PostgreSQL クライアント"
                                     "（postgresql-client）を導入してください")
    return found


def _run(args: list[str], env: dict[str, str]) -> None:
    r = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else f"exit {r.returncode}")
        tool = Path(args[0]).name
        raise ToolFailed(f"{tool} failed: {first}", message_ja=f"{tool} が失敗しました: {first}")


def counts(engine: Engine) -> tuple[int, int]:
    """(tables, rows) of digiden's own tables, for the report."""
    with engine.connect() as c:
        return _counts_in(c)


def _counts_in(c: Connection) -> tuple[int, int]:
    names = set(inspect(c).get_table_names())
    tables = [t for t in Base.metadata.sorted_tables if t.name in names]
    rows = sum(c.scalar(select(func.count()).select_from(t)) or 0 for t in tables)
    return len(tables), rows


def holds_data(engine: Engine) -> bool:
    """Whether any of digiden's tables has a row (a database that is only migrated does not)."""
    names = set(inspect(engine).get_table_names())
    with engine.connect() as c:
        return any(c.scalar(select(select(t).limit(1).exists())) for t in Base.metadata.sorted_tables
                   if t.name in names)


def _revision(engine: Engine) -> str | None:
    try:
        return current_revision(engine)
    except Exception:  # noqa: BLE001 - an unreadable database has no revision to report
        return None


def backup(engine: Engine, dest: Path, *, force: bool = False) -> BackupReport:
    """Write a consistent copy of the whole database to ``dest`` (a new file)."""
    dest = Path(dest)
    if dest.is_dir():
        raise InvalidInput(f"{dest} is a folder: give the backup file's name",
                           message_ja=f"{dest} はフォルダです。バックアップのファイル名を指定してください",
                           field="path")
    if dest.exists() and not force:
        raise Conflict(f"{dest} exists: choose another name, or --force to replace it",
                       message_ja=f"{dest} は既にあります。別の名前にするか --force で置き換えてください", field="path")
    if not dest.parent.is_dir():
        raise InvalidInput(f"{dest.parent}: no such folder", message_ja=f"フォルダ {dest.parent} がありません",
                           field="path")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_backup(sqlite_path(engine), tmp)
            # the report counts what the file holds, not the live database a moment later
            copy = create_engine(f"sqlite:///{tmp}")
            try:
                tables, rows = counts(copy)
            finally:
                copy.dispose()
        else:
            tables, rows = _pg_backup(engine, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupReport(dest, engine.dialect.name, dest.stat().st_size, tables, rows, _revision(engine))


def _sqlite_backup(source: Path, tmp: Path) -> None:
    if not source.exists():
        raise InvalidInput(f"{source}: no database to back up", message_ja=f"{source} にデータベースがありません")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)                 # pages=-1: one step, one read transaction: a snapshot
        dst.execute("PRAGMA journal_mode=DELETE")   # one self-contained file, no -wal beside it
        ok = dst.execute("PRAGMA quick_check").fetchone()
        if ok != ("ok",):
            raise ToolFailed(f"the backup failed its check: {ok}", message_ja=f"バックアップの検査に失敗しました: {ok}")
    finally:
        dst.close()
        src.close()


def _pg_backup(engine: Engine, tmp: Path) -> tuple[int, int]:
    """pg_dump of digiden's schema, and (tables, rows) counted in the very snapshot it dumps: a
    REPEATABLE READ transaction exports its snapshot and pg_dump reads through it."""
    pg_dump = _tool("pg_dump")
    uri, env = _pg_conn(engine.url)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as c, c.begin():
        snapshot = c.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--schema={pg_schema(engine.url)}",
              f"--file={tmp}", f"--dbname={uri}"], env)
        return _counts_in(c)


def backup_kind(path: Path) -> str:
    """'sqlite' or 'postgresql', from the file's first bytes; a clear refusal otherwise."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a folder, not a backup", message_ja=f"{path} はフォルダです",
                           field="path") from None
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}", message_ja=f"{path} を読めません",
                           field="path") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise InvalidInput(f"{path} is not a digiden backup (neither SQLite nor pg_dump custom format)",
                       message_ja=f"{path} は digiden のバックアップではありません", field="path")


def restore(engine: Engine, source: Path, *, force: bool = False) -> BackupReport:
    """Replace the configured database with the backup at ``source``.

    Refuses (Conflict) when the database holds data, unless ``force``."""
    source = Path(source)
    kind = backup_kind(source)
    if kind != engine.dialect.name:
        raise InvalidInput(f"{source} is a {kind} backup; the configured database is {engine.dialect.name}",
                           message_ja=f"{source} は {kind} のバックアップです。設定されたデータベースは "
                                      f"{engine.dialect.name} です", field="path")
    if not force and _target_exists(engine) and holds_data(engine):
        raise Conflict("the configured database already holds data: restore into an empty database, "
                       "or --force to replace everything in it",
                       message_ja="復元先のデータベースには既にデータがあります。空のデータベースに復元するか、"
                                  "--force で全て置き換えてください")
    engine.dispose()
    if kind == "sqlite":
        _sqlite_restore(source, sqlite_path(engine))
    else:
        _pg_restore(engine, source)
    engine.dispose()
    tables, rows = counts(engine)
    return BackupReport(source, kind, source.stat().st_size, tables, rows, _revision(engine))


def _target_exists(engine: Engine) -> bool:
    if engine.dialect.name == "sqlite":
        return sqlite_path(engine).exists()
    return True


def _sqlite_restore(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        ok = src.execute("PRAGMA quick_check").fetchone()
        has_version = src.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
        if ok != ("ok",) or has_version.fetchone() is None:
            raise InvalidInput(f"{source} is not a sound digiden backup ({ok[0] if ok else 'unreadable'})",
                               message_ja=f"{source} は正しい digiden のバックアップではありません", field="path")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=60)
        try:
            src.backup(dst)             # every page replaced in one step, under the write lock
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()


def _pg_restore(engine: Engine, source: Path) -> None:
    pg_restore = _tool("pg_restore")
    uri, env = _pg_conn(engine.url)
    schema = pg_schema(engine.url)
    listing = subprocess.run([pg_restore, "--list", str(source)], env=env, capture_output=True, text=True,
                             check=False)
    if listing.returncode != 0:
        raise InvalidInput(f"{source} is not a readable pg_dump archive", field="path",
                           message_ja=f"{source} は読める pg_dump のアーカイブではありません")
    entries = listing.stdout.splitlines()
    dumped = {m.group(1) for ln in entries if (m := re.match(r"\d+; \d+ \d+ SCHEMA - (\S+) ", ln))}
    if dumped and schema not in dumped:
        raise InvalidInput(f"{source} holds schema {', '.join(sorted(dumped))}; the configured database uses "
                           f"{schema}: set options=-csearch_path={sorted(dumped)[0]} in DIGIDEN_DATABASE_URL",
                           message_ja=f"{source} のスキーマは {', '.join(sorted(dumped))} です。"
                                      f"DIGIDEN_DATABASE_URL の search_path を合わせてください", field="path")
    with engine.connect() as c:
        exists = c.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}) is not None
    keep = entries
    if exists:
        # the schema is there (it may be `public`): keep it, do not create it or comment on it again;
        # --clean drops what the archive is about to create, in the same single transaction
        keep = [ln for ln in entries
                if not re.match(rf"\d+; \d+ \d+ (SCHEMA|COMMENT) - (SCHEMA )?{re.escape(schema)} ", ln)]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as lst:
        lst.write("\n".join(keep) + "\n")
    try:
        _run([pg_restore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              *(["--clean", "--if-exists"] if exists else []),
              f"--use-list={lst.name}", f"--dbname={uri}", str(source)], env)
    finally:
        Path(lst.name).unlink(missing_ok=True)
