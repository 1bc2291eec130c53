"""Good practices: proposing, review before publishing, import (all or nothing), adoptions, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from digiden.domain.access import PUBLIC
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, SignInRequired
from digiden.services.knowledge import practices
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, Practice
from tests.conftest import FIXED_NOW as NOW

DOC = {"title": "AIオンデマンド交通", "org_units": ["07208"], "field": "P4.3", "model_types": ["transport-redesign"],
       "problem": "路線バスの廃止で通院や買い物の足がない", "solution": "AIで配車する乗合タクシー",
       "results": "利用者 月1,200人（2024年度）", "fy_from": "令和5年度", "fy_to": "R6",
       "measures": ["transport-redesign", "dden-grant-digital"], "sources": ["https://example.jp/ai-demand"]}


def count(uow: UnitOfWork, model: type) -> int:
    with uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_the_seed_case_studies_are_the_first_published_practices(uow: UnitOfWork) -> None:
    rows = practices.list_practices(uow, PUBLIC)
    assert [r.code for r in rows][:2] == ["aict-aizuwakamatsu", "maniwa-biomass"]
    assert len(rows) == 12 and all(r.status == "published" for r in rows)
    p = practices.get(uow, PUBLIC, "iide-gps-snow-removal")
    assert p.place == "山形県飯豊町" and p.field == ("P4.6", "防災・減災、国土強靱化の強化等")
    assert p.measures == (("disaster-dx", "防災DXの推進"),) and p.model_types[0][1] == "地域防災力の向上"
    mowers = practices.get(uow, PUBLIC, "automatic-mowers")
    assert mowers.org_units == () and mowers.place == ""      # the seed names no place


def test_propose_review_publish(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    p = practices.add(uow, accounts["kitakata"], DOC, now=NOW)
    assert p.status == "submitted" and p.org_units[0][:2] == ("072087", "福島県喜多方市")
    assert (p.fy_from, p.fy_to) == (2023, 2024) and p.sources == (("https://example.jp/ai-demand",) * 2,)
    # invisible to the public and to others until published; its prefecture sees it
    with pytest.raises(NotFound):
        practices.get(uow, PUBLIC, p.code)
    with pytest.raises(NotFound):
        practices.get(uow, accounts["sapporo"], p.code)
    assert practices.get(uow, accounts["fukushima"], p.code).title == DOC["title"]
    assert p.code in [r.code for r in practices.list_practices(uow, accounts["admin"], status="submitted")]
    # only the nation reviews; returning needs a reason
    with pytest.raises(PermissionDenied):
        practices.review(uow, accounts["fukushima"], p.code, "publish", now=NOW)
    with pytest.raises(InvalidInput) as e:
        practices.review(uow, accounts["admin"], p.code, "return", now=NOW)
    assert e.value.message_ja == "理由（コメント）を入力してください"
    returned = practices.review(uow, accounts["admin"], p.code, "return", "成果の出典を追記してください", now=NOW)
    assert returned.status == "returned" and returned.review_comment.startswith("成果の出典")
    draft = practices.update(uow, accounts["kitakata"], p.code, DOC | {"sources": ["市広報 2024年5月号"]},
                             expected_version=returned.version, submit=False, now=NOW)
    assert draft.status == "draft" and draft.version == 2 and draft.sources == (("市広報 2024年5月号", ""),)
    with pytest.raises(Conflict):      # a second editor still holds version 1
        practices.update(uow, accounts["fukushima"], p.code, DOC, expected_version=1, submit=True, now=NOW)
    again = practices.update(uow, accounts["kitakata"], p.code, DOC, expected_version=2, submit=True, now=NOW)
    assert again.status == "submitted"
    with pytest.raises(PermissionDenied):   # under review: not editable by its authors
        practices.update(uow, accounts["kitakata"], p.code, DOC, expected_version=3, submit=True, now=NOW)
    published = practices.review(uow, accounts["admin"], p.code, "publish", now=NOW)
    assert published.status == "published"
    assert practices.get(uow, PUBLIC, p.code).status == "published"
    with pytest.raises(PermissionDenied):   # published: only the nation changes it
        practices.update(uow, accounts["kitakata"], p.code, DOC, expected_version=None, submit=True, now=NOW)
    with uow:
        actions = list(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_key == p.code)
                                           .order_by(AuditEvent.id)))
    assert actions == ["practice.create", "practice.return", "practice.update", "practice.update",
                       "practice.publish"]


def test_result_figures_keep_their_numbers(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    p = practices.add(uow, accounts["kitakata"], DOC | {"figures": "利用者数=1,200人@令和6年度; 作業時間の削減=3割強"},
                      now=NOW)
    assert [(f.label, f.value, f.unit, f.qualifier, f.year) for f in p.figures] == [
        ("利用者数", 1200, "人", "exact", 2024), ("作業時間の削減", 3, "割", "slightly_over", None)]
    assert [f.display for f in p.figures] == ["利用者数 1,200人（2024年度）", "作業時間の削減 3割強"]
    api = practices.add(uow, accounts["kitakata"], DOC | {"figures": [{"label": "削減率", "value": "30%",
                                                                       "fiscal_year": 2024}]}, now=NOW)
    assert api.as_dict()["figures"] == [{"label": "削減率", "value": 30.0, "unit": "%", "qualifier": "exact",
                                         "fiscal_year": 2024}]


def test_who_may_propose(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SignInRequired):
        practices.add(uow, PUBLIC, DOC, now=NOW)
    for who in ("ministry", "sapporo", "aizu"):        # aizu is not the practice's local government
        with pytest.raises(PermissionDenied):
            practices.add(uow, accounts[who], DOC, now=NOW)
    assert practices.add(uow, accounts["fukushima"], DOC, now=NOW).status == "submitted"   # its prefecture


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"title": ""}, "title", "事例の名称を入力してください"),
    ({"org_units": []}, "org_units", "実施団体（団体コード）を1つ以上入力してください"),
    ({"org_units": ["072088"]}, "org_units", "検査数字"),
    ({"org_units": ["999999"]}, "org_units", "実施団体1"),
    ({"field": "P9.9"}, "field", "分野が不明です"),
    ({"model_types": ["moon-base"]}, "model_types", "モデル地域の類型が不明です"),
    ({"measures": ["free-money"]}, "measures", "施策が不明です"),
    ({"fy_from": "令和99年度"}, "fy_from", "開始年度"),
    ({"fy_from": "2025", "fy_to": "2024"}, "fy_to", "終了年度が開始年度より前です"),
    ({"problem": "x\x00"}, "problem", "制御文字"),
    ({"solution": "あ" * 4001}, "solution", "4000文字以内"),
    ({"sources": [{"title": "t", "url": "javascript:alert(1)"}]}, "sources[0].url", "https://"),
    ({"figures": "利用者数"}, "figures[0].value", "項目名=値"),
    ({"figures": "利用者数=たくさん"}, "figures[0].value", "数値として読めません"),
    ({"figures": [{"label": "", "value": 3}]}, "figures[0].label", "項目名を入力してください"),
    ({"figures": "利用者数=3人@来年"}, "figures[0].fiscal_year", "年度"),
])
def test_bad_input_names_the_field_and_writes_nothing(uow: UnitOfWork, accounts, change, field, message) -> None:  # type: ignore[no-untyped-def]
    before = count(uow, Practice)
    with pytest.raises(InvalidInput) as e:
        practices.add(uow, accounts["kitakata"], DOC | change, now=NOW)
    assert e.value.field == field and message in e.value.message_ja
    assert count(uow, Practice) == before


def test_import_is_all_or_nothing_with_row_and_column(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    good = ("title,org_units,field,problem,solution,measures\n"
            "AI配車,072087,P4.3,足がない,乗合タクシー,transport-redesign\n"
            "空き家バンク,072087;072028,P2.1,空き家,オンライン内覧,\n")
    bad = good + "除雪,072087,P4.6,,GPS,\n"
    before = count(uow, Practice)
    with pytest.raises(InvalidInput) as e:
        practices.import_file(uow, accounts["admin"], "p.csv", bad.encode(), now=NOW)
    assert e.value.message_ja == "p.csv 4行目「problem」列: 課題を入力してください"
    assert count(uow, Practice) == before
    res = practices.import_file(uow, accounts["admin"], "p.csv", good.encode("cp932"), publish=True, now=NOW)
    assert len(res.created) == 2 and res.status == "published"
    p = practices.get(uow, PUBLIC, res.created[1])
    assert [c for c, *_ in p.org_units] == ["072028", "072087"]
    # a municipality may only import its own practices: the row says which
    with pytest.raises(PermissionDenied):
        practices.import_file(uow, accounts["sapporo"], "p.csv", good.encode(), now=NOW)
    with pytest.raises(PermissionDenied):      # publishing on import is the nation's
        practices.import_file(uow, accounts["kitakata"], "p.csv", good.encode(), publish=True, now=NOW)


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("p.txt", b"x", "CSV・JSON・YAML"),
    ("p.csv", b"title,org\nx,y\n", "必要な列がありません"),
    ("p.csv", b"title,org_units,problem,solution\n", "1件もありません"),
    ("p.json", b"{not json", "読み込めません"),
    ("p.yaml", b"practices: 3", "事例の一覧"),
    ("p.csv", b"\x00\x01\x02", "バイナリ"),
])
def test_unreadable_import_files(uow: UnitOfWork, accounts, name: str, raw: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as e:
        practices.import_file(uow, accounts["admin"], name, raw, now=NOW)
    assert message in e.value.message_ja


def test_yaml_import(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    raw = ("practices:\n  - title: 遠隔見守り\n    org_units: ['064033']\n    problem: 独居高齢者\n"
           "    solution: センサーによる見守り\n    sources: [{title: 町広報, url: 'https://example.jp/x'}]\n").encode()
    res = practices.import_file(uow, accounts["admin"], "p.yaml", raw, now=NOW)
    assert practices.get(uow, accounts["admin"], res.created[0]).sources == (("町広報", "https://example.jp/x"),)


def test_adoption_spread(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    p = practices.record_adoption(uow, accounts["kitakata"], "iide-gps-snow-removal", org_code="072087",
                                  fiscal_year="令和6年度", adaptation="除雪委託業者のスマホで位置を送信",
                                  result="問い合わせ 3割減", now=NOW)
    a = p.adoptions[0]
    assert (a.code, a.fiscal_year, a.recorded_by) == ("072087", 2024, "kitakata") and a.lat is not None
    again = practices.record_adoption(uow, accounts["admin"], "iide-gps-snow-removal", org_code="072087",
                                      fiscal_year="2025", now=NOW)
    assert len(again.adoptions) == 1 and again.adoptions[0].fiscal_year == 2025     # one record per pair
    with pytest.raises(PermissionDenied):
        practices.record_adoption(uow, accounts["aizu"], "iide-gps-snow-removal", org_code="072087",
                                  fiscal_year="2024", now=NOW)
    with pytest.raises(InvalidInput) as e:
        practices.record_adoption(uow, accounts["admin"], "iide-gps-snow-removal", org_code="064033",
                                  fiscal_year="2024", now=NOW)
    assert "実施団体自身" in e.value.message_ja
    with pytest.raises(InvalidInput):
        practices.record_adoption(uow, accounts["admin"], "iide-gps-snow-removal", org_code="072087",
                                  fiscal_year="", now=NOW)
    row = next(r for r in practices.list_practices(uow, PUBLIC, field="P4") if r.code == "iide-gps-snow-removal")
    assert row.adoptions == 1


def test_the_inbox_shows_practices_to_review_and_to_fix(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    from digiden.services.local.local_strategies import inbox
    p = practices.add(uow, accounts["kitakata"], DOC, now=NOW)
    nation = inbox(uow, accounts["admin"])
    assert [r.code for r in nation.practices] == [p.code] and nation.total >= 1
    assert nation.as_dict()["practices"][0]["title"] == DOC["title"]
    assert inbox(uow, accounts["kitakata"]).practices == ()       # submitted: nothing for it to do
    practices.review(uow, accounts["admin"], p.code, "return", "出典を追記してください", now=NOW)
    assert [r.code for r in inbox(uow, accounts["kitakata"]).practices] == [p.code]
    assert inbox(uow, accounts["admin"]).practices == ()
    assert inbox(uow, accounts["sapporo"]).practices == ()


def test_lists_show_each_principal_what_it_may_see_and_page_exactly(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    mine = [practices.add(uow, accounts["kitakata"], DOC | {"title": f"事例{i}"}, now=NOW).code for i in range(3)]
    for who, sees in (("kitakata", True), ("fukushima", True), ("admin", True), ("aizu", False),
                      ("sapporo", False), ("ministry", False)):
        codes = [r.code for r in practices.list_practices(uow, accounts[who])]
        assert (set(mine) <= set(codes)) is sees, who
        assert len(codes) == 12 + (3 if sees else 0)
    assert not set(mine) & {r.code for r in practices.list_practices(uow, PUBLIC)}
    whole = [r.code for r in practices.list_practices(uow, accounts["fukushima"], limit=15)]
    pages = [r.code for o in (0, 4, 8, 12) for r in practices.list_practices(uow, accounts["fukushima"], limit=4,
                                                                              offset=o)]
    assert pages == whole


def test_review_steps_follow_the_workflow_table(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    from digiden.domain.practice import Action, Status
    admin = accounts["admin"]
    p = practices.add(uow, accounts["kitakata"], DOC, submit=False, now=NOW)
    assert p.status is Status.DRAFT and p.as_dict()["status"] == "draft"
    assert practices.allowed(uow, admin, p.code).review_actions == (Action.PUBLISH,)
    assert practices.allowed(uow, accounts["kitakata"], p.code).review_actions == ()   # no reviewer
    for step in ("save", "submit", "archive"):      # the authors' steps are no review steps
        with pytest.raises(InvalidInput) as e:
            practices.review(uow, admin, p.code, step, "コメント", now=NOW)
        assert (e.value.message_ja, e.value.field) == (f"不明な操作です: {step}", "action")
    with pytest.raises(Conflict) as c:              # a draft is not under review: nothing to return
        practices.review(uow, admin, p.code, "return", "出典を追記してください", now=NOW)
    assert c.value.message_ja == "「下書き」の事例にはこの操作はできません"
    # the nation saves a submission as a draft: the table's (submitted, save) → draft
    submitted = practices.update(uow, accounts["kitakata"], p.code, DOC, expected_version=p.version, submit=True,
                                 now=NOW)
    assert practices.allowed(uow, admin, p.code).review_actions == (Action.PUBLISH, Action.RETURN)
    again = practices.update(uow, admin, p.code, DOC, expected_version=submitted.version, submit=False, now=NOW)
    assert again.status is Status.DRAFT
    published = practices.review(uow, admin, p.code, "publish", now=NOW)
    assert practices.allowed(uow, admin, p.code).review_actions == (Action.UNPUBLISH,)
    # a published practice the nation corrects stays published, whichever button saved it
    for submit in (False, True):
        published = practices.update(uow, admin, p.code, DOC | {"results": f"改訂{submit}"},
                                     expected_version=published.version, submit=submit, now=NOW)
        assert published.status is Status.PUBLISHED
    with pytest.raises(InvalidInput) as e:
        practices.list_practices(uow, admin, status="archived")
    assert e.value.message_ja == "不明な状態です: archived"
