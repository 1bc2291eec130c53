"""Exports open in Excel and import back to the same data."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from digiden.domain.access import system
from digiden.services.data.exports import export
from digiden.services.data.imports import ImportOptions, revert_batch, run_import
from digiden.services.uow import UnitOfWork
from digiden.store.models import Kpi, Observation, OrgUnit

FIX = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 29)


def snapshot(uow: UnitOfWork) -> list[tuple[object, ...]]:
    with uow:
        return sorted(uow.session.execute(
            select(Kpi.code, OrgUnit.code, Observation.as_of, Observation.as_of_precision,
                   Observation.breakdown, Observation.value, Observation.qualifier,
                   Observation.source_title, Observation.source_url, Observation.note)
            .join(Kpi, Kpi.id == Observation.kpi_id).join(OrgUnit, OrgUnit.id == Observation.org_unit_id)).all())


@pytest.mark.parametrize(("fmt", "name", "encoding"), [("csv", "obs.csv", "utf-8-sig"),
                                                       ("csv", "obs_sjis.csv", "cp932"),
                                                       ("xlsx", "all.xlsx", "utf-8-sig")])
def test_an_export_imported_back_reproduces_the_data_exactly(
        uow: UnitOfWork, tmp_path: Path, fmt: str, name: str, encoding: str) -> None:
    batches = [run_import(uow, FIX / f, ImportOptions(**kw), actor=system("t"), now=NOW).batch_id  # type: ignore[arg-type]
               for f, kw in (("long_cp932.csv", {}), ("wide_bom.csv", {"kpi": "digital-promotion-talent"}),
                             ("wide_wareki.xlsx", {"kpi": "fiber-household-coverage"}))]
    before = snapshot(uow)
    out = tmp_path / name
    tables = ("observations",) if fmt == "csv" else ("kpis", "targets", "observations", "statuses")
    export(uow, fmt, out, today=TODAY, encoding=encoding, tables=tables)
    # Importing the export over the same data changes nothing …
    same = run_import(uow, out, ImportOptions(), actor=system("t"), now=NOW)
    assert (same.created, same.updated) == (0, 0) and same.unchanged == len(before)
    # … and after removing what the files brought, it brings back exactly the same rows.
    for b in reversed(batches):
        revert_batch(uow, b, actor=system("t"), now=NOW)  # type: ignore[arg-type]
    back = run_import(uow, out, ImportOptions(), actor=system("t"), now=NOW)
    assert back.created > 0
    assert snapshot(uow) == before


def test_csv_for_excel_has_a_bom_and_japanese_headers(uow: UnitOfWork, tmp_path: Path) -> None:
    export(uow, "csv", tmp_path, today=TODAY)
    raw = (tmp_path / "observations.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][:6] == ["KPIコード", "団体コード", "団体名", "時点", "内訳", "値"]
    assert ["5g-population-coverage", "JP", "国（全国）", "2022-03-31", "", "93.2"] == rows[
        next(i for i, r in enumerate(rows) if r[0] == "5g-population-coverage")][:6]
    statuses = list(csv.reader((tmp_path / "statuses.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert ["5g-population-coverage", "５Gの人口カバー率", "on_track", "順調"] == statuses[10][:4]


def test_cp932_csv_opens_as_shift_jis(uow: UnitOfWork, tmp_path: Path) -> None:
    out = tmp_path / "kpis.csv"
    export(uow, "csv", out, today=TODAY, encoding="cp932", tables=("kpis",))
    text = out.read_bytes().decode("cp932")
    assert "サテライトオフィス等を設置した地方公共団体" in text


def test_xlsx_has_a_sheet_per_table_frozen_headers_and_number_formats(uow: UnitOfWork, tmp_path: Path) -> None:
    out = tmp_path / "all.xlsx"
    counts = export(uow, "xlsx", out, today=TODAY)
    wb = load_workbook(out)
    assert wb.sheetnames == ["KPI", "目標", "実績値", "判定"]
    ws = wb["実績値"]
    assert ws.freeze_panes == "A2" and ws["A1"].value == "KPIコード" and ws["A1"].font.bold
    assert ws.column_dimensions["B"].width == 10
    assert ws.max_row == counts["observations"] + 1
    values = [c for c in ws["F"][1:] if c.value is not None]
    assert all(isinstance(c.value, float | int) and c.number_format == "#,##0.####" for c in values)
    assert wb["目標"]["C2"].number_format == "yyyy-mm-dd"


def test_json_has_every_table(uow: UnitOfWork, tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    export(uow, "json", out, today=TODAY)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) == {"kpis", "targets", "observations", "statuses"}
    assert len(data["kpis"]) == 18 and len(data["observations"]) == 30
