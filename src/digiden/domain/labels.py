"""Japanese words for what machines record in English: audit actions, and who acted as the
public may see it. The keys stay as they are in the database and the API; pages show these."""

from __future__ import annotations

from collections.abc import Mapping

# One mapping for every audit action key the services record (services/*: ``audit.record``).
# An action that means different things for different entities is keyed "entity:action".
AUDIT_ACTIONS_JA: Mapping[str, str] = {
    "import.apply": "データの取込み",
    "import.revert": "取込みの取消し",
    "mapping.save": "取込み設定の保存",
    "observation.create": "実績値の登録",
    "observation.update": "実績値の更新",
    "observation.withdraw": "実績値の取下げ",
    "reference.load": "参照データの読込み",
    "catalogue.load": "施策カタログの読込み",
    "strategy.load": "国の総合戦略の読込み",
    "assign": "KPIの担当の割当て",
    "collaboration.create": "連携グループの作成",
    "practice.create": "優良事例の作成",
    "practice.update": "優良事例の更新",
    "practice.save": "優良事例の下書き保存",
    "practice.submit": "優良事例の審査への提出",
    "practice.publish": "優良事例の公開",
    "practice.return": "優良事例の差戻し",
    "practice.unpublish": "優良事例の公開取下げ",
    "practice.adopt": "優良事例の採用",
    "practice.import": "優良事例の一括取込み",
    "local_strategy:create": "地方版総合戦略の作成",
    "local_strategy:update": "地方版総合戦略の更新",
    "local_strategy:submit": "地方版総合戦略の提出",
    "local_strategy:approve": "地方版総合戦略の都道府県承認",
    "local_strategy:accept": "地方版総合戦略の国の受理",
    "local_strategy:return": "地方版総合戦略の差戻し",
    "local_strategy:reopen": "地方版総合戦略の再開（ロック解除）",
    "user:create": "利用者の登録",
    "user:disable": "利用者の無効化",
    "user:enable": "利用者の有効化",
    "user:lock": "利用者のロック",
    "user:sign_in": "サインイン",
    "user:sign_in_failed": "サインインの失敗",
    "user:sign_out": "サインアウト",
    "api_token:create": "APIトークンの発行",
    "api_token:revoke": "APIトークンの失効",
    "notification:read": "通知の既読",
    "programme.load": "支援制度の読込み",
    "selection.load": "公表された選定の読込み",
    "programme.create": "支援制度の登録",
    "call.create": "公募の登録",
    "call.rubric": "公募の評価基準の変更",
    "call.reviewer": "審査員の指名",
    "call.decide": "選定の決定",
    "call.publish": "選定結果の公表",
    "application.save": "申請の下書き保存",
    "application.confirm": "共同提案への参加確認",
    "application.submit": "申請の提出",
    "application.withdraw": "申請の取下げ",
    "review.conflict": "利益相反の申告",
    "review.score": "申請の採点",
    "selection.state": "選定地域の状態の変更",
    "application.attach": "申請への資料の添付",
    "application.detach": "申請の添付資料の削除",
    "evaluation.save": "選定地域の評価の下書き保存",
    "evaluation.submit": "選定地域の評価の提出",
    "consult.ask": "相談の受付",
    "consult.note": "相談への内部メモ",
    "consult.reply": "相談への回答・返信",
    "consult.resolve": "相談の解決",
    "consult.close": "相談の終了",
    "consult.reopen": "相談の再開",
    "consult.reassign": "相談の担当替え",
    "consult.share": "相談の他の窓口への共有",
    "consult.escalate": "相談の国の窓口への引上げ",
    "consult.merge": "重複した相談の統合",
    "consult.overdue": "相談の期限超過（自動の引上げ）",
    "consult.faq_draft": "よくある質問の下書き",
    "consult.faq_edit": "よくある質問の編集",
    "consult.faq_submit": "よくある質問の確認依頼",
    "consult.faq_publish": "よくある質問の公開",
    "consult.faq_return": "よくある質問の差戻し",
    "consult.faq_withdraw": "よくある質問の公開取下げ",
    "consult.plan_start": "伴走支援計画の開始",
    "consult.plan_staff": "伴走支援の担当者の割当て",
    "consult.plan_goal": "伴走支援の目標の追加",
    "consult.plan_goal_set": "伴走支援の目標の更新",
    "consult.plan_meeting": "伴走支援の打合せの記録",
    "consult.plan_action": "伴走支援の対応事項の追加",
    "consult.plan_action_set": "伴走支援の対応事項の更新",
    "consult.area_confirm": "地方支分部局の管轄の確認",
    "consult.office_add": "相談窓口の追加",
    "consult.office_contact": "相談窓口の連絡先の変更",
    "consult.responder_set": "相談窓口の担当者の設定",
    "consult.rule_add": "相談の振り分けルールの追加",
    "consult.rule_delete": "相談の振り分けルールの削除",
    "consult.level_set": "相談の目標処理期間の設定",
    "consult_office:reference.load": "地方支分部局（相談窓口）の読込み",
    "consult_notice:read": "相談の通知の既読",
    "consult_stat:rebuild": "相談窓口の集計の再計算",
}


def audit_action_ja(action: str, entity: str = "") -> str:
    """The Japanese label of an audit action key (the key itself if none is known, so that a
    new action still shows something true rather than nothing)."""
    return AUDIT_ACTIONS_JA.get(f"{entity}:{action}") or AUDIT_ACTIONS_JA.get(action) or action


# Who the public sees instead of an operator's login at the command line.
SYSTEM_ACTOR_JA = "デジタル庁（システム管理者）"
NATION_ACTOR_JA = "デジタル庁（国の担当者）"
MINISTRY_ACTOR_JA = "府省の担当者"
UNKNOWN_ACTOR_JA = "登録者"
