"""Pages a planner uses, as issue 13 §3 asks: the roadmap shows which years hold something, the
filters keep their labels with their controls, no button leads to a refusal, and error pages
name fields in Japanese. (axe and 375 px overflow are checked in a real browser by
tests/browser; these tests pin the markup those checks rely on.)"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.sqlite_only


def cells(html: str) -> list[str]:
    return re.findall(r'<li class="rm-year ([^"]+)">', html)


def test_the_roadmap_fills_only_years_with_a_milestone_or_activity(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/roadmap").text
    found = cells(html)
    assert len(found) == 33 * 5                      # five fiscal years of each of the 33 measures
    kinds = [c.split()[0] for c in found]
    assert kinds.count("is-empty") > 0 and kinds.count("is-milestone") > 0   # not one solid bar each
    assert 'class="run"' not in html and "gantt" not in html
    # every cell says its year and what it holds, in words, for screen readers
    assert html.count('<span class="visually-hidden">年度') == 33 * 5
    assert '年度：記録なし</span>' in html and '年度：KPIの目標期限' in html
    assert 'aria-label="凡例"' in html and "太枠は今年度（2026年度）" in html
    assert "style=" not in html.split("<main", 1)[1]        # no inline styles (strict CSP)


def test_a_measure_page_lists_what_fills_each_year(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/measures/digital-promotion-commissioners").text
    assert cells(html)[-1].startswith("is-milestone")
    assert '2027年度</span> <span aria-hidden="true">◆</span><span class="visually-hidden">目標期限：</span> ' \
           "KPI「デジタル推進委員の取組」目標 50,000人（2027年度）" in html
    empty = anon.get("/measures/resas").text
    assert set(c.split()[0] for c in cells(empty)) == {"is-empty"}
    assert "目標期限も、記録された実績・事例もありません" in empty
