"""`digiden demo`: SYNTHETIC accounts and local strategies to click through the whole cycle.

Never run by default. Every account and strategy it creates is marked synthetic and shown as
合成データ in the app. The strategies are plausible but invented: the municipalities are real
(they appear in the national strategy's case studies), their plans here are not theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from digiden.domain.access import Principal
from digiden.domain.calendar import fiscal_year, japan_date
from digiden.domain.errors import Conflict
from digiden.services.consult import cases as consult_cases
from digiden.services.consult import faq as consult_faq
from digiden.services.consult import offices as consult_offices
from digiden.services.consult import plans as consult_plans
from digiden.services.knowledge import practices, similarity
from digiden.services.local import accounts, local_strategies
from digiden.services.support import applications as support_apps
from digiden.services.support import attachments as support_attachments
from digiden.services.support import evaluations as support_evaluations
from digiden.services.support import programmes as support_programmes
from digiden.services.support import review as support_review
from digiden.services.support import selection as support_selection
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultRule
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
    of 喜多方市 waiting for review, 喜多方市's adoption of 飯豊町's GPS除雪, a collaboration group;
    and a 交付金 call (合成データ) with four applications, one of them joint, reviewed (山形県's
    reviewer conflicted with 飯豊町's), decided on the optimal proposal and published, the joint
    one with an attached PDF and, as a selected region, its submitted self and national
    assessments of the fiscal year of its selection (actual values, so its page shows progress); and the
    consultation desk (相談窓口): demo-soumu answers for 東北総合通信局, five consultations in each
    state (one overdue against its service level, one with an internal note and an attachment), a
    published FAQ entry made from the resolved one, and a support plan (伴走型支援) for 会津若松市
    with staff, a goal, a meeting and an action item."""
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
    call, region = _support_call(uow, p, step)
    desk = _consultations(uow, p, now, step)
    return {"password": PASSWORD, "users": made, "synthetic": True, "calls": [call], "region": region, **desk,
            "practices": [practice.code], "adoptions": [{"practice": "iide-gps-snow-removal", "org_unit": "072087"}],
            "groups": [group.id],
            "strategies": [{"org_unit": "072028", "revisions": [1, 2]}, {"org_unit": "072087", "revisions": [1]},
                           {"org_unit": "064033", "revisions": [1]}]}


DEMO_CRITERIA = [
    {"code": "vision", "name": "地域ビジョン・総合戦略との整合", "weight": 40, "max_points": 5},
    {"code": "feasibility", "name": "実現可能性・持続性", "weight": 30, "max_points": 5},
    {"code": "collaboration", "name": "地域間連携", "weight": 30, "max_points": 5, "regional_collaboration": True},
]


