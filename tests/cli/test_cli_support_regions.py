"""`digiden region list|show`, `digiden evaluation list|write` and `digiden application
files|attach` (重点支援, issue 14) on both databases: --json equal to the API's JSON for the same
account, what an account may see and write as in the app, and bad input refused in one line
(English / Japanese) with its exit code and nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, SupportAttachment, SupportEvaluation
from tests.conftest import make_client, sign_in_directly
from tests.services.test_support_evaluations import GRANT, region_with_kpis
from tests.web.test_access_matrix import support_fixture

PDF = b"%PDF-1.4\n% synthetic\n%%EOF\n"


@pytest.fixture
def key(session_factory: sessionmaker[Session], accounts: dict[str, Any]) -> str:
    return region_with_kpis(UnitOfWork(session_factory), accounts)


def _api(session_factory: sessionmaker[Session], who: str, url: str) -> Any:
    with make_client(session_factory) as c:
        if who != "public":
            sign_in_directly(c, session_factory, who)
        r = c.get(url)
        assert r.status_code == 200, r.text
        return r.json()


def _count(session_factory: sessionmaker[Session], model: Any, action: str | None = None) -> tuple[int, int]:
    """(rows of the table, audit events): what a refused command must leave unchanged."""
    with UnitOfWork(session_factory).for_reading() as u:
        rows = u.session.scalar(select(func.count()).select_from(model)) or 0
        audits = u.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return rows, audits


def _one_line(code: int, err: str, want: int) -> None:
    assert code == want, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and " / " in err   # English / 日本語


def test_region_list_is_the_apis_list(cli, session_factory, key) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("region", "list", "--programme", GRANT, "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert key in {r["key"] for r in rows}
    assert rows == _api(session_factory, "public", f"/api/v1/regions?programme={GRANT}")
    code, out, _ = cli("region", "list", "--programme", GRANT)
    assert code == 0 and key in out and "うち合成データ（デモ用、実在の選定ではありません）: 1件" in out
    code, out, _ = cli("region", "list", "--json")
    assert {r["programme"] for r in json.loads(out)} >= {GRANT, "decarbonization-leading"}
    code, _out, err = cli("region", "list", "--programme", "no-such-programme")
    _one_line(code, err, 3)


def test_region_show_is_the_apis_region_for_the_same_account(cli, session_factory, key) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = cli("--as", "aizu", "evaluation", "write", key, "2026", "self", "--summary", "順調",
                          "--actual", "0=14", "--actual", "1=31")
    assert code == 0, err
    for who in ("aizu", "fukushima", "public"):
        code, out, err = cli(*(["--as", who] if who != "public" else []), "region", "show", key, "--json")
        assert code == 0, err
        if who == "public":       # the operator without --as is a national administrator: the API's admin
            assert json.loads(out) == _api(session_factory, "admin", f"/api/v1/regions/{key}")
        else:
            assert json.loads(out) == _api(session_factory, who, f"/api/v1/regions/{key}")
    doc = json.loads(cli("--as", "aizu", "region", "show", key, "--json")[1])
    assert [(e["kind"], e["state"]) for e in doc["evaluations"]] == [("self", "draft")] and doc["may_write_self"]
    assert json.loads(cli("--as", "fukushima", "region", "show", key, "--json")[1])["evaluations"] == []
    code, out, _ = cli("--as", "aizu", "region", "show", key)
    assert code == 0 and "約束した KPI" in out and "オンライン申請の利用率" in out and "2026年度 自己評価" in out
    assert "順調" in out and "自己評価" in out.split("あなたが記入できる評価")[-1]
    code, _out, err = cli("region", "show", "no-such-region")
    _one_line(code, err, 3)


def test_write_merges_into_the_draft_then_submits(cli, session_factory, key) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("--as", "aizu", "evaluation", "write", key, "2026", "self", "--summary", "おおむね順調",
                         "--rating", "B", "--actual", "0=14", "--note", "0=窓口で案内", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert (first["state"], first["version"], first["rating"]) == ("draft", 1, "B")
    assert first["progress"][0]["actual"] == 14 and first["progress"][0]["status"] == "on_track"
    # only the rating: the summary and the value are kept from the draft
    code, out, err = cli("--as", "aizu", "evaluation", "write", key, "2026", "self", "--rating", "A", "--json")
    assert code == 0, err
    second = json.loads(out)
    assert (second["summary"], second["rating"], second["version"]) == ("おおむね順調", "A", 2)
    assert second["progress"][0]["actual"] == 14 and second["progress"][0]["note"] == "窓口で案内"
    [seen] = _api(session_factory, "aizu", f"/api/v1/regions/{key}")["evaluations"]
    assert seen == second
    code, out, err = cli("--as", "aizu", "evaluation", "write", key, "2026", "self", "--submit")
    assert code == 0 and "提出しました" in out, err
    code, out, _ = cli("--as", "fukushima", "evaluation", "list", "--region", key, "--json")
    [report] = json.loads(out)
    assert (report["kind"], report["state"], report["version"]) == ("self", "submitted", 3)
    # a submitted report no longer changes: exit 5, one line
    code, _out, err = cli("--as", "aizu", "evaluation", "write", key, "2026", "self", "--summary", "後から")
    _one_line(code, err, 5)
    code, _out, err = cli("--as", "aizu", "evaluation", "write", key, "2026", "self", "--submit")
    _one_line(code, err, 5)


def test_the_national_assessment_from_a_yaml_or_json_file(cli, session_factory, key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "report.yaml"
    report.write_text("summary: 国としての評価（合成データ）\nrating: C\nvalues:\n"
                      "  - {index: 0, actual: 12, note: 伸びが小さい}\n", encoding="utf-8")
    code, out, err = cli("evaluation", "write", key, "2026", "national", "--from", str(report), "--submit", "--json")
    assert code == 0, err
    e = json.loads(out)
    assert (e["kind"], e["state"], e["rating"], e["progress"][0]["actual"]) == ("national", "submitted", "C", 12)
    # the public sees a submitted national assessment: the CLI's list is the API's
    code, out, _ = cli("--as", "sapporo", "evaluation", "list", "--fy", "2026", "--json")
    assert json.loads(out) == _api(session_factory, "sapporo", "/api/v1/evaluations?fiscal_year=2026")
    assert [x["kind"] for x in json.loads(out)] == ["national"]
    code, out, _ = cli("evaluation", "list", "--programme", GRANT, "--fy", "2026")
    assert code == 0 and "国の評価" in out and "提出済み" in out
    doc = tmp_path / "self.json"
    doc.write_text(json.dumps({"summary": "JSONから", "values": [{"index": 1, "actual": 25}]}), encoding="utf-8")
    code, out, err = cli("--as", "kitakata", "evaluation", "write", key, "2026", "self", "--from", str(doc),
                         "--rating", "B", "--json")
    assert code == 0, err
    assert json.loads(out)["summary"] == "JSONから" and json.loads(out)["progress"][1]["actual"] == 25


@pytest.mark.parametrize(("args", "exit_code"), [
    (["--as", "aizu", "{key}", "2026", "self", "--actual", "abc"], 2),            # not INDEX=VALUE
    (["--as", "aizu", "{key}", "2026", "self", "--actual", "0=多い"], 2),          # not a number
    (["--as", "aizu", "{key}", "2026", "self", "--actual", "9=1"], 2),             # no such KPI
    (["--as", "aizu", "{key}", "2026", "self", "--rating", "S"], 2),
    (["--as", "aizu", "{key}", "2027", "self", "--summary", "x"], 2),             # a year not yet begun
    (["--as", "aizu", "{key}", "2026", "other", "--summary", "x"], 2),
    (["--as", "aizu", "{key}", "2026", "self"], 2),                               # nothing to write
    (["--as", "aizu", "{key}", "2026", "self", "--rating", "B", "--submit"], 2),  # no summary to submit
    (["--as", "aizu", "{key}", "2026", "self", "--from", "/no/such/file.yaml"], 2),
    (["--as", "aizu", "{key}", "2026", "self", "--summary", "x", "--version", "3"], 5),   # stale
    (["--as", "aizu", "{key}", "2026", "self", "--submit"], 3),                   # nothing saved to submit
    (["--as", "aizu", "no-such-region", "2026", "self", "--summary", "x"], 3),
    (["--as", "fukushima", "{key}", "2026", "self", "--summary", "x"], 4),         # its prefecture reads only
    (["--as", "ministry", "{key}", "2026", "national", "--summary", "x"], 4),      # 総務省 does not run the 交付金
    (["{key}", "2026", "self", "--summary", "x"], 4),                             # the operator is not the region
])
def test_bad_input_is_one_line_and_nothing_is_written(cli, session_factory, key, args, exit_code) -> None:  # type: ignore[no-untyped-def]
    before = _count(session_factory, SupportEvaluation)
    argv = [a.replace("{key}", key) for a in args]
    split = 2 if argv[0] == "--as" else 0
    code, _out, err = cli(*argv[:split], "evaluation", "write", *argv[split:])
    _one_line(code, err, exit_code)
    assert _count(session_factory, SupportEvaluation) == before


def test_a_bad_json_file_is_refused(cli, session_factory, key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "r.json"
    bad.write_text("{not json", encoding="utf-8")
    code, _out, err = cli("--as", "aizu", "evaluation", "write", key, "2026", "self", "--from", str(bad))
    _one_line(code, err, 2)
    bad.write_text("[1, 2]", encoding="utf-8")
    code, _out, err = cli("--as", "aizu", "evaluation", "write", key, "2026", "self", "--from", str(bad))
    _one_line(code, err, 2)
    assert _count(session_factory, SupportEvaluation)[0] == 0


def test_attach_and_list_files_as_the_api(cli, session_factory, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = support_fixture(UnitOfWork(session_factory), accounts)
    draft = ids["draft"]
    plan = tmp_path / "計画書（合成データ）.pdf"
    plan.write_bytes(PDF)
    code, out, err = cli("--as", "aizu", "application", "attach", draft, str(plan), "--json")
    assert code == 0, err
    [added] = json.loads(out)
    assert added["file_name"] == plan.name and added["media_type"] == "application/pdf" and added["size"] == len(PDF)
    code, out, _ = cli("--as", "aizu", "application", "files", draft, "--json")
    assert json.loads(out) == _api(session_factory, "aizu", f"/api/v1/applications/{draft}/attachments")
    assert len(json.loads(out)) == 2 and added in json.loads(out)
    code, out, _ = cli("--as", "aizu", "application", "files", draft)
    assert code == 0 and plan.name in out and added["sha256"] in out
    # the selected application's file is public, as the application is
    code, out, _ = cli("--as", "sapporo", "application", "files", ids["selected"], "--json")
    assert [f["file_name"] for f in json.loads(out)] == ["選定.pdf"]


def test_attach_refuses_in_one_line_and_writes_nothing(cli, session_factory, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = support_fixture(UnitOfWork(session_factory), accounts)
    good, docx = tmp_path / "ok.pdf", tmp_path / "計画.docx"
    good.write_bytes(PDF)
    docx.write_bytes(b"PK\x03\x04 not a workbook")
    fake = tmp_path / "偽物.pdf"
    fake.write_bytes(b"MZ executable")
    before = _count(session_factory, SupportAttachment)
    for who, args, want in [
            ("aizu", [ids["draft"], str(good), str(docx)], 2),          # one refused file refuses them all
            ("aizu", [ids["draft"], str(fake)], 2),                      # named .pdf, not a PDF inside
            ("aizu", [ids["draft"], str(tmp_path / "missing.pdf")], 2),
            ("aizu", [ids["submitted"], str(good)], 3),                  # 札幌市's: aizu may not even open it
            ("kitakata", [ids["joint"], str(good)], 4),                  # a member opens it, only the lead attaches
            ("kitakata", [ids["selected"], str(good)], 5),               # no longer a draft
            ("aizu", ["999999", str(good)], 3)]:
        code, _out, err = cli("--as", who, "application", "attach", *args)
        _one_line(code, err, want)
    assert "計画.docx" in cli("--as", "aizu", "application", "attach", ids["draft"], str(docx))[2]
    assert _count(session_factory, SupportAttachment) == before
    code, _out, err = cli("--as", "sapporo", "application", "files", ids["draft"])
    _one_line(code, err, 3)                                            # someone else's draft: not found


def test_the_demo_region_shows_progress_and_its_application_a_synthetic_pdf(cli, session_factory) -> None:  # type: ignore[no-untyped-def]
    import io

    import pypdf
    code, out, err = cli("demo", "--json")
    assert code == 0, err
    key = json.loads(out)["region"]
    code, out, _ = cli("--as", "demo-kitakata", "region", "show", key, "--json")    # a member of the region
    region = json.loads(out)
    assert region["synthetic"] and region["application"]
    assert {(e["kind"], e["state"], e["fiscal_year"]) for e in region["evaluations"]} == {
        ("self", "submitted", 2026), ("national", "submitted", 2026)}
    assert all(e["synthetic"] and "合成データ" in e["summary"] for e in region["evaluations"])
    progress = {e["kind"]: e["progress"][0] for e in region["evaluations"]}
    assert progress["self"]["actual"] == 960 and progress["self"]["status"] == "on_track"
    assert progress["national"]["status"] == "needs_acceleration"
    # outside the region and its prefecture: the nation's submitted assessment only, as the public
    code, out, _ = cli("--as", "demo-yamagata", "region", "show", key, "--json")
    assert [e["kind"] for e in json.loads(out)["evaluations"]] == ["national"]
    code, out, _ = cli("application", "files", str(region["application"]), "--json")
    [f] = json.loads(out)
    assert "合成データ" in f["file_name"] and f["media_type"] == "application/pdf"
    with make_client(session_factory) as c:
        sign_in_directly(c, session_factory, "admin")
        r = c.get(f"/api/v1/applications/{region['application']}/attachments/{f['id']}")
    assert r.status_code == 200 and r.headers["X-Content-SHA256"] == f["sha256"]
    reader = pypdf.PdfReader(io.BytesIO(r.content), strict=True)      # a valid PDF, not just its header
    assert len(reader.pages) == 1 and "synthetic" in reader.pages[0].extract_text()
