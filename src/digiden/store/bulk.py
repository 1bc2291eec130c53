"""Bulk writes of observations for file imports, on SQLite and PostgreSQL.

Two paths, chosen per row by the series it belongs to (KPI × as-of × breakdown):

* **new series** (nothing stored yet for that KPI, date and breakdown): plain multi-row
  INSERTs — the fast path for a national data set loaded for the first time;
* **existing series**: a chunk goes into a temporary table and is merged with set-based SQL
  that records the old values of every changed row (so the batch can be reverted), updates
  only what changed, inserts what is new, and leaves identical rows alone.

Constants (batch id, author, time) are inlined as SQL literals so each row binds only its
own fields; the author is escaped as a standard SQL string literal.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

# (kpi_id, org_unit_id, as_of, precision, breakdown, value, qualifier, source_title,
#  source_url, note, source_row)
Row = tuple[int, int, str, str, str, float, str, str | None, str | None, str | None, int]

COLUMNS = ("kpi_id", "org_unit_id", "as_of", "as_of_precision", "breakdown", "value", "qualifier",
           "source_title", "source_url", "note", "source_row")
KEY = ("kpi_id", "org_unit_id", "as_of", "breakdown")
# A row's source, URL and note count as a change only when the file states them (NULL in the
# chunk means "the file has no such column"), so a corrected file with a new name does not
# rewrite every row's default source.
DIFFERS = ("(o.value <> c.value OR o.qualifier <> c.qualifier OR o.as_of_precision <> c.as_of_precision"
           " OR (c.source_title IS NOT NULL AND o.source_title <> c.source_title)"
           " OR (c.source_url IS NOT NULL AND COALESCE(o.source_url, '') <> c.source_url)"
           " OR (c.note IS NOT NULL AND o.note <> c.note))")
JOIN_KEY = " AND ".join(f"o.{k} = c.{k}" for k in KEY)
# A fast row's own fields, and those a chunk of a national file shares (SQLite's insert_new).
_OWN_IDX = (0, 1, 2, 5, 10)
_SHARED_IDX = (3, 4, 6, 7, 8, 9)
_OWN_COLS = tuple(COLUMNS[i] for i in _OWN_IDX)
_SHARED_COLS = tuple(COLUMNS[i] for i in _SHARED_IDX)
_OWN = operator.itemgetter(*_OWN_IDX)
_SHARED = operator.itemgetter(*_SHARED_IDX)
_CHUNK_COLS = ("kpi_id INTEGER, org_unit_id INTEGER, as_of DATE, as_of_precision VARCHAR(8), "
               "breakdown VARCHAR(32), value DOUBLE PRECISION, qualifier VARCHAR(16), "
               "source_title TEXT, source_url TEXT, note TEXT, source_row INTEGER")


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclass
class Dialect:
    name: str

    @property
    def param(self) -> str:
        return "?" if self.name == "sqlite" else "%s"

    def ts(self, dt: datetime) -> str:
        if self.name == "sqlite":
            return _lit(dt.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"))
        return _lit(dt.isoformat()) + "::timestamptz"

    def as_date(self, iso: str) -> Any:
        return iso if self.name == "sqlite" else date.fromisoformat(iso)


class BulkWriter:
    """Writes one import batch's rows inside the caller's transaction."""

    def __init__(self, conn: Connection, *, batch_id: int, actor: str, now: datetime,
                 default_source: str = ""):
        self.conn = conn
        self.default_source = default_source
        self._src = _lit(default_source)
        self.d = Dialect(conn.dialect.name)
        self.batch_id = int(batch_id)
        p = self.d.param
        consts = f"{self.batch_id}, {_lit(actor[:64])}, {self.d.ts(now)}, 'approved'"
        self._insert_sql = (f"INSERT INTO observation ({', '.join(COLUMNS)}, batch_id, created_by, "
                            f"created_at, status) VALUES ({', '.join([p] * len(COLUMNS))}, {consts})")
        self._now = self.d.ts(now)
        self._consts = consts
        self._chunk_ready = False
        self._narrow_sql: dict[tuple[Any, ...], str] = {}
        # PostgreSQL: new-series rows are COPYed into a staging table as the file is read and
        # written to `observation` by one INSERT … SELECT at the end (insert_staged).
        self.staging = self.d.name == "postgresql"
        self.staged = 0
        self._stage_ready = False

    # ------------------------------------------------------------------ fast path
    def insert_new(self, rows: Sequence[Row]) -> bool:
        """Insert rows of series that had no data before. False if a key already exists
        (a duplicate across chunks): nothing of this chunk is then written."""
        if not rows:
            return True
        sp = self.conn.begin_nested()
        try:
            if self.d.name == "sqlite":
                self._sqlite_insert(rows)
            else:
                self.conn.exec_driver_sql(self._insert_sql, [self._params(r) for r in rows])
        except Exception as e:  # IntegrityError, wrapped differently per driver
            sp.rollback()
            if "unique" in str(e).lower() or "duplicate" in str(e).lower():
                return False
            raise
        sp.commit()
        return True

    def _sqlite_insert(self, rows: Sequence[Row]) -> None:
        """SQLite: one executemany through the driver. When the chunk's rows share their
        precision, breakdown, qualifier, source, URL and note (a national file usually does),
        those are SQL literals and each row binds only its five own fields: binding, not
        SQLite's B-tree work, was a sixth of the insert's time."""
        raw: Any = self.conn.connection.driver_connection
        shared = set(map(_SHARED, rows))
        if len(shared) == 1:
            (same,) = shared
            sql = self._narrow_sql.get(same)
            if sql is None:
                lits = dict(zip(_SHARED_COLS, (("NULL" if v is None else _lit(str(v))) for v in same),
                                strict=True))
                sql = self._narrow_sql[same] = (
                    f"INSERT INTO observation ({', '.join(_OWN_COLS)}, {', '.join(_SHARED_COLS)}, "
                    f"batch_id, created_by, created_at, status) VALUES ({', '.join('?' * len(_OWN_COLS))}, "
                    f"{', '.join(lits[c] for c in _SHARED_COLS)}, {self._consts})")
            raw.executemany(sql, list(map(_OWN, rows)))
        else:
            raw.executemany(self._insert_sql, rows)

    def _params(self, r: Row) -> tuple[Any, ...]:
        if r[7] is None or r[9] is None:
            r = (*r[:7], self.default_source if r[7] is None else r[7], r[8],
                 "" if r[9] is None else r[9], r[10])
        if self.d.name == "sqlite":
            return r
        return (r[0], r[1], date.fromisoformat(r[2]), *r[3:])

    # ------------------------------------------------------------------ PostgreSQL: COPY + one INSERT
    def _copy(self, table: str, rows: Iterable[Row]) -> None:
        """COPY rows (``COLUMNS`` order, dates as ISO text) into a table through psycopg."""
        raw: Any = self.conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as cp:
            write = cp.write_row
            for r in rows:
                write(r)

    def stage(self, rows: Sequence[Row]) -> None:
        """PostgreSQL: add rows of new series to this batch's staging table (a temporary table,
        dropped at commit); nothing reaches `observation` before insert_staged."""
        if not self._stage_ready:
            # (a stage left by an earlier batch in the same transaction — tests do that — goes)
            self.conn.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.import_stage")
            self.conn.exec_driver_sql(f"CREATE TEMP TABLE import_stage ({_CHUNK_COLS}) ON COMMIT DROP")
            self._stage_ready = True
        self._copy("import_stage", rows)
        self.staged += len(rows)

    def insert_staged(self, nation_id: int) -> list[tuple[int, str, str, bool, int, float, int]] | None:
        """Write the staged rows to `observation` in one INSERT … SELECT. Returns the staged rows
        counted by series (kpi_id, as_of, breakdown, national?, n, total, positive) for the
        rollup and the batch's per-KPI counts; None (and nothing written) if a key already
        exists or repeats within the file: the caller then merges the staged rows instead
        (staged_rows), which names both rows of a repeated key."""
        if not self.staged:
            return []
        sp = self.conn.begin_nested()
        try:
            self.conn.exec_driver_sql(
                f"INSERT INTO observation ({', '.join(COLUMNS)}, batch_id, created_by, created_at, status) "
                f"SELECT {', '.join(COLUMNS)}, {self._consts} FROM import_stage")
        except Exception as e:  # IntegrityError, wrapped differently per driver
            sp.rollback()
            if "unique" in str(e).lower() or "duplicate" in str(e).lower():
                return None
            raise
        sp.commit()
        return [(int(k), str(a), str(b), bool(nat), int(n), float(t), int(p)) for k, a, b, nat, n, t, p in
                self.conn.exec_driver_sql(
                    f"SELECT kpi_id, as_of::text, breakdown, org_unit_id = {int(nation_id)}, COUNT(*), "
                    "COALESCE(SUM(value), 0), SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END) FROM import_stage "
                    "GROUP BY 1, 2, 3, 4")]

    def staged_rows(self, size: int) -> Iterable[list[Row]]:
        """The staged rows in file order, ``size`` at a time (the merge fallback of insert_staged)."""
        raw: Any = self.conn.connection.driver_connection
        with raw.cursor(name="digiden_import_stage") as cur:
            cur.execute(f"SELECT {', '.join('as_of::text' if c == 'as_of' else c for c in COLUMNS)} "
                        "FROM import_stage ORDER BY source_row")
            while batch := cur.fetchmany(size):
                yield [tuple(r) for r in batch]

    def _chunk_params(self, r: Row) -> tuple[Any, ...]:
        if self.d.name == "sqlite":
            return r
        return (r[0], r[1], date.fromisoformat(r[2]), *r[3:])

    # ------------------------------------------------------------------ merge path
    def _ensure_chunk_table(self) -> None:
        if self._chunk_ready:
            return
        cols = _CHUNK_COLS
        if self.d.name == "sqlite":
            self.conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS import_chunk ({cols})")
        else:
            self.conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS import_chunk ({cols}) "
                                      "ON COMMIT DROP")
        self._chunk_ready = True

    def merge(self, rows: Sequence[Row], *, classify: bool = False
              ) -> tuple[int, int, int, list[tuple[int, int, float, float]], dict[int, str]]:
        """Merge rows into existing series. Returns (created, updated, unchanged,
        conflicts, actions): conflicts are (row, earlier row of this batch, value, earlier
        value) for keys the file gives twice with different values; actions map a row to
        create/update/unchanged when ``classify``."""
        self._ensure_chunk_table()
        c = self.conn
        p = self.d.param
        c.exec_driver_sql("DELETE FROM import_chunk")
        if self.d.name == "postgresql":
            self._copy("import_chunk", rows)
        else:
            c.exec_driver_sql(f"INSERT INTO import_chunk ({', '.join(COLUMNS)}) VALUES "
                              f"({', '.join([p] * len(COLUMNS))})", [self._chunk_params(r) for r in rows])
        b = self.batch_id
        conflicts = [tuple(r) for r in c.exec_driver_sql(
            f"SELECT c.source_row, o.source_row, c.value, o.value FROM import_chunk c "
            f"JOIN observation o ON {JOIN_KEY} WHERE o.batch_id = {b} AND {DIFFERS}")]
        actions: dict[int, str] = {}
        if classify:
            for row, action in c.exec_driver_sql(
                    f"SELECT c.source_row, CASE WHEN o.id IS NULL THEN 'create' WHEN {DIFFERS} "
                    f"THEN 'update' ELSE 'unchanged' END FROM import_chunk c "
                    f"LEFT JOIN observation o ON {JOIN_KEY}"):
                actions[int(row)] = str(action)
        c.exec_driver_sql(
            "INSERT INTO observation_change (batch_id, observation_id, old_value, old_qualifier, "
            "old_precision, old_source_title, old_source_url, old_batch_id) "
            f"SELECT {b}, o.id, o.value, o.qualifier, o.as_of_precision, o.source_title, "
            f"o.source_url, o.batch_id FROM import_chunk c JOIN observation o ON {JOIN_KEY} "
            f"WHERE (o.batch_id IS NULL OR o.batch_id <> {b}) AND {DIFFERS}")
        updated = c.exec_driver_sql(
            "UPDATE observation AS o SET value = c.value, qualifier = c.qualifier, "
            "as_of_precision = c.as_of_precision, "
            f"source_title = COALESCE(c.source_title, {self._src}), "
            "source_url = COALESCE(c.source_url, o.source_url), note = COALESCE(c.note, o.note), "
            "source_row = c.source_row, "
            f"batch_id = {b}, updated_at = {self._now} FROM import_chunk c "
            f"WHERE {JOIN_KEY} AND (o.batch_id IS NULL OR o.batch_id <> {b}) AND {DIFFERS}"
        ).rowcount
        created = c.exec_driver_sql(
            f"INSERT INTO observation ({', '.join(COLUMNS)}, batch_id, created_by, created_at, "
            f"status) SELECT {', '.join(_insert_expr(k, self._src) for k in COLUMNS)}, {self._consts} "
            f"FROM import_chunk c WHERE NOT EXISTS (SELECT 1 FROM observation o WHERE {JOIN_KEY})"
        ).rowcount
        unchanged = len(rows) - created - updated - len(conflicts)
        return created, updated, unchanged, conflicts, actions  # type: ignore[return-value]


def _insert_expr(column: str, default_source: str) -> str:
    if column == "source_title":
        return f"COALESCE(c.source_title, {default_source})"
    if column == "note":
        return "COALESCE(c.note, '')"
    return f"c.{column}"


# ---------------------------------------------------------------------- locks

def lock_series(conn: Connection, kpi_id: int, org_unit_id: int, as_of: str, breakdown: str) -> None:
    """Hold one series key (KPI, local government, date, breakdown) until the transaction ends,
    so two writers of the same value take turns instead of both inserting it. PostgreSQL: a
    transaction-level advisory lock; SQLite: nothing to do, a writer holds the database."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                         (int(kpi_id), f"{int(org_unit_id)}|{as_of}|{breakdown}"))


