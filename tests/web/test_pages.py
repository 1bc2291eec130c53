"""The Japanese pages, at HTTP level: what a person reading them would notice."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.sqlite_only   # HTML; the PostgreSQL copy of each router: test_postgres_smoke.py


def test_dashboard_groups_kpis_by_block_with_status_and_charts(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/").text
    assert '<html lang="ja">' in html
    for block in ("地方のデジタル実装に向けたKPI", "デジタル実装の基礎条件整備に関するKPI",
                  "地域ビジョンの実現に向けたKPI"):
        assert block in html
    assert "５Gの人口カバー率" in html and "順調" in html and "達成" in html
    assert html.count('<svg class="chart"') >= 10
    assert "総合戦略で紹介された事例の数" in html          # the choropleth
    assert html.count("<path d=\"M") >= 47


def test_no_asset_is_loaded_from_the_internet(client) -> None:  # type: ignore[no-untyped-def]
    """Closed government networks: every script, style, icon and image comes from this server."""
    for url in ("/", "/strategy", "/kpis/5g-population-coverage", "/local-governments", "/map",
                "/imports", "/export", "/validation", "/docs"):
        html = client.get(url).text
        assets = re.findall(r'<(?:script|img)[^>]*\ssrc="([^"]+)"', html) + \
            re.findall(r'<link[^>]*\shref="([^"]+)"', html)
        assert assets, url
        external = [a for a in assets if not a.startswith("/")]
        assert external == [], (url, external)
        for a in assets:
            assert client.get(a).status_code == 200, a


def test_kpi_page_shows_milestones_values_sources_and_method(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/kpis/5g-population-coverage").text
    assert "2030年度まで（2031年3月31日）" in html          # a date people read, not ISO
    assert "達成済み" in html and "達成見込み" in html
    assert "98.1%" in html and "オートメーション新聞" in html
    assert "Open SDG" in html                                   # the method in one paragraph
    assert "2025年8月1日" in html                                # forecast


def test_kpi_page_for_breakdowns_and_denominators(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/kpis/gigaschool-daily-use").text
    assert "18,805校" in html and "9,437校" in html
    html = client.get("/kpis/logistics-dx").text
    assert "約35,000事業者相当" in html
    html = client.get("/kpis/regional-data-centers").text
    assert "11〜19か所" in html and "5年程度" in html


def test_unknown_kpi_page_is_a_japanese_404(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/kpis/nope")
    assert r.status_code == 404 and "見つかりません" in r.text


def test_strategy_page_has_the_whole_tree(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/strategy").text
    for text in ("地方に仕事をつくる", "誰一人取り残されないための取組", "教育DX",
                 "スーパーシティ", "SDGs未来都市", "自動運転バスの運行", "茨城県境町",
                 "高知大学", "メニューブック", "担い手減少に対応した自動草刈機の導入"):
        assert text in html, text
    assert 'href="/local-governments/072028"' in html


@pytest.mark.parametrize(("query", "code"), [("会津若松", "072028"), ("ｷﾀｶﾀ", "072087"),
                                             ("07202", "072028")])
def test_directory_search(client, query: str, code: str) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/local-governments", params={"q": query}).text
    assert f'/local-governments/{code}"' in html


def test_directory_htmx_returns_only_the_results(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/local-governments", params={"q": "札幌"}, headers={"HX-Request": "true"})
    assert "<html" not in r.text and "011002" in r.text


def test_directory_bad_code_is_explained_in_japanese(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/local-governments", params={"q": "072027"})
    assert r.status_code == 422 and "検査数字" in r.text


def test_local_government_page(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/local-governments/072028").text
    assert "福島県会津若松市" in html and "115,556人" in html and "31.58%" in html
    assert "AiCT" in html and "令和4年1月1日" in html


def test_map_measures(client) -> None:  # type: ignore[no-untyped-def]
    assert "高齢化率" in client.get("/map", params={"measure": "aging_rate"}).text
    assert client.get("/map", params={"measure": "bogus"}).status_code == 422


def test_observation_form_round_trip(client) -> None:  # type: ignore[no-untyped-def]
    assert "実績値の登録" in client.get("/observations/new?kpi=smart-city-selections").text
    r = client.post("/observations", data={
        "kpi": "smart-city-selections", "as_of": "2024-03-31", "value": "６０",
        "source_title": "国土交通省 発表"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/kpis/smart-city-selections?saved=1"
    html = client.get(r.headers["location"]).text
    assert "登録しました" in html and "60地域" in html
    # the signed-in account is recorded as the author (no name to type any more)
    obs = client.get("/api/v1/observations?kpi=smart-city-selections&from=2024-03-31&to=2024-03-31").json()
    assert [o["created_by"] for o in obs] == ["admin"]


def test_observation_form_error_is_japanese_keeps_input_and_writes_nothing(client) -> None:  # type: ignore[no-untyped-def]
    before = len(client.get("/api/v1/observations").json())
    r = client.post("/observations", data={"kpi": "5g-population-coverage", "as_of": "2024-13-01",
                                           "value": "99", "source_title": "x"})
    assert r.status_code == 422
    assert "日付として" in r.text and 'value="2024-13-01"' in r.text and "何も保存されていません" in r.text
    assert len(client.get("/api/v1/observations").json()) == before


def test_audit_page(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/audit", params={"kpi": "5g-population-coverage"}).text
    assert "observation.create" in html and "変更履歴" in html


def test_chart_hover_text_keeps_the_qualifier(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/kpis/digital-implementation").text
    assert "2023-06-30: 1,000団体超</title>" in html
