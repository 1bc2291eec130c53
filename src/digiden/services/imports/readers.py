"""Reading the files local governments send: CSV (UTF-8, UTF-8 with BOM, CP932/Shift_JIS,
detected or given) and .xlsx (any sheet). Rows stream; nothing is held in memory whole.

Every problem becomes an :class:`InvalidInput` in Japanese and English, with the row (and
column where there is one): a file that is not a spreadsheet, a truncated .xlsx, an encoding
that does not fit, a formula cell, merged header cells.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from digiden.domain.cp932 import from_cp932
from digiden.domain.errors import InvalidInput

ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig", "cp932": "cp932",
             "shift_jis": "cp932", "sjis": "cp932", "shift-jis": "cp932", "ms932": "cp932"}
SAMPLE = 256 * 1024
HEADER_SCAN_ROWS = 20
csv.field_size_limit(1 << 20)

Cell = str | float | int | None


@dataclass
class Table:
    """An opened sheet: where its header is, and an iterator over the data rows after it."""

    file_format: str                 # csv | xlsx
    encoding: str                    # for CSV; '' for xlsx
    sheet: str                       # for xlsx; '' for CSV
    header_row: int                  # 1-based row number of the header
    headers: list[str]
    rows: Iterator[tuple[int, list[Cell]]]   # (1-based row number, cells)
    progress: Callable[[], float] = field(default=lambda: 0.0)   # share of the file read
    close: Callable[[], None] = field(default=lambda: None)


def _fail(en: str, ja: str, *, row: int | None = None, column: str | None = None) -> InvalidInput:
    where_en = (f"row {row}" if row else "") + (f", column {column}" if column else "")
    where_ja = (f"{row}行目" if row else "") + (f"「{column}」列" if column else "")
    e = InvalidInput(f"{where_en}: {en}" if where_en else en,
                     message_ja=f"{where_ja}: {ja}" if where_ja else ja, field=column)
    e.row = row  # type: ignore[attr-defined]
    return e


def sniff_format(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _fail("this is an old .xls file; save it as .xlsx or CSV",
                    "古い形式（.xls）のファイルです。Excelで .xlsx または CSV として保存し直してください")
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """UTF-8 with BOM, UTF-8, or CP932 — whichever decodes the sample."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if b"\x00" in sample:
        raise _fail("this is not a text file or spreadsheet (it contains NUL bytes)",
                    "表計算のファイルではありません（バイナリデータが含まれています）")
    for enc in ("utf-8", "cp932"):
        try:
            codecs.getincrementaldecoder(enc)().decode(sample, final=False)
            return enc
        except UnicodeDecodeError:
            continue
    raise _fail("cannot tell the character encoding (UTF-8 and Shift_JIS/CP932 are supported)",
                "文字コードを判別できません（UTF-8 と Shift_JIS（CP932）に対応しています）")


def _find_header(rows: list[tuple[int, list[Cell]]], recognise: Callable[[list[str]], bool]) -> int:
    """Index of the header among the first rows: the first that ``recognise`` accepts."""
    for i, (_, cells) in enumerate(rows):
        texts = [cell_text(c) for c in cells]
        if sum(1 for t in texts if t) >= 2 and recognise(texts):
            return i
    raise _fail("no header row found (looked at the first 20 rows for columns such as "
                "団体コード, KPI, 時点, 値 or period headings like 2024年度)",
                "見出し行が見つかりません（先頭20行に「団体コード」「KPI」「時点」「値」や「2024年度」などの列見出しが必要です）")


def cell_text(c: Cell) -> str:
    """A cell as text: empty for None, 12 for 12.0, stripped."""
    if c is None:
        return ""
    if isinstance(c, float) and c.is_integer():
        return str(int(c))
    return str(c).strip()


def open_csv(path: Path, encoding: str | None, recognise: Callable[[list[str]], bool]) -> Table:
    raw = open(path, "rb")  # noqa: SIM115 - closed by Table.close
    try:
        sample = raw.read(SAMPLE)
        if encoding:
            enc = ENCODINGS.get(encoding.lower().replace("_", "-"), ENCODINGS.get(encoding.lower()))
            if enc is None:
                raise _fail(f"unknown encoding {encoding!r} (utf-8, utf-8-sig, cp932)",
                            f"不明な文字コードです: {encoding}（utf-8 / utf-8-sig / cp932）")
            if enc == "utf-8" and sample.startswith(codecs.BOM_UTF8):
                enc = "utf-8-sig"
        else:
            enc = detect_encoding(sample)
        raw.seek(0)
        size = max(1, path.stat().st_size)
        text = io.TextIOWrapper(raw, encoding=enc, newline="", errors="strict")
        reader = csv.reader(text)
        line = 0

        jis = enc == "cp932"

        def numbered() -> Iterator[tuple[int, list[Cell]]]:
            nonlocal line
            try:
                for cells in reader:
                    line = reader.line_num
                    yield line, ([from_cp932(c) for c in cells] if jis else cells)  # type: ignore[misc]
            except UnicodeDecodeError:
                raise _fail(f"the file is not valid {enc} near this row; choose the right encoding",
                            f"この行付近が文字コード {enc} として読めません。文字コードの指定を確認してください",
                            row=line + 1) from None
            except csv.Error as e:
                raise _fail(f"broken CSV: {e}", f"CSVの形式が壊れています: {e}", row=line + 1) from None

        it = numbered()
        head = list(islice(it, HEADER_SCAN_ROWS))
        if not head:
            raise _fail("the file is empty", "ファイルが空です")
        h = _find_header(head, recognise)
        headers = [cell_text(c) for c in head[h][1]]

        def rows() -> Iterator[tuple[int, list[Cell]]]:
            yield from head[h + 1:]
            yield from it

        return Table("csv", enc, "", head[h][0], headers, rows(),
                     progress=lambda: min(1.0, raw.tell() / size) if not raw.closed else 1.0,
                     close=text.close)
    except BaseException:
        if "text" in locals():
            text.detach()
        raw.close()
        raise


