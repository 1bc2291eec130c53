"""Statuses that do not mislead (issue 13 §2), read as a planner reads the pages: the test clock
is 2026-11-29, the reported actuals are the shipped ones. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from html import unescape

from digiden.domain.access import system
from digiden.services.local.demo import create_demo
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW


def _text(html: str) -> str:
    """What a reader sees: tags and the space between them dropped."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _row(html: str, code: str) -> str:
    """The dashboard's table row of one KPI."""
    m = re.search(r'<tr>\s*<td><a href="/kpis/' + re.escape(code) + r'">.*?</tr>', html, re.S)
    assert m, code
    return _text(m.group(0))


def test_school_devices_are_not_on_track_on_data_from_before_a_passed_deadline(anon) -> None:  # type: ignore[no-untyped-def]
    row = _row(anon.get("/").text, "gigaschool-daily-use")
    assert "順調" not in row
    assert "実績未公表（2年以上前の実績）" in row                 # the badge says the data are old
    assert "最新の実績: 2023年4月18日（43か月前）" in row
    html = anon.get("/kpis/gigaschool-daily-use").text
    assert "期限（2026年3月末）を過ぎましたが、期限以降の実績値はまだ公表されていません" in _text(html)
    badges = re.findall(r'<span class="badge ([a-z_]+)">([^<]+)</span>', html)
    assert ("awaiting_data", "実績未公表（2年以上前の実績）") in badges
    assert not [b for b in badges if b[0] == "on_track"]
    states = re.findall(r'<span class="ms ([a-z_]+)">', html)
    assert states == ["not_published", "not_published"]        # 小学校 and 中学校, both due FY2025


def test_a_past_forecast_is_not_shown_as_a_forecast(anon) -> None:  # type: ignore[no-untyped-def]
    row = _row(anon.get("/").text, "5g-population-coverage")
    assert "到達見込み 2025年8月1日" not in row and "到達見込み: 2025年8月1日" not in row
    assert "傾向から見込んだ到達日（2025年8月1日）は過ぎました。次の実績の公表を待っています。" in row
    page = _text(anon.get("/kpis/5g-population-coverage").text)
    assert "到達見込み: 2025年8月1日" not in page
    assert "傾向から見込んだ到達日（2025年8月1日）は過ぎました" in page


def test_every_status_shows_the_age_of_its_data(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/").text
    assert html.count('class="small muted data-age"') == 18
    assert "最新の実績: 2025年3月末（20か月前）" in _row(html, "5g-population-coverage")
    assert "最新の実績: 2025年1月（22か月前）" in _row(html, "logistics-dx")
    fibre = _row(html, "fiber-household-coverage")                 # FY2022 figure, 44 months old
    assert "順調（2年以上前の実績）" in fibre and "最新の実績: 2023年3月末（44か月前）" in fibre
    assert "（2年以上前の実績）" not in _row(html, "5g-population-coverage")
    page = _text(anon.get("/kpis/fiber-household-coverage").text)
    assert "最新の実績: 2023年3月末（44か月前）" in page and "24か月より古い" in page


def test_the_ratio_is_explained_in_words_and_the_method_is_a_link(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/kpis/5g-population-coverage").text
    assert "実績のペースは必要なペースの2.7倍（R = 2.71、順調）" in _text(html)
    assert re.search(r'<a href="/about#method">[^<]*判定の方法', html)


def test_every_not_assessable_says_why(anon) -> None:  # type: ignore[no-untyped-def]
    html = anon.get("/").text
    counts = dict(re.findall(r'<li><span class="badge [a-z_]+">([^<]+)</span> (\d+)件</li>', html))
    assert int(counts["判定不能"]) <= 7 and int(counts["実績未公表"]) >= 1
    for code in re.findall(r'<tr>\s*<td><a href="/kpis/([a-z0-9-]+)"', html):
        if "判定不能" not in _row(html, code):
            continue
        page = _text(anon.get(f"/kpis/{code}").text)
        reason = page.split(" 判定 ", 1)[1]
        reasons = ("観測値がありません", "1時点のみ", "期限の定めがない", "変化が読み取れない")
        assert any(w in reason for w in reasons), code


def test_counted_kpis_show_both_numbers_labelled_and_no_difference(anon, session_factory) -> None:  # type: ignore[no-untyped-def]
    create_demo(UnitOfWork(session_factory), system("test-demo"), now=FIXED_NOW)
    html = anon.get("/kpis/digital-implementation").text
    panel = _text(html.split('id="h-local"', 1)[1].split("</section>", 1)[0])
    assert re.search(r"全国の公表値 1,000団体超 ?（2023年6月時点、出典: ", panel)
    assert "digidenの記録から数えた団体" in panel and "うち合成データ（デモ用）" in panel
    assert "差" not in panel.replace("差は比べられないため示しません", "")
    assert not re.search(r"差 [+\-−]\d", _text(html))
    # the JSON keeps its fields for scripts, and says what the published figure is
    c = anon.get("/api/v1/kpis/digital-implementation").json()["computed"]
    assert c["reported"]["display"] == "1,000団体超" and "difference" in c


def test_the_method_link_lands_on_a_table_that_explains_every_status(anon) -> None:  # type: ignore[no-untyped-def]
    from digiden.domain.progress import Status
    about = anon.get("/about").text
    section = about.split('id="method"', 1)[1].split("<h2", 1)[0]
    for s in Status:
        assert f"<td>{s.label}</td><td>{s.value}</td>" in section, s
