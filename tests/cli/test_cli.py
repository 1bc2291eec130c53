"""The `digiden` command line, in-process against the test database."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.sqlite_only   # the command line over the services, whose tests run on both databases


def test_kpi_list_json_has_the_documented_shape(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("kpi", "list", "--json")
    assert code == 0
    data = json.loads(out)
    assert len(data) == 18
    for k in data:
        assert set(k) >= {"code", "name", "unit", "direction", "cumulative", "breakdowns",
                          "targets", "status"}
        for t in k["targets"]:
            assert set(t) >= {"deadline", "value", "qualifier", "low", "high"}
        assert set(k["status"]) >= {"key", "label", "next_milestone", "forecast"}
    dc = next(k for k in data if k["code"] == "regional-data-centers")
    t = dc["targets"][0]
    assert (t["qualifier"], t["low"], t["high"], t["deadline"]) == ("range", 11, 19, "2028-03-31")
    kodomo = next(k for k in data if k["code"] == "kodomo-katei-center")
    assert kodomo["targets"][0]["deadline"] is None


def test_lg_list_json_has_all_1788(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("lg", "list", "--json")
    data = json.loads(out)
    assert code == 0 and len(data) == 1788
    aizu = next(r for r in data if r["code"] == "072028")
    assert aizu == {"code": "072028", "name": "会津若松市", "prefecture": "福島県",
                    "kind": "city", "parent": "070009"}
    assert next(r for r in data if r["code"] == "070009")["parent"] is None


def test_kpi_show(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("kpi", "show", "5g-population-coverage")
    assert code == 0 and "達成見込み" in out and "2031年3月31日" in out
    code, out, _ = cli("kpi", "show", "5g-population-coverage", "--json")
    assert json.loads(out)["status"]["key"] == "on_track"


def test_observe_add_and_list(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("observe", "add", "--kpi", "smart-city-selections", "--as-of", "2024-03",
                       "--value", "60", "--source", "国土交通省", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["created"] and d["precision"] == "month" and d["created_by"] == "test-cli"
    code, out, _ = cli("observe", "list", "--kpi", "smart-city-selections", "--json")
    assert [o["value"] for o in json.loads(out)] == [60.0]


def test_observe_add_bad_input_exits_2_naming_the_field(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("observe", "add", "--kpi", "5g-population-coverage", "--as-of",
                       "2024-03-31", "--value", "120", "--source", "x")
    assert code == 2 and "field: value" in err
    code, _, err = cli("observe", "add", "--kpi", "nope", "--as-of", "2024-03-31", "--value",
                       "1", "--source", "x")
    assert code == 3 and "unknown KPI" in err


def test_lg_search_and_show(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("lg", "search", "ｱｲﾂﾞﾜｶﾏﾂ", "--json")
    assert code == 0 and json.loads(out)["items"][0]["code"] == "072028"
    code, out, _ = cli("lg", "show", "07202")
    assert code == 0 and "会津若松市" in out and "115,556" in out
    code, _, err = cli("lg", "show", "072027")
    assert code == 2 and "check digit" in err


def test_every_command_has_help(cli) -> None:  # type: ignore[no-untyped-def]
    for args in (["--help"], ["serve", "--help"], ["db", "upgrade", "--help"],
                 ["db", "init", "--help"], ["kpi", "list", "--help"], ["kpi", "show", "--help"],
                 ["observe", "add", "--help"], ["observe", "list", "--help"],
                 ["lg", "search", "--help"], ["lg", "show", "--help"], ["lg", "list", "--help"],
                 ["audit", "--help"], ["import", "--help"], ["export", "--help"], ["validate", "--help"],
                 ["batch", "list", "--help"], ["batch", "show", "--help"], ["batch", "revert", "--help"],
                 ["mapping", "list", "--help"], ["backup", "--help"], ["restore", "--help"]):
        code, out, _ = cli(*args)
        assert code == 0 and "Usage" in out, args


def test_import_json_report_and_exit_codes(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path
    fix = Path(__file__).resolve().parents[1] / "fixtures"
    code, out, _ = cli("import", str(fix / "long_cp932.csv"), "--dry-run", "--json")
    data = json.loads(out)
    assert code == 0 and list(data)[:5] == ["rows", "created", "updated", "unchanged", "errors"]
    assert (data["rows"], data["created"], data["errors"]) == (6, 5, [])
    code, out, _ = cli("import", str(fix / "unknown_lg.csv"), "--json")
    data = json.loads(out)
    assert code == 2 and data["errors"][0]["row"] == 3
    assert set(data["errors"][0]) >= {"row", "column", "value", "message"}
    code, out, _ = cli("import", str(fix / "wide_bom.csv"), "--kpi", "digital-promotion-talent")
    assert code == 0 and "8 created" in out
    code, out, _ = cli("batch", "list", "--json")
    batch = json.loads(out)[0]
    assert batch["file_name"] == "wide_bom.csv" and batch["created_by"] == "test-cli"
    code, out, _ = cli("export", "--format", "xlsx", "--out", str(tmp_path / "x.xlsx"))
    assert code == 0 and (tmp_path / "x.xlsx").exists()
    code, out, _ = cli("batch", "revert", str(batch["id"]))
    assert code == 0 and "reverted" in out
    code, out, _ = cli("validate", "--json")
    assert code == 0 and json.loads(out) == []


def test_every_command_is_documented() -> None:
    """Like sqlite-utils' test_docs: a command without help text or README mention fails."""
    from pathlib import Path

    import typer.main

    from digiden.cli import app
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None) or {"": cmd}
        for sub, c in subs.items():
            assert (c.help or "").strip(), f"digiden {name} {sub} has no help"
            if name != "serve":
                assert f"digiden {name}" in readme, f"README does not mention digiden {name}"
