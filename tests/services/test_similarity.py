"""類似団体, recommendations, partners and collaboration groups, on the real 1,741 municipalities."""

from __future__ import annotations

from typing import Any

import pytest

from digiden.domain.access import PUBLIC
from digiden.domain.errors import InvalidInput, PermissionDenied, SignInRequired
from digiden.services.knowledge import practices, similarity
from digiden.services.local import local_strategies as ls
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW as NOW


def publish_strategy(uow: UnitOfWork, accounts: dict[str, Any], who: str, code: str, fields: list[str],
                     *, in_place: bool = False, types: list[str] | None = None) -> None:
    doc = {"title": "戦略", "fiscal_year": "令和6年度", "model_types": types or [],
           "issues": [{"field": f, "text": "課題"} for f in fields],
           "measures": [{"title": "AIデマンド交通", "field": fields[0], "kind": "new_mobility",
                         "digital": True, "state": "in_place" if in_place else "planned"}]}
    ls.save(uow, accounts[who], code, doc, now=NOW)
    rev = ls.list_revisions(uow, accounts["admin"])
    n = next(r.revision for r in rev if r.org_code == code)
    ls.act(uow, accounts[who], code, n, "submit", now=NOW)
    if who not in ("fukushima", "hokkaido"):
        ls.act(uow, accounts["fukushima" if code.startswith("07") else "hokkaido"], code, n, "approve", now=NOW)
    ls.act(uow, accounts["admin"], code, n, "accept", now=NOW)


def test_similar_municipalities_with_reasons(uow: UnitOfWork) -> None:
    r = similarity.similar(uow, PUBLIC, "064033", limit=10)          # 山形県飯豊町
    assert r.compared == 1740 and len(r.items) == 10
    top = r.items[0]
    assert 0 < top.score <= 1 and top.reasons
    assert all(i.code != "064033" for i in r.items)
    assert [i.score for i in r.items] == sorted((i.score for i in r.items), reverse=True)
    # the small, aging towns of the same region come first; a big city does not appear
    assert all(i.name.endswith(("町", "村")) for i in r.items[:5])
    assert "福島県郡山市" not in [i.name for i in r.items]


def test_weights_are_visible_and_change_the_answer(uow: UnitOfWork) -> None:
    default = similarity.similar(uow, PUBLIC, "064033", limit=5)
    assert default.weights == {"kind": 1.0, "population": 2.0, "aging": 1.5, "fiscal": 1.5, "geography": 1.0,
                               "strategy": 1.0}
    geo = similarity.similar(uow, PUBLIC, "064033", weights={k: "0" for k in default.weights} | {"geography": "1"},
                             limit=5)
    assert geo.items[0].reasons == ("隣接している（境界を共有）",)
    assert [i.code for i in geo.items] != [i.code for i in default.items]
    same = similarity.similar(uow, PUBLIC, "064033", same_prefecture=True, limit=40)
    assert all(i.code.startswith("06") for i in same.items) and same.compared == 34


def test_only_municipalities_are_compared(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput) as e:
        similarity.similar(uow, PUBLIC, "060003")
    assert "市区町村ではありません" in e.value.message_ja
    with pytest.raises(InvalidInput):
        similarity.similar(uow, PUBLIC, "064033", weights={"geography": "lots"})


