"""`digiden consult …` and `digiden plan …` (相談窓口 and 伴走型支援, issue 15) on both databases: the
tables a desk operator reads, --json as the API's shapes (the same JSON as the API for the same
account), what --as an account may see and do exactly as in the app, and bad input refused in one
line without a traceback, with nothing written; and the demo's synthetic consultations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultAttachment, ConsultCase, ConsultMessage
from tests.conftest import make_client, sign_in_directly
from tests.web.helpers import count
from tests.web.test_access_matrix import consult_fixture


def one_line_refusal(result: tuple[int, str, str], code: int) -> str:
    got, _out, err = result
    assert got == code, (got, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def api(session_factory: sessionmaker[Session], who: str, path: str) -> Any:
    with make_client(session_factory) as c:
        sign_in_directly(c, session_factory, who)
        r = c.get(path)
        assert r.status_code == 200, r.text[:300]
        return r.json()


def test_list_and_show_are_what_the_account_may_see(cli, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    ids = consult_fixture(UnitOfWork(session_factory), accounts)
    case = int(ids["case"])
    code, out, err = cli("consult", "list")
    assert code == 0, err
    assert "相談 2件" in out and "日本時間" in out and f"│ {case} " in out
    code, out, _ = cli("--as", "aizu", "consult", "list", "--json")
    assert code == 0 and json.loads(out) == api(session_factory, "aizu", "/api/v1/consultations")
    assert {c["id"] for c in json.loads(out)} == {case, int(ids["dup"])}
    code, out, _ = cli("--as", "sapporo", "consult", "list", "--json")
    assert code == 0 and json.loads(out) == []                       # another prefecture's staff: nothing
    code, out, _ = cli("consult", "list", "--office", "東北総合通信局", "--state", "answered", "--json")
    assert [c["id"] for c in json.loads(out)] == [case]
    # the thread: the responder reads its internal note, the asker does not, another town cannot open it
    code, out, _ = cli("--as", "ministry", "consult", "show", str(case))
    assert code == 0 and "内部メモ" in out and "担当者間の確認" in out and "対象になります。" in out
    code, out, _ = cli("--as", "aizu", "consult", "show", str(case), "--json")
    doc = json.loads(out)
    assert doc == api(session_factory, "aizu", f"/api/v1/consultations/{case}")
    assert [m["kind"] for m in doc["messages"]] == ["reply"] and doc["attachments"][0]["file_name"] == "資料.pdf"
    err = one_line_refusal(cli("--as", "kitakata", "consult", "show", str(case)), 3)
    assert err == one_line_refusal(cli("--as", "kitakata", "consult", "show", "999999"), 3).replace(
        "999999", str(case))                                           # as if it did not exist


def test_list_refuses_bad_filters_in_one_line(cli, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    consult_fixture(UnitOfWork(session_factory), accounts)
    assert "state" in one_line_refusal(cli("consult", "list", "--state", "done"), 2)
    one_line_refusal(cli("consult", "list", "--office", "存在しない局"), 3)
    code, _out, _err = cli("consult", "list", "--limit", "0")
    assert code == 2


def test_ask_from_flags_and_from_a_file(cli, session_factory, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = consult_fixture(UnitOfWork(session_factory), accounts)
    code, out, err = cli("--as", "kitakata", "consult", "ask", "--subject", "除雪車の更新", "--body",
                         "使える制度はありますか。", "--kind", "programme", "--measure", ids["measure"], "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["summary"]["org_unit"] == "072087" and doc["summary"]["office"] == "東北総合通信局"
    assert "東北総合通信局" in doc["routing_reason"]
    question = tmp_path / "question.json"
    question.write_text(json.dumps({"subject": "ファイルからの相談", "body": "本文です。", "kind": "data",
                                    "share_with_prefecture": False}, ensure_ascii=False), encoding="utf-8")
    memo = tmp_path / "メモ.txt"
    memo.write_text("添付の内容", encoding="utf-8")
    code, out, err = cli("consult", "ask", "--org-unit", "064033", "--from", str(question), "--attach", str(memo))
    assert code == 0, err
    assert "を受け付けました" in out and "国の相談窓口" in out       # no rule for it: the national desk
    code, out, _ = cli("consult", "list", "--org-unit", "064033", "--json")
    [made] = json.loads(out)
    code, out, _ = cli("consult", "show", str(made["id"]), "--json")
    shown = json.loads(out)
    assert shown["share_with_prefecture"] is False and [a["file_name"] for a in shown["attachments"]] == ["メモ.txt"]


def test_ask_refuses_bad_input_with_nothing_written(cli, session_factory, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    consult_fixture(UnitOfWork(session_factory), accounts)
    before = (count(session_factory, ConsultCase), count(session_factory, ConsultAttachment))
    aizu = ("--as", "aizu", "consult", "ask")
    assert "subject" in one_line_refusal(cli(*aizu, "--subject", " ", "--body", "本文"), 2)
    assert "kind" in one_line_refusal(cli(*aizu, "--subject", "件名", "--body", "本文", "--kind", "other"), 2)
    one_line_refusal(cli(*aizu, "--subject", "件名", "--body", "本文", "--measure", "no-such-measure"), 2)
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00")
    assert "attachment" in one_line_refusal(cli(*aizu, "--subject", "件名", "--body", "本文", "--attach", str(exe)), 2)
    fake = tmp_path / "資料.pdf"
    fake.write_bytes(b"not a pdf")
    one_line_refusal(cli(*aizu, "--subject", "件名", "--body", "本文", "--attach", str(fake)), 2)
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.7 " + b"0" * (5 * 1024 * 1024))
    one_line_refusal(cli(*aizu, "--subject", "件名", "--body", "本文", "--attach", str(big)), 2)
    one_line_refusal(cli(*aizu, "--subject", "件名", "--body", "本文", "--attach", str(tmp_path / "none.pdf")), 2)
    one_line_refusal(cli(*aizu, "--from", str(tmp_path / "missing.json")), 2)
    broken = tmp_path / "broken.json"
    broken.write_text("{subject", encoding="utf-8")
    one_line_refusal(cli(*aizu, "--from", str(broken)), 2)
    # the public cannot ask, a ministry account neither; the national desk needs --org-unit
    one_line_refusal(cli("--as", "ministry", "consult", "ask", "--subject", "件名", "--body", "本文"), 4)
    assert (count(session_factory, ConsultCase), count(session_factory, ConsultAttachment)) == before


def test_reply_note_and_the_steps(cli, session_factory, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = consult_fixture(UnitOfWork(session_factory), accounts)
    case = ids["case"]
    memo = tmp_path / "回答.txt"
    memo.write_text("回答の詳細", encoding="utf-8")
    code, out, err = cli("--as", "ministry", "consult", "reply", case, "--body", "補足です。", "--attach", str(memo))
    assert code == 0 and "返信を書きました" in out, err
    code, out, _ = cli("--as", "aizu", "consult", "reply", case, "--note", "--body", "メモ")
    one_line_refusal((code, out, _), 4)                                  # the asker writes no internal note
    code, out, _ = cli("--as", "aizu", "consult", "resolve", case, "--comment", "解決しました")
    assert code == 0 and "解決" in out
    code, out, _ = cli("--as", "aizu", "consult", "close", case)
    assert code == 0 and "終了" in out
    messages = count(session_factory, ConsultMessage)
    assert "state" in one_line_refusal(cli("--as", "ministry", "consult", "reply", case, "--body", "追記"), 5)
    assert count(session_factory, ConsultMessage) == messages
    code, out, _ = cli("consult", "show", case, "--json")
    version = json.loads(out)["version"]
    one_line_refusal(cli("--as", "aizu", "consult", "reopen", case, "--version", str(version - 1)), 5)
    code, out, _ = cli("--as", "aizu", "consult", "reopen", case, "--version", str(version), "--json")
    assert code == 0 and json.loads(out)["summary"]["state"] == "assigned"
    # moves: shared, escalated by the asker, merged
    code, out, err = cli("--as", "ministry", "consult", "share", case, "東北経済産業局", "--reason", "併用")
    assert code == 0, err
    code, _out, err = cli("--as", "aizu", "consult", "escalate", case, "--reason", "急ぎです")
    assert code == 0, err
    code, _out, err = cli("consult", "merge", ids["dup"], "--into", case)
    assert code == 0, err
    code, out, _ = cli("consult", "show", ids["dup"], "--json")
    assert json.loads(out)["summary"]["state"] == "merged"
    one_line_refusal(cli("--as", "aizu", "consult", "reassign", case, "関東総合通信局", "--reason", "x"), 4)


def test_escalate_without_id_is_the_overdue_check_of_the_operator(cli, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    consult_fixture(UnitOfWork(session_factory), accounts)
    code, out, err = cli("consult", "escalate", "--json")
    assert code == 0 and isinstance(json.loads(out), list), err
    one_line_refusal(cli("--as", "ministry", "consult", "escalate"), 4)


def test_the_desks_numbers_offices_and_route_check(cli, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    consult_fixture(UnitOfWork(session_factory), accounts)
    code, out, err = cli("consult", "stats")
    assert code == 0 and "担当部局別" in out and "開庁日" in out, err
    code, out, _ = cli("--as", "ministry", "consult", "stats", "--json")
    assert json.loads(out) == api(session_factory, "ministry", "/api/v1/desk/dashboard")
    one_line_refusal(cli("--as", "aizu", "consult", "stats"), 4)
    assert "since" in one_line_refusal(cli("consult", "stats", "--since", "昨日"), 2)
    code, out, _ = cli("consult", "offices", "--unconfirmed", "--json")
    rows = json.loads(out)
    assert rows and not any(a["confirmed"] for a in rows)
    code, out, _ = cli("consult", "offices", "--family", "総合通信局")
    assert code == 0 and "東北総合通信局" in out
    code, out, err = cli("consult", "route-check", "--json")
    assert code == 0, err
    check = json.loads(out)
    assert check["rules"] > 0 and {"without_office", "unconfirmed"} <= check.keys()
    # db init's defaults reach every prefecture; the INFERRED assignments are named where rules use them
    assert all(g["prefectures"] for g in check["unconfirmed"])
    code, out, _ = cli("consult", "route-check")
    assert code == 0 and "振り分けルール" in out
    one_line_refusal(cli("--as", "ministry", "consult", "route-check"), 4)


def test_notices_faq_and_plans(cli, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    ids = consult_fixture(UnitOfWork(session_factory), accounts)
    code, out, _ = cli("--as", "ministry", "consult", "notices", "--unread", "--json")
    notices = json.loads(out)
    assert code == 0 and notices and all(not n["read"] for n in notices)
    code, out, _ = cli("--as", "ministry", "consult", "read")
    assert code == 0 and f"{len(notices)}件" in out
    code, out, _ = cli("--as", "ministry", "consult", "notices", "--unread", "--json")
    assert json.loads(out) == []
    # the FAQ: a draft is the responders', published only by the desk and not by its author
    code, out, _ = cli("--as", "ministry", "consult", "faq", "show", ids["faq"])
    assert code == 0 and "下書き" in out
    one_line_refusal(cli("--as", "kitakata", "consult", "faq", "show", ids["faq"]), 3)
    code, _out, err = cli("--as", "ministry", "consult", "faq", "act", ids["faq"], "submit")
    assert code == 0, err
    one_line_refusal(cli("--as", "ministry", "consult", "faq", "act", ids["faq"], "publish"), 4)
    one_line_refusal(cli("consult", "faq", "act", ids["faq"], "delete"), 2)
    code, _out, err = cli("consult", "faq", "act", ids["faq"], "publish")
    assert code == 0, err
    code, out, _ = cli("consult", "faq", "list", "--json")
    assert [f["id"] for f in json.loads(out)] == [int(ids["faq"])]
    code, out, _ = cli("consult", "faq", "list")
    assert code == 0 and "補助の対象" in out
    # support plans: the local government and its prefecture see it, another does not
    code, out, _ = cli("--as", "fukushima", "plan", "list", "--json")
    assert [p["id"] for p in json.loads(out)] == [int(ids["plan"])]
    code, out, _ = cli("--as", "aizu", "plan", "show", ids["plan"], "--json")
    assert json.loads(out) == api(session_factory, "aizu", f"/api/v1/plans/{ids['plan']}")
    code, out, _ = cli("plan", "show", ids["plan"])
    assert code == 0 and "窓口のオンライン化" in out and "要件整理" in out
    one_line_refusal(cli("--as", "sapporo", "plan", "show", ids["plan"]), 3)


def test_the_demo_has_the_desk_in_every_state(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("demo", "--json")
    assert code == 0, err
    report = json.loads(out)
    cases = report["consultations"]
    assert set(cases) == {"received", "assigned", "answered", "resolved", "closed"}
    assert {"consultation", "plan", "faq", "users", "strategies", "practices", "groups", "calls"} <= report.keys()
    code, out, _ = cli("consult", "list", "--json")
    listed = {c["id"]: c for c in json.loads(out) if c["synthetic"]}
    assert {state: listed[cid]["state"] for state, cid in cases.items()} == {s: s for s in cases}
    assert all("合成データ" in c["subject"] for c in listed.values())
    code, out, _ = cli("consult", "list", "--overdue", "--json")
    assert cases["assigned"] in [c["id"] for c in json.loads(out)]
    code, out, _ = cli("--as", "demo-soumu", "consult", "show", str(cases["assigned"]), "--json")
    shown = json.loads(out)
    assert "note" in [m["kind"] for m in shown["messages"]] and shown["attachments"]
    code, out, _ = cli("--as", "demo-aizuwakamatsu", "consult", "show", str(cases["resolved"]), "--json")
    assert [m["side"] for m in json.loads(out)["messages"]] == ["responder"]
    code, out, _ = cli("consult", "faq", "list", "--json")
    assert report["faq"] in [f["id"] for f in json.loads(out) if f["synthetic"]]
    code, out, _ = cli("plan", "show", str(report["plan"]), "--json")
    plan = json.loads(out)
    assert plan["synthetic"] and plan["staff"] and plan["goals"] and plan["meetings"] and plan["actions"]
    # idempotence as before: a second run is refused, nothing added
    one_line_refusal(cli("demo"), 5)


def test_importing_the_cli_does_not_load_the_desk_commands() -> None:
    """`digiden serve` and the other commands start without cli_consult, while `digiden consult
    --help` still works from a fresh process."""
    import os
    import subprocess
    import sys
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = os.environ | {"PYTHONPATH": src, "COLUMNS": "200", "NO_COLOR": "1"}
    r = subprocess.run([sys.executable, "-c", "import sys, digiden.cli\nprint('digiden.cli_consult' in sys.modules)"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
    r = subprocess.run([sys.executable, "-c", "from digiden.cli import main; main(['consult', '--help'])"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "route-check" in r.stdout, r.stderr
