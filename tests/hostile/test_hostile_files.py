"""Hostile and broken files, on SQLite and PostgreSQL: each is refused quickly with a Japanese
message that names the limit (and the row and column where there is one), and nothing is
written. The files are made here, small on disk (zip bombs, not big files in the repository)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from digiden.domain.access import system
from digiden.domain.errors import InvalidInput
from digiden.services.data import exports
from digiden.services.data.imports import ImportFailed, ImportOptions, run_import
from digiden.services.data.imports.columns import detect_layout
from digiden.services.data.imports.limits import MAX_COLUMNS, MAX_XLSX_PART_BYTES, MAX_XLSX_SHARED_STRINGS
from digiden.services.data.imports.tempfiles import remove_stale_temp_files, spool_path
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, ImportBatch, Observation

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 29)


def counts(uow: UnitOfWork) -> tuple[int, ...]:
    with uow:
        s = uow.session
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0 for t in (Observation, ImportBatch, AuditEvent))


def imp(uow: UnitOfWork, path: Path, **kw: object):  # type: ignore[no-untyped-def]
    return run_import(uow, path, ImportOptions(**kw), actor=system("importer"), now=NOW)  # type: ignore[arg-type]


def refused(uow: UnitOfWork, path: Path, **kw: object) -> InvalidInput:
    before = counts(uow)
    with pytest.raises(InvalidInput) as e:
        imp(uow, path, **kw)
    assert counts(uow) == before
    return e.value


def _small_xlsx() -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(["団体コード", "時点", "値"])
    ws.append(["011002", "2024-03-31", "1"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_with(path: Path, name: str, parts: list[bytes], repeat: int, tail: bytes) -> Path:
    """A real .xlsx whose part ``name`` is ``parts[0] + parts[1] * repeat + tail``, written
    through zipfile in pieces (so a gigabyte costs no memory and compresses to almost nothing)."""
    src = zipfile.ZipFile(io.BytesIO(_small_xlsx()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for zi in src.infolist():
            if zi.filename != name:
                z.writestr(zi, src.read(zi))
        with z.open(name, "w", force_zip64=True) as f:
            f.write(parts[0])
            block = parts[1] * max(1, (1 << 22) // len(parts[1]))
            per = len(block) // len(parts[1])
            left = repeat
            while left >= per:
                f.write(block)
                left -= per
            f.write(parts[1] * left)
            f.write(tail)
    return path


HEAD = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><!--'


@pytest.fixture(scope="module")
def gigabyte_comment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 GB comment in a ~1 MB .xlsx (made once for both databases)."""
    f = _xlsx_with(tmp_path_factory.mktemp("bomb") / "comment.xlsx", "xl/worksheets/sheet1.xml",
                   [HEAD, b"x" * 1024], 1 << 20, b"--><sheetData/></worksheet>")
    assert f.stat().st_size < 2 * 1024 * 1024
    return f


@pytest.fixture(scope="module")
def ten_million_strings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    head = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'count="10000000" uniqueCount="10000000">')
    f = _xlsx_with(tmp_path_factory.mktemp("bomb") / "sst.xlsx", "xl/sharedStrings.xml",
                   [head, b"<si><t>a</t></si>"], 10_000_000, b"</sst>")
    assert f.stat().st_size < 1024 * 1024
    return f


@pytest.mark.timeout(120)
def test_an_xlsx_whose_xml_holds_a_1_gb_comment_is_refused_by_its_size(
        uow: UnitOfWork, gigabyte_comment: Path) -> None:
    e = refused(uow, gigabyte_comment)
    assert "展開後" in e.message_ja and f"{MAX_XLSX_PART_BYTES // (1024 * 1024)} MB" in e.message_ja