def test_shared_strategy_themes_raise_similarity(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    before = {i.code: i.score for i in similarity.similar(uow, PUBLIC, "072028", limit=200).items}
    publish_strategy(uow, accounts, "aizu", "072028", ["P4.3", "P4.6"])
    publish_strategy(uow, accounts, "kitakata", "072087", ["P4.3", "P4.6"], in_place=True)
    after = similarity.similar(uow, PUBLIC, "072028", limit=200)
    k = next(i for i in after.items if i.code == "072087")
    assert k.score > before.get("072087", 0)
    assert any(r.startswith("戦略の共通テーマ：") and "地域交通" in r for r in k.reasons)


def test_recommendations_follow_declared_issues(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    none = similarity.recommendations(uow, PUBLIC, "072028")
    assert none.items == () and "社会課題が登録されていません" in none.message
    publish_strategy(uow, accounts, "aizu", "072028", ["P4.3", "P4.2"])
    r = similarity.recommendations(uow, PUBLIC, "072028")
    codes = [i.code for i in r.items]
    assert set(codes[:3]) == {"sakai-autonomous-bus", "ishinomaki-transport-robots", "ina-mobile-clinic"}
    assert "aict-aizuwakamatsu" not in codes          # its own practice is not recommended to it
    assert any("類似度" in w for w in r.items[0].why)
    by_field = similarity.recommendations(uow, PUBLIC, "064033", fields=["P4.1"])
    assert by_field.items[0].code == "mishima-remote-classes"
    with pytest.raises(InvalidInput):
        similarity.recommendations(uow, PUBLIC, "064033", fields=["Z9"])


def test_partners_form_sensible_groups(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    publish_strategy(uow, accounts, "aizu", "072028", ["P4.3"])
    publish_strategy(uow, accounts, "kitakata", "072087", ["P4.3"], in_place=True)
    publish_strategy(uow, accounts, "sapporo", "011002", ["P4.3"])
    r = similarity.partners(uow, PUBLIC, "mobility", within_km=30)
    assert {m.code for m in r.sharing} == {"072028", "072087", "011002"}
    assert len(r.groups) == 1          # 札幌市 is nowhere near 会津
    g = r.groups[0]
    assert [m.code for m in g.members] == ["072028", "072087"]
    assert [m.experience for m in g.members] == [False, True]
    assert any("導入済みの団体（福島県喜多方市）" in c for c in g.complementary)
    assert any("境界を共有する組が1組" in c for c in g.complementary)
    assert similarity.partners(uow, PUBLIC, "P4.3", anchor="011002").groups == ()
    with pytest.raises(InvalidInput):
        similarity.partners(uow, PUBLIC, "nothing")
    with pytest.raises(InvalidInput):
        similarity.partners(uow, PUBLIC, "mobility", within_km=0)


def test_collaboration_groups(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    doc = {"name": "会津の地域交通連携", "members": ["072028", "07208"], "issue": "mobility",
           "initiatives": "AIデマンド交通の共同調達\n運行データの共有"}
    with pytest.raises(SignInRequired):
        similarity.save_group(uow, PUBLIC, doc, now=NOW)
    with pytest.raises(PermissionDenied):
        similarity.save_group(uow, accounts["sapporo"], doc, now=NOW)
    g = similarity.save_group(uow, accounts["aizu"], doc, now=NOW)
    assert [c for c, _, _ in g.members] == ["072028", "072087"] and g.initiatives[1] == "運行データの共有"
    assert g.issue == ("mobility", "地域交通の確保・移動手段")
    assert [x.id for x in similarity.list_groups(uow, org_code="072087")] == [g.id]
    assert similarity.list_groups(uow, org_code="011002") == []
    for bad, msg in ((doc | {"members": ["072028"]}, "2団体以上"), (doc | {"name": ""}, "連携の名称"),
                     (doc | {"members": ["072028", "999999"]}, "999999"), (doc | {"issue": "boredom"}, "不明")):
        with pytest.raises(InvalidInput) as e:
            similarity.save_group(uow, accounts["admin"], bad, now=NOW)
        assert msg in e.value.message_ja


def test_practice_adopters_count_for_recommendations(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    publish_strategy(uow, accounts, "sapporo", "011002", ["P4.6"])

    def gps_for_sapporo() -> Any:
        return next((i for i in similarity.recommendations(uow, PUBLIC, "011002").items
                     if i.code == "iide-gps-snow-removal"), None)
    before = gps_for_sapporo()
    assert before is not None and "飯豊町" in " ".join(before.why)
    # a big city like 札幌市 adopts it: the practice now fits 札幌市 better
    practices.record_adoption(uow, accounts["admin"], "iide-gps-snow-removal", org_code="281000",   # 神戸市
                              fiscal_year="2024", now=NOW)
    after = gps_for_sapporo()
    assert after is not None and after.score > before.score and "神戸市" in " ".join(after.why)
    practices.record_adoption(uow, accounts["admin"], "iide-gps-snow-removal", org_code="011002",
                              fiscal_year="2024", now=NOW)
    assert gps_for_sapporo() is None          # once adopted, no longer recommended to it
