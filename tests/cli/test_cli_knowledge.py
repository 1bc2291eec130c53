"""`digiden search/similar/recommend/partners/practice/measure/menubook/group/reindex`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only   # the command line over the services, whose tests run on both databases


def test_search_json_is_the_documented_shape(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("search", "子育て 相談", "--json")
    rows = json.loads(out)
    assert code == 0 and rows and all(set(r) == {"kind", "id", "title", "score", "snippet"} for r in rows)
    assert {rows[0]["id"], rows[1]["id"]} == {"fujiyoshida-online-consultation", "kodomo-katei-center"}
    assert "【" in rows[0]["snippet"]
    code, out, _ = cli("search", "観光", "--kind", "practice", "--pref", "26", "--json")
    assert [r["id"] for r in json.loads(out)] == ["kyoto-crowd-dispersal"]
    code, out, _ = cli("search", "の", "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = cli("search", "あ" * 10_000)
    assert code == 2 and "200" in err


def test_similar_json_is_the_documented_shape(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("similar", "064033", "--json", "--limit", "3")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3 and all(set(r) == {"code", "name", "score", "reasons"} for r in rows)
    code, out, _ = cli("similar", "064033", "--json", "-w", "geography=10", "-w", "population=0", "--limit", "1")
    assert json.loads(out)[0]["reasons"][0] == "隣接している（境界を共有）"
    assert cli("similar", "064033", "-w", "geography")[0] == 2
    assert cli("similar", "060003")[0] == 2          # a prefecture
    assert cli("similar", "99999")[0] == 3           # well-formed, but no such local government


def test_practice_add_import_review_adopt(cli, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("practice", "add", "--title", "AIオンデマンド交通", "--org", "072087", "--field", "P4.3",
                       "--problem", "路線バスの廃止", "--solution", "AIで配車する乗合タクシー",
                       "--measure", "transport-redesign", "--fy-from", "R5", "--json")
    p = json.loads(out)
    assert code == 0 and p["status"] == "submitted" and p["fy_from"] == 2023
    assert cli("practice", "review", p["code"], "publish")[0] == 0
    code, out, _ = cli("practice", "adopt", p["code"], "064033", "--year", "令和6年度")
    assert code == 0 and "1 local governments" in out
    f = tmp_path / "p.csv"
    f.write_bytes("title,org_units,problem,solution\n見守り,064033,独居,センサー\n".encode("cp932"))
    code, out, _ = cli("practice", "import", str(f), "--json")
    assert code == 0 and len(json.loads(out)["created"]) == 1
    f.write_text("title,org_units,problem,solution\n見守り,064033,,センサー\n", encoding="utf-8")
    code, _, err = cli("practice", "import", str(f))
    assert code == 2 and "2行目" in err and "problem" in err
    code, out, _ = cli("practice", "list", "--status", "submitted", "--json")
    assert [r["title"] for r in json.loads(out)] == ["見守り"]
    assert cli("--as", "sapporo", "practice", "add", "--title", "x", "--org", "072087", "--problem", "p",
               "--solution", "s")[0] == 4
    code, out, _ = cli("practice", "show", p["code"], "--json")
    assert json.loads(out)["adoptions"][0]["code"] == "064033"


def test_measures_roadmap_menubook(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("measure", "list", "--problem", "mobility", "--json")
    assert code == 0 and "transport-redesign" in [m["code"] for m in json.loads(out)]
    assert cli("measure", "show", "plateau")[0] == 0
    assert cli("measure", "problems", "--json")[0] == 0
    code, out, _ = cli("measure", "roadmap", "--by", "ministry", "--json")
    assert code == 0 and json.loads(out)
    pdf, html = tmp_path / "book.pdf", tmp_path / "book.html"
    assert cli("menubook", "-o", str(pdf), "--pillar", "F3")[0] == 0
    assert pdf.read_bytes().startswith(b"%PDF") and b"/FontFile2" in pdf.read_bytes()
    assert cli("menubook", "-o", str(html))[0] == 0 and "目次" in html.read_text(encoding="utf-8")
    assert cli("menubook", "-o", str(tmp_path / "book.doc"))[0] == 2


def test_recommend_partners_groups_reindex(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("recommend", "064033", "--field", "P4.6", "--json")
    assert code == 0 and "recommendations" in json.loads(out)
    code, out, _ = cli("partners", "mobility", "--json")
    assert code == 0 and json.loads(out)["issue"]["code"] == "mobility"
    code, out, _ = cli("group", "create", "--name", "会津の連携", "--member", "072028", "--member", "072087",
                       "--issue", "disaster", "--initiative", "除雪情報の共有", "--json")
    assert code == 0 and json.loads(out)["initiatives"] == ["除雪情報の共有"]
    code, out, _ = cli("group", "list", "--member", "072087", "--json")
    assert [g["name"] for g in json.loads(out)] == ["会津の連携"]
    code, out, _ = cli("reindex", "--json")
    assert code == 0 and json.loads(out)["documents"]["measure"] == 33


def test_search_says_what_it_searched_instead(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("search", "空き家")
    assert code == 0 and "0件" in out
    assert "で見つかった記録" in out and "関連する語で探す:" in out
    code, out, _ = cli("search", "支援")
    assert code == 0 and "同じ意味の語も探しました: 支援 → 応援" in out


def test_the_roadmap_marks_only_years_with_a_milestone_or_activity(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("measure", "roadmap")
    import re
    assert code == 0 and not re.search(r"│\s*━+\s*│", out)   # no solid bar in a year with nothing in it
    assert "◆" in out and "●" in out and "·" in out