def _merged_ranges(path: Path, sheet_index: int) -> list[tuple[int, int]]:
    """Row spans of merged cells on a sheet, read from the sheet XML (read-only openpyxl
    does not expose them)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n)]
            names.sort(key=lambda n: int(re.findall(r"\d+", n)[-1]))
            if sheet_index >= len(names):
                return []
            data = z.read(names[sheet_index])
    except (zipfile.BadZipFile, OSError):
        return []
    tail = data[-200_000:] if len(data) > 200_000 else data
    out = []
    for a, b in re.findall(rb'<mergeCell ref="[A-Z]+(\d+):[A-Z]+(\d+)"', tail):
        out.append((int(a), int(b)))
    return out


def open_xlsx(path: Path, sheet: str | None, recognise: Callable[[list[str]], bool]) -> Table:
    import openpyxl
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise _fail(f"cannot open the .xlsx file (truncated or not a spreadsheet: {e})",
                    "Excelファイル（.xlsx）として開けません。ファイルが壊れているか、途中で切れています") from None
    except Exception as e:  # openpyxl raises assorted errors on broken XML inside the zip
        raise _fail(f"cannot read the .xlsx file: {type(e).__name__}",
                    "Excelファイル（.xlsx）の中身を読めません。ファイルが壊れている可能性があります") from None
    try:
        candidates = [wb[sheet]] if sheet else list(wb.worksheets)
    except KeyError:
        wb.close()
        raise _fail(f"no sheet named {sheet!r} (sheets: {', '.join(wb.sheetnames)})",
                    f"シート「{sheet}」はありません（シート: {'、'.join(wb.sheetnames)}）") from None
    last_error: InvalidInput | None = None
    for ws in candidates:
        index = wb.worksheets.index(ws)
        it = _xlsx_rows(ws)
        try:
            head = list(islice(it, HEADER_SCAN_ROWS))
            if not head:
                raise _fail(f"sheet {ws.title!r} is empty", f"シート「{ws.title}」は空です")
            h = _find_header(head, recognise)
        except InvalidInput as e:
            last_error = e
            continue
        header_row = head[h][0]
        for a, b in _merged_ranges(path, index):
            if a <= header_row <= b:
                wb.close()
                raise _fail("the header has merged cells; unmerge them so every column has its own heading",
                            "見出し行に結合されたセルがあります。結合を解除し、列ごとに見出しを入れてください",
                            row=header_row)
        headers = [cell_text(c) for c in head[h][1]]
        total = max(1, ws.max_row or 1)
        done = [header_row]

        def rows(head: list[tuple[int, list[Cell]]] = head, h: int = h,
                 it: Iterator[tuple[int, list[Cell]]] = it, done: list[int] = done
                 ) -> Iterator[tuple[int, list[Cell]]]:
            for r in head[h + 1:]:
                done[0] = r[0]
                yield r
            for r in it:
                done[0] = r[0]
                yield r

        def share(done: list[int] = done, total: int = total) -> float:
            return min(1.0, done[0] / total)

        return Table("xlsx", "", ws.title, header_row, headers, rows(), progress=share,
                     close=wb.close)
    wb.close()
    assert last_error is not None
    raise last_error


def _xlsx_rows(ws: Any) -> Iterator[tuple[int, list[Cell]]]:
    """Rows of a sheet as plain values (values_only is several times faster than cell objects).
    The workbook is opened with data_only=False, so a formula arrives as its text: '=…'."""
    from openpyxl.utils import get_column_letter
    first = ws.min_row or 1
    for offset, values in enumerate(ws.iter_rows(values_only=True)):
        rownum = first + offset
        cells: list[Cell] = list(values)
        for i, v in enumerate(cells):
            if isinstance(v, str):
                if v.startswith("="):
                    raise _fail("a formula cell; paste values instead of formulas",
                                "数式のセルがあります。数式ではなく値を貼り付けてください",
                                row=rownum, column=get_column_letter(i + 1))
            elif isinstance(v, datetime):
                cells[i] = v.date().isoformat()
            elif isinstance(v, date):
                cells[i] = v.isoformat()
            elif isinstance(v, bool):
                cells[i] = str(v)
        yield rownum, cells


def open_table(path: Path, *, encoding: str | None = None, sheet: str | None = None,
               recognise: Callable[[list[str]], bool]) -> Table:
    """Open a CSV or .xlsx file and find its header row."""
    if not path.exists():
        raise _fail(f"no such file: {path}", f"ファイルがありません: {path.name}")
    if path.stat().st_size == 0:
        raise _fail("the file is empty", "ファイルが空です")
    fmt = sniff_format(path)
    if fmt == "xlsx":
        return open_xlsx(path, sheet, recognise)
    return open_csv(path, encoding, recognise)