# ---------------------------------------------------------------------- rollup

def rollup_add(conn: Connection, deltas: dict[tuple[int, str, str], list[float]]) -> None:
    """Add counts and sums of newly inserted local values to the series rollup."""
    if not deltas:
        return
    d = Dialect(conn.dialect.name)
    p = d.param
    conn.exec_driver_sql(
        f"INSERT INTO series_rollup (kpi_id, as_of, breakdown, n, total, positive) "
        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (kpi_id, as_of, breakdown) DO UPDATE "
        "SET n = series_rollup.n + excluded.n, total = series_rollup.total + excluded.total, "
        "positive = series_rollup.positive + excluded.positive",
        [(k, d.as_date(a), bd, int(v[0]), float(v[1]), int(v[2])) for (k, a, bd), v in deltas.items()])


def rollup_recompute(conn: Connection, nation_id: int, *, kpi_ids: Iterable[int] | None = None,
                     keys: Iterable[tuple[int, str, str]] | None = None) -> None:
    """Recompute rollup rows from `observation`, for whole KPIs or for given series keys."""
    d = Dialect(conn.dialect.name)
    p = d.param
    select = ("SELECT kpi_id, as_of, breakdown, COUNT(*), COALESCE(SUM(value), 0), "
              "SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END) FROM observation "
              f"WHERE org_unit_id <> {int(nation_id)} AND status = 'approved' ")
    insert = "INSERT INTO series_rollup (kpi_id, as_of, breakdown, n, total, positive) "
    if kpi_ids is not None:
        for k in sorted(set(kpi_ids)):
            conn.exec_driver_sql(f"DELETE FROM series_rollup WHERE kpi_id = {int(k)}")
            conn.exec_driver_sql(insert + select + f"AND kpi_id = {int(k)} "
                                 "GROUP BY kpi_id, as_of, breakdown")
    if keys is not None:
        for k, a, bd in sorted(set(keys)):
            args = (k, d.as_date(a), bd)
            conn.exec_driver_sql(f"DELETE FROM series_rollup WHERE kpi_id = {p} AND as_of = {p} "
                                 f"AND breakdown = {p}", args)
            conn.exec_driver_sql(insert + select + f"AND kpi_id = {p} AND as_of = {p} AND "
                                 f"breakdown = {p} GROUP BY kpi_id, as_of, breakdown", args)


