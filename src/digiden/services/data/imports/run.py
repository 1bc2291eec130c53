"""Running an import: the import lock (one importer per database), the options check, the
transaction around the batch, the writer and the series-level rules."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from digiden.domain.access import Principal, can_import, require
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from digiden.domain.rules import decrease_problem, parts_problem
from digiden.domain.text import clean_text
from digiden.services import audit
from digiden.services.data.imports.columns import Layout, detect_layout, recognise
from digiden.services.data.imports.forked import parse_in_child, use_fork
from digiden.services.data.imports.limits import IMPORT_LOCK_WAIT_SECONDS
from digiden.services.data.imports.mappings import load_mapping, save_mapping
from digiden.services.data.imports.parse import CHUNK, BulkRow, make_parser, row_action
from digiden.services.data.imports.readers import Table, open_table
from digiden.services.data.imports.report import (
    MAX_ACTIONS,
    ImportFailed,
    ImportOptions,
    ImportReport,
    Problem,
    Progress,
)
from digiden.services.data.imports.resolve import KpiInfo, Resolver
from digiden.services.uow import UnitOfWork
from digiden.store import batches as stored_batches
from digiden.store import bulk
from digiden.store.models import BatchKpi, ImportBatch


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def require_importer(actor: Principal) -> None:
    """Who may import national KPI values at all (per-KPI rights are checked row by row)."""
    require(actor, can_import(actor), message=f"{actor.name} may not import KPI observations",
            message_ja="KPIの値の取込は国の管理者・府省の担当者だけが行えます",
            sign_in_ja="取込にはサインインが必要です")


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
        while not stored_batches.try_import_lock(conn):
            if time.monotonic() >= deadline:
                raise _another_import(wait)
            if progress is not None and not told:
                progress("waiting", 0.0)
                told = True
            time.sleep(0.2)
        if told and progress is not None:
            progress("import", 0.0)
    elif dialect == "sqlite":
        started = time.monotonic()
        try:   # (a transaction layer that begins with BEGIN IMMEDIATE waits in connection())
            stored_batches.take_write_lock(s.connection())
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
            mapping = load_mapping(s, options.mapping_name) | mapping
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
            res = Resolver(s, actor)
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
            save_mapping(s, options.save_mapping, report.mapping, actor.name, now)
        bulk.refresh_statistics(s.connection(), report.created + report.updated)
        uow.commit()
        return report


def _write(s: Any, table: Table, layout: Layout, res: Resolver, fixed_kpi: KpiInfo | None,
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
    parse = make_parser(layout, res, fixed_kpi, headers, existing, default_source, options.dry_run)
    source = parse_in_child(parse, path, options, recognise_fn) if use_fork(path, options) \
        else parse(table.rows, table.progress)

    def flush(fast: list[bulk.Row], slow: list[bulk.Row], fast_counts: dict[int, int] | None = None,
              fast_deltas: dict[tuple[int, str, str], list[float]] | None = None) -> None:
        if fast and writer.staging:   # PostgreSQL: COPY now, one INSERT … SELECT at the end
            writer.stage(fast)
            fast = []
        if fast:
            if writer.insert_new(fast):
                for kid, n in (fast_counts or {}).items():   # summed up by the parser
                    touched.setdefault(kid, [0, 0])[0] += n
                for key, add in (fast_deltas or {}).items():
                    d = deltas.get(key)
                    if d is None:
                        deltas[key] = add
                    else:
                        d[0] += add[0]
                        d[1] += add[1]
                        d[2] += add[2]
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
            for r in map(BulkRow._make, slow):
                slow_keys.add((r.kpi_id, r.as_of, r.breakdown))
                t = touched.setdefault(r.kpi_id, [0, 0])
                if actions.get(r.source_row) == "update":
                    t[1] += 1
            for row, earlier, v, ev in conflicts:
                report.add_error(Problem(row, headers[c_val] if c_val is not None else None, f"{v:g}",
                                         f"duplicate of row {earlier} with a different value ({ev:g})",
                                         f"{earlier}行目と同じ項目で値が異なります（{ev:g} と {v:g}）"))
            if classify:
                for r in map(BulkRow._make, slow):
                    if len(report.actions) >= MAX_ACTIONS:
                        break
                    report.actions.append(row_action(r, actions.get(r.source_row, "unchanged"), res))

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
            flush(ch.fast, ch.slow, ch.fast_counts, ch.fast_deltas)
        if progress:
            progress("import", ch.share)
    if not report.ok:
        return
    if writer.staged:
        staged = writer.insert_staged(nation)
        if staged is None:   # a key repeated across chunks (or already stored): merge instead
            for rows in writer.staged_rows(CHUNK):
                flush([], rows)
            if not report.ok:
                return
        else:
            for kid, iso_, bd_, national, n, total, positive in staged:
                touched.setdefault(kid, [0, 0])[0] += n
                report.created += n
                if not national:
                    deltas[(kid, iso_, bd_)] = [n, total, positive]
    # Series-level rules over what is now stored (inside this same transaction).
    _series_rules(conn, res, report, batch_id, touched, headers[c_val] if c_val is not None else None)
    if not report.ok:
        return
    bulk.rollup_add(conn, {k: v for k, v in deltas.items() if k not in slow_keys})
    if slow_keys:
        bulk.rollup_recompute(conn, nation, keys=slow_keys)
    for kpi_id, (created, updated) in touched.items():
        s.add(BatchKpi(batch_id=batch_id, kpi_id=kpi_id, created=created, updated=updated))


def _series_rules(conn: Any, res: Resolver, report: ImportReport, batch_id: int,
                  touched: dict[int, list[int]], value_header: str | None) -> None:
    infos = {k.id: k for k in res.kpis.values()}
    for kpi_id in touched:
        info = infos[kpi_id]
        for rule in info.rules:
            if rule.kind == "non_decreasing":
                found = bulk.check_non_decreasing(conn, kpi_id, batch_id=batch_id)
                for v in found:
                    en, ja = decrease_problem(rule, f"{info.code}: {res.code_of.get(v.org_unit_id)} {v.as_of}",
                                              v.value, v.other)
                    p = Problem(v.row if v.batch_id == batch_id else None, value_header, f"{v.value:g}", en, ja,
                                rule.severity)
                    (report.add_error(p) if rule.blocking else report.warnings.append(p))
            elif rule.kind == "parts_le_total":
                total = rule.total
                for v in bulk.check_parts_le_total(conn, kpi_id, rule.parts, total, batch_id=batch_id):
                    en, ja = parts_problem(rule, f"{info.code}: {res.code_of.get(v.org_unit_id)} {v.as_of}",
                                           v.value, v.other)
                    p = Problem(v.row if v.batch_id == batch_id else None, value_header, f"{v.value:g}", en, ja,
                                rule.severity)
                    (report.add_error(p) if rule.blocking else report.warnings.append(p))
