"""Imports, batches, validation and export through the web app and the API."""

from __future__ import annotations

import io
import re
from pathlib import Path

from openpyxl import load_workbook

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def upload(client, name: str, **data: str):  # type: ignore[no-untyped-def]
    with open(FIX / name, "rb") as f:
        return client.post("/imports", files={"file": (name, f.read())}, data=data, follow_redirects=True)


def test_dry_run_page_lists_rows_then_apply_then_revert(client) -> None:  # type: ignore[no-untyped-def]
    r = upload(client, "long_cp932.csv", dry_run="1")
    assert r.status_code == 200
    assert "確認が終わりました" in r.text and "新規 5件" in r.text and "cp932" in r.text
    assert "行ごとの内容" in r.text and "072028" in r.text
    assert client.get("/api/v1/batches").json()[0]["kind"] == "reference"   # nothing written yet
    job = re.search(r'action="(/imports/jobs/[0-9a-f]+/apply)"', r.text).group(1)
    r = client.post(job, follow_redirects=True)
    assert "取り込みました" in r.text
    batch_id = int(re.search(r'/batches/(\d+)', r.text).group(1))
    page = client.get(f"/batches/{batch_id}").text
    assert "新規 5" in page and "import.apply" in page
    assert client.get(f"/api/v1/batches/{batch_id}").json()["created_by"] == "admin"   # the signed-in account
    r = client.post(f"/batches/{batch_id}/revert", follow_redirects=True)
    assert "取消済み" in r.text
    assert client.get(f"/api/v1/batches/{batch_id}").json()["reverted_by"] == "admin"


def test_a_file_with_errors_shows_every_problem_in_japanese(client) -> None:  # type: ignore[no-untyped-def]
    r = upload(client, "unknown_lg.csv")
    assert r.status_code == 422
    assert "取り込めませんでした。何も保存されていません" in r.text
    assert "999997" in r.text and "検査数字" in r.text


def test_broken_file_through_the_web_keeps_the_server_up(client) -> None:  # type: ignore[no-untyped-def]
    r = upload(client, "truncated.xlsx")
    assert r.status_code == 422 and "壊れている" in r.text
    assert client.get("/").status_code == 200


def test_oversized_upload_is_refused_before_it_is_read(client) -> None:  # type: ignore[no-untyped-def]
    big = b"a" * (3 * 1024 * 1024)
    r = client.post("/imports", files={"file": ("big.csv", big)})
    assert r.status_code == 413 and "大きすぎます" in r.text
    r = client.post("/api/v1/imports", files={"file": ("big.csv", big)})
    assert r.status_code == 413 and r.json()["error"]["details"]["field"] == "file"


def test_api_import_returns_the_script_report(client) -> None:  # type: ignore[no-untyped-def]
    with open(FIX / "wide_bom.csv", "rb") as f:
        body = f.read()
    r = client.post("/api/v1/imports", files={"file": ("wide_bom.csv", body)},
                    data={"kpi": "digital-promotion-talent", "dry_run": "true"})
    assert r.status_code == 200 and r.json()["created"] == 8 and r.json()["batch_id"] is None
    r = client.post("/api/v1/imports", files={"file": ("wide_bom.csv", body)},
                    data={"kpi": "digital-promotion-talent"})
    assert r.status_code == 201
    batch = r.json()["batch_id"]
    assert client.get(f"/api/v1/batches/{batch}").json()["kpis"] == ["digital-promotion-talent"]
    events = client.get("/api/v1/audit", params={"batch": batch}).json()
    assert [e["action"] for e in events] == ["import.apply"]
    assert client.get("/api/v1/audit", params={"kpi": "digital-promotion-talent"}).json()[0]["action"] == \
        "import.apply"
    r = client.post(f"/api/v1/batches/{batch}/revert")
    assert r.json()["status"] == "reverted"
    with open(FIX / "duplicates.csv", "rb") as f:
        r = client.post("/api/v1/imports", files={"file": ("duplicates.csv", f.read())})
    assert r.status_code == 422 and r.json()["error"]["code"] == "ImportFailed"
    assert {"row", "column", "value", "message"} <= set(r.json()["error"]["details"]["report"]["errors"][0])


def test_validation_page_and_api(client) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/observations", json={"kpi": "digital-promotion-commissioners",
                                              "as_of": "2024-03-31", "value": "15000",
                                              "source_title": "テスト"})
    v = client.get("/api/v1/validation").json()
    assert any(x["kpi"] == "digital-promotion-commissioners" and x["severity"] == "warning" for x in v)
    html = client.get("/validation").text
    assert "累計値は減少しない" in html and "注意" in html


def test_export_downloads(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/export/download", params={"format": "csv", "table": "observations"})
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in r.headers["content-disposition"]
    r = client.get("/api/v1/export", params={"format": "csv", "table": "kpis", "encoding": "cp932"})
    assert "サテライトオフィス" in r.content.decode("cp932")
    r = client.get("/api/v1/export", params={"format": "xlsx"})
    assert load_workbook(io.BytesIO(r.content)).sheetnames == ["KPI", "目標", "実績値", "判定"]
    assert client.get("/api/v1/export", params={"format": "pdf"}).status_code == 422
    assert "書き出す" in client.get("/export").text


def test_batch_page_shows_before_and_after_of_overwritten_values(client) -> None:  # type: ignore[no-untyped-def]
    for name in ("wide_bom.csv", "wide_bom_corrected.csv"):
        with open(FIX / name, "rb") as f:
            r = client.post("/api/v1/imports", files={"file": (name, f.read())},
                            data={"kpi": "digital-promotion-talent"})
    batch = r.json()["batch_id"]
    changes = client.get(f"/api/v1/batches/{batch}").json()["changes"]
    assert changes == [{"kpi": "digital-promotion-talent", "org_unit": "011002", "as_of": "2025-03-31",
                        "breakdown": None, "before": 1650.0, "before_source": "wide_bom.csv（取込）",
                        "after": 1700.0, "after_source": "wide_bom_corrected.csv（取込）"}]
    html = client.get(f"/batches/{batch}").text
    assert "1,650" in html and "1,700" in html and "変更前" in html
    assert "import.apply" in client.get("/audit", params={"batch": batch}).text