def rollup_series_rows(conn: Connection, kpi_ids: Iterable[int]
                       ) -> list[tuple[int, date, str, int, float, int]]:
    """The series rollup of these KPIs, non-empty series only, as plain tuples
    ``(kpi_id, as_of, breakdown, n, total, positive)`` ordered by KPI, date and breakdown: the
    national dashboard's read (a few thousand rows; no ORM entities, only these columns)."""
    ids = sorted({int(k) for k in kpi_ids})
    if not ids:
        return []
    inlist = ", ".join(str(k) for k in ids)
    rows = conn.exec_driver_sql(
        "SELECT kpi_id, as_of, breakdown, n, total, positive FROM series_rollup "
        f"WHERE kpi_id IN ({inlist}) AND n > 0 ORDER BY kpi_id, as_of, breakdown").fetchall()
    dates: dict[Any, date] = {}   # SQLite hands back ISO text; a few dozen distinct dates
    out = []
    for k, a, b, n, total, positive in rows:
        d = dates.get(a)
        if d is None:
            d = dates[a] = a if isinstance(a, date) else date.fromisoformat(a)
        out.append((k, d, b, n, float(total), positive))
    return out


def existing_series(conn: Connection, kpi_ids: Iterable[int]) -> set[tuple[int, str, str]]:
    """Series keys (KPI, as-of, breakdown) that already hold any value, local or national."""
    ids = sorted({int(k) for k in kpi_ids})
    if not ids:
        return set()
    inlist = ", ".join(str(k) for k in ids)
    keys = {(int(k), str(a), str(b)) for k, a, b in conn.exec_driver_sql(
        f"SELECT kpi_id, as_of, breakdown FROM series_rollup WHERE kpi_id IN ({inlist}) AND n > 0")}
    keys |= {(int(k), str(a), str(b)) for k, a, b in conn.exec_driver_sql(
        f"SELECT DISTINCT o.kpi_id, o.as_of, o.breakdown FROM observation o "
        f"JOIN org_unit u ON u.id = o.org_unit_id WHERE u.kind = 'nation' AND o.kpi_id IN ({inlist})")}
    return keys