@pytest.mark.timeout(60)
def test_a_huge_comment_under_the_size_limit_is_refused_without_parsing(uow: UnitOfWork, tmp_path: Path) -> None:
    """A 64 MB comment (expat re-scans an unfinished token on every 16 KB: quadratic)."""
    f = _xlsx_with(tmp_path / "comment.xlsx", "xl/worksheets/sheet1.xml", [HEAD, b"<x>" * 1000], 64 * 350,
                   b"--><sheetData/></worksheet>")
    e = refused(uow, f)
    assert "コメント" in e.message_ja and "256 KB" in e.message_ja and "sheet1.xml" in e.message_ja


@pytest.mark.timeout(60)
def test_a_dtd_with_entities_is_refused(uow: UnitOfWork, tmp_path: Path) -> None:
    head = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
    f = _xlsx_with(tmp_path / "dtd.xlsx", "xl/worksheets/sheet1.xml", [head, b"<!-- -->"], 1,
                   b"<sheetData/></worksheet>")
    assert "DTD" in refused(uow, f).message_ja


@pytest.mark.timeout(60)
def test_an_xlsx_with_10_million_shared_strings_is_refused(uow: UnitOfWork, ten_million_strings: Path) -> None:
    e = refused(uow, ten_million_strings)
    assert "共有文字列" in e.message_ja and f"{MAX_XLSX_SHARED_STRINGS:,}" in e.message_ja


@pytest.mark.timeout(60)
def test_a_csv_with_a_million_columns_is_refused_at_its_first_row(uow: UnitOfWork, tmp_path: Path) -> None:
    f = tmp_path / "wide.csv"
    with open(f, "w", encoding="utf-8") as out:
        out.write("団体コード,時点,値," + ",".join(f"c{i:07d}" for i in range(1_000_000)) + "\n")
        out.write("011002,2024-03-31,1\n")
    assert f.stat().st_size > 8 * 1024 * 1024
    e = refused(uow, f)
    assert "1行目" in e.message_ja and f"{MAX_COLUMNS:,}列" in e.message_ja and "1,000,003" in e.message_ja


@pytest.mark.timeout(30)
def test_the_duplicate_header_check_is_linear() -> None:
    headers = ["団体コード", "時点", "値"] + [f"列{i}" for i in range(300_000)]
    assert detect_layout(headers).shape == "long"
    with pytest.raises(InvalidInput) as e:
        detect_layout(headers + ["列7"])
    assert "列7" in e.value.message_ja and "重複" in e.value.message_ja


def test_every_problem_of_every_row_is_reported(uow: UnitOfWork, tmp_path: Path) -> None:
    """README: the dry run lists every problem of every row; so does a real run."""
    f = tmp_path / "two.csv"
    f.write_text("KPI,団体コード,時点,値,出典URL\n"
                 "satellite-offices,999997,2024-03-31,abc,\n"
                 "satellite-offices,072028,令和99年の春,-3,javascript:alert(7)\n"
                 "no-such-kpi,072028,2024-03-31,xyz,\n", encoding="utf-8")
    for dry in (True, False):
        before = counts(uow)
        with pytest.raises(ImportFailed) as e:
            imp(uow, f, dry_run=dry)
        got = [(p.row, p.column) for p in e.value.report.errors]
        assert got == [(2, "団体コード"), (2, "値"), (3, "出典URL"), (3, "時点"), (3, "値"), (4, "KPI"), (4, "値")], got
        assert "999997" in e.value.report.errors[0].message_ja and "abc" in e.value.report.errors[1].message_ja
        assert counts(uow) == before


