"""`digiden kpi show` for a KPI counted from records in digiden (issue 13): the published national
figure and the count of the records side by side, each labelled for what it is, and no difference
between them — a national total and a count of digiden's (demo) records are not two measurements
of one thing. `--json` keeps its fields for scripts."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.sqlite_only   # the command line over the services, whose tests run on both databases

KPI = "digital-implementation"


def test_both_figures_labelled_and_no_difference(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("demo")[0] == 0
    assert cli("local", "accept", "064033", "1")[0] == 0
    c = json.loads(cli("kpi", "show", KPI, "--json")[1])["computed"]
    assert c["value"] > 0 and c["reported"] is not None and c["synthetic_records"] > 0
    code, out, _ = cli("kpi", "show", KPI)
    assert code == 0
    published = next(ln for ln in out.splitlines() if ln.startswith("全国の公表値"))
    counted = next(ln for ln in out.splitlines() if ln.startswith("digidenの記録から数えた団体"))
    assert c["reported"]["display"] in published and c["reported"]["source"] in published
    assert f": {c['value']:,}{c['unit']}" in counted and f"{c['denominator']:,}団体中" in counted
    assert f"合成データ（デモ用）{c['synthetic_records']}団体" in counted
    # no number computed from the two: neither a signed difference nor a 差 of them
    assert not re.search(r"difference\s*[+\-−]?\d", out)
    assert not re.search(r"差\s*[:：]?\s*[+\-−]?\d", out)
    assert f"{c['value'] - c['reported']['value']:+,.0f}" not in out
    assert "差は示しません" in out


def test_without_records_the_count_is_zero_and_still_labelled(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("kpi", "show", KPI)
    assert code == 0
    assert re.search(r"^digidenの記録から数えた団体 / counted from records in digiden: 0", out, re.M)
    assert not re.search(r"difference\s*[+\-−]?\d", out) and "差は示しません" in out
