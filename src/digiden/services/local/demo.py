"""`digiden demo`: SYNTHETIC accounts and local strategies to click through the whole cycle.

Never run by default. Every account and strategy it creates is marked synthetic and shown as
合成データ in the app. The strategies are plausible but invented: the municipalities are real
(they appear in the national strategy's case studies), their plans here are not theirs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from digiden.domain.access import Principal
from digiden.domain.errors import Conflict
from digiden.services.knowledge import practices, similarity
from digiden.services.local import accounts, local_strategies
from digiden.services.uow import UnitOfWork
from digiden.store.models import UserAccount

PASSWORD = "digiden-demo-2026"

USERS = (
    ("demo-admin", "national_admin", "", "", "デモ 国の管理者"),
    ("demo-soumu", "ministry_editor", "", "総務省", "デモ 総務省 担当者"),
    ("demo-fukushima", "prefecture_staff", "070009", "", "デモ 福島県 担当者"),
    ("demo-aizuwakamatsu", "municipality_staff", "072028", "", "デモ 会津若松市 担当者"),
    ("demo-kitakata", "municipality_staff", "072087", "", "デモ 喜多方市 担当者"),
    ("demo-yamagata", "prefecture_staff", "060003", "", "デモ 山形県 担当者"),
    ("demo-iide", "municipality_staff", "064033", "", "デモ 飯豊町 担当者"),
)


def _aizu(rev: int) -> dict[str, Any]:
    measures = [
        {"title": "都市OS（データ連携基盤）の運用", "field": "F1.3", "kind": "other", "digital": True,
         "state": "in_place", "start_year": "令和4年度", "support": "digiden_grant",
         "description": "（合成データ）行政・民間のデータを連携し、オプトインで市民向けサービスに活用する。"},
        {"title": "ICTオフィスを核としたサテライトオフィス誘致", "field": "P2.1", "kind": "satellite_office",
         "digital": False, "state": "in_place", "start_year": "2019年度", "support": "other_grant",
         "description": "（合成データ）首都圏企業の機能移転の受け皿を整備する。"},
        {"title": "企業版ふるさと納税によるデジタル人材育成", "field": "F2", "kind": "corporate_furusato_nozei",
         "digital": False, "state": "ended", "start_year": "R3", "support": ""},
    ]
    if rev > 1:
        measures.append({"title": "AIオンデマンド交通の実証", "field": "P4.3", "kind": "new_mobility", "digital": True,
                         "state": "planned", "start_year": "令和6年度", "support": "digiden_grant"})
    return {
        "title": "会津若松市 デジタル田園都市国家構想総合戦略（デモ）",
        "fiscal_year": "令和5年度" if rev == 1 else "令和6年度",
        "vision": "（合成データ）データとデジタルで市民の暮らしを便利にする「スマートシティ会津若松」",
        "model_types": ["smart-city", "super-city"],
        "issues": [{"field": "P4.2", "text": "（合成データ）医療・介護の担い手不足"},
                   {"field": "P2.5", "text": "（合成データ）若者の首都圏への流出"}],
        "measures": measures,
        "kpis": [{"name": "デジタル地域通貨の利用者数", "unit": "人", "baseline": "3,000", "baseline_year": "2022年度",
                  "target": "1万" if rev == 1 else "1.5万", "target_year": "2027年度",
                  "actual": "4,200", "actual_year": "令和5年度", "national_kpi": "digital-implementation",
                  "pillar": "P1.2"}],
    }


def _kitakata() -> dict[str, Any]:
    return {
        "title": "喜多方市 まち・ひと・しごと デジタル田園都市戦略（デモ）", "fiscal_year": "令和6年度",
        "vision": "（合成データ）蔵のまちの空き蔵を活かし、転職なき移住を呼び込む", "model_types": [],
        "issues": [{"field": "P2.1", "text": "（合成データ）空き蔵・空き家の増加"}],
        "measures": [{"title": "空き蔵を活用したサテライトオフィス", "field": "P2.1", "kind": "satellite_office",
                      "digital": True, "state": "in_place", "start_year": "令和4年度", "support": "digiden_grant"}],
        "kpis": [{"name": "サテライトオフィス進出企業数", "unit": "社", "baseline": "2", "baseline_year": "R4",
                  "target": "10", "target_year": "R9", "national_kpi": "satellite-offices"}],
    }


def _iide() -> dict[str, Any]:
    return {
        "title": "飯豊町 デジタル田園都市国家構想総合戦略（デモ）", "fiscal_year": "令和6年度",
        "vision": "（合成データ）豪雪地でも安心して暮らせる町", "model_types": ["dejikatsu-chusankan"],
        "issues": [{"field": "P4.6", "text": "（合成データ）除雪の担い手不足"}],
        "measures": [{"title": "GPS除雪管理システム", "field": "P4.6", "kind": "other", "digital": True,
                      "state": "in_place", "start_year": "令和3年度", "support": "digiden_grant"}],
        "kpis": [],
    }


def create_demo(uow: UnitOfWork, actor: Principal, *, now: datetime) -> dict[str, Any]:
    """Accounts for every role and four strategies at different points of the cycle:
    会津若松市 revision 1 accepted and revision 2 submitted (a diff to look at), 喜多方市
    submitted (waiting for 福島県), 飯豊町 approved by 山形県 (waiting for the nation); a practice
    of 喜多方市 waiting for review, 喜多方市's adoption of 飯豊町's GPS除雪, and a collaboration group."""
    with uow:
        if uow.session.scalars(select(UserAccount.id).where(UserAccount.username == "demo-admin")).first():
            raise Conflict("the demo data exists already", message_ja="デモデータは作成済みです")
    made = []
    for name, role, org, ministry, shown in USERS:
        u = accounts.create_user(uow, actor, username=name, password=PASSWORD, role=role, org_unit=org,
                                 ministry=ministry, display_name=shown, now=now, synthetic=True)
        made.append({"username": u.username, "role": u.role.value, "role_ja": u.role.label_ja,
                     "belongs_to": u.org_name or u.ministry})
    p = {name: accounts.user_principal(uow, name) for name, *_ in USERS}
    t = now - timedelta(days=30)

    def step(days: int) -> datetime:
        return t + timedelta(days=days)

    ls = local_strategies
    ls.save(uow, p["demo-aizuwakamatsu"], "072028", _aizu(1), now=step(0), synthetic=True)
    ls.act(uow, p["demo-aizuwakamatsu"], "072028", 1, "submit", now=step(1))
    ls.act(uow, p["demo-fukushima"], "072028", 1, "return", now=step(2),
           comment="（合成データ）KPIの基準年度を記入してください。")
    ls.act(uow, p["demo-aizuwakamatsu"], "072028", 1, "submit", now=step(3))
    ls.act(uow, p["demo-fukushima"], "072028", 1, "approve", now=step(4))
    ls.act(uow, p["demo-admin"], "072028", 1, "accept", now=step(5))
    ls.save(uow, p["demo-aizuwakamatsu"], "072028", _aizu(2), now=step(10), synthetic=True)
    ls.act(uow, p["demo-aizuwakamatsu"], "072028", 2, "submit", now=step(11))
    ls.save(uow, p["demo-kitakata"], "072087", _kitakata(), now=step(12), synthetic=True)
    ls.act(uow, p["demo-kitakata"], "072087", 1, "submit", now=step(13))
    ls.save(uow, p["demo-iide"], "064033", _iide(), now=step(14), synthetic=True)
    ls.act(uow, p["demo-iide"], "064033", 1, "submit", now=step(15))
    ls.act(uow, p["demo-yamagata"], "064033", 1, "approve", now=step(16))
    # the knowledge side: a practice waiting for the nation's review, a 横展開, a collaboration group
    practice = practices.add(uow, p["demo-kitakata"], {
        "title": "（合成データ）蔵めぐり観光のデジタルスタンプラリー", "org_units": ["072087"], "field": "P1.4",
        "model_types": ["tourism-dx"], "problem": "（合成データ）観光客が中心部の数か所に集中し、滞在時間が短い",
        "solution": "（合成データ）スマートフォンのスタンプラリーで郊外の蔵へ誘導し、混雑状況も表示する",
        "results": "（合成データ）周遊した蔵の数が1人平均2.1か所から3.4か所に", "fy_from": "令和5年度",
        "measures": ["tourism-dx"]}, now=step(17))
    practices.record_adoption(uow, p["demo-kitakata"], "iide-gps-snow-removal", org_code="072087",
                              fiscal_year="令和6年度",
                              adaptation="（合成データ）除雪委託業者のスマートフォンで位置を送信",
                              result="（合成データ）除雪状況の問い合わせが減った", now=step(18))
    group = similarity.save_group(uow, p["demo-aizuwakamatsu"], {
        "name": "（合成データ）会津北部の除雪DX連携", "members": ["072028", "072087"], "issue": "disaster",
        "initiatives": ["（合成データ）除雪車位置情報の共同運用", "（合成データ）除雪委託の共同調達"]}, now=step(19))
    return {"password": PASSWORD, "users": made, "synthetic": True,
            "practices": [practice.code], "adoptions": [{"practice": "iide-gps-snow-removal", "org_unit": "072087"}],
            "groups": [group.id],
            "strategies": [{"org_unit": "072028", "revisions": [1, 2]}, {"org_unit": "072087", "revisions": [1]},
                           {"org_unit": "064033", "revisions": [1]}]}
