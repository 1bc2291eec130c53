"""Imports of real-looking files, on SQLite and PostgreSQL: all-or-nothing, dry run, re-import,
corrections, revert, validation rules, broken files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digiden.domain.access import system
from digiden.domain.errors import InvalidInput
from digiden.services.data.imports import (
    ImportFailed,
    ImportOptions,
    ImportReport,
    list_batches,
    revert_batch,
    run_import,
)
from digiden.services.national import kpis
from digiden.services.national.observations import list_observations
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, ImportBatch, Observation, SeriesRollup

FIX = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 29)


def imp(uow: UnitOfWork, name: str, **kw: object) -> ImportReport:
    return run_import(uow, FIX / name, ImportOptions(**kw), actor=system("importer"), now=NOW)  # type: ignore[arg-type]


def counts(uow: UnitOfWork) -> tuple[int, int, int, int]:
    with uow:
        s = uow.session
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0  # type: ignore[return-value]
                     for t in (Observation, ImportBatch, AuditEvent, SeriesRollup))


def test_cp932_long_file_with_wareki_dates_and_japanese_numbers(uow: UnitOfWork) -> None:
    r = imp(uow, "long_cp932.csv")
    assert (r.file_format, r.encoding, r.shape) == ("csv", "cp932", "long")
    assert (r.rows, r.created, r.missing) == (6, 5, 1)          # 京都市's "―" is missing, not 0
    sapporo = {o.as_of.iso(): (o.value, o.qualifier.value)
               for o in list_observations(uow, kpi="digital-promotion-talent", org_unit="011002")}
    assert sapporo == {"2024-03-31": (1250, "exact"), "2025-03": (20000, "exact")}
    kyoto = list_observations(uow, kpi="digital-promotion-talent", org_unit="261009")
    assert [(o.value, o.qualifier.value) for o in kyoto] == [(3000, "about")]
    aizu = list_observations(uow, kpi="satellite-offices", org_unit="072028")
    assert aizu[0].source_title == "会津若松市 企画政策課" and aizu[0].batch_id == r.batch_id
    with uow:
        ev = uow.session.scalars(select(AuditEvent).where(AuditEvent.batch_id == r.batch_id)).one()
        assert ev.action == "import.apply" and ev.actor == "importer" and ev.after["created"] == 5


def test_bom_wide_file_with_wareki_and_fy_headers(uow: UnitOfWork) -> None:
    r = imp(uow, "wide_bom.csv", kpi="digital-promotion-talent")
    assert (r.encoding, r.shape, r.created, r.missing) == ("utf-8-sig", "wide", 8, 1)
    assert r.mapping["note"] == "備考" and r.ignored_columns == []
    dates = [o.as_of.date for o in list_observations(uow, kpi="digital-promotion-talent", org_unit="011002")]
    assert dates == [date(2023, 3, 31), date(2024, 3, 31), date(2025, 3, 31)]


def test_xlsx_finds_the_sheet_and_the_header_under_a_title(uow: UnitOfWork) -> None:
    r = imp(uow, "wide_wareki.xlsx", kpi="fiber-household-coverage")
    assert (r.file_format, r.sheet, r.created) == ("xlsx", "5Gカバー率", 9)
    okinawa = list_observations(uow, kpi="fiber-household-coverage", org_unit="470007")
    assert [o.value for o in okinawa] == [88.0, 92.5, 95.0]


def test_a_dry_run_reports_row_by_row_and_writes_nothing(uow: UnitOfWork) -> None:
    before = counts(uow)
    r = imp(uow, "long_cp932.csv", dry_run=True)
    assert r.dry_run and r.created == 5 and r.batch_id is None
    assert [a["row"] for a in r.actions] == [2, 3, 4, 5, 6]
    assert {a["action"] for a in r.actions} == {"create"}
    assert counts(uow) == before


def test_reimporting_the_same_file_changes_nothing(uow: UnitOfWork) -> None:
    imp(uow, "wide_bom.csv", kpi="digital-promotion-talent")
    before = counts(uow)
    r = imp(uow, "wide_bom.csv", kpi="digital-promotion-talent")
    assert (r.created, r.updated, r.unchanged, r.batch_id) == (0, 0, 8, None)
    assert counts(uow) == before


def test_a_corrected_file_updates_only_what_changed_and_revert_restores(uow: UnitOfWork) -> None:
    first = imp(uow, "wide_bom.csv", kpi="digital-promotion-talent")
    fix = imp(uow, "wide_bom_corrected.csv", kpi="digital-promotion-talent")
    assert (fix.created, fix.updated, fix.unchanged) == (0, 1, 7)
    sapporo = lambda: [o.value for o in list_observations(  # noqa: E731
        uow, kpi="digital-promotion-talent", org_unit="011002")]
    assert sapporo() == [1000, 1300, 1700]
    revert_batch(uow, fix.batch_id, actor=system("reviewer"), now=NOW)
    assert sapporo() == [1000, 1300, 1650]
    with pytest.raises(InvalidInput, match="changed afterwards|already"):
        revert_batch(uow, fix.batch_id, actor=system("reviewer"), now=NOW)
    revert_batch(uow, first.batch_id, actor=system("reviewer"), now=NOW)
    assert sapporo() == []
    assert [b.status for b in list_batches(uow, system("t"))][:2] == ["reverted", "reverted"]


def test_an_older_batch_cannot_be_reverted_under_a_newer_one(uow: UnitOfWork) -> None:
    first = imp(uow, "wide_bom.csv", kpi="digital-promotion-talent")
    imp(uow, "wide_bom_corrected.csv", kpi="digital-promotion-talent")
    with pytest.raises(InvalidInput) as e:
        revert_batch(uow, first.batch_id, actor=system("reviewer"), now=NOW)
    assert "先にそちらを取り消してください" in e.value.message_ja


def test_national_value_from_local_facts_follows_imports_and_reverts(uow: UnitOfWork) -> None:
    r = imp(uow, "wide_bom.csv", kpi="digital-promotion-talent")
    k = {k.code: k for k in kpis.list_kpis(uow, today=TODAY)}["digital-promotion-talent"]
    assert [(o.as_of.date, o.value) for o in k.history] == [
        (date(2023, 3, 31), 1160.0), (date(2024, 3, 31), 1450.0), (date(2025, 3, 31), 1885.0)]
    assert "3団体" in k.history[0].source_title
    revert_batch(uow, r.batch_id, actor=system("reviewer"), now=NOW)
    k = {k.code: k for k in kpis.list_kpis(uow, today=TODAY)}["digital-promotion-talent"]
    assert k.history == ()


@pytest.mark.parametrize(("name", "opts", "row", "column", "ja"), [
    ("truncated.xlsx", {}, None, None, "壊れている"),
    ("not_a_spreadsheet.csv", {}, None, None, "表計算のファイルではありません"),
    ("long_cp932.csv", {"encoding": "utf-8"}, 1, None, "文字コード"),
    ("formula.xlsx", {"kpi": "satellite-offices"}, 3, "C", "数式"),
    ("merged_header.xlsx", {"kpi": "satellite-offices"}, 1, None, "結合"),
])
def test_broken_files_get_a_clear_message_and_nothing_is_written(
        uow: UnitOfWork, name: str, opts: dict[str, str], row: int | None, column: str | None, ja: str) -> None:
    before = counts(uow)
    with pytest.raises(InvalidInput) as e:
        imp(uow, name, **opts)
    assert ja in e.value.message_ja
    if row is not None:
        assert f"{row}行目" in e.value.message_ja
    if column:
        assert f"「{column}」列" in e.value.message_ja
    assert counts(uow) == before


@pytest.mark.parametrize(("name", "opts", "errors"), [
    ("duplicates.csv", {}, [(4, "値", "2行目と同じ項目で値が異なります")]),
    ("unknown_lg.csv", {}, [(3, "団体コード", "999997"), (4, "団体コード", "検査数字")]),
    ("decreasing.csv", {}, [(3, "値", "前の値 500 より小さく")]),
    ("parts_over_total.csv", {}, [(3, "値", "内訳の合計 120 が選定 95 を超えています")]),
])
def test_bad_rows_are_listed_with_row_and_column_and_nothing_is_written(
        uow: UnitOfWork, name: str, opts: dict[str, str], errors: list[tuple[int | None, str, str]]) -> None:
    before = counts(uow)
    with pytest.raises(ImportFailed) as e:
        imp(uow, name, **opts)
    got = [(p.row, p.column, p.message_ja) for p in e.value.report.errors]
    assert len(got) == len(errors), got
    for (row, col, ja), (grow, gcol, gja) in zip(errors, got, strict=True):
        assert (row, col) == (grow, gcol) and ja in gja
    assert counts(uow) == before


def test_a_warning_rule_reports_without_blocking(uow: UnitOfWork, tmp_path: Path) -> None:
    f = tmp_path / "w.csv"
    f.write_text("KPI,団体コード,時点,値\ndigital-promotion-commissioners,011002,2024-03-31,50\n"
                 "digital-promotion-commissioners,011002,2025-03-31,40\n", encoding="utf-8")
    r = run_import(uow, f, ImportOptions(), actor=system("t"), now=NOW)
    assert r.created == 2 and len(r.warnings) == 1 and "前の値 50" in r.warnings[0].message_ja


def test_values_breaking_a_range_rule_are_refused(uow: UnitOfWork, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("KPI,団体コード,時点,値\n5g-population-coverage,130001,2024-03-31,100.5\n"
                 "kodomo-katei-center,JP,2025-03-31,1800\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as e:
        run_import(uow, f, ImportOptions(), actor=system("t"), now=NOW)
    msgs = [p.message_ja for p in e.value.report.errors]
    assert "割合は100以下" in msgs[0] and "上限 1741" in msgs[1]


def test_a_column_mapping_can_be_saved_and_reused(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput, match="no header row"):
        imp(uow, "custom_headers.csv")
    mapping = {"kpi": "指標コード", "org_code": "自治体番号", "as_of": "調査日", "value": "件数"}
    r = imp(uow, "custom_headers.csv", mapping=mapping, save_mapping="交通局様式", dry_run=False)
    assert r.created == 2
    revert_batch(uow, r.batch_id, actor=system("t"), now=NOW)
    again = imp(uow, "custom_headers.csv", mapping_name="交通局様式")
    assert again.created == 2


@pytest.mark.parametrize("name, kw", [("long_cp932.csv", {}), ("wide_bom.csv", {"kpi": "digital-promotion-talent"}),
                                      ("wide_wareki.xlsx", {"kpi": "fiber-household-coverage"})])
def test_parsing_in_a_forked_process_gives_the_same_result(uow: UnitOfWork, name: str, kw: dict[str, str]) -> None:
    """Large files are parsed in a second process; the outcome must not depend on it."""
    dry = imp(uow, name, dry_run=True, parallel=False, **kw)
    forked = imp(uow, name, parallel=True, **kw)
    assert (forked.rows, forked.created, forked.missing) == (dry.rows, dry.created, dry.missing)
    assert forked.batch_id is not None


def test_errors_found_in_the_forked_parser_are_reported_the_same(uow: UnitOfWork) -> None:
    before = counts(uow)
    with pytest.raises(ImportFailed) as e:
        imp(uow, "unknown_lg.csv", parallel=True)
    assert [(p.row, p.column) for p in e.value.report.errors] == [(3, "団体コード"), (4, "団体コード")]
    with pytest.raises(InvalidInput) as e2:
        imp(uow, "long_cp932.csv", encoding="utf-8", parallel=True)
    assert "文字コード" in e2.value.message_ja
    assert counts(uow) == before
