"""`digiden user/token/local/demo`, `--as` and `kpi show --json` with the counted value."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ACCOUNTS, PASSWORD

pytestmark = pytest.mark.sqlite_only   # the command line over the services, whose tests run on both databases


def test_user_and_token_commands(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("user", "create", "kitakata-1", "--role", "municipality_staff", "--org-unit", "07208",
                         "--password", PASSWORD, "--json")
    assert code == 0 and json.loads(out)["org_unit"] == "072087"
    code, out, _ = cli("user", "create", "x", "--role", "national_admin", "--password", PASSWORD)
    assert code == 2
    code, out, _ = cli("user", "list", "--json")
    assert [u["username"] for u in json.loads(out)] == sorted([*ACCOUNTS, "kitakata-1"])   # the session's + the new
    code, out, _ = cli("token", "create", "kitakata-1", "--scopes", "read write", "--days", "30", "--json")
    t = json.loads(out)
    assert code == 0 and t["token"].startswith("dgd_") and t["scopes"] == "read write"
    code, out, _ = cli("token", "list", "--json")
    assert "token" not in json.loads(out)[0] and json.loads(out)[0]["prefix"] == t["token"][:10]
    assert cli("token", "revoke", str(t["id"]))[0] == 0
    assert cli("user", "disable", "kitakata-1")[0] == 0
    code, out, _ = cli("user", "list", "--json")
    assert {u["username"]: u["disabled"] for u in json.loads(out)} == {n: n == "kitakata-1" for n in
                                                                        [*ACCOUNTS, "kitakata-1"]}


def test_as_user_has_exactly_that_users_rights(cli, accounts) -> None:  # type: ignore[no-untyped-def]
    doc = '{"title": "喜多方市 戦略", "fiscal_year": "令和6年度"}'
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        f.write(doc)
    code, _, err = cli("--as", "aizu", "local", "import", "072087", f.name)
    assert code == 3     # another local government with no strategy you can see: not found
    code, out, _ = cli("--as", "kitakata", "local", "import", "072087", f.name, "--json")
    assert code == 0 and json.loads(out)["status"] == "draft"
    assert cli("--as", "sapporo", "local", "show", "072087")[0] == 3   # a draft is invisible to others
    assert cli("--as", "aizu", "user", "list")[0] == 4
    code, _, err = cli("--as", "aizu", "observe", "add", "--kpi", "digital-implementation", "--as-of", "2024-03-31",
                       "--value", "900", "--source", "x")
    assert code == 4 and "may not" in err
    assert cli("--as", "kitakata", "local", "submit", "072087", "1")[0] == 0
    code, out, _ = cli("--as", "fukushima", "local", "inbox", "--json")
    assert [w["org_unit"] for w in json.loads(out)["waiting"]] == ["072087"]
    assert cli("--as", "fukushima", "local", "approve", "072087", "1")[0] == 0
    assert cli("--as", "fukushima", "local", "accept", "072087", "1")[0] == 4
    assert cli("local", "accept", "072087", "1")[0] == 0          # the operator is a national administrator
    code, out, _ = cli("kpi", "show", "digital-implementation", "--json")
    computed = json.loads(out)["computed"]
    assert computed["value"] == 0 and computed["org_units"] == []    # no digital implementation in place
    code, out, _ = cli("--as", "kitakata", "local", "show", "072087", "--json")
    assert json.loads(out)["status"] == "accepted" and json.loads(out)["allowed_actions"] == []


def test_kpi_show_json_has_the_computed_value_its_time_and_codes(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("demo")[0] == 0
    assert cli("local", "accept", "064033", "1")[0] == 0
    code, out, _ = cli("kpi", "show", "digital-implementation", "--json")
    c = json.loads(out)["computed"]
    assert c["value"] == 2 and c["org_units"] == ["064033", "072028"] and c["as_of"].startswith("2026-11-29")
    assert c["reported"]["value"] == 1000 and c["difference"] == -998 and c["synthetic_records"] == 2
    assert cli("demo")[0] == 5          # only once
    code, out, _ = cli("local", "diff", "072028", "1", "2", "--json")
    assert any(ch["key"] == "AIオンデマンド交通の実証" and ch["kind"] == "added" for ch in json.loads(out))
    code, out, _ = cli("local", "coverage", "--json")
    assert code == 0 and len(json.loads(out)) == 13


def test_kpi_assign_lets_the_ministrys_editor_record_values(cli, accounts) -> None:  # type: ignore[no-untyped-def]
    args = ("observe", "add", "--kpi", "fiber-household-coverage", "--as-of", "2024-03-31", "--value", "99.8",
            "--source", "総務省 公表")
    assert cli("--as", "ministry", *args)[0] == 4
    assert cli("--as", "ministry", "kpi", "assign", "fiber-household-coverage", "--ministry", "総務省")[0] == 4
    assert cli("kpi", "assign", "fiber-household-coverage", "--ministry", "総務省")[0] == 0
    code, out, _ = cli("--as", "ministry", *args, "--json")
    assert code == 0 and json.loads(out)["created_by"] == "ministry"