# ---------------------------------------------------------------------- series checks

@dataclass(frozen=True)
class SeriesViolation:
    kpi_id: int
    org_unit_id: int
    as_of: str
    breakdown: str
    value: float
    other: float
    row: int | None
    batch_id: int | None


def check_non_decreasing(conn: Connection, kpi_id: int, *, batch_id: int | None = None,
                         org_unit_id: int | None = None, breakdown: str | None = None
                         ) -> list[SeriesViolation]:
    """Values that are lower than the previous value of the same series (all series of the KPI,
    or the one series of ``org_unit_id`` and ``breakdown``)."""
    only = f"AND (batch_id = {int(batch_id)} OR prev_batch = {int(batch_id)})" if batch_id else ""
    args: tuple[Any, ...] = ()
    series = ""
    if org_unit_id is not None:
        p = Dialect(conn.dialect.name).param
        series = f"AND org_unit_id = {int(org_unit_id)} AND breakdown = {p} "
        args = (breakdown or "",)
    sql = (
        "SELECT kpi_id, org_unit_id, as_of, breakdown, value, prev, source_row, batch_id FROM ("
        "SELECT kpi_id, org_unit_id, as_of, breakdown, value, source_row, batch_id, "
        "LAG(value) OVER w AS prev, LAG(batch_id) OVER w AS prev_batch FROM observation "
        f"WHERE kpi_id = {int(kpi_id)} AND status = 'approved' {series}"
        "WINDOW w AS (PARTITION BY kpi_id, org_unit_id, breakdown ORDER BY as_of)) s "
        f"WHERE prev IS NOT NULL AND value < prev {only} ORDER BY org_unit_id, as_of")
    return [SeriesViolation(int(k), int(o), str(a), str(b), float(v), float(pv),
                            int(r) if r is not None else None, int(bt) if bt is not None else None)
            for k, o, a, b, v, pv, r, bt in conn.exec_driver_sql(sql, args)]


