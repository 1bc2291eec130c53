"""Exports for people who open them in Excel, and for scripts: KPIs, targets, observations and
statuses as CSV (UTF-8 with BOM by default, CP932 on request), .xlsx (a sheet per table,
Japanese headers, frozen header row, number formats, fitting widths) and JSON.

The observations table has exactly the columns the importer reads, so an export imported back
reproduces the same data (tests/services/test_exports.py holds that)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from digiden.domain.calendar import AsOf, Precision
from digiden.domain.cp932 import for_cp932
from digiden.domain.errors import InvalidInput
from digiden.services.national.kpis import list_kpis
from digiden.services.uow import UnitOfWork
from digiden.store.models import Kpi, Observation, OrgUnit

FORMATS = ("csv", "xlsx", "json")
TABLES = ("kpis", "targets", "observations", "statuses")
XLSX_MAX_ROWS = 1_048_575      # Excel's limit per sheet, less the header


@dataclass(frozen=True)
class Column:
    key: str
    ja: str
    width: int = 12
    number_format: str | None = None


COLUMNS: dict[str, tuple[Column, ...]] = {
    "kpis": (Column("code", "KPIコード", 30), Column("name", "KPI", 50), Column("block", "KPIの区分", 30),
             Column("area", "分野", 30), Column("unit", "単位", 8), Column("direction", "方向", 10),
             Column("cumulative", "累計期間", 14), Column("breakdowns", "内訳", 14),
             Column("wording", "戦略上の記載", 50)),
    "targets": (Column("kpi", "KPIコード", 30), Column("breakdown", "内訳", 10),
                Column("deadline", "期限", 12, "yyyy-mm-dd"), Column("deadline_label", "期限（記載）", 14),
                Column("value", "目標値", 12, "#,##0.##"), Column("low", "下限", 8, "#,##0"),
                Column("high", "上限", 8, "#,##0"), Column("qualifier", "限定", 10),
                Column("display", "目標（表示）", 24)),
    "observations": (Column("kpi", "KPIコード", 30), Column("org_unit", "団体コード", 10),
                     Column("org_unit_name", "団体名", 22), Column("as_of", "時点", 12),
                     Column("breakdown", "内訳", 10), Column("value", "値", 14, "#,##0.####"),
                     Column("qualifier", "限定語", 8), Column("source_title", "出典", 50),
                     Column("source_url", "出典URL", 40), Column("note", "備考", 20)),
    "statuses": (Column("kpi", "KPIコード", 30), Column("name", "KPI", 50), Column("key", "判定キー", 18),
                 Column("label", "判定", 10), Column("next_deadline", "次の目標の期限", 14, "yyyy-mm-dd"),
                 Column("next_target", "次の目標", 20), Column("forecast", "到達見込み", 14, "yyyy-mm-dd"),
                 Column("reason", "理由", 60)),
}


def as_of_text(d: date, precision: str) -> str:
    """The as-of as the importer reads it back with its precision: 2024-03-31, 2024-03,
    FY2024 (fiscal year end) or 2025年 (calendar year)."""
    if precision == Precision.YEAR.value:
        return f"FY{d.year - 1}" if (d.month, d.day) == (3, 31) else f"{d.year}年"
    return AsOf(d, Precision(precision)).iso()


def iter_table(uow: UnitOfWork, table: str, *, today: date, kpi: str | None = None) -> Iterator[dict[str, Any]]:
    if table not in TABLES:
        raise InvalidInput(f"unknown table {table!r} (one of {', '.join(TABLES)})",
                           message_ja=f"不明な表です: {table}", field="table")
    if table == "observations":
        yield from _observations(uow, kpi)
        return
    views = [k for k in list_kpis(uow, today=today) if kpi in (None, k.code)]
    for k in views:
        if table == "kpis":
            yield {"code": k.code, "name": k.name, "block": k.block_name, "area": k.area_name or "",
                   "unit": k.unit, "direction": k.direction.value,
                   "cumulative": f"FY{k.cumulative[0]}–FY{k.cumulative[1]}" if k.cumulative else "",
                   "breakdowns": "・".join(k.breakdowns), "wording": k.wording}
        elif table == "targets":
            for t in k.targets:
                yield {"kpi": k.code, "breakdown": t.breakdown, "deadline": t.deadline,
                       "deadline_label": t.deadline_label, "value": t.value, "low": t.low,
                       "high": t.high, "qualifier": t.qualifier.value, "display": t.display}
        else:
            nm = k.status.next_milestone
            yield {"kpi": k.code, "name": k.name, "key": k.status.status.value,
                   "label": k.status.status.label, "next_deadline": nm.deadline if nm else None,
                   "next_target": nm.display if nm else "", "forecast": k.status.forecast,
                   "reason": k.status.reason}


def _observations(uow: UnitOfWork, kpi: str | None) -> Iterator[dict[str, Any]]:
    with uow:
        s = uow.session
        q = (select(Kpi.code, OrgUnit.code, OrgUnit.full_name, Observation.as_of,
                    Observation.as_of_precision, Observation.breakdown, Observation.value,
                    Observation.qualifier, Observation.source_title, Observation.source_url,
                    Observation.note)
             .join(Kpi, Kpi.id == Observation.kpi_id).join(OrgUnit, OrgUnit.id == Observation.org_unit_id)
             .order_by(Kpi.position, OrgUnit.code, Observation.as_of, Observation.breakdown))
        if kpi:
            q = q.where(Kpi.code == kpi)
        for (kc, oc, on, a, p, bd, v, ql, st, su, note) in s.execute(q.execution_options(yield_per=20_000)):
            yield {"kpi": kc, "org_unit": oc, "org_unit_name": on, "as_of": as_of_text(a, p),
                   "breakdown": bd, "value": v, "qualifier": ql, "source_title": st,
                   "source_url": su or "", "note": note}


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else str(int(v))
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def write_csv(rows: Iterator[dict[str, Any]], table: str, out: io.TextIOBase | Any, *,
              cp932: bool = False) -> int:
    cols = COLUMNS[table]
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([c.ja for c in cols])
    n = 0
    for r in rows:
        cells = [_cell_text(r.get(c.key)) for c in cols]
        w.writerow([for_cp932(c) for c in cells] if cp932 else cells)
        n += 1
    return n


def _check_target(out: Path, *, folder: bool) -> None:
    """Refuse, before anything is built, a place the export cannot be written to: a folder where
    a file is meant (or the reverse), a folder that does not exist, no permission."""
    def refuse(en: str, ja: str) -> InvalidInput:
        return InvalidInput(f"{out}: {en}", message_ja=f"{out}: {ja}", field="out")
    if folder:
        if out.exists() and not out.is_dir():
            raise refuse("is a file; several CSV tables are written into a folder",
                         "ファイルです。複数の表のCSVはフォルダに書き出します")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise refuse(f"cannot create the folder ({e.strerror})",
                         f"フォルダを作成できません（{e.strerror}）") from None
        probe = out
    else:
        if out.is_dir():
            raise refuse("is a folder; give a file name (or --table for one CSV table)",
                         "フォルダです。ファイル名を指定してください")
        if not out.parent.is_dir():
            raise refuse("no such folder", f"フォルダ {out.parent} がありません")
        probe = out.parent
    if not os.access(probe, os.W_OK):
        raise refuse("no permission to write here", "書き込む権限がありません")
    if not folder:
        existed = out.exists()
        try:
            with open(out, "ab"):
                pass
        except OSError as e:
            raise refuse(f"cannot be written ({e.strerror})", f"書き込めません（{e.strerror}）") from None
        if not existed:
            out.unlink(missing_ok=True)


def export(uow: UnitOfWork, fmt: str, out: Path, *, today: date, encoding: str = "utf-8-sig",
           tables: tuple[str, ...] = TABLES, kpi: str | None = None,
           progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Write the export. CSV: one file per table (``out`` is a folder, or a file when one table
    is asked for). Returns the number of rows written per table."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r} (csv, xlsx, json)",
                           message_ja=f"不明な形式です: {fmt}（csv / xlsx / json）", field="format")
    if encoding.lower() in ("cp932", "shift_jis", "sjis"):
        encoding = "cp932"
    elif encoding.lower() in ("utf-8-sig", "utf8-sig", "bom"):
        encoding = "utf-8-sig"
    elif encoding.lower() in ("utf-8", "utf8"):
        encoding = "utf-8"
    else:
        raise InvalidInput(f"unknown encoding {encoding!r}", message_ja=f"不明な文字コードです: {encoding}",
                           field="encoding")
    _check_target(out, folder=fmt == "csv" and len(tables) > 1)
    counts: dict[str, int] = {}
    written: list[Path] = []     # removed again if the export fails: no partial files
    try:
        if fmt == "csv":
            if len(tables) > 1:
                out.mkdir(parents=True, exist_ok=True)
            for t in tables:
                target = out / f"{t}.csv" if len(tables) > 1 else out
                written.append(target)
                with open(target, "w", encoding=encoding, errors="replace" if encoding == "cp932" else "strict",
                          newline="") as f:
                    counts[t] = write_csv(iter_table(uow, t, today=today, kpi=kpi), t, f,
                                          cp932=encoding == "cp932")
                if progress:
                    progress(t, counts[t])
        elif fmt == "json":
            data = {t: list(iter_table(uow, t, today=today, kpi=kpi)) for t in tables}
            counts = {t: len(v) for t, v in data.items()}
            written.append(out)
            out.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=_json_default),
                           encoding="utf-8")
        else:
            written.append(out)
            counts = _write_xlsx(uow, out, tables, today=today, kpi=kpi, progress=progress)
    except BaseException:
        for w in written:
            if w.is_file():
                w.unlink(missing_ok=True)
        raise
    return counts


def _json_default(v: Any) -> Any:
    if isinstance(v, date):
        return v.isoformat()
    raise TypeError(type(v))


# What an .xlsx cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE): control characters other
# than tab and newlines. Data stored before the importer refused them is exported with U+FFFD.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

SHEET_NAMES = {"kpis": "KPI", "targets": "目標", "observations": "実績値", "statuses": "判定"}


def _write_xlsx(uow: UnitOfWork, out: Path, tables: tuple[str, ...], *, today: date,
                kpi: str | None, progress: Callable[[str, int], None] | None) -> dict[str, int]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="0017C1")
    counts: dict[str, int] = {}
    for t in tables:
        cols = COLUMNS[t]
        part = 1
        ws = None
        n = 0

        def new_sheet(part: int, t: str = t, cols: tuple[Column, ...] = cols) -> Any:
            title = SHEET_NAMES[t] if part == 1 else f"{SHEET_NAMES[t]}({part})"
            ws = wb.create_sheet(title)
            ws.freeze_panes = "A2"
            for i, c in enumerate(cols, start=1):
                ws.column_dimensions[get_column_letter(i)].width = c.width
            header = []
            for c in cols:
                cell = WriteOnlyCell(ws, value=c.ja)
                cell.font, cell.fill = head_font, head_fill
                cell.alignment = Alignment(vertical="center")
                header.append(cell)
            ws.append(header)
            return ws

        ws = new_sheet(part)
        in_sheet = 0
        for r in iter_table(uow, t, today=today, kpi=kpi):
            if in_sheet >= XLSX_MAX_ROWS:
                part += 1
                ws = new_sheet(part)
                in_sheet = 0
            row: list[Any] = []
            for c in cols:
                v = r.get(c.key)
                if type(v) is str and _ILLEGAL.search(v):
                    v = _ILLEGAL.sub("\ufffd", v)   # openpyxl refuses control characters
                if c.number_format and v is not None and v != "":
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = c.number_format
                    row.append(cell)
                else:
                    row.append("" if v is None else v)
            ws.append(row)
            in_sheet += 1
            n += 1
        counts[t] = n
        if progress:
            progress(t, n)
    wb.save(out)
    return counts