def demo_pdf() -> bytes:
    """A tiny valid PDF (one A4 page saying it is synthetic), made here rather than shipped: the
    demo's attached file (合成データ). Offsets in the cross-reference table are computed, so PDF
    readers open it without repairing it."""
    text = b"BT /F1 14 Tf 72 770 Td (digiden demo - synthetic data / goseidata) Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
               b"/Contents 5 0 R >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text)]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _support_call(uow: UnitOfWork, p: dict[str, Principal], step: Callable[[int], datetime]) -> tuple[int, str]:
    """A closed call of the 交付金 with synthetic applications (each titled and marked 合成データ),
    its review and its published decision, so a newcomer can click from the call to the 採択結果
    and the selected regions. The round is the programme's next one: no historical round is
    invented, and a real call an administrator entered is never touched. The joint application
    carries a synthetic PDF, and once selected, its region's self and national assessments of the
    year of its selection are submitted with actual values. Returns the call and that region's key."""
    prog = "digital-garden-city-grant"
    rounds = [c.round for c in support_programmes.list_calls(uow, programme=prog, now=step(0))]
    admin = p["demo-admin"]
    call = support_programmes.create_call(uow, admin, prog, {
        "round": max(rounds, default=0) + 1, "title": "（合成データ）デジタル実装タイプ デモ公募",
        "opens_at": step(0).isoformat(), "closes_at": step(25).isoformat(), "budget": 100_000_000,
        "per_application_cap": 60_000_000, "joint_allowed": True, "joint_bonus": 5, "synthetic": True,
        "criteria": DEMO_CRITERIA}, now=step(0)).id
    apps = support_apps

    def apply(who: str, doc: dict[str, Any], day: int) -> int:
        return apps.save_draft(uow, p[who], call, doc | {"synthetic": True}, now=step(day)).id

    joint = apply("demo-aizuwakamatsu", {
        "title": "（合成データ）会津北部 除雪・見守りデータ連携", "members": ["072087"], "requested_amount": 50_000_000,
        "summary": "（合成データ）会津若松市と喜多方市が除雪車の位置情報と高齢者見守りのデータを共同で運用する。",
        "measures": [{"title": "（合成データ）除雪車位置情報の共同運用", "digital": True}],
        "kpis": [{"name": "（合成データ）除雪状況の問い合わせ件数", "unit": "件", "baseline": 1200, "target": 600,
                  "target_fy": 2028, "national_kpi": "digital-implementation"}]}, 1)
    support_attachments.add(uow, p["demo-aizuwakamatsu"], joint, [
        support_attachments.Upload("合成データ_事業計画書.pdf", demo_pdf())], now=step(1))
    apps.confirm_membership(uow, p["demo-kitakata"], joint, now=step(2))
    apps.submit(uow, p["demo-aizuwakamatsu"], joint, now=step(3))
    kura = apply("demo-kitakata", {"title": "（合成データ）空き蔵サテライトオフィスの予約・決済",
                                   "requested_amount": 40_000_000,
                                   "measures": [{"title": "（合成データ）予約・決済システム", "digital": True}]}, 4)
    apps.submit(uow, p["demo-kitakata"], kura, now=step(5))
    snow = apply("demo-iide", {"title": "（合成データ）GPS除雪管理の町内全域への拡大", "requested_amount": 30_000_000,
                               "measures": [{"title": "（合成データ）GPS除雪管理システム", "digital": True}]}, 6)
    apps.submit(uow, p["demo-iide"], snow, now=step(7))
    farm = apply("demo-iide", {"title": "（合成データ）中山間地のスマート農業", "requested_amount": 45_000_000,
                               "measures": [{"title": "（合成データ）自動水管理", "digital": True}]}, 8)
    apps.submit(uow, p["demo-iide"], farm, now=step(9))
    # the review: 総務省's reviewer scores all four; 山形県's is conflicted with 飯豊町's two
    for reviewer in ("demo-soumu", "demo-yamagata"):
        support_review.assign_reviewer(uow, admin, call, reviewer, now=step(10))
    scores = {"demo-soumu": {joint: (4, 4, 5), kura: (4, 3, 1), snow: (5, 4, 2), farm: (3, 3, 1)},
              "demo-yamagata": {joint: (3, 4, 4), kura: (4, 4, 1)}}
    for reviewer, marks in scores.items():
        for app_id, (v, f, c) in marks.items():
            support_review.score(uow, p[reviewer], app_id, {"vision": v, "feasibility": f, "collaboration": c},
                                 {"vision": "（合成データ）総合戦略との関係が明確"}, now=step(26))
    support_selection.decide(uow, admin, call, {"every_prefecture": True}, now=step(27))
    support_selection.publish(uow, admin, call, now=step(28))
    # the region's first year: the fiscal year of its selection, judged with the national KPIs' method
    region = support_evaluations.get_region(uow, admin, f"{prog}:call{call}:app{joint}")
    fy = fiscal_year(region.selected_on)
    support_evaluations.save(uow, p["demo-aizuwakamatsu"], region.key, fy, "self", {
        "summary": "（合成データ）除雪車の位置情報を公開し、問い合わせは計画どおり減っている。", "rating": "B",
        "values": [{"index": 0, "actual": 960, "note": "（合成データ）両市の窓口の記録の合計"}]},
        now=step(29), version=0, submit_too=True)
    support_evaluations.save(uow, admin, region.key, fy, "national", {
        "summary": "（合成データ）減少は見られるが、目標の達成には見守りデータの連携を早める必要がある。",
        "rating": "C", "values": [{"index": 0, "actual": 1000, "note": "（合成データ）国の調査による値"}]},
        now=step(29), version=0, submit_too=True)
    return call, region.key


TOHOKU = "東北総合通信局"   # covers 福島県 and 山形県, where the demo's askers are


def _soumu_measure(uow: UnitOfWork) -> list[str]:
    """A measure the desk routes to 総務省 through its 総合通信局 (db init's default rules), so the
    demo's questions reach 東北総合通信局; none (the national desk receives them) without one."""
    with uow:
        code = uow.session.scalars(select(ConsultRule.measure_code).where(
            ConsultRule.ministry == "総務省", ConsultRule.family == "総合通信局", ConsultRule.measure_code.is_not(None))
            .order_by(ConsultRule.id)).first()
    return [code] if code else []


