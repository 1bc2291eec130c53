"""Reading the files local governments send: CSV (UTF-8, UTF-8 with BOM, CP932/Shift_JIS,
detected or given) and .xlsx (any sheet). Rows stream; nothing is held in memory whole.

Every problem becomes an :class:`InvalidInput` in Japanese and English, with the row (and
column where there is one): a file that is not a spreadsheet, a truncated .xlsx, an encoding
that does not fit, a formula cell, merged header cells.
"""

from __future__ import annotations

import codecs
import contextlib
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
from digiden.services.data.imports.limits import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_XLSX_PART_BYTES,
    MAX_XLSX_PARTS,
    MAX_XLSX_SHARED_STRINGS,
    MAX_XLSX_TOTAL_BYTES,
    MAX_XML_TOKEN_BYTES,
    fmt,
    mib,
)

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


_CONTROL_BYTES = [bytes([c]) for c in range(32) if c not in (9, 10, 13)]


def detect_encoding(sample: bytes) -> str:
    """UTF-8 with BOM, UTF-8, or CP932 — whichever decodes the sample."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    nuls = sample.count(b"\x00")
    ctrl = sum(sample.count(c) for c in _CONTROL_BYTES) if nuls else 0
    if nuls and (ctrl > 8 + len(sample) // 1000 or ctrl * 10 > len(sample)):
        # NUL among many control bytes: UTF-16, an image, an archive: not a CSV we read
        raise _fail("this is not a text file or spreadsheet (it contains NUL bytes)",
                    "表計算のファイルではありません（バイナリデータが含まれています）")
    if nuls:    # a stray NUL in text: refused while reading, with its row and column
        sample = sample.replace(b"\x00", b"")
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


def too_many_columns(n: int, row: int) -> InvalidInput:
    return _fail(f"{n:,} columns in one row; at most {MAX_COLUMNS:,} are read",
                 f"1行の列数 {fmt(n)} が上限（{fmt(MAX_COLUMNS)}列）を超えています", row=row)


def too_many_cells(row: int) -> InvalidInput:
    return _fail(f"more than {MAX_CELLS:,} cells in the file; split it",
                 f"ファイルのセル数が上限（{fmt(MAX_CELLS)}個）を超えています。ファイルを分けてください", row=row)


_BAD_TEXT = re.compile("[\x00\udc80-\udcff]")


def _locate_bad_text(path: Path, enc: str, recognise: Callable[[list[str]], bool]
                     ) -> tuple[int, int, list[str]] | None:
    """Row, column index and header of the first cell holding NUL or bytes that do not
    decode. (The decoder reads ahead, so where the error surfaced is not where it is: this
    reads the file again, only when it is broken.)"""
    head: list[tuple[int, list[Cell]]] = []
    try:
        with open(path, encoding=enc, errors="surrogateescape", newline="") as f:
            r = csv.reader(f)
            for cells in r:
                for i, c in enumerate(cells):
                    if _BAD_TEXT.search(c):
                        headers: list[str] = []
                        with contextlib.suppress(InvalidInput):
                            headers = [cell_text(c) for c in head[_find_header(head, recognise)][1]]
                        return r.line_num, i, headers
                if len(head) < HEADER_SCAN_ROWS:
                    head.append((r.line_num, list(cells)))
    except (csv.Error, OSError, UnicodeError):
        return None
    return None


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
        nul = [False]

        def lines() -> Iterator[str]:
            # NUL is no text: refused here (one C-level `in` per line) so it never reaches
            # the database (PostgreSQL cannot store it; SQLite's breaks the .xlsx export).
            for ln in text:
                if "\x00" in ln:
                    nul[0] = True
                    raise UnicodeError("NUL")
                yield ln

        reader = csv.reader(lines())
        line = 0
        cells_seen = 0

        jis = enc == "cp932"

        def numbered() -> Iterator[tuple[int, list[Cell]]]:
            nonlocal line, cells_seen
            try:
                for cells in reader:
                    line = reader.line_num
                    n = len(cells)
                    if n > MAX_COLUMNS:
                        raise too_many_columns(n, line)
                    cells_seen += n
                    if cells_seen > MAX_CELLS:
                        raise too_many_cells(line)
                    yield line, ([from_cp932(c) for c in cells] if jis else cells)  # type: ignore[misc]
            except UnicodeError:
                where = _locate_bad_text(path, enc, recognise)
                row, col, hs = where if where else (line + 1, None, [])
                hs = headers_seen or hs
                column = (hs[col] if col is not None and col < len(hs) and hs[col]
                          else f"{col + 1}列目" if col is not None else None)
                if nul[0]:
                    raise _fail("a NUL character (\\0) in the text; the file may be broken or binary",
                                "NUL文字（\\0）が含まれています。ファイルが壊れているか、表計算のファイルではありません",
                                row=row, column=column) from None
                raise _fail(f"the file is not valid {enc} here; choose the right encoding",
                            f"文字コード {enc} として読めない文字があります。文字コードの指定を確認してください",
                            row=row, column=column) from None
            except csv.Error as e:
                raise _fail(f"broken CSV: {e}", f"CSVの形式が壊れています: {e}", row=line + 1) from None

        headers_seen: list[str] = []
        it = numbered()
        head = list(islice(it, HEADER_SCAN_ROWS))
        if not head:
            raise _fail("the file is empty", "ファイルが空です")
        h = _find_header(head, recognise)
        headers = [cell_text(c) for c in head[h][1]]
        headers_seen.extend(headers)

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
            tail = b""
            with z.open(names[sheet_index]) as f:   # merged cells follow the rows: keep the tail
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    tail = (tail + chunk)[-200_000:]
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        return []
    out = []
    for a, b in re.findall(rb'<mergeCell ref="[A-Z]+(\d+):[A-Z]+(\d+)"', tail):
        out.append((int(a), int(b)))
    return out


_SCAN_CHUNK = 1 << 20


class _XmlTooBig(Exception):
    def __init__(self, what: str, what_ja: str):
        super().__init__(what)
        self.what, self.what_ja = what, what_ja


def _scan_xml(f: Any, *, limit: int, count: tuple[bytes, ...] = ()) -> int:
    """Stream one XML part and refuse what would make the XML parser slow: a DTD or entity
    declaration, and any tag, comment, processing instruction or CDATA section longer than
    ``limit`` bytes (expat re-scans an unfinished token on every 16 KB it is fed, so one huge
    token costs quadratic time). Text between tags counts too: it is bounded by the distance
    between two '<', checked in windows, so the scan costs a few ``find`` calls per 128 KB.
    Returns how often the byte strings in ``count`` occur (shared strings: ``<si>``)."""
    buf = f.read(_SCAN_CHUNK)
    base = 0              # offset of buf[0] in the part
    last_lt = 0           # offset of the last '<' (or the end of the last special token)
    counted = 0           # offset up to which ``count`` has been applied
    eof = not buf
    n = 0
    step = max(1, limit // 2)

    def more() -> bool:
        nonlocal buf, eof
        if eof:
            return False
        c = f.read(_SCAN_CHUNK)
        if not c:
            eof = True
            return False
        buf += c
        return True

    def gaps(start: int, end: int) -> None:
        nonlocal last_lt
        w = start
        while w < end:
            w2 = min(end, w + step)
            r = buf.rfind(b"<", w, w2)
            if r != -1:
                last_lt = base + r
            elif base + w2 - last_lt > limit:
                raise _XmlTooBig(f"more than {limit:,} bytes without markup",
                                 f"タグの間のデータが {mib(limit)} を超えています")
            w = w2

    def tally(end: int) -> None:
        nonlocal counted, n
        if count and end > counted - base:
            seg = buf[max(0, counted - base):end]
            n += sum(seg.count(c) for c in count)
            counted = base + end

    pos = 0
    while True:
        a, b = buf.find(b"<!", pos), buf.find(b"<?", pos)
        j = a if b == -1 else b if a == -1 else min(a, b)
        if j == -1:
            keep = 16 if not eof else 0
            end = max(pos, len(buf) - keep)
            gaps(pos, end)
            tally(end)
            if eof:
                return n
            buf, base, pos = buf[end:], base + end, 0
            more()
            continue
        gaps(pos, j)
        tally(j)
        while len(buf) - j < 9 and more():
            pass
        head = buf[j:j + 9]
        if head.startswith(b"<?"):
            term = b"?>"
        elif head.startswith(b"<!--"):
            term = b"-->"
        elif head.startswith(b"<![CDATA["):
            term = b"]]>"
        elif b"<![CDATA[".startswith(head) and eof:
            term = b"]]>"
        else:
            raise _XmlTooBig("a DTD or entity declaration", "DTDや実体宣言（<!DOCTYPE / <!ENTITY）")
        k = buf.find(term, j)
        while k == -1 and len(buf) - j <= limit and more():
            k = buf.find(term, max(j, len(buf) - _SCAN_CHUNK - len(term)))
        if k == -1 or k - j > limit:
            raise _XmlTooBig(f"a comment or instruction longer than {limit:,} bytes",
                             f"{mib(limit)} を超えるコメントや処理命令")
        pos = k + len(term)
        last_lt = base + pos
        tally(pos)


def check_xlsx(path: Path) -> None:
    """Refuse an .xlsx that would cost far more to read than its size suggests, before
    openpyxl sees it: parts whose uncompressed size (from the zip directory, which also caps
    what zipfile will inflate) is over the limits, too many parts, a DTD, huge tokens, or more
    shared strings than the limit (openpyxl would hold them all in memory)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_XLSX_PARTS:
                raise _fail(f"the .xlsx holds {len(infos):,} parts; at most {MAX_XLSX_PARTS:,}",
                            f".xlsx の中のファイル数 {fmt(len(infos))} が上限（{fmt(MAX_XLSX_PARTS)}）を超えています")
            total = 0
            for zi in infos:
                total += zi.file_size
                if zi.file_size > MAX_XLSX_PART_BYTES:
                    raise _fail(f"part {zi.filename} is {zi.file_size:,} bytes uncompressed; at most "
                                f"{MAX_XLSX_PART_BYTES:,}",
                                f".xlsx の中の {zi.filename} が展開後 {mib(zi.file_size)} あり、上限"
                                f"（{mib(MAX_XLSX_PART_BYTES)}）を超えています")
            if total > MAX_XLSX_TOTAL_BYTES:
                raise _fail(f"the .xlsx is {total:,} bytes uncompressed; at most {MAX_XLSX_TOTAL_BYTES:,}",
                            f".xlsx の展開後の大きさ {mib(total)} が上限（{mib(MAX_XLSX_TOTAL_BYTES)}）を超えています")
            for zi in infos:
                name = zi.filename.lower()
                if not name.endswith((".xml", ".rels", ".vml")):
                    continue
                shared = name.endswith("sharedstrings.xml")
                try:
                    with z.open(zi) as f:
                        n = _scan_xml(f, limit=MAX_XML_TOKEN_BYTES,
                                      count=(b"<si>", b"<si ", b":si>", b":si ") if shared else ())
                except _XmlTooBig as e:
                    raise _fail(f"part {zi.filename} of the .xlsx holds {e.what}; refused",
                                f".xlsx の中の {zi.filename} に{e.what_ja}が含まれているため読み込みません") from None
                if shared and n > MAX_XLSX_SHARED_STRINGS:
                    raise _fail(f"the .xlsx holds more than {MAX_XLSX_SHARED_STRINGS:,} shared strings",
                                f".xlsx の共有文字列の数が上限（{fmt(MAX_XLSX_SHARED_STRINGS)}）を超えています")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError,
            NotImplementedError, ValueError) as e:
        raise _fail(f"cannot open the .xlsx file (truncated or not a spreadsheet: {e})",
                    "Excelファイル（.xlsx）として開けません。ファイルが壊れているか、途中で切れています") from None


def open_xlsx(path: Path, sheet: str | None, recognise: Callable[[list[str]], bool]) -> Table:
    import openpyxl
    check_xlsx(path)
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
    seen = 0
    for offset, values in enumerate(ws.iter_rows(values_only=True)):
        rownum = first + offset
        cells: list[Cell] = list(values)
        seen += len(cells)     # padded cells count: they cost as much as written ones
        if seen > MAX_CELLS:
            raise too_many_cells(rownum)
        if len(cells) > MAX_COLUMNS:
            # read-only rows are padded to the sheet's widest row: count up to the last value
            while cells and cells[-1] is None:
                cells.pop()
            if len(cells) > MAX_COLUMNS:
                raise too_many_columns(len(cells), rownum)
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
