"""Pages and API of the knowledge side, as a browser or a script sees them."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.sqlite_only   # pages and shapes; search on both databases: tests/services/test_search.py


def test_search_page_facets_highlights_and_htmx(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/search", params={"q": "子育て支援"})
    assert r.status_code == 200
    assert "こども家庭センターの設置とこども政策DX" in r.text and "<mark>子育て</mark>" in r.text
    assert 'aria-label="絞り込み"' in r.text and "優良事例" in r.text
    part = anon.get("/search", params={"q": "観光", "kind": "practice"}, headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text
    assert "観光アプリを活用した混雑回避・人流分散" in part.text and "北海道" not in part.text
    assert 'action="/search"' in anon.get("/about").text          # the search box on every page


BAD = ["", "の", "a", '"', "*", "NEAR", "-", ":", '子育て" OR "x', "😀😀", "\x00\x07子育て\x1b",
       "<script>alert(1)</script>", "' OR 1=1 --", "x" * 10_000]


@pytest.mark.parametrize("q", BAD)
def test_bad_queries_never_fail(anon, q: str) -> None:  # type: ignore[no-untyped-def]
    page = anon.get("/search", params={"q": q})
    api = anon.get("/api/v1/search", params={"q": q})
    assert page.status_code in (200, 422) and api.status_code in (200, 422)
    assert "<script>alert" not in page.text
    if "\x00" in q:   # a NUL is refused at the edge, for every route (issue 10)
        assert page.status_code == api.status_code == 422 and "NUL" in api.json()["error"]["message_ja"]
        return
    if api.status_code == 422:
        assert api.json()["error"]["message_ja"] == "検索語は200文字以内にしてください（10000文字）"
        assert "検索語は200文字以内" in page.text
    else:
        body = api.json()
        assert isinstance(body["results"], list)
        if body["terms"]:   # something searchable was left: results (or none), no explanation
            assert body["message"] == "" and len(body["results"]) <= body["total"]
            assert bool(body["results"]) == bool(body["total"])
        else:               # only symbols, particles or nothing: no results, and the page says why
            assert body["results"] == [] and body["total"] == 0 and body["message"]
            assert (body["message"] in page.text) == (q != "")   # an empty query is the plain search page


def test_search_api_shape(anon) -> None:  # type: ignore[no-untyped-def]
    body = anon.get("/api/v1/search", params={"q": "除雪", "limit": 3}).json()
    first = body["results"][0]
    assert {"kind", "id", "title", "score", "snippet", "snippet_html", "url"} <= set(first)
    assert first["id"] == "iide-gps-snow-removal" and first["url"] == "/practices/iide-gps-snow-removal"
    assert body["terms"] == ["除雪"] and "kind" in body["facets"]


def test_measures_roadmap_and_menubook(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/measures", params={"problem": "disaster"})
    assert "防災DXの推進" in r.text and "GIGAスクール" not in r.text
    m = anon.get("/measures/transport-redesign").text
    assert "自動運転バスの運行" in m and "◆" in m and "国土交通省" in m
    road = anon.get("/roadmap", params={"by": "ministry"})
    assert road.status_code == 200 and "<h2>こども家庭庁</h2>" in road.text
    assert anon.get("/roadmap", params={"by": "colour"}).status_code == 422
    book = anon.get("/menubook").text
    assert 'aria-label="目次"' in book and 'href="#f-P4-3"' in book and 'id="f-P4-3"' in book
    assert "自動運転バスの運行" in book and "/static/fonts/ipaexg.ttf" in book
    pdf = anon.get("/menubook.pdf", params={"pillar": "P4"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert b"/FontFile2" in pdf.content and b"IPAexGothic" in pdf.content      # the font travels with it


def test_practice_page_shows_spread_on_a_map(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/practices/iide-gps-snow-removal/adopt",
                    data={"org_unit": "072087", "fiscal_year": "令和6年度", "adaptation": "委託業者のスマホ"},
                    follow_redirects=True)
    assert r.status_code == 200 and "横展開を記録しました" in r.text
    assert "福島県喜多方市（2024年度に導入）" in r.text and "山形県飯豊町（実施団体）" in r.text
    assert len(re.findall(r"<circle ", r.text)) == 2 and "委託業者のスマホ" in r.text
    bad = client.post("/practices/iide-gps-snow-removal/adopt", data={"org_unit": "072087", "fiscal_year": "来年"})
    assert bad.status_code == 422 and "導入年度" in bad.text and 'value="来年"' in bad.text


def test_propose_through_the_form_and_review(session_factory, accounts, client_as) -> None:  # type: ignore[no-untyped-def]
    kita = client_as("kitakata")
    form = kita.get("/practices/new")
    assert form.status_code == 200 and 'value="072087"' in form.text
    bad = kita.post("/practices/new", data={"title": "<script>x</script>", "org_units": "072087", "problem": "",
                                            "solution": "s"})
    assert bad.status_code == 422 and "課題を入力してください" in bad.text
    assert "&lt;script&gt;x&lt;/script&gt;" in bad.text and "<script>x" not in bad.text
    ok = kita.post("/practices/new", data={"title": "<script>x</script>", "org_units": "072087", "problem": "p",
                                           "solution": "s", "measures": ["transport-redesign"]},
                   follow_redirects=False)
    assert ok.status_code == 303
    url = ok.headers["location"].split("?")[0]
    page = kita.get(url)
    assert "審査待ち" in page.text and "&lt;script&gt;" in page.text
    assert client_as("public").get(url).status_code == 404
    admin = client_as("admin")
    assert admin.post(url + "/review", data={"action": "return"}).status_code == 422
    assert admin.post(url + "/review", data={"action": "publish"}, follow_redirects=True).status_code == 200
    assert client_as("public").get(url).status_code == 200


def test_a_returned_practice_is_edited_in_the_form(session_factory, accounts, client_as) -> None:  # type: ignore[no-untyped-def]
    from digiden.services.knowledge import practices
    from digiden.services.uow import UnitOfWork
    from tests.conftest import FIXED_NOW
    uow = UnitOfWork(session_factory)
    p = practices.add(uow, accounts["kitakata"], {"title": "見守り", "org_units": ["072087"], "problem": "独居",
                                                  "solution": "センサー", "figures": "利用世帯=120世帯@2024"},
                      now=FIXED_NOW)
    practices.review(uow, accounts["admin"], p.code, "return", "成果の出典を追記してください", now=FIXED_NOW)
    kita = client_as("kitakata")
    page = kita.get(f"/practices/{p.code}")
    assert "差戻し" in page.text and "成果の出典を追記してください" in page.text
    assert f"/practices/{p.code}/edit" in page.text
    form = kita.get(f"/practices/{p.code}/edit")
    assert form.status_code == 200 and 'value="見守り"' in form.text and "利用世帯=120世帯@2024" in form.text
    assert 'name="version" value="1"' in form.text
    bad = kita.post(f"/practices/{p.code}/edit", data={"title": "見守り", "org_units": "072087", "problem": "独居",
                                                       "solution": "センサー", "figures": "利用世帯=多数",
                                                       "version": "1"})
    assert bad.status_code == 422 and "数値として読めません" in bad.text and 'value="利用世帯=多数"' in bad.text
    ok = kita.post(f"/practices/{p.code}/edit", follow_redirects=True,
                   data={"title": "見守りセンサー", "org_units": "072087", "problem": "独居", "solution": "センサー",
                         "figures": "利用世帯=150世帯@2025", "sources": "市広報 2025年4月号", "version": "1"})
    assert ok.status_code == 200 and "審査待ち" in ok.text and "150世帯" in ok.text and "市広報 2025年4月号" in ok.text
    stale = kita.post(f"/practices/{p.code}/edit", data={"title": "x", "org_units": "072087", "problem": "p",
                                                         "solution": "s", "version": "1"})
    assert stale.status_code == 403          # under review again: not editable by its authors


def test_api_practice_lifecycle_and_import(session_factory, accounts, client_as) -> None:  # type: ignore[no-untyped-def]
    from digiden.services.local import accounts as acc
    from digiden.services.uow import UnitOfWork
    from tests.conftest import FIXED_NOW
    admin = client_as("admin")
    r = admin.post("/api/v1/practices", json={"title": "遠隔合同授業の横展開", "org_units": ["463035"],
                                              "problem": "小規模校", "solution": "オンライン授業", "field": "P4.1"})
    assert r.status_code == 201 and r.json()["status"] == "submitted"
    code = r.json()["code"]
    assert admin.post(f"/api/v1/practices/{code}/review", json={"action": "publish"}).json()["status"] == "published"
    a = admin.post(f"/api/v1/practices/{code}/adoptions", json={"org_unit": "064033", "fiscal_year": "R6"})
    assert a.status_code == 201 and a.json()["adoptions"][0]["fiscal_year"] == 2024
    csv = "title,org_units,problem,solution\nA,064033,p,s\nB,064033,,s\n".encode("cp932")
    bad = admin.post("/api/v1/practices/import", files={"file": ("x.csv", csv)})
    assert bad.status_code == 422
    assert bad.json()["error"]["message_ja"] == "x.csv 3行目「problem」列: 課題を入力してください"
    # a read-only token cannot write
    secret, tok = acc.create_token(UnitOfWork(session_factory), accounts["admin"], username="admin", name="ro",
                                   now=FIXED_NOW)
    assert tok.scopes == "read"
    anon = client_as("public")
    ro = anon.post("/api/v1/practices", json={"title": "x", "org_units": ["064033"], "problem": "p", "solution": "s"},
                   headers={"Authorization": f"Bearer {secret}"})
    assert ro.status_code == 403


def test_similar_page_with_weights_and_recommendations(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/local-governments/064033/similar")
    assert r.status_code == 200 and "山形県飯豊町の類似団体" in r.text and "<meter" in r.text
    assert 'name="w_geography"' in r.text and "おすすめの優良事例" in r.text
    geo = anon.get("/local-governments/064033/similar", params={"w_geography": "10", "w_population": "0"})
    assert "隣接している" in geo.text
    bad = anon.get("/local-governments/064033/similar", params={"w_fiscal": "たくさん"})
    assert bad.status_code == 422 and "財政指標の重みは数値で入力してください" in bad.text
    assert anon.get("/local-governments/060003/similar").status_code == 422    # a prefecture
    api = anon.get("/api/v1/local-governments/064033/similar", params={"limit": 3, "w_geography": "2"}).json()
    assert api["weights"]["geography"] == 2 and len(api["similar"]) == 3
    assert set(api["similar"][0]) >= {"code", "name", "score", "reasons", "components"}


def test_collaboration_page_and_group(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/collaboration", params={"issue": "mobility", "within_km": "40"})
    assert page.status_code == 200 and "「地域交通の確保・移動手段」を挙げている団体" in page.text
    assert client.get("/collaboration", params={"issue": "mobility", "within_km": "999"}).status_code == 422
    r = client.post("/collaboration/groups", follow_redirects=True,
                    data={"name": "会津の連携", "members": "072028,072087", "issue": "mobility",
                          "initiatives": "共同調達\n運行データ共有"})
    assert r.status_code == 200 and "会津の連携" in r.text and "運行データ共有" in r.text
    bad = client.post("/collaboration/groups", data={"name": "x", "members": "072028", "issue": "mobility"})
    assert bad.status_code == 422 and "2団体以上" in bad.text
    assert client.get("/api/v1/collaboration-groups").json()[0]["name"] == "会津の連携"


def test_new_pages_load_no_remote_assets(anon) -> None:  # type: ignore[no-untyped-def]
    """Scripts, styles, fonts and images come from the package: the pages work on LGWAN."""
    for path in ("/search?q=医療", "/measures", "/roadmap", "/practices", "/practices/aict-aizuwakamatsu",
                 "/local-governments/072028/similar", "/collaboration", "/menubook"):
        html = anon.get(path).text
        assets = re.findall(r'<(?:script|img)[^>]* src="([^"]+)"', html) + re.findall(
            r'<link[^>]* href="([^"]+)"', html) + re.findall(r'url\("([^"]+)"\)', html)
        assert assets or path == "/menubook"
        assert all(a.startswith("/static/") for a in assets), (path, assets)


def test_signed_out_form_redirects_to_sign_in(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/practices/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_the_practice_list_pages_by_one_hundred(session_factory, accounts, anon) -> None:  # type: ignore[no-untyped-def]
    from digiden.services.knowledge import practices
    from digiden.services.uow import UnitOfWork
    from tests.conftest import FIXED_NOW
    rows = "".join(f"合成事例{i:03d}（合成データ）,064033,課題,解決策\n" for i in range(100))
    practices.import_file(UnitOfWork(session_factory), accounts["admin"], "p.csv",
                          ("title,org_units,problem,solution\n" + rows).encode(), publish=True, now=FIXED_NOW,
                          synthetic=True)
    first = anon.get("/practices")
    assert first.text.count('<a href="/practices/') == 100 and "次の100件" in first.text
    second = anon.get("/practices", params={"page": 2})
    assert second.text.count('<a href="/practices/') == 12 and "前の100件" in second.text
    assert "次の100件" not in second.text
    api = anon.get("/api/v1/practices", params={"limit": 5, "offset": 110}).json()
    assert len(api) == 2


def test_an_oversized_practice_file_is_refused_before_it_is_read(client) -> None:  # type: ignore[no-untyped-def]
    big = b"a" * (3 * 1024 * 1024)       # over the test app's 2 MB upload limit (web/limits.py)
    r = client.post("/api/v1/practices/import", files={"file": ("big.csv", big)})
    assert r.status_code == 413 and r.json()["error"]["details"]["field"] == "file"
