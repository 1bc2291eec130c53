"""`digiden programme list|show`, `digiden call show` and `digiden select` (重点支援, issue 14) on
both databases: the tables people read, --json as the API's shapes, the selection JSON of the
issue (selected, not_selected with reasons, totals, constraints, greedy) equal to the API's, and
one-line Japanese errors without a traceback."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from digiden.services.uow import UnitOfWork
from tests.conftest import make_client, sign_in_directly
from tests.web.test_access_matrix import support_fixture
from tests.web.test_pages_support import _closed_call


def test_programme_list_counts_selections_apart_from_the_national_figure(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("programme", "list")
    assert code == 0 and "重点支援の制度" in out
    code, out, _ = cli("programme", "list", "--json")
    rows = {p["code"]: p for p in json.loads(out)}
    assert len(rows) == 5 and rows["decarbonization-leading"]["selections"] > 0
    assert rows["decarbonization-leading"]["national_kpi"] == "decarbonization-leading-areas"


def test_programme_show_lists_calls_and_counts(cli, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    ids = support_fixture(UnitOfWork(session_factory), accounts)
    code, out, _ = cli("programme", "show", "digital-garden-city-grant")
    assert code == 0 and "合成データ" in out and "公募" in out
    code, out, _ = cli("programme", "show", "digital-garden-city-grant", "--json")
    doc = json.loads(out)
    assert {c["id"] for c in doc["calls"]} >= {int(ids["call"]), int(ids["closed"])}
    assert doc["count"]["total"] == 1                            # 喜多方市's published selection
    code, _out, err = cli("programme", "show", "no-such-programme")
    assert code == 3 and "Traceback" not in err and "\n" not in err.strip()


def test_call_show_is_what_the_account_may_open(cli, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    ids = support_fixture(UnitOfWork(session_factory), accounts)
    code, out, _ = cli("call", "show", ids["call"])
    assert code == 0 and "評価基準" in out and "50,000,000円" in out and "日本時間" in out
    code, out, _ = cli("--as", "aizu", "call", "show", ids["call"], "--json")
    doc = json.loads(out)
    assert doc["call"]["id"] == int(ids["call"]) and doc["call"]["criteria"][0]["weight"] == 100
    assert {a["id"] for a in doc["applications"]} == {int(ids["draft"]), int(ids["joint"])}
    code, _out, err = cli("call", "show", "999999")
    assert code == 3 and "Traceback" not in err


def test_select_json_is_the_issues_shape_and_the_apis(cli, session_factory: sessionmaker[Session],  # type: ignore[no-untyped-def]
                                                      accounts: dict[str, Any]) -> None:
    call, a, b = _closed_call(session_factory, accounts)
    code, out, err = cli("select", str(call), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["selected"] == [a]                              # one fits the 3,000,000 yen: the better one
    assert [(o["application"], o["reason"]) for o in doc["not_selected"]] == [(b, "budget")]
    assert doc["budget"] == 3_000_000 and doc["budget_used"] == 2_000_000
    assert {"total_score", "constraints", "greedy"} <= doc.keys() and "selected" in doc["greedy"]
    with make_client(session_factory) as c:
        sign_in_directly(c, session_factory, "admin")
        assert c.get(f"/api/v1/calls/{call}/selection").json() == doc
    code, out, _ = cli("select", str(call))
    assert code == 0 and "最適解" in out and "貪欲法" in out
    code, out, _ = cli("select", str(call), "--cap", "1", "--min-score", "10", "--json")
    assert code == 0 and json.loads(out)["selected"] == [a]
    # both prefectures cannot fit 3,000,000 yen at 2,000,000 each: refused, the constraint named
    code, _out, err = cli("select", str(call), "--every-prefecture", "--json")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_select_refuses_bad_input_and_other_accounts_in_one_line(cli, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    call, _a, _b = _closed_call(session_factory, accounts)
    code, _out, err = cli("select", str(call), "--cap", "abc")
    assert code == 2 and "Traceback" not in err and "per_prefecture_cap" in err and len(err.strip().splitlines()) == 1
    code, _out, err = cli("--as", "aizu", "select", str(call))
    assert code == 4 and "Traceback" not in err


def test_importing_the_cli_loads_neither_the_support_commands_nor_the_solver() -> None:
    """`digiden serve` and the other commands of digiden.cli start without cli_support (and so
    without scipy, the selection solver's +0.5 CPU s), while `digiden select --help` still works."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = os.environ | {"PYTHONPATH": src, "COLUMNS": "200", "NO_COLOR": "1"}
    r = subprocess.run([sys.executable, "-c", "import sys, json, digiden.cli\n"
                        "print(json.dumps(['digiden.cli_support' in sys.modules, 'scipy' in sys.modules]))"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [False, False]
    r = subprocess.run([sys.executable, "-c", "from digiden.cli import main; main(['select', '--help'])"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "--every-prefecture" in r.stdout, r.stderr