def check_parts_le_total(conn: Connection, kpi_id: int, parts: Sequence[str], total: str, *,
                         batch_id: int | None = None, org_unit_id: int | None = None,
                         as_of: str | None = None) -> list[SeriesViolation]:
    """Dates where the parts of a breakdown add up to more than its total (everywhere, or for
    one local government at one date)."""
    d = Dialect(conn.dialect.name)
    p = d.param
    where: tuple[Any, ...] = ()
    one = ""
    if org_unit_id is not None and as_of is not None:
        one = f"AND pp.org_unit_id = {int(org_unit_id)} AND pp.as_of = {p} "
        where = (d.as_date(as_of),)
    only = (f"HAVING SUM(pp.value) > MAX(t.value) AND (MAX(CASE WHEN pp.batch_id = {int(batch_id)} "
            f"THEN 1 ELSE 0 END) = 1 OR MAX(t.batch_id) = {int(batch_id)})") if batch_id \
        else "HAVING SUM(pp.value) > MAX(t.value)"
    sql = (f"SELECT pp.kpi_id, pp.org_unit_id, pp.as_of, SUM(pp.value), MAX(t.value), "
           f"MAX(pp.source_row), MAX(pp.batch_id) FROM observation pp JOIN observation t "
           f"ON t.kpi_id = pp.kpi_id AND t.org_unit_id = pp.org_unit_id AND t.as_of = pp.as_of "
           f"AND t.breakdown = {p} WHERE pp.kpi_id = {int(kpi_id)} AND pp.breakdown IN "
           f"({', '.join([p] * len(parts))}) {one}GROUP BY pp.kpi_id, pp.org_unit_id, pp.as_of {only}")
    return [SeriesViolation(int(k), int(o), str(a), "", float(s), float(t),
                            int(r) if r is not None else None, int(bt) if bt is not None else None)
            for k, o, a, s, t, r, bt in conn.exec_driver_sql(sql, (total, *parts, *where))]


# A bulk write of at least this many rows refreshes the planner's statistics of the tables it
# changed (refresh_statistics).
STATISTICS_MIN_ROWS = 10_000


def refresh_statistics(conn: Connection, rows: int) -> bool:
    """After a bulk write of ``rows`` observations, refresh PostgreSQL's planner statistics of
    `observation` and `series_rollup`, in the writing transaction (ANALYZE may run in one, counts
    the transaction's own new rows, and rolls back with it). Without it the planner keeps the
    table's old statistics until autovacuum samples it again — a minute or more after a 100,000-row
    import of a KPI it believed had 144 rows, one KPI's observation listing sorted all 21,456
    rows of that KPI (9 ms on the server per request) instead of reading 500 by the listing index
    (0.7 ms). ANALYZE samples a fixed number of rows (30,000 at the default target), so it takes
    about as long on 5M rows as on 100,000. SQLite's planner needs no statistics for these
    queries (it picks the listing index by its shape). Returns whether it ran."""
    if rows < STATISTICS_MIN_ROWS or conn.dialect.name != "postgresql":
        return False
    conn.exec_driver_sql("ANALYZE observation, series_rollup")
    return True