def test_invalid_utf8_names_the_real_row_and_column(uow: UnitOfWork, tmp_path: Path) -> None:
    """The decoder reads ahead 8 KB: the error used to name a row ~17 rows early."""
    lines = [b"KPI,\xe5\x9b\xa3\xe4\xbd\x93\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89,\xe6\x99\x82\xe7\x82\xb9,"
             b"\xe5\x80\xa4,\xe5\x87\xba\xe5\x85\xb8"]      # KPI,団体コード,時点,値,出典 in UTF-8
    for i in range(2, 12_001):
        src = b"\x83\x65\x83\x58\x83\x67" if i == 10_002 else b"source"   # CP932 テスト: not UTF-8
        lines.append(b"satellite-offices,072028,2024-03-31,%d,%s" % (i, src))
    f = tmp_path / "bad.csv"
    f.write_bytes(b"\n".join(lines) + b"\n")
    assert f.stat().st_size > 256 * 1024     # past the sample the encoding is detected from
    for kw in ({}, {"encoding": "utf-8"}, {"parallel": True}):
        e = refused(uow, f, **kw)
        assert e.message_ja.startswith("10002行目「出典」列:"), e.message_ja


def test_a_nul_in_a_csv_is_refused_with_row_and_column(uow: UnitOfWork, tmp_path: Path) -> None:
    f = tmp_path / "nul.csv"
    f.write_text("KPI,団体コード,時点,値,出典\nsatellite-offices,072028,2024-03-31,1,ok\n"
                 "satellite-offices,011002,2024-03-31,2,市\x00役所\n", encoding="utf-8")
    e = refused(uow, f)
    assert e.message_ja.startswith("3行目「出典」列:") and "NUL" in e.message_ja


