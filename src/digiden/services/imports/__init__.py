"""File imports: the path local governments and ministries use to send their numbers.

``run_import`` reads a CSV or .xlsx file (long or wide), resolves every row to a KPI, a local
government, a date and a value, checks the KPI's validation rules, and writes everything in
one transaction — or nothing. A dry run does all of that and rolls back, so its report is
exactly what a real run would do. Each real run is an import batch that can be reverted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import stat
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from digiden.domain.access import Principal, can_import, can_write_observation, require, require_signed_in
from digiden.domain.calendar import AsOf
from digiden.domain.codes import normalize_code
from digiden.domain.errors import Conflict, DigidenError, InvalidInput, NotFound, PermissionDenied
from digiden.domain.periods import parse_period
from digiden.domain.quantities import (
    COUNT_UNITS,
    Qualifier,
    is_missing,
    parse_quantity,
    parse_value,
    value_problem,
)
from digiden.domain.rules import Rule, parse_rules
from digiden.domain.text import clean_text, match_key
from digiden.services import audit
from digiden.services.imports.columns import Layout, detect_layout, recognise
from digiden.services.imports.limits import IMPORT_LOCK_WAIT_SECONDS, MAX_URL_CHARS
from digiden.services.imports.readers import Table, cell_text, open_table
from digiden.services.reference import NATION_CODE
from digiden.services.uow import UnitOfWork
from digiden.store import bulk
from digiden.store.models import BatchKpi, ImportBatch, ImportMapping, Kpi, Observation, OrgUnit

CHUNK = 20_000
MAX_REPORTED_ERRORS = 1000
MAX_ACTIONS = 500
_PLAIN_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    kpi: str | None = None              # for files without a KPI column
    encoding: str | None = None         # detected when None
    sheet: str | None = None            # first readable sheet when None
    mapping: dict[str, str] | None = None
    mapping_name: str | None = None     # use a saved mapping
    save_mapping: str | None = None     # save the mapping used under this name
    source_title: str | None = None     # for rows without a source column
    file_name: str | None = None        # the name the user knows the file by (uploads)
    parallel: bool | None = None        # parse in a forked process; None: for files ≥ 32 MB
    lock_wait: float | None = None      # seconds to wait for another import; None: the default


@dataclass
class Problem:
    row: int | None
    column: str | None
    value: str
    message: str
    message_ja: str
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value,
                "message": self.message, "message_ja": self.message_ja, "severity": self.severity}


@dataclass
class ImportReport:
    file_name: str
    checksum: str
    file_format: str = ""
    encoding: str = ""
    sheet: str = ""
    shape: str = ""
    dry_run: bool = False
    rows: int = 0
    values: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    error_count: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    batch_id: int | None = None
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, p: Problem) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(p)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "missing": self.missing,
                "errors": [e.as_dict() for e in self.errors], "error_count": self.error_count,
                "warnings": [w.as_dict() for w in self.warnings], "batch_id": self.batch_id,
                "dry_run": self.dry_run, "file_name": self.file_name, "checksum": self.checksum,
                "format": self.file_format, "encoding": self.encoding, "sheet": self.sheet,
                "shape": self.shape, "values": self.values, "ignored_columns": self.ignored_columns,
                "mapping": self.mapping, "actions": self.actions}


class ImportFailed(InvalidInput):
    """The file has problems; nothing was written. ``report`` lists them row by row."""

    def __init__(self, report: ImportReport):
        first = report.errors[0] if report.errors else None
        super().__init__(
            f"{report.error_count} problem(s) in {report.file_name}; nothing was written"
            + (f" (first: {first.message})" if first else ""),
            message_ja=f"{report.file_name} に {report.error_count} 件の問題があります。何も保存していません"
            + (f"（最初の問題: {first.message_ja}）" if first else ""),
            field=first.column if first else None)
        self.report = report


@dataclass
class _KpiInfo:
    id: int
    code: str
    unit: str
    breakdowns: frozenset[str]
    rules: tuple[Rule, ...]
    upper_national: float | None
    upper_local: float | None
    lower: float | None
    is_count: bool = False
    is_pct: bool = False
    writable: bool = True     # the importing principal may write this KPI's values


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Resolver:
    """Caches for turning cell text into ids; every lookup is a dict hit after the first."""

    def __init__(self, session: Any, actor: Principal):
        self.kpis: dict[str, _KpiInfo] = {}
        for k in session.scalars(select(Kpi)):
            rules = parse_rules(k.rules, f"kpi {k.code}")
            rng = [r for r in rules if r.kind == "range" and r.blocking]
            orgs = [r for r in rules if r.kind == "max_org_units" and r.blocking]
            up_local = min((r.max for r in rng if r.max is not None), default=None)
            up_nat = min([x for x in [up_local] + [r.upper for r in orgs] if x is not None], default=None)
            info = _KpiInfo(k.id, k.code, k.unit, frozenset(k.breakdowns or ()), rules, up_nat,
                            up_local, max((r.min for r in rng if r.min is not None), default=None),
                            k.unit in COUNT_UNITS, k.unit == "%", can_write_observation(actor, k.ministry))
            self.kpis[k.code] = info
            self.kpis[match_key(k.name)] = info
        self.org_codes: dict[str, int] = {}
        self.by_full_name: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = {}
        self.code_of: dict[int, str] = {}
        self.nation_id = 0
        for uid, code, name, full in session.execute(
                select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.full_name)):
            self.org_codes[code] = uid
            self.code_of[uid] = code
            if code == NATION_CODE:
                self.nation_id = uid
                for alias in ("全国", "国", "jp"):
                    self.org_codes[alias] = uid
                continue
            self.by_full_name[match_key(full)] = uid
            self.by_name.setdefault(match_key(name), []).append(uid)
        self._code_cache: dict[str, int | DigidenError] = {}

    def kpi(self, text: str) -> _KpiInfo | None:
        return self.kpis.get(text.strip()) or self.kpis.get(match_key(text))

    def org_by_code(self, text: str) -> int:
        hit: int | DigidenError | None = self._code_cache.get(text)
        if hit is None:
            try:
                s = unicodedata.normalize("NFKC", text).strip()
                if s.upper() == NATION_CODE or s in ("全国", "国"):
                    hit = self.nation_id
                else:
                    code = normalize_code(s.zfill(5) if s.isdigit() and len(s) == 4 else s)
                    uid = self.org_codes.get(code)
                    hit = uid if uid is not None else NotFound(
                        f"no local government has code {code}",
                        message_ja=f"団体コード {code} の地方公共団体はありません", field="org_unit")
            except InvalidInput as e:
                hit = e
            self._code_cache[text] = hit
        if isinstance(hit, DigidenError):
            raise hit
        return hit

    def org_by_name(self, name: str, prefecture: str) -> int:
        key = match_key(prefecture + name) if prefecture else match_key(name)
        uid = self.by_full_name.get(key)
        if uid is not None:
            return uid
        if prefecture and match_key(prefecture) == match_key(name):
            uid = self.by_full_name.get(match_key(name))
            if uid is not None:
                return uid
        uids = self.by_name.get(match_key(name), [])
        if len(uids) == 1 and not prefecture:
            return uids[0]
        if len(uids) > 1 and not prefecture:
            raise InvalidInput(f"{name} is ambiguous; add the prefecture",
                               message_ja=f"「{name}」は複数あります。都道府県名も指定してください",
                               field="org_unit")
        raise NotFound(f"unknown local government {prefecture}{name}",
                       message_ja=f"地方公共団体「{prefecture}{name}」が見つかりません", field="org_unit")

    def as_of(self, text: str) -> AsOf:
        """The as-of date of a cell (the row parser caches the result per distinct text)."""
        return parse_period(text)


def _value(raw: Any, kpi: _KpiInfo | None) -> tuple[float, Qualifier] | None:
    """Parse a value cell; None for a missing value (empty, -, ―, …). Without a KPI (the
    row's KPI is unknown) only "is it one number" is checked."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw), Qualifier.EXACT
    text = str(raw) if raw is not None else ""
    if _PLAIN_NUMBER.match(text):
        return float(text), Qualifier.EXACT
    if is_missing(text):
        return None
    if kpi is None:
        q = parse_quantity(text, field="value")
        if q.value is None:
            raise InvalidInput(f"value must be a single number, got {text!r}",
                               message_ja=f"値は1つの数値で入力してください: {text}", field="value")
        return q.value, q.qualifier
    return parse_value(text, kpi.unit)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_PROBLEM = ("control characters (such as NUL) are not allowed in text",
                    "テキストに制御文字（NUL など）が含まれています")
_URL = re.compile(r"https?://[^/?#\x00-\x20\x7f][^\x00-\x20\x7f]*\Z", re.IGNORECASE)


def url_problem(url: str) -> tuple[str, str] | None:
    """What is wrong with a source URL (English, Japanese): only http(s), no spaces or
    control characters, at most MAX_URL_CHARS. Used by the importer and reference data."""
    if not _URL.match(url):
        return ("source URL must be an http:// or https:// address (no spaces or control characters)",
                "出典URLは http:// または https:// で始まるアドレスにしてください（空白や制御文字は使えません）")
    if len(url) > MAX_URL_CHARS:
        return (f"source URL is longer than {MAX_URL_CHARS:,} characters",
                f"出典URLが長すぎます（{MAX_URL_CHARS:,}文字まで）")
    return None


def _check(value: float, kpi: _KpiInfo, national: bool) -> tuple[str, str] | None:
    """Row-level checks: the unit's own (sign, %, whole counts), then the KPI's blocking
    range rules."""
    problem = value_problem(value, kpi.unit)
    if problem:
        return problem
    upper = kpi.upper_national if national else kpi.upper_local
    if upper is not None and value > upper:
        return (f"value {value:g} is above the rule's maximum {upper:g}",
                f"値 {value:g} がルールの上限 {upper:g} を超えています")
    if kpi.lower is not None and value < kpi.lower:
        return (f"value {value:g} is below the rule's minimum {kpi.lower:g}",
                f"値 {value:g} がルールの下限 {kpi.lower:g} を下回っています")
    return None


def _saved_mapping(session: Any, name: str) -> dict[str, str]:
    m = session.scalars(select(ImportMapping).where(ImportMapping.name == name)).one_or_none()
    if m is None:
        raise NotFound(f"no saved mapping named {name!r}",
                       message_ja=f"保存された列の対応付け「{name}」はありません", field="mapping")
    return dict(m.mapping)


def require_importer(actor: Principal) -> None:
    """Who may import national KPI values at all (per-KPI rights are checked row by row)."""
    require(actor, can_import(actor), message=f"{actor.name} may not import KPI observations",
            message_ja="KPIの値の取込は国の管理者・府省の担当者だけが行えます",
            sign_in_ja="取込にはサインインが必要です")


# One import at a time per database (per schema on PostgreSQL), across processes: the web
# app's job queue keeps its own imports in line, this keeps the CLI and the API in line too.
PG_IMPORT_LOCK = "pg_try_advisory_xact_lock(hashtext('digiden.import'), hashtext(current_schema()))"


def _another_import(wait: float) -> Conflict:
    return Conflict(f"another import is running on this database (waited {wait:g} s); try again when it "
                    "has finished",
                    message_ja=f"別の取込を実行中です（{wait:g}秒待ちました）。終わってからもう一度お試しください")


def take_import_lock(s: Any, wait: float, progress: Progress | None = None) -> None:
    """First thing in an import's transaction: become the database's only importer, or wait
    up to ``wait`` seconds and answer 409 in Japanese. PostgreSQL: a transaction-level
    advisory lock. SQLite: the write lock itself, taken before anything is read (so the wait
    is the busy timeout, never a stale-snapshot failure halfway through)."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        conn = s.connection()
        deadline = time.monotonic() + wait
        told = False
        while not conn.exec_driver_sql(f"SELECT {PG_IMPORT_LOCK}").scalar():
            if time.monotonic() >= deadline:
                raise _another_import(wait)
            if progress is not None and not told:
                progress("waiting", 0.0)
                told = True
            time.sleep(0.2)
        if told and progress is not None:
            progress("import", 0.0)
    elif dialect == "sqlite":
        from sqlalchemy.exc import OperationalError
        started = time.monotonic()
        try:   # (a transaction layer that begins with BEGIN IMMEDIATE waits in connection())
            s.connection().exec_driver_sql("UPDATE import_batch SET id = id WHERE id < 0")
        except OperationalError as e:
            if "locked" in str(e.orig) or "busy" in str(e.orig):
                raise _another_import(round(time.monotonic() - started, 1)) from None
            raise


_OPTION_LABELS_JA = {"kpi": "KPI", "encoding": "文字コード", "sheet": "シート", "mapping_name": "対応付けの名前",
                     "save_mapping": "保存する対応付けの名前", "source_title": "出典", "file_name": "ファイル名"}


def _check_options(options: ImportOptions) -> None:
    """The options typed beside a file (form fields, CLI options): no NUL or other control
    characters — a NUL would reach the database's text comparison (PostgreSQL refuses it)."""
    for name, label in _OPTION_LABELS_JA.items():
        value = getattr(options, name)
        if value and any(ord(c) < 32 and c not in "\t" for c in value):
            raise InvalidInput(f"{name}: control characters (such as NUL) are not allowed",
                               message_ja=f"{label}に制御文字（NUL など）は使えません", field=name)


def run_import(uow: UnitOfWork, path: Path, options: ImportOptions, *, actor: Principal, now: datetime,
               progress: Progress | None = None) -> ImportReport:
    """Import a file; all-or-nothing. Raises :class:`ImportFailed` (with the row-by-row
    report) when any row has an error; a dry run returns the report and writes nothing."""
    require_importer(actor)
    _check_options(options)
    name = options.file_name or path.name
    report = ImportReport(name, _sha256(path), dry_run=options.dry_run)
    wait = IMPORT_LOCK_WAIT_SECONDS if options.lock_wait is None else options.lock_wait
    uow = uow.for_writing(wait_seconds=wait)    # on SQLite: how long to queue for the write lock
    with uow:
        s = uow.session
        take_import_lock(s, wait, progress)
        mapping = dict(options.mapping or {})
        if options.mapping_name:
            mapping = _saved_mapping(s, options.mapping_name) | mapping
        wanted = set(mapping.values())

        def recognise_fn(hs: list[str]) -> bool:
            return recognise(hs) or bool(wanted) and wanted <= set(hs)

        table: Table = open_table(path, encoding=options.encoding, sheet=options.sheet,
                                  recognise=recognise_fn)
        try:
            layout = detect_layout(table.headers, mapping or None)
            report.file_format, report.encoding, report.sheet = (table.file_format, table.encoding,
                                                                 table.sheet)
            report.shape = layout.shape
            report.ignored_columns = layout.ignored
            report.mapping = {role: table.headers[i] for role, i in layout.columns.items()}
            res = _Resolver(s, actor)
            fixed_kpi = None
            if options.kpi:
                fixed_kpi = res.kpi(options.kpi)
                if fixed_kpi is None:
                    raise NotFound(f"unknown KPI {options.kpi!r}",
                                   message_ja=f"KPI「{options.kpi}」は見つかりません", field="kpi")
                if not fixed_kpi.writable:
                    raise PermissionDenied(f"{actor.name} may not write KPI {fixed_kpi.code}",
                                           message_ja=f"KPI「{fixed_kpi.code}」の値を登録する権限がありません",
                                           field="kpi")
            elif "kpi" not in layout.columns:
                raise InvalidInput("the file has no KPI column; name the KPI (--kpi CODE)",
                                   message_ja="ファイルにKPIの列がありません。取り込むKPIを指定してください",
                                   field="kpi")
            batch = ImportBatch(kind="file", file_name=name[:255], checksum=report.checksum,
                                created_by=actor.name[:64], created_at=now, rows=0, created=0,
                                updated=0, unchanged=0, status="applied",
                                file_format=table.file_format, encoding=table.encoding,
                                shape=layout.shape, warnings=0)
            s.add(batch)
            s.flush()
            report.batch_id = batch.id
            _write(s, table, layout, res, fixed_kpi, options, report, batch.id, actor.name, now,
                   progress, path, recognise_fn)
        finally:
            table.close()
        if not report.ok:
            raise ImportFailed(report)
        if options.dry_run:
            report.batch_id = None
            return report  # leaving the block rolls everything back
        if report.created == 0 and report.updated == 0:
            report.batch_id = None
            return report  # nothing changed: no batch, no audit event
        batch.rows, batch.created, batch.updated = report.rows, report.created, report.updated
        batch.unchanged, batch.warnings = report.unchanged, len(report.warnings)
        audit.record(s, actor=actor.name, action="import.apply", entity="import_batch",
                     entity_key=str(batch.id), at=now, batch_id=batch.id,
                     after={"file": name, "checksum": report.checksum, "rows": report.rows,
                            "created": report.created, "updated": report.updated,
                            "unchanged": report.unchanged, "format": report.file_format,
                            "encoding": report.encoding, "shape": report.shape},
                     summary=f"{name} を取り込みました（新規 {report.created}、更新 {report.updated}、"
                             f"変更なし {report.unchanged}）")
        if options.save_mapping:
            _save_mapping(s, options.save_mapping, report.mapping, actor.name, now)
        uow.commit()
        return report


def _save_mapping(session: Any, name: str, mapping: dict[str, str], actor: str, now: datetime) -> None:
    m = session.scalars(select(ImportMapping).where(ImportMapping.name == name)).one_or_none()
    before = dict(m.mapping) if m else None
    if m is None:
        m = ImportMapping(name=name[:64], mapping=mapping, created_by=actor, created_at=now)
        session.add(m)
    else:
        m.mapping = mapping
    audit.record(session, actor=actor, action="mapping.save", entity="import_mapping",
                 entity_key=name, at=now, before=before, after=mapping,
                 summary=f"列の対応付け「{name}」を保存しました")


@dataclass
class _Chunk:
    """What parsing a stretch of the file produced: rows to write and problems found."""

    fast: list[bulk.Row] = field(default_factory=list)
    slow: list[bulk.Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    rows: int = 0
    values: int = 0
    missing: int = 0
    share: float = 0.0


def _parser(layout: Layout, res: _Resolver, fixed_kpi: _KpiInfo | None, headers: list[str],
            existing: set[tuple[int, str, str]], default_source: str, dry_run: bool
            ) -> Callable[[Iterator[tuple[int, list[Any]]], Callable[[], float]], Iterator[_Chunk]]:
    """Build the row parser: a generator of chunks over (row number, cells). Pure: it touches
    no database, so it can run in a child process while the parent writes."""
    cols = layout.columns
    c_kpi, c_code, c_name = cols.get("kpi"), cols.get("org_code"), cols.get("org_name")
    c_pref, c_asof, c_bd = cols.get("prefecture"), cols.get("as_of"), cols.get("breakdown")
    c_val, c_q, c_src = cols.get("value"), cols.get("qualifier"), cols.get("source_title")
    c_url, c_note = cols.get("source_url"), cols.get("note")
    nation = res.nation_id

    def chunks(rows: Iterator[tuple[int, list[Any]]], share: Callable[[], float]) -> Iterator[_Chunk]:
        fast: list[bulk.Row] = []
        slow: list[bulk.Row] = []
        chunk_keys: dict[tuple[int, int, str, str], tuple[int, float, str]] = {}
        cur = _Chunk()

        def err(row: int, col: int | None, value: Any, e: DigidenError | tuple[str, str]) -> None:
            en, ja = (e.message, e.message_ja) if isinstance(e, DigidenError) else e
            cur.problems.append(Problem(row, headers[col] if col is not None and col < len(headers) else None,
                                        cell_text(value)[:200], en, ja))

        # The hot loop: per-string caches make every repeated cell a dict hit.
        dates: dict[str, tuple[str, str] | DigidenError] = {}
        texts: dict[str, str | None] = {}
        kpi_cache: dict[str, _KpiInfo | None] = {}
        EXACT = Qualifier.EXACT.value

        def cleaned(v: Any) -> str | None:
            """Cleaned text, or None when it holds control characters (cached per text)."""
            t = v if isinstance(v, str) else cell_text(v)
            try:
                return texts[t]
            except KeyError:
                c = clean_text(t)
                ok = texts[t] = None if _CONTROL.search(c) else c
                return ok

        urls: dict[str, str | tuple[str, str]] = {}

        def url_of(v: Any) -> str | tuple[str, str]:
            """The URL, or the problem with it (cached per text)."""
            t = v if isinstance(v, str) else cell_text(v)
            u = urls.get(t)
            if u is None:
                u = urls[t] = url_problem(t.strip()) or t.strip()
            return u

        def date_of(v: Any) -> tuple[str, str]:
            t = v if isinstance(v, str) else cell_text(v)
            d = dates.get(t)
            if d is None:
                try:
                    a = res.as_of(t.strip())
                    d = (a.date.isoformat(), a.precision.value)
                except DigidenError as e:
                    d = e
                dates[t] = d
            if isinstance(d, DigidenError):
                raise d
            return d

        periods = [(i, (a.date.isoformat(), a.precision.value)) for i, a, _h in layout.periods]
        n_cells = len(headers)
        rows_seen = values_seen = missing = 0
        cur = _Chunk()
        for rownum, cells in rows:
            if not any(cells):
                continue
            rows_seen += 1
            if len(cells) < n_cells:
                cells = list(cells) + [None] * (n_cells - len(cells))
            # Every column is checked even after a problem, so the report lists every problem
            # of the row; a row with any problem is not written.
            bad = False
            # --- KPI
            kpi: _KpiInfo | None
            if c_kpi is None:
                kpi = fixed_kpi
                if kpi is None:  # no KPI column and no --kpi (refused earlier)
                    continue
            else:
                raw = cells[c_kpi]
                raw = raw.strip() if isinstance(raw, str) else cell_text(raw)
                if raw not in kpi_cache:
                    kpi_cache[raw] = res.kpi(raw) if raw else None
                kpi = kpi_cache[raw]
                if kpi is None:
                    kpi = fixed_kpi
                    if kpi is None or raw:
                        err(rownum, c_kpi, raw, ("unknown KPI" if raw else "KPI is empty",
                                                 f"不明なKPIです: {raw}" if raw else "KPIが空です"))
                        bad, kpi = True, None
                if kpi is not None and not kpi.writable:
                    err(rownum, c_kpi, raw, (f"you may not write KPI {kpi.code}",
                                             f"このKPI（{kpi.code}）の値を登録する権限がありません"))
                    bad = True
                elif kpi is not None and fixed_kpi is not None and kpi.id != fixed_kpi.id:
                    err(rownum, c_kpi, raw, (f"row is for KPI {kpi.code}, not {fixed_kpi.code}",
                                             f"指定したKPI（{fixed_kpi.code}）と異なるKPIの行です"))
                    bad = True
            # --- local government
            col_org = c_code if c_code is not None else c_name
            org: int | None = None
            try:
                code_cell = cells[c_code] if c_code is not None else None
                if code_cell not in (None, ""):
                    org = res.org_by_code(code_cell if isinstance(code_cell, str) else cell_text(code_cell))
                else:
                    col_org = c_name
                    nm = cell_text(cells[c_name]) if c_name is not None else ""
                    if not nm:
                        raise InvalidInput("local government is empty", message_ja="団体が空です",
                                           field="org_unit")
                    org = res.org_by_name(nm, cell_text(cells[c_pref]) if c_pref is not None else "")
            except DigidenError as e:
                err(rownum, col_org, cells[col_org] if col_org is not None else "", e)
                bad = True
            # --- breakdown, source, note (text: no control characters), URL (http/https only)
            bd = ""
            if c_bd is not None and cells[c_bd] not in (None, ""):
                bd_ = cleaned(cells[c_bd])
                if bd_ is None:
                    err(rownum, c_bd, cells[c_bd], _CONTROL_PROBLEM)
                    bad = True
                else:
                    bd = bd_
            if kpi is not None and (bd not in kpi.breakdowns if kpi.breakdowns else bd):
                if kpi.breakdowns:
                    err(rownum, c_bd, bd, (f"breakdown must be one of {', '.join(sorted(kpi.breakdowns))}",
                                           f"内訳は {'・'.join(sorted(kpi.breakdowns))} のいずれかです"))
                else:
                    err(rownum, c_bd, bd, ("this KPI has no breakdowns", "このKPIには内訳がありません"))
                bad = True
            # None: the file has no such column (the default applies and is not a change).
            src = note = url = None
            if c_src is not None:
                src = cleaned(cells[c_src])
                if src is None:
                    err(rownum, c_src, cells[c_src], _CONTROL_PROBLEM)
                    bad = True
                src = src or None
            if c_url is not None and cells[c_url] not in (None, ""):
                u = url_of(cells[c_url])
                if isinstance(u, tuple):
                    err(rownum, c_url, cells[c_url], u)
                    bad = True
                else:
                    url = u or None
            if c_note is not None:
                note = cleaned(cells[c_note])
                if note is None:
                    err(rownum, c_note, cells[c_note], _CONTROL_PROBLEM)
                    bad = True
            q_row: str | None = None
            if c_q is not None:
                qual_text = cell_text(cells[c_q])
                if qual_text:
                    try:
                        q_row = Qualifier.parse(qual_text).value
                    except DigidenError as e:
                        err(rownum, c_q, qual_text, e)
                        bad = True
            # --- one value (long) or one per period column (wide)
            items: list[tuple[int, tuple[str, str] | None, Any]]
            if c_val is not None and c_asof is not None:
                try:
                    when: tuple[str, str] | None = date_of(cells[c_asof])
                except DigidenError as e:
                    err(rownum, c_asof, cells[c_asof], e)
                    bad, when = True, None
                items = [(c_val, when, cells[c_val])]
            else:
                items = [(i, d, cells[i]) for i, d in periods]
            national = org == nation
            for col, when_, raw in items:
                q = EXACT
                if isinstance(raw, float | int) and not isinstance(raw, bool):
                    value = float(raw)
                else:
                    try:
                        value = float(raw)
                        if value != value or value in (float("inf"), float("-inf")):
                            raise ValueError
                    except (TypeError, ValueError):
                        try:
                            parsed = _value(raw, kpi)
                        except DigidenError as e:
                            err(rownum, col, raw, e)
                            bad = True
                            continue
                        if parsed is None:
                            missing += 1
                            continue
                        value, q = parsed[0], parsed[1].value
                if q_row is not None:
                    q = q_row
                if kpi is None:
                    continue
                upper = kpi.upper_national if national else kpi.upper_local
                if value < 0 or (upper is not None and value > upper) or (kpi.is_pct and value > 100) \
                        or (kpi.is_count and not value.is_integer()) or (kpi.lower is not None and value < kpi.lower):
                    problem = _check(value, kpi, national)
                    if problem:
                        err(rownum, col, raw, problem)
                        bad = True
                        continue
                if bad or when_ is None or org is None:
                    continue
                iso, precision = when_
                values_seen += 1
                key = (kpi.id, org, iso, bd)
                prev = chunk_keys.get(key)
                if prev is not None:
                    if prev[1] != value or prev[2] != q:
                        err(rownum, col, raw, (f"duplicate of row {prev[0]} with a different value ({prev[1]:g})",
                                               f"{prev[0]}行目と同じ項目で値が異なります（{prev[1]:g} と {value:g}）"))
                    else:
                        cur.unchanged += 1
                    continue
                chunk_keys[key] = (rownum, value, q)
                if (kpi.id, iso, bd) in existing:
                    slow.append((kpi.id, org, iso, precision, bd, value, q, src, url, note, rownum))
                else:
                    fast.append((kpi.id, org, iso, precision, bd, value, q, src or default_source, url,
                                 note or "", rownum))
                    if dry_run and len(cur.actions) < MAX_ACTIONS:
                        cur.actions.append(_action(fast[-1], "create", res))
            if len(fast) + len(slow) >= CHUNK:
                cur.fast, cur.slow, cur.rows, cur.values, cur.missing = fast, slow, rows_seen, values_seen, missing
                cur.share = share()
                yield cur
                cur = _Chunk()
                fast, slow, chunk_keys = [], [], {}
                rows_seen = values_seen = missing = 0
        cur.fast, cur.slow, cur.rows, cur.values, cur.missing = fast, slow, rows_seen, values_seen, missing
        cur.share = 1.0
        yield cur

    return chunks


def _die_with_parent(parent_pid: int) -> None:
    """In the forked child: be killed by the kernel when the parent dies (Linux
    PR_SET_PDEATHSIG), and leave now if the parent already died before that was set."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _drop_inherited_sockets(keep: set[int]) -> None:
    """In the forked child: every socket inherited from the parent (its database connection,
    a web server's listening socket and client connections) is replaced by /dev/null. The
    child never uses them, and holding them would keep them open after the parent died: the
    database would not see the parent's connection close, so its transaction and locks would
    stay. dup2 over the descriptor (rather than close) keeps the number taken, so no object
    inherited from the parent can ever reach another file through it."""
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in fds:
            if fd <= 2 or fd in keep or fd == devnull:
                continue
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.dup2(devnull, fd)
            except OSError:
                continue
    finally:
        os.close(devnull)


def _forked(parse: Callable[..., Iterator[_Chunk]], path: Path, options: ImportOptions,
            recognise_fn: Callable[[list[str]], bool]) -> Iterator[_Chunk]:
    """Run the parser in a forked child (the second core) and yield its chunks here.

    The child dies with the parent: it holds only the write end of the pipe (so a dead parent
    means a broken pipe, never a child blocked forever on a full one), asks the kernel to kill
    it when the parent dies, checks its parent between chunks, and replaces the inherited
    sockets (the parent's database connection) with /dev/null, so the database sees the
    parent's connection close the moment the parent is gone and rolls its transaction back.
    The parser itself touches no database."""
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    parent_end, child_end = ctx.Pipe(duplex=False)
    parent_pid = os.getpid()

    def child() -> None:
        code = 0
        try:
            parent_end.close()
            _die_with_parent(parent_pid)
            _drop_inherited_sockets({child_end.fileno()})
            t = open_table(path, encoding=options.encoding, sheet=options.sheet, recognise=recognise_fn)
            for ch in parse(t.rows, t.progress):
                if os.getppid() != parent_pid:
                    os._exit(1)
                child_end.send(ch)
            child_end.send(None)
        except DigidenError as e:
            with contextlib.suppress(OSError):
                child_end.send(("error", type(e).__name__, e.message, e.message_ja, e.field))
        except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises
            code = 1
            with contextlib.suppress(OSError):
                child_end.send(("crash", repr(e)))
        finally:
            # Leave without running finalizers: the parent's database connections were
            # inherited and must not be closed (or rolled back) from here.
            os._exit(code)

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    child_end.close()
    try:
        while True:
            try:
                item = parent_end.recv()
            except EOFError:
                raise RuntimeError("the import parser stopped unexpectedly") from None
            if item is None:
                return
            if isinstance(item, tuple):
                if item[0] == "error":
                    cls = {"NotFound": NotFound}.get(item[1], InvalidInput)
                    raise cls(item[2], message_ja=item[3], field=item[4])
                raise RuntimeError(f"import parser failed: {item[1]}")
            yield item
    finally:
        parent_end.close()          # a child still sending gets a broken pipe and leaves
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=10)


PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def _use_fork(path: Path, options: ImportOptions) -> bool:
    import multiprocessing as mp
    if options.parallel is not None:
        return options.parallel and "fork" in mp.get_all_start_methods()
    return (path.stat().st_size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
            and "fork" in mp.get_all_start_methods())


def _write(s: Any, table: Table, layout: Layout, res: _Resolver, fixed_kpi: _KpiInfo | None,
           options: ImportOptions, report: ImportReport, batch_id: int, actor: str, now: datetime,
           progress: Progress | None, path: Path, recognise_fn: Callable[[list[str]], bool]) -> None:
    conn = s.connection()
    default_source = clean_text(options.source_title or "") or f"{report.file_name}（取込）"
    writer = bulk.BulkWriter(conn, batch_id=batch_id, actor=actor, now=now, default_source=default_source)
    c_val = layout.columns.get("value")
    headers = table.headers
    nation = res.nation_id
    kpi_ids: set[int] = {fixed_kpi.id} if fixed_kpi else {k.id for k in res.kpis.values()}
    existing = bulk.existing_series(conn, kpi_ids)
    deltas: dict[tuple[int, str, str], list[float]] = {}
    slow_keys: set[tuple[int, str, str]] = set()
    touched: dict[int, list[int]] = {}
    parse = _parser(layout, res, fixed_kpi, headers, existing, default_source, options.dry_run)
    source = _forked(parse, path, options, recognise_fn) if _use_fork(path, options) \
        else parse(table.rows, table.progress)

    def flush(fast: list[bulk.Row], slow: list[bulk.Row]) -> None:
        if fast:
            if writer.insert_new(fast):
                get = deltas.get
                for kid, oid, iso_, _p, bd_, v, *_rest in fast:
                    t = touched.get(kid)
                    if t is None:
                        t = touched[kid] = [0, 0]
                    t[0] += 1
                    if oid != nation:
                        d = get((kid, iso_, bd_))
                        if d is None:
                            deltas[(kid, iso_, bd_)] = [1, v, 1 if v > 0 else 0]
                        else:
                            d[0] += 1
                            d[1] += v
                            if v > 0:
                                d[2] += 1
                report.created += len(fast)
            else:  # a key repeated across chunks: merge instead, which names both rows
                slow.extend(fast)
            fast = []
        if slow:
            classify = len(report.actions) < MAX_ACTIONS
            created, updated, unchanged, conflicts, actions = writer.merge(slow, classify=classify)
            report.created += created
            report.updated += updated
            report.unchanged += unchanged
            for r in slow:
                slow_keys.add((r[0], r[2], r[4]))
                t = touched.setdefault(r[0], [0, 0])
                if actions.get(r[10]) == "update":
                    t[1] += 1
            for row, earlier, v, ev in conflicts:
                report.add_error(Problem(row, headers[c_val] if c_val is not None else None, f"{v:g}",
                                         f"duplicate of row {earlier} with a different value ({ev:g})",
                                         f"{earlier}行目と同じ項目で値が異なります（{ev:g} と {v:g}）"))
            if classify:
                for r in slow:
                    if len(report.actions) >= MAX_ACTIONS:
                        break
                    report.actions.append(_action(r, actions.get(r[10], "unchanged"), res))

    for ch in source:
        for p in ch.problems:
            report.add_error(p)
        report.unchanged += ch.unchanged
        report.rows += ch.rows
        report.values += ch.values
        report.missing += ch.missing
        room = MAX_ACTIONS - len(report.actions)
        if room > 0:
            report.actions.extend(ch.actions[:room])
        if report.ok:
            flush(ch.fast, ch.slow)
        if progress:
            progress("import", ch.share)
    if not report.ok:
        return
    # Series-level rules over what is now stored (inside this same transaction).
    _series_rules(conn, res, report, batch_id, touched, headers[c_val] if c_val is not None else None)
    if not report.ok:
        return
    bulk.rollup_add(conn, {k: v for k, v in deltas.items() if k not in slow_keys})
    if slow_keys:
        bulk.rollup_recompute(conn, nation, keys=slow_keys)
    for kpi_id, (created, updated) in touched.items():
        s.add(BatchKpi(batch_id=batch_id, kpi_id=kpi_id, created=created, updated=updated))


def _action(r: bulk.Row, action: str, res: _Resolver) -> dict[str, Any]:
    code = next((k.code for k in res.kpis.values() if k.id == r[0]), "")
    return {"row": r[10], "kpi": code, "org_unit": res.code_of.get(r[1], ""), "as_of": r[2],
            "breakdown": r[4] or None, "value": r[5], "qualifier": r[6], "action": action}


def _series_rules(conn: Any, res: _Resolver, report: ImportReport, batch_id: int,
                  touched: dict[int, list[int]], value_header: str | None) -> None:
    infos = {k.id: k for k in res.kpis.values()}
    for kpi_id in touched:
        info = infos[kpi_id]
        for rule in info.rules:
            if rule.kind == "non_decreasing":
                found = bulk.check_non_decreasing(conn, kpi_id, batch_id=batch_id)
                for v in found:
                    p = Problem(v.row if v.batch_id == batch_id else None, value_header, f"{v.value:g}",
                                f"{info.code}: {res.code_of.get(v.org_unit_id)} {v.as_of} is {v.value:g}, "
                                f"lower than the previous {v.other:g} ({rule.describe_en()})",
                                f"{info.code}: {res.code_of.get(v.org_unit_id)} {v.as_of} の値 {v.value:g} が"
                                f"前の値 {v.other:g} より小さくなっています（{rule.describe_ja()}）",
                                rule.severity)
                    (report.add_error(p) if rule.blocking else report.warnings.append(p))
            elif rule.kind == "parts_le_total":
                total = rule.total
                for v in bulk.check_parts_le_total(conn, kpi_id, rule.parts, total, batch_id=batch_id):
                    p = Problem(v.row if v.batch_id == batch_id else None, value_header, f"{v.value:g}",
                                f"{info.code}: {res.code_of.get(v.org_unit_id)} {v.as_of}: parts add up to "
                                f"{v.value:g}, more than the total {v.other:g}",
                                f"{info.code}: {res.code_of.get(v.org_unit_id)} {v.as_of}: 内訳の合計 {v.value:g} が"
                                f"{rule.total or '総数'} {v.other:g} を超えています（{rule.describe_ja()}）",
                                rule.severity)
                    (report.add_error(p) if rule.blocking else report.warnings.append(p))


# ---------------------------------------------------------------------- batches

@dataclass(frozen=True)
class BatchView:
    id: int
    kind: str
    file_name: str
    checksum: str
    created_by: str
    created_at: datetime
    rows: int
    created: int
    updated: int
    unchanged: int
    status: str
    file_format: str
    encoding: str
    shape: str
    warnings: int
    reverted_at: datetime | None
    reverted_by: str | None
    kpis: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "file_name": self.file_name,
                "checksum": self.checksum, "created_by": self.created_by,
                "created_at": self.created_at.isoformat(), "rows": self.rows,
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "status": self.status, "format": self.file_format, "encoding": self.encoding,
                "shape": self.shape, "warnings": self.warnings,
                "reverted_at": self.reverted_at.isoformat() if self.reverted_at else None,
                "reverted_by": self.reverted_by, "kpis": list(self.kpis)}


def _batch_view(s: Any, b: ImportBatch) -> BatchView:
    codes = tuple(s.scalars(select(Kpi.code).join(BatchKpi, BatchKpi.kpi_id == Kpi.id)
                            .where(BatchKpi.batch_id == b.id).order_by(Kpi.position)))
    return BatchView(b.id, b.kind, b.file_name, b.checksum, b.created_by, b.created_at, b.rows,
                     b.created, b.updated, b.unchanged, b.status, b.file_format, b.encoding,
                     b.shape, b.warnings, b.reverted_at, b.reverted_by, codes)


def list_batches(uow: UnitOfWork, actor: Principal, *, limit: int = 200) -> list[BatchView]:
    """Import records name people and files: signed-in users only (as for the rest below)."""
    require_signed_in(actor, "取込の記録の閲覧にはサインインが必要です")
    with uow:
        s = uow.session
        return [_batch_view(s, b) for b in s.scalars(
            select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit))]


def get_batch(uow: UnitOfWork, actor: Principal, batch_id: int) -> BatchView:
    require_signed_in(actor, "取込の記録の閲覧にはサインインが必要です")
    with uow:
        b = uow.session.get(ImportBatch, batch_id)
        if b is None:
            raise NotFound(f"no import batch {batch_id}", message_ja=f"取込 #{batch_id} はありません",
                           field="batch")
        return _batch_view(uow.session, b)


def revert_batch(uow: UnitOfWork, batch_id: int, *, actor: Principal, now: datetime) -> BatchView:
    """Undo a whole import: remove what it created, restore what it overwrote."""
    require_signed_in(actor, "取込の取消にはサインインが必要です")
    from digiden.store.models import ObservationChange
    with uow:
        s = uow.session
        b = s.get(ImportBatch, batch_id)
        if b is None:
            raise NotFound(f"no import batch {batch_id}", message_ja=f"取込 #{batch_id} はありません",
                           field="batch")
        if not actor.is_admin and not (can_import(actor) and b.created_by == actor.name):
            raise PermissionDenied(f"{actor.name} may not revert batch {batch_id}",
                                   message_ja="この取込を取り消す権限がありません（取り込んだ本人か国の管理者のみ）")
        if b.status == "reverted":
            raise InvalidInput(f"batch {batch_id} is already reverted",
                               message_ja=f"取込 #{batch_id} はすでに取り消されています", field="batch")
        later = s.scalar(select(ObservationChange.id).join(
            ImportBatch, ImportBatch.id == ObservationChange.batch_id).where(
            ObservationChange.old_batch_id == batch_id, ImportBatch.status == "applied").limit(1))
        edited = s.scalar(select(Observation.id).where(
            Observation.batch_id == batch_id, Observation.updated_at.is_not(None),
            Observation.updated_at > b.created_at).limit(1))
        if later is not None or edited is not None:
            raise InvalidInput(
                f"values of batch {batch_id} were changed afterwards; revert those changes first",
                message_ja=f"取込 #{batch_id} の値はその後の取込や入力で変更されています。"
                           "先にそちらを取り消してください",
                field="batch")
        kpi_ids = [k for (k,) in s.execute(select(BatchKpi.kpi_id).where(BatchKpi.batch_id == batch_id))]
        conn = s.connection()
        removed = conn.exec_driver_sql(
            f"DELETE FROM observation WHERE batch_id = {int(batch_id)} AND id NOT IN "
            f"(SELECT observation_id FROM observation_change WHERE batch_id = {int(batch_id)})").rowcount
        restored = conn.exec_driver_sql(
            "UPDATE observation AS o SET value = ch.old_value, qualifier = ch.old_qualifier, "
            "as_of_precision = ch.old_precision, source_title = ch.old_source_title, "
            "source_url = ch.old_source_url, batch_id = ch.old_batch_id, updated_at = NULL, "
            f"source_row = NULL FROM observation_change ch WHERE ch.batch_id = {int(batch_id)} "
            "AND ch.observation_id = o.id").rowcount
        nation = s.scalar(select(OrgUnit.id).where(OrgUnit.code == NATION_CODE))
        bulk.rollup_recompute(conn, int(nation or 0), kpi_ids=kpi_ids)
        b.status, b.reverted_at, b.reverted_by = "reverted", now, actor.name[:64]
        audit.record(s, actor=actor.name, action="import.revert", entity="import_batch",
                     entity_key=str(batch_id), at=now, batch_id=batch_id,
                     before={"status": "applied", "created": b.created, "updated": b.updated},
                     after={"status": "reverted", "removed": removed, "restored": restored},
                     summary=f"取込 #{batch_id}（{b.file_name}）を取り消しました（削除 {removed}、復元 {restored}）")
        view = _batch_view(s, b)
        uow.commit()
        return view


@dataclass(frozen=True)
class ChangeView:
    """One value an import batch overwrote: before and after."""

    kpi: str
    org_unit: str
    org_unit_name: str
    as_of: str
    breakdown: str
    before: float
    before_source: str
    after: float | None
    after_source: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"kpi": self.kpi, "org_unit": self.org_unit, "as_of": self.as_of,
                "breakdown": self.breakdown or None, "before": self.before,
                "before_source": self.before_source, "after": self.after,
                "after_source": self.after_source}


def batch_changes(uow: UnitOfWork, actor: Principal, batch_id: int, *, limit: int = 500) -> list[ChangeView]:
    """The values a batch overwrote, with what it wrote instead (while it is applied)."""
    require_signed_in(actor, "取込の記録の閲覧にはサインインが必要です")
    from digiden.store.models import ObservationChange
    with uow:
        rows = uow.session.execute(
            select(Kpi.code, OrgUnit.code, OrgUnit.full_name, Observation.as_of, Observation.breakdown,
                   ObservationChange.old_value, ObservationChange.old_source_title, Observation.value,
                   Observation.source_title, Observation.batch_id)
            .join(Observation, Observation.id == ObservationChange.observation_id)
            .join(Kpi, Kpi.id == Observation.kpi_id).join(OrgUnit, OrgUnit.id == Observation.org_unit_id)
            .where(ObservationChange.batch_id == batch_id)
            .order_by(Kpi.position, OrgUnit.code, Observation.as_of).limit(limit)).all()
        return [ChangeView(k, o, n, a.isoformat(), bd, old, old_src,
                           new if b == batch_id else None, new_src if b == batch_id else None)
                for k, o, n, a, bd, old, old_src, new, new_src, b in rows]


def list_mappings(uow: UnitOfWork, actor: Principal) -> list[dict[str, Any]]:
    require_signed_in(actor, "取込の記録の閲覧にはサインインが必要です")
    with uow:
        return [{"name": m.name, "mapping": m.mapping, "created_by": m.created_by,
                 "created_at": m.created_at.isoformat()}
                for m in uow.session.scalars(select(ImportMapping).order_by(ImportMapping.name))]