def _consultations(uow: UnitOfWork, p: dict[str, Principal], now: datetime,
                   step: Callable[[int], datetime]) -> dict[str, Any]:
    """The consultation desk with synthetic consultations (subject and text marked 合成データ) in
    every state: 受付 at the national desk, 担当決定 and overdue (an internal note and an attachment,
    no answer yet), 回答済, 解決 (its answer published as an FAQ entry, reviewed by the desk, not
    its author) and 終了; and a support plan with staff, a goal, a meeting and an action item.
    demo-soumu answers for 東北総合通信局; demo-admin is the national desk."""
    admin, soumu = p["demo-admin"], p["demo-soumu"]
    aizu, kitakata, iide = p["demo-aizuwakamatsu"], p["demo-kitakata"], p["demo-iide"]
    consult_offices.add_responder(uow, admin, TOHOKU, "demo-soumu", lead=True, now=step(0))
    measures = _soumu_measure(uow)
    ask, reply = consult_cases.ask, consult_cases.reply

    # 解決: answered by 東北総合通信局, resolved by the asker, turned into a published FAQ entry
    resolved = ask(uow, aizu, subject="（合成データ）ローカル5Gの実証で使える補助制度",
                   body="（合成データ）庁内でローカル5Gを使った遠隔見守りの実証を検討しています。"
                        "使える補助制度と申請の時期を教えてください。",
                   kind="programme", measures=measures, now=step(3), synthetic=True)
    reply(uow, soumu, resolved, "（合成データ）地域デジタル基盤活用推進事業が対象になります。公募は例年春です。"
                                "申請前に当局へご相談いただければ、要件を一緒に確認します。", now=step(4))
    consult_cases.resolve(uow, aizu, resolved, comment="（合成データ）よく分かりました。", now=step(5))
    entry = consult_faq.draft_from_case(uow, soumu, resolved, now=step(6))
    consult_faq.act(uow, soumu, entry, "submit", now=step(6))
    consult_faq.act(uow, admin, entry, "publish", now=step(7))

    # 終了: no rule covers it, so the national desk answers; the asker resolves and closes it
    closed = ask(uow, iide, subject="（合成データ）オンライン申請の本人確認の方法",
                 body="（合成データ）町のオンライン申請で本人確認をどこまで求めるべきか、考え方を知りたいです。",
                 kind="legal", now=step(8), synthetic=True)
    reply(uow, admin, closed, "（合成データ）手続ごとに求める保証レベルを決め、ガイドラインに沿って選んでください。",
          now=step(9))
    consult_cases.resolve(uow, iide, closed, now=step(10))
    consult_cases.close(uow, iide, closed, comment="（合成データ）解決したため終了します。", now=step(11))

    # 担当決定 and overdue: routed to 東北総合通信局, an internal note and an attachment, no answer
    overdue = ask(uow, aizu, subject="（合成データ）データ連携基盤の通信回線の冗長化",
                  body="（合成データ）都市OSの通信回線を二重化したいのですが、技術的な留意点と使える支援を"
                       "教えてください。",
                  kind="data", measures=measures, now=step(20), synthetic=True,
                  attachments=[consult_cases.Attachment("合成データ_回線構成.txt",
                                                        "（合成データ）現行: 1回線（光）\n".encode())])
    reply(uow, soumu, overdue, "（合成データ）内部メモ: 電気通信事業部に技術面を照会中。", note=True, now=step(21))

    # 回答済: answered yesterday, waiting for the asker
    answered = ask(uow, kitakata, subject="（合成データ）公衆無線LANの整備費の対象経費",
                   body="（合成データ）観光地の公衆無線LANを更新します。保守費は補助の対象になりますか。",
                   kind="programme", measures=measures, now=now - timedelta(days=2), synthetic=True)
    reply(uow, soumu, answered, "（合成データ）整備費は対象ですが、保守・運用費は対象外です。",
          now=now - timedelta(days=1))

    # 受付: just arrived at the national desk, no rule for it yet
    received = ask(uow, iide, subject="（合成データ）除雪車の位置情報の公開について",
                   body="（合成データ）除雪車の位置情報を住民に公開したいと考えています。どこに相談すればよいですか。",
                   now=now - timedelta(hours=3), synthetic=True)

    # 伴走型支援: a plan for 会津若松市 with its staff, a goal, a meeting and an action item
    starts = japan_date(step(12))
    plan = consult_plans.start(uow, admin, org_code="072028", title="（合成データ）データ連携基盤の活用の伴走支援",
                               origin="request", starts_on=starts, now=step(12), synthetic=True)
    consult_plans.assign_staff(uow, admin, plan, "demo-soumu", side="regional", office=TOHOKU,
                               role_note="（合成データ）地域の担当", now=step(12))
    consult_plans.add_goal(uow, admin, plan, title="（合成データ）市民向けサービスへのデータ連携の拡大",
                           measure=measures[0] if measures else None, kpi="digital-implementation",
                           local_measure="都市OS（データ連携基盤）の運用", local_kpi="デジタル地域通貨の利用者数",
                           now=step(12))
    meeting = consult_plans.add_meeting(uow, soumu, plan, held_on=starts + timedelta(days=7),
                                        title="（合成データ）第1回 伴走支援会議",
                                        minutes="（合成データ）現状の連携データと課題を共有した。", now=step(19))
    consult_plans.add_action(uow, aizu, plan, title="（合成データ）連携するデータの候補を整理する",
                             owner="（合成データ）企画政策課", due_on=starts + timedelta(days=40), meeting_id=meeting,
                             now=step(19))
    return {"consultations": {"received": received, "assigned": overdue, "answered": answered,
                              "resolved": resolved, "closed": closed},
            "consultation": overdue, "plan": plan, "faq": entry}