def test_a_nul_in_the_options_typed_beside_a_file_is_refused(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The upload's form fields (KPI, sheet, source …) are not read by the web edge's NUL check,
    which does not buffer uploads; the importer checks them (PostgreSQL would answer 500)."""
    body = "団体コード,時点,値\n072028,2024-03-31,1\n".encode()
    for field in ("kpi", "sheet", "source", "mapping"):
        r = client.post("/api/v1/imports", files={"file": ("a.csv", body, "text/csv")},
                        data={field: "satellite\x00offices", "dry_run": "true"})
        assert r.status_code == 422, (field, r.text)
        assert "NUL" in r.json()["error"]["message_ja"]


def test_control_characters_in_text_and_non_http_urls_are_refused(uow: UnitOfWork, tmp_path: Path) -> None:
    f = tmp_path / "ctl.csv"
    f.write_text("KPI,団体コード,時点,値,出典,出典URL,備考\n"
                 "satellite-offices,072028,2024-03-31,1,市\x01役所,https://example.jp/a,\n"
                 "satellite-offices,011002,2024-03-31,2,市役所,JavaScript:alert(7),\n"
                 "satellite-offices,011002,2025-03-31,2,市役所,data:text/html;base64,PHNjcmlwdD4=,\n"
                 "satellite-offices,130001,2024-03-31,2,都庁,https://example.jp/ b,x\x7f\n"
                 "satellite-offices,130001,2025-03-31,3,都庁,HTTPS://EXAMPLE.JP/OK,\n", encoding="utf-8")
    before = counts(uow)
    with pytest.raises(ImportFailed) as e:
        imp(uow, f)
    got = [(p.row, p.column) for p in e.value.report.errors]
    assert got == [(2, "出典"), (3, "出典URL"), (4, "出典URL"), (5, "出典URL"), (5, "備考")], got
    assert "http:// または https://" in e.value.report.errors[1].message_ja
    assert "制御文字" in e.value.report.errors[0].message_ja
    assert counts(uow) == before


def test_an_xlsx_source_url_must_be_http(uow: UnitOfWork, tmp_path: Path) -> None:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(["KPI", "団体コード", "時点", "値", "出典URL"])
    ws.append(["satellite-offices", "072028", "2024-03-31", 1, "javascript:alert(7)"])
    wb.save(tmp_path / "u.xlsx")
    with pytest.raises(ImportFailed) as e:
        imp(uow, tmp_path / "u.xlsx")
    assert [(p.row, p.column) for p in e.value.report.errors] == [(2, "出典URL")]


def test_reference_data_urls_must_be_http(uow: UnitOfWork, tmp_path: Path) -> None:
    from digiden.services.common import LoadReport
    from digiden.services.reference import load_actuals
    f = tmp_path / "actuals.csv"
    f.write_text("kpi,as_of,value,unit,breakdown,qualifier,source_title,source_url\n"
                 "企業版ふるさと納税を活用したことのある地方公共団体,2025-03-31,1631,団体,,,出典,"
                 "javascript:alert(7)\n", encoding="utf-8")
    with uow, pytest.raises(InvalidInput) as e:
        load_actuals(uow.session, LoadReport(), actor="t", now=NOW, path=f)
    assert e.value.message_ja.startswith("actuals.csv 2行目「source_url」列:")


def test_the_practice_import_refuses_non_http_urls_and_nul(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    import json

    from digiden.services.knowledge import practices
    doc = {"practices": [{"title": "AI配車", "org_units": "072087", "field": "P4.3", "problem": "足がない",
                          "solution": "乗合タクシー", "sources": [{"title": "x", "url": "javascript:alert(7)"}]}]}
    with pytest.raises(InvalidInput) as e:
        practices.import_file(uow, accounts["admin"], "p.json", json.dumps(doc).encode(), now=NOW)
    assert "1件目" in e.value.message_ja and "http" in e.value.message_ja
    raw = "title,org_units,field,problem,solution\nAI\x00配車,072087,P4.3,足がない,乗合タクシー\n"
    with pytest.raises(InvalidInput) as e:
        practices.import_file(uow, accounts["admin"], "p.csv", raw.encode(), now=NOW)
    assert e.value.message_ja.startswith("p.csv 2行目「title」列:") and "制御文字" in e.value.message_ja


def test_the_xlsx_export_survives_control_characters_already_stored(
        uow: UnitOfWork, backend: str, tmp_path: Path) -> None:
    """Stored before the importer refused them (on SQLite even NUL): the public .xlsx export
    must not fail from then on."""
    from openpyxl import load_workbook
    bad = "出典\x00NUL\x01SOH" if backend == "sqlite" else "出典\x01SOH\x1fUS"
    with uow:
        oid = uow.session.scalar(select(func.min(Observation.id)))
        uow.session.execute(text("UPDATE observation SET source_title = :t, note = :t WHERE id = :i"),
                            {"t": bad, "i": oid})
        uow.commit()
    out = tmp_path / "e.xlsx"
    counts_ = exports.export(uow, "xlsx", out, today=TODAY)
    assert counts_["observations"] > 0
    wb = load_workbook(out, read_only=True)
    try:
        titles = [r[7] for r in wb["実績値"].iter_rows(min_row=2, values_only=True)]
    finally:
        wb.close()      # a read-only workbook keeps its file open until closed
    assert any(t and t.startswith("出典\ufffd") for t in titles)


def test_a_failed_export_leaves_no_partial_file(uow: UnitOfWork, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "e.xlsx"

    def boom(*a: object, **k: object) -> None:
        out.write_bytes(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(exports, "_write_xlsx", boom)
    with pytest.raises(OSError):
        exports.export(uow, "xlsx", out, today=TODAY)
    assert not out.exists()


def test_temporary_files_of_dead_processes_are_removed_at_start(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    left = [tmp_path / f"digiden-upload-{dead}-abc.csv", tmp_path / f"digiden-export-{dead}-abc.xlsx"]
    mine = tmp_path / f"digiden-upload-{os.getpid()}-abc.csv"
    other = tmp_path / "someone-else.csv"
    for p in [*left, mine, other]:
        p.write_bytes(b"x")
    removed = remove_stale_temp_files(tmp_path)
    assert sorted(removed) == sorted(left)
    assert mine.exists() and other.exists()
    fresh = spool_path("upload", ".csv")
    try:
        assert fresh.name.startswith(f"digiden-upload-{os.getpid()}-") and fresh.exists()
    finally:
        fresh.unlink()
