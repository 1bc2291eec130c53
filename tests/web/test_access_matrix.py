"""Every endpoint × every role: allowed or refused, on both databases.

Refused means 401/403/404 (or, for a page, a redirect to the sign-in page) and never the data.
"Allowed" means the access check let the request through: the answer may still be 409/422 when
the input itself is wrong. The inventory test fails when an endpoint is added without a row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from digiden.domain.access import system
from digiden.services.local import accounts as acc
from digiden.services.local import local_strategies as ls
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW as NOW
from tests.conftest import PASSWORD

pytestmark = pytest.mark.sqlite_only   # access decisions; the PostgreSQL copy of each router: test_postgres_smoke.py

FIX = Path(__file__).resolve().parents[1] / "fixtures"
ROLES = ("public", "admin", "ministry", "fukushima", "aizu", "kitakata", "sapporo")
ALL = frozenset(ROLES)
STAFF = ALL - {"public"}
ADMIN = frozenset({"admin"})
IMPORTERS = frozenset({"admin", "ministry"})
OWNER = frozenset({"admin", "aizu"})          # 会津若松市's unpublished draft: itself and the nation
INBOX = frozenset({"admin", "fukushima", "aizu", "kitakata", "sapporo"})
NOBODY: frozenset[str] = frozenset()
LOCAL_STAFF = frozenset({"admin", "fukushima", "aizu", "kitakata", "sapporo"})
AIZU_AND_PREF = frozenset({"admin", "fukushima", "aizu"})   # a 会津若松市 practice: itself, 福島県, the nation
ADOPTERS = frozenset({"admin", "fukushima", "kitakata"})     # 喜多方市 adopting: itself, 福島県, the nation
GROUP = frozenset({"admin", "fukushima", "aizu", "kitakata"})  # a group of 会津若松市 and 喜多方市
PRACTICE = {"title": "オンライン窓口", "org_units": ["072028"], "problem": "来庁の負担", "solution": "オンライン申請"}
PRACTICE_CSV = "title,org_units,problem,solution\nオンライン窓口,072028,来庁の負担,オンライン申請\n".encode()
GROUP_IN = {"name": "会津の連携", "members": ["072028", "072087"], "issue": "mobility"}

# 重点支援 (issue 14): an open call (aizu's draft, aizu's joint draft with 喜多方市, sapporo's submitted
# application with ministry as reviewer) and a closed call decided and published (喜多方市 selected)
APPLICANT = frozenset({"admin", "aizu"})                 # 会津若松市's draft: itself and the nation
SUBMITTED = frozenset({"admin", "sapporo", "ministry"})   # 札幌市's submitted one: itself, the nation, the reviewer
REVIEWER = frozenset({"ministry"})
REGION = frozenset({"kitakata"})                          # the selected region's own staff (its self-assessment)
CALL_IN = {"round": 3, "title": "合成データ: 行列の公募", "opens_at": "2026-11-28", "closes_at": "2026-12-20",
           "budget": 50_000_000, "criteria": [{"code": "vision", "name": "整合", "weight": 100, "max_points": 5}]}
APP_IN = {"title": "合成データ: 申請", "lead": "072028", "requested_amount": 1_000_000}

STRATEGY = {"title": "会津若松市 戦略", "fiscal_year": "令和6年度", "measures": [{"title": "x", "digital": True}]}

# 相談窓口 (issue 15): 会津若松市's consultation routed to 東北総合通信局 (ministry answers for it),
# a duplicate to merge, an FAQ draft by ministry, a support plan for 会津若松市
CASE_SEEN = frozenset({"admin", "ministry", "fukushima", "aizu"})   # asker, its prefecture, office, desk
CASE_WRITERS = frozenset({"admin", "ministry", "aizu"})              # the prefecture follows, never writes
RESPONDERS = frozenset({"admin", "ministry"})
PLAN_SEEN = frozenset({"admin", "fukushima", "aizu"})
PLAN_WRITERS = frozenset({"admin", "aizu"})
ASKERS = frozenset({"fukushima", "aizu", "kitakata", "sapporo"})   # the desk files one with ?org_unit=
DESK_INBOX = INBOX | {"ministry"}   # ministry answers for 東北総合通信局: the desk's notices reach its inbox
CASE_IN = {"subject": "合成データ: 補助の対象", "body": "対象になりますか。", "kind": "programme"}

# (method, route, concrete path, request kwargs, roles allowed). Reads first, destructive last.
CASES: list[tuple[str, str, str, dict[str, Any], frozenset[str]]] = [
    ("GET", "/", "/", {}, ALL),
    ("GET", "/kpis", "/kpis", {}, ALL),
    ("GET", "/kpis/{code}", "/kpis/digital-implementation", {}, ALL),
    ("GET", "/kpis/{code}/local", "/kpis/digital-implementation/local", {}, ALL),
    ("GET", "/strategy", "/strategy", {}, ALL),
    ("GET", "/local-governments", "/local-governments", {}, ALL),
    ("GET", "/local-governments/{code}", "/local-governments/072028", {}, ALL),
    ("GET", "/map", "/map", {}, ALL),
    ("GET", "/about", "/about", {}, ALL),
    ("GET", "/validation", "/validation", {}, ALL),
    ("GET", "/export", "/export", {}, ALL),
    ("GET", "/export/download", "/export/download", {}, ALL),
    ("GET", "/coverage", "/coverage", {}, ALL),
    ("GET", "/local-strategies", "/local-strategies", {}, ALL),
    ("GET", "/local-governments/{code}/strategy", "/local-governments/072087/strategy", {}, ALL),
    ("GET", "/local-governments/{code}/strategy", "/local-governments/072028/strategy", {}, OWNER),
    ("GET", "/local-governments/{code}/strategy", "/local-governments/072028/strategy?revision=1", {}, OWNER),
    ("GET", "/local-governments/{code}/strategy/edit", "/local-governments/072028/strategy/edit", {}, OWNER),
    ("GET", "/local-governments/{code}/strategy/diff", "/local-governments/072028/strategy/diff?a=1&b=1", {},
     OWNER),
    ("GET", "/observations/new", "/observations/new", {}, IMPORTERS),
    ("GET", "/imports", "/imports", {}, IMPORTERS),
    ("GET", "/imports/jobs/{job_id}", "/imports/jobs/0123456789abcdef", {}, NOBODY),
    ("GET", "/api/v1/imports/jobs/{job_id}", "/api/v1/imports/jobs/0123456789abcdef", {}, NOBODY),
    ("GET", "/batches/{batch_id}", "/batches/1", {}, STAFF),
    ("GET", "/audit", "/audit", {}, STAFF),
    ("GET", "/inbox", "/inbox", {}, STAFF),
    ("GET", "/admin/users", "/admin/users", {}, ADMIN),
    ("GET", "/login", "/login", {}, ALL),
    ("GET", "/docs", "/docs", {}, ALL),
    ("GET", "/openapi.json", "/openapi.json", {}, ALL),
    ("GET", "/api/v1/me", "/api/v1/me", {}, ALL),
    ("GET", "/api/v1/strategies", "/api/v1/strategies", {}, ALL),
    ("GET", "/api/v1/strategies/{code}", "/api/v1/strategies/national-fy2023", {}, ALL),
    ("GET", "/api/v1/areas", "/api/v1/areas", {}, ALL),
    ("GET", "/api/v1/kpis", "/api/v1/kpis", {}, ALL),
    ("GET", "/api/v1/kpis/{code}", "/api/v1/kpis/digital-implementation", {}, ALL),
    ("GET", "/api/v1/kpis/{code}/local-facts", "/api/v1/kpis/digital-implementation/local-facts", {}, ALL),
    ("GET", "/api/v1/observations", "/api/v1/observations?kpi=digital-implementation", {}, ALL),
    ("GET", "/api/v1/local-governments", "/api/v1/local-governments?q=会津", {}, ALL),
    ("GET", "/api/v1/local-governments/{code}", "/api/v1/local-governments/072028", {}, ALL),
    ("GET", "/api/v1/validation", "/api/v1/validation", {}, ALL),
    ("GET", "/api/v1/export", "/api/v1/export", {}, ALL),
    ("GET", "/api/v1/coverage", "/api/v1/coverage", {}, ALL),
    ("GET", "/api/v1/local-strategies", "/api/v1/local-strategies", {}, ALL),
    ("GET", "/api/v1/local-strategies/{code}", "/api/v1/local-strategies/072087", {}, ALL),
    ("GET", "/api/v1/local-strategies/{code}", "/api/v1/local-strategies/072028", {}, OWNER),
    ("GET", "/api/v1/local-strategies/{code}/diff", "/api/v1/local-strategies/072028/diff?a=1&b=1", {}, OWNER),
    ("GET", "/api/v1/audit", "/api/v1/audit", {}, STAFF),
    ("GET", "/api/v1/batches", "/api/v1/batches", {}, STAFF),
    ("GET", "/api/v1/batches/{batch_id}", "/api/v1/batches/1", {}, STAFF),
    ("GET", "/api/v1/mappings", "/api/v1/mappings", {}, STAFF),
    ("GET", "/api/v1/inbox", "/api/v1/inbox", {}, STAFF),
    ("GET", "/api/v1/users", "/api/v1/users", {}, ADMIN),
    ("GET", "/search", "/search?q=子育て", {}, ALL),
    ("GET", "/api/v1/search", "/api/v1/search?q=子育て", {}, ALL),
    ("GET", "/measures", "/measures?problem=mobility", {}, ALL),
    ("GET", "/measures/{code}", "/measures/transport-redesign", {}, ALL),
    ("GET", "/roadmap", "/roadmap", {}, ALL),
    ("GET", "/menubook", "/menubook?pillar=P4", {}, ALL),
    ("GET", "/menubook.pdf", "/menubook.pdf?pillar=F3", {}, ALL),
    ("GET", "/api/v1/menubook.pdf", "/api/v1/menubook.pdf?pillar=F3", {}, ALL),
    ("GET", "/api/v1/problems", "/api/v1/problems", {}, ALL),
    ("GET", "/api/v1/measures", "/api/v1/measures", {}, ALL),
    ("GET", "/api/v1/measures/{code}", "/api/v1/measures/transport-redesign", {}, ALL),
    ("GET", "/api/v1/roadmap", "/api/v1/roadmap?by=ministry", {}, ALL),
    ("GET", "/practices", "/practices", {}, ALL),
    ("GET", "/practices/{code}", "/practices/aict-aizuwakamatsu", {}, ALL),
    ("GET", "/practices/{code}", "/practices/{practice}", {}, AIZU_AND_PREF),
    ("GET", "/practices/new", "/practices/new", {}, LOCAL_STAFF),
    ("GET", "/practices/{code}/edit", "/practices/{practice}/edit", {}, AIZU_AND_PREF),
    ("GET", "/api/v1/practices", "/api/v1/practices", {}, ALL),
    ("GET", "/api/v1/practices/{code}", "/api/v1/practices/{practice}", {}, AIZU_AND_PREF),
    ("GET", "/local-governments/{code}/similar", "/local-governments/064033/similar?w_geography=2", {}, ALL),
    ("GET", "/api/v1/local-governments/{code}/similar", "/api/v1/local-governments/064033/similar", {}, ALL),
    ("GET", "/api/v1/local-governments/{code}/recommendations",
     "/api/v1/local-governments/072028/recommendations?field=P4.3", {}, ALL),
    ("GET", "/collaboration", "/collaboration?issue=mobility", {}, ALL),
    ("GET", "/api/v1/partners", "/api/v1/partners?issue=P4.3", {}, ALL),
    ("GET", "/collaboration/groups/{group_id}", "/collaboration/groups/{group}", {}, ALL),
    ("GET", "/api/v1/collaboration-groups", "/api/v1/collaboration-groups", {}, ALL),
    ("GET", "/api/v1/collaboration-groups/{group_id}", "/api/v1/collaboration-groups/{group}", {}, ALL),
    ("GET", "/api/v1/tokens", "/api/v1/tokens", {}, ADMIN),
    ("GET", "/api/v1/programmes", "/api/v1/programmes", {}, ALL),
    ("GET", "/api/v1/programmes/{code}", "/api/v1/programmes/digital-garden-city-grant", {}, ALL),
    ("GET", "/api/v1/calls", "/api/v1/calls", {}, ALL),
    ("GET", "/api/v1/calls/{call_id}", "/api/v1/calls/{call}", {}, ALL),
    ("GET", "/api/v1/calls/{call_id}/applications", "/api/v1/calls/{call}/applications", {}, ALL),
    ("GET", "/api/v1/applications/{app_id}", "/api/v1/applications/{draft}", {}, APPLICANT),
    ("GET", "/api/v1/applications/{app_id}", "/api/v1/applications/{submitted}", {}, SUBMITTED),
    ("GET", "/api/v1/applications/{app_id}", "/api/v1/applications/{selected}", {}, ALL),
    ("GET", "/programmes", "/programmes", {}, ALL),
    ("GET", "/programmes/{code}", "/programmes/decarbonization-leading", {}, ALL),
    ("GET", "/calls/{call_id}", "/calls/{call}", {}, ALL),
    ("GET", "/calls/{call_id}", "/calls/{closed}", {}, ALL),
    ("GET", "/calls/{call_id}/selection", "/calls/{call}/selection", {}, ADMIN),
    ("GET", "/applications/{app_id}", "/applications/{draft}", {}, APPLICANT),
    ("GET", "/applications/{app_id}", "/applications/{submitted}", {}, SUBMITTED),
    ("GET", "/applications/{app_id}", "/applications/{selected}", {}, ALL),
    ("GET", "/calls/{call_id}/applications/new", "/calls/{call}/applications/new", {}, LOCAL_STAFF),
    ("GET", "/applications/{app_id}/edit", "/applications/{draft}/edit", {}, APPLICANT),
    ("GET", "/regions/{key}", "/regions/{region}", {}, ALL),
    ("GET", "/api/v1/applications/{app_id}/reviews", "/api/v1/applications/{submitted}/reviews", {}, SUBMITTED),
    ("GET", "/api/v1/applications/{app_id}/reviews", "/api/v1/applications/{draft}/reviews", {}, APPLICANT),
    ("GET", "/api/v1/calls/{call_id}/review-progress", "/api/v1/calls/{call}/review-progress", {}, ADMIN),
    ("GET", "/api/v1/calls/{call_id}/selection", "/api/v1/calls/{call}/selection", {}, ADMIN),
    ("GET", "/api/v1/calls/{call_id}/results", "/api/v1/calls/{closed}/results", {}, ALL),
    ("GET", "/api/v1/calls/{call_id}/results", "/api/v1/calls/{closed}/results?format=csv", {}, ALL),
    ("GET", "/api/v1/calls/{call_id}/results", "/api/v1/calls/{call}/results", {}, NOBODY),   # not published
    ("GET", "/api/v1/regions", "/api/v1/regions", {}, ALL),
    # writes
    ("POST", "/observations", "/observations",
     {"data": {"kpi": "digital-implementation", "as_of": "2024-03-31", "value": "900", "source_title": "t"}}, ADMIN),
    ("POST", "/api/v1/observations", "/api/v1/observations",
     {"json": {"kpi": "digital-implementation", "as_of": "2024-03-31", "value": 900, "source_title": "t"}}, ADMIN),
    ("POST", "/imports", "/imports", {"files": {"file": ("x.csv", b"a,b\n")}}, IMPORTERS),
    ("POST", "/api/v1/imports", "/api/v1/imports",
     {"files": {"file": ("long_cp932.csv", (FIX / "long_cp932.csv").read_bytes())}, "data": {"dry_run": "true"}},
     IMPORTERS),
    ("POST", "/imports/jobs/{job_id}/apply", "/imports/jobs/0123456789abcdef/apply", {}, NOBODY),
    ("POST", "/local-governments/{code}/strategy", "/local-governments/072028/strategy",
     {"data": {"title": "会津若松市 戦略", "fiscal_year": "R6", "version": "1"}}, OWNER),
    ("PUT", "/api/v1/local-strategies/{code}", "/api/v1/local-strategies/072028", {"json": STRATEGY}, OWNER),
    ("POST", "/local-governments/{code}/strategy/{revision}/actions",
     "/local-governments/072028/strategy/1/actions", {"data": {"action": "submit"}}, OWNER),
    ("POST", "/api/v1/local-strategies/{code}/revisions/{revision}/actions",
     "/api/v1/local-strategies/072028/revisions/1/actions", {"json": {"action": "submit"}}, OWNER),
    ("POST", "/practices/new", "/practices/new", {"data": PRACTICE | {"org_units": "072028"}}, AIZU_AND_PREF),
    ("POST", "/api/v1/practices", "/api/v1/practices", {"json": PRACTICE}, AIZU_AND_PREF),
    ("POST", "/api/v1/practices/import", "/api/v1/practices/import",
     {"files": {"file": ("p.csv", PRACTICE_CSV)}}, AIZU_AND_PREF),
    ("POST", "/practices/{code}/edit", "/practices/{practice}/edit",
     {"data": PRACTICE | {"org_units": "072028", "version": "1", "submit": "draft"}}, AIZU_AND_PREF),
    ("PUT", "/api/v1/practices/{code}", "/api/v1/practices/{practice}", {"json": PRACTICE | {"submit": False}},
     AIZU_AND_PREF),
    ("POST", "/practices/{code}/adopt", "/practices/aict-aizuwakamatsu/adopt",
     {"data": {"org_unit": "072087", "fiscal_year": "R6"}}, ADOPTERS),
    ("POST", "/api/v1/practices/{code}/adoptions", "/api/v1/practices/aict-aizuwakamatsu/adoptions",
     {"json": {"org_unit": "072087", "fiscal_year": "2024"}}, ADOPTERS),
    ("POST", "/collaboration/groups", "/collaboration/groups",
     {"data": GROUP_IN | {"members": "072028,072087"}}, GROUP),
    ("POST", "/api/v1/collaboration-groups", "/api/v1/collaboration-groups", {"json": GROUP_IN}, GROUP),
    ("POST", "/practices/{code}/review", "/practices/{practice}/review", {"data": {"action": "publish"}}, ADMIN),
    ("POST", "/api/v1/practices/{code}/review", "/api/v1/practices/{practice}/review",
     {"json": {"action": "return", "comment": "出典を追記してください"}}, ADMIN),
    ("POST", "/inbox/read", "/inbox/read", {}, DESK_INBOX),
    ("POST", "/api/v1/inbox/read", "/api/v1/inbox/read", {}, DESK_INBOX),
    ("POST", "/api/v1/programmes/{code}/calls", "/api/v1/programmes/digital-garden-city-grant/calls",
     {"json": CALL_IN}, ADMIN),
    ("PUT", "/api/v1/calls/{call_id}/rubric", "/api/v1/calls/{call}/rubric",
     {"json": {"criteria": CALL_IN["criteria"]}}, ADMIN),
    ("POST", "/api/v1/calls/{call_id}/reviewers", "/api/v1/calls/{call}/reviewers", {"json": {"reviewer": "aizu"}},
     ADMIN),
    ("POST", "/api/v1/calls/{call_id}/applications", "/api/v1/calls/{call}/applications", {"json": APP_IN},
     APPLICANT),
    ("PUT", "/api/v1/applications/{app_id}", "/api/v1/applications/{draft}", {"json": APP_IN | {"version": 1}},
     APPLICANT),
    ("POST", "/api/v1/applications/{app_id}/confirm", "/api/v1/applications/{joint}/confirm",
     {"json": {"member": "072087"}}, frozenset({"kitakata"})),
    ("POST", "/api/v1/applications/{app_id}/submit", "/api/v1/applications/{draft}/submit", {}, APPLICANT),
    ("POST", "/api/v1/applications/{app_id}/withdraw", "/api/v1/applications/{draft}/withdraw",
     {"json": {"reason": "見直し"}}, APPLICANT),
    ("POST", "/api/v1/applications/{app_id}/reviews", "/api/v1/applications/{submitted}/reviews",
     {"json": {"scores": {"vision": 4}}}, REVIEWER),
    ("POST", "/api/v1/applications/{app_id}/conflicts", "/api/v1/applications/{submitted}/conflicts",
     {"json": {"reason": "元職員"}}, REVIEWER),
    ("POST", "/api/v1/calls/{call_id}/decision", "/api/v1/calls/{call}/decision", {"json": {}}, ADMIN),
    ("POST", "/api/v1/calls/{call_id}/publication", "/api/v1/calls/{closed}/publication", {}, ADMIN),
    ("POST", "/calls/{call_id}/decision", "/calls/{call}/decision", {"data": {}}, ADMIN),       # 重点支援 pages
    ("POST", "/calls/{call_id}/publication", "/calls/{closed}/publication", {}, ADMIN),
    ("POST", "/calls/{call_id}/applications", "/calls/{call}/applications",
     {"data": {"title": "合成データ: 画面の申請"}}, LOCAL_STAFF),
    ("POST", "/applications/{app_id}/edit", "/applications/{draft}/edit",
     {"data": {"title": "合成データ: 申請", "lead": "072028", "version": "1"}}, APPLICANT),
    ("POST", "/applications/{app_id}/confirm", "/applications/{joint}/confirm", {"data": {"member": "072087"}},
     frozenset({"kitakata"})),
    ("POST", "/applications/{app_id}/attachments", "/applications/{joint}/attachments",
     {"files": {"files": ("計画.pdf", b"%PDF-1.7 x")}}, APPLICANT),
    ("POST", "/applications/{app_id}/submit", "/applications/{draft}/submit", {}, APPLICANT),
    ("POST", "/applications/{app_id}/withdraw", "/applications/{draft}/withdraw", {"data": {"reason": "見直し"}},
     APPLICANT),
    ("POST", "/applications/{app_id}/attachments/{attachment_id}/delete",
     "/applications/{draft}/attachments/{attachment}/delete", {}, APPLICANT),
    ("POST", "/regions/{key}/evaluations", "/regions/{region}/evaluations",
     {"data": {"kind": "self", "fiscal_year": "2026", "summary": "合成データ", "action": "save"}}, REGION),
    ("GET", "/api/v1/regions/{key}", "/api/v1/regions/{region}", {}, ALL),              # 重点支援: evaluations
    ("GET", "/api/v1/evaluations", "/api/v1/evaluations", {}, ALL),
    ("GET", "/api/v1/applications/{app_id}/attachments", "/api/v1/applications/{draft}/attachments", {},
     APPLICANT),
    ("GET", "/api/v1/applications/{app_id}/attachments/{attachment_id}",
     "/api/v1/applications/{draft}/attachments/{attachment}", {}, APPLICANT),
    ("GET", "/api/v1/applications/{app_id}/attachments/{attachment_id}",
     "/api/v1/applications/{selected}/attachments/{selected_file}", {}, ALL),      # a published selection's
    ("POST", "/api/v1/applications/{app_id}/attachments", "/api/v1/applications/{joint}/attachments",
     {"files": {"files": ("計画.pdf", b"%PDF-1.7 x")}}, APPLICANT),
    ("DELETE", "/api/v1/applications/{app_id}/attachments/{attachment_id}",
     "/api/v1/applications/{joint}/attachments/{joint_file}", {}, APPLICANT),
    ("PUT", "/api/v1/regions/{key}/evaluations/{fiscal_year}/{kind}", "/api/v1/regions/{region}/evaluations/2026/self",
     {"json": {"summary": "合成データの自己評価"}}, REGION),
    ("POST", "/api/v1/regions/{key}/evaluations/{fiscal_year}/{kind}/submit",
     "/api/v1/regions/{region}/evaluations/2026/self/submit", {}, REGION),
    ("PUT", "/api/v1/regions/{key}/evaluations/{fiscal_year}/{kind}",
     "/api/v1/regions/{region}/evaluations/2026/national", {"json": {"summary": "合成データの国の評価"}}, ADMIN),
    ("PUT", "/api/v1/regions/{key}/state", "/api/v1/regions/{region}/state",
     {"json": {"state": "cancelled", "reason": "合成データの例"}}, ADMIN),
    # 相談窓口 pages (web/pages/consult.py, web/pages/desk.py): as the API, a consultation or plan someone
    # may not open is 404 (the public: sent to sign in for the staff lists)
    ("GET", "/consultations", "/consultations", {}, STAFF),
    ("GET", "/consultations/new", "/consultations/new", {}, LOCAL_STAFF),
    ("GET", "/consultations/{case_id}", "/consultations/{case}", {}, CASE_SEEN),
    ("GET", "/consultations/{case_id}/attachments/{attachment_id}", "/consultations/{case}/attachments/{file}", {},
     CASE_SEEN),
    ("GET", "/consultations/{case_id}/attachments/{attachment_id}", "/consultations/{case}/attachments/{notefile}", {},
     RESPONDERS),
    ("GET", "/faq", "/faq", {}, ALL),
    ("GET", "/faq/{faq_id}", "/faq/{faq}", {}, RESPONDERS),          # the fixture's FAQ entry is a draft
    ("POST", "/consultations/suggestions", "/consultations/suggestions", {"data": {"subject": "補助"}}, ALL),
    ("POST", "/consultations", "/consultations", {"data": CASE_IN}, ASKERS),
    ("POST", "/consultations/{case_id}/replies", "/consultations/{case}/replies", {"data": {"body": "確認します"}},
     CASE_WRITERS),
    ("POST", "/consultations/{case_id}/actions", "/consultations/{case}/actions",
     {"data": {"action": "escalate", "comment": "急ぎ"}}, CASE_WRITERS),
    ("GET", "/desk", "/desk", {}, RESPONDERS),
    ("GET", "/desk/offices", "/desk/offices", {}, ALL),
    ("GET", "/desk/rules", "/desk/rules", {}, ADMIN),
    ("GET", "/desk/rules/check", "/desk/rules/check?ministry=総務省&field=P1&family=総合通信局", {}, ADMIN),
    ("GET", "/plans", "/plans", {}, STAFF),
    ("GET", "/plans/{plan_id}", "/plans/{plan}", {}, PLAN_SEEN),
    ("POST", "/desk/offices/confirm", "/desk/offices/confirm", {"data": {"family": "{family}", "prefecture": "{pref}"}},
     ADMIN),
    ("POST", "/desk/offices", "/desk/offices", {"data": {"name": "合成データ: 課", "ministry": "文部科学省"}}, ADMIN),
    ("POST", "/desk/rules", "/desk/rules", {"data": {"ministry": "総務省", "field": "P1", "family": "総合通信局"}},
     ADMIN),
    ("POST", "/desk/rules/{rule_id}/delete", "/desk/rules/{page_rule}/delete", {}, ADMIN),
    ("POST", "/desk/service-levels/{kind}", "/desk/service-levels/general",
     {"data": {"first_response_days": "3", "resolution_days": "15"}}, ADMIN),
    ("POST", "/plans/{plan_id}/meetings", "/plans/{plan}/meetings",
     {"data": {"held_on": "2026-12-02", "title": "初回"}}, PLAN_WRITERS),
    ("POST", "/plans/{plan_id}/actions", "/plans/{plan}/actions",
     {"data": {"title": "x", "owner": "企画課", "due_on": "2026-12-20"}}, PLAN_WRITERS),
    ("POST", "/plans/{plan_id}/actions/{action_id}/state", "/plans/{plan}/actions/{paction}/state",
     {"data": {"state": "done"}}, PLAN_WRITERS),
    ("POST", "/plans/{plan_id}/goals/{goal_id}", "/plans/{plan}/goals/{goal}", {"data": {"achieved": "1"}},
     PLAN_WRITERS),
    ("POST", "/plans", "/plans", {"data": {"org_unit": "072087", "title": "合成データ: 喜多方市の伴走支援",
                                           "starts_on": "2026-12-01"}}, ADMIN),
    ("POST", "/plans/{plan_id}/staff", "/plans/{plan}/staff", {"data": {"username": "ministry", "side": "regional"}},
     ADMIN),
    ("POST", "/plans/{plan_id}/goals", "/plans/{plan}/goals", {"data": {"title": "合成データ: 目標"}}, PLAN_WRITERS),
    ("GET", "/api/v1/consultations", "/api/v1/consultations", {}, STAFF),     # the public: 401
    ("GET", "/api/v1/consultations/suggestions", "/api/v1/consultations/suggestions?text=補助", {}, ALL),
    ("GET", "/api/v1/consultations/{case_id}", "/api/v1/consultations/{case}", {}, CASE_SEEN),
    ("GET", "/api/v1/consultations/{case_id}/attachments/{attachment_id}",
     "/api/v1/consultations/{case}/attachments/{file}", {}, CASE_SEEN),
    ("GET", "/api/v1/consultations/{case_id}/attachments/{attachment_id}",
     "/api/v1/consultations/{case}/attachments/{notefile}", {}, RESPONDERS),   # a note's: responders only
    ("GET", "/api/v1/desk/dashboard", "/api/v1/desk/dashboard", {}, RESPONDERS),
    ("GET", "/api/v1/desk/notices", "/api/v1/desk/notices", {}, STAFF),
    ("GET", "/api/v1/desk/areas", "/api/v1/desk/areas", {}, ALL),
    ("GET", "/api/v1/desk/rules", "/api/v1/desk/rules", {}, ADMIN),
    ("GET", "/api/v1/faq", "/api/v1/faq", {}, ALL),
    ("GET", "/api/v1/faq/{faq_id}", "/api/v1/faq/{faq}", {}, RESPONDERS),
    ("GET", "/api/v1/plans", "/api/v1/plans", {}, STAFF),                     # the public: 401
    ("GET", "/api/v1/plans/{plan_id}", "/api/v1/plans/{plan}", {}, PLAN_SEEN),
    ("POST", "/api/v1/consultations", "/api/v1/consultations", {"json": CASE_IN}, ASKERS),
    ("POST", "/api/v1/consultations/files", "/api/v1/consultations/files",
     {"data": {"subject": "合成データ: 資料付き", "body": "資料を添付します"},
      "files": {"files": ("資料.pdf", b"%PDF-1.7 x")}}, ASKERS),
    ("POST", "/api/v1/consultations/{case_id}/replies", "/api/v1/consultations/{case}/replies",
     {"json": {"body": "追記です"}}, CASE_WRITERS),
    ("POST", "/api/v1/consultations/{case_id}/replies/files", "/api/v1/consultations/{case}/replies/files",
     {"data": {"body": "資料を添付します"}, "files": {"files": ("資料.pdf", b"%PDF-1.7 x")}}, CASE_WRITERS),
    ("POST", "/api/v1/consultations/{case_id}/share", "/api/v1/consultations/{case}/share",
     {"json": {"office": "東北経済産業局", "reason": "併用"}}, RESPONDERS),
    ("POST", "/api/v1/consultations/{case_id}/escalate", "/api/v1/consultations/{case}/escalate",
     {"json": {"reason": "急ぎです"}}, CASE_WRITERS),
    ("POST", "/api/v1/consultations/{case_id}/faq", "/api/v1/consultations/{case}/faq", {}, RESPONDERS),
    ("PUT", "/api/v1/faq/{faq_id}", "/api/v1/faq/{faq}", {"json": {"question": "補助の対象は", "answer": "対象です"}},
     RESPONDERS),
    ("POST", "/api/v1/faq/{faq_id}/{action}", "/api/v1/faq/{faq}/submit", {}, RESPONDERS),
    ("POST", "/api/v1/consultations/{case_id}/resolve", "/api/v1/consultations/{case}/resolve", {}, CASE_WRITERS),
    ("POST", "/api/v1/consultations/{case_id}/close", "/api/v1/consultations/{case}/close", {}, CASE_WRITERS),
    ("POST", "/api/v1/consultations/{case_id}/reopen", "/api/v1/consultations/{case}/reopen", {}, CASE_WRITERS),
    ("POST", "/api/v1/consultations/{case_id}/merge", "/api/v1/consultations/{dup}/merge",
     {"json": {"into": "{case}"}}, RESPONDERS),
    ("POST", "/api/v1/consultations/{case_id}/reassign", "/api/v1/consultations/{case}/reassign",
     {"json": {"office": "関東総合通信局", "reason": "所管の確認"}}, RESPONDERS),
    ("POST", "/api/v1/desk/notices/read", "/api/v1/desk/notices/read", {}, STAFF),
    ("POST", "/api/v1/desk/areas/{family}/{prefecture}/confirm", "/api/v1/desk/areas/{family}/{pref}/confirm", {},
     ADMIN),
    ("POST", "/api/v1/desk/offices/{office}/responders", "/api/v1/desk/offices/東北経済産業局/responders",
     {"json": {"username": "kitakata"}}, ADMIN),
    ("POST", "/api/v1/desk/rules", "/api/v1/desk/rules", {"json": {"ministry": "総務省", "field": None,
                                                                    "measure": "{measure}"}}, ADMIN),
    ("DELETE", "/api/v1/desk/rules/{rule_id}", "/api/v1/desk/rules/{rule}", {}, ADMIN),
    ("PUT", "/api/v1/desk/service-levels/{kind}", "/api/v1/desk/service-levels/general",
     {"json": {"first_response_days": 3, "resolution_days": 10}}, ADMIN),
    ("POST", "/api/v1/plans", "/api/v1/plans", {"json": {"org_unit": "072028", "title": "合成データ: 計画",
                                                          "origin": "request", "starts_on": "2026-12-01"}}, ADMIN),
    ("POST", "/api/v1/plans/{plan_id}/staff", "/api/v1/plans/{plan}/staff",
     {"json": {"username": "ministry", "side": "regional", "office": "東北総合通信局"}}, ADMIN),
    ("POST", "/api/v1/plans/{plan_id}/goals", "/api/v1/plans/{plan}/goals", {"json": {"title": "目標"}},
     PLAN_WRITERS),
    ("POST", "/api/v1/plans/{plan_id}/meetings", "/api/v1/plans/{plan}/meetings",
     {"json": {"held_on": "2026-12-02", "title": "初回"}}, PLAN_WRITERS),
    ("POST", "/api/v1/plans/{plan_id}/actions", "/api/v1/plans/{plan}/actions",
     {"json": {"title": "要件整理", "owner": "企画課", "due_on": "2026-12-20"}}, PLAN_WRITERS),
    ("PUT", "/api/v1/plan-goals/{goal_id}", "/api/v1/plan-goals/{goal}", {"json": {"achieved": True}}, PLAN_WRITERS),
    ("PUT", "/api/v1/plan-actions/{action_id}", "/api/v1/plan-actions/{paction}", {"json": {"state": "done"}},
     PLAN_WRITERS),
    ("POST", "/api/v1/users", "/api/v1/users",
     {"json": {"username": "new-user", "password": "a long password", "role": "national_admin"}}, ADMIN),
    ("POST", "/api/v1/tokens", "/api/v1/tokens", {"json": {"username": "kitakata"}}, ADMIN),
    ("POST", "/api/v1/tokens/{token_id}/revoke", "/api/v1/tokens/{token}/revoke", {}, ADMIN),
    ("POST", "/api/v1/users/{username}/disable", "/api/v1/users/kitakata/disable", {}, ADMIN),
    ("POST", "/batches/{batch_id}/revert", "/batches/1/revert", {}, ADMIN),
    ("POST", "/api/v1/batches/{batch_id}/revert", "/api/v1/batches/1/revert", {}, ADMIN),
    ("POST", "/logout", "/logout", {}, ALL),
]
# Sign-in itself is tested in test_auth_web.py (its refusals are wrong passwords, not roles).
NOT_IN_MATRIX = {("POST", "/login")}


def refused(method: str, r: Any) -> bool:
    if r.status_code in (401, 403, 404):
        return True
    return r.status_code in (302, 303) and r.headers.get("location", "").startswith("/login")


def app_routes() -> set[tuple[str, str]]:
    from sqlalchemy.orm import sessionmaker

    from digiden.web.app import create_app
    app = create_app(sessionmaker())
    app.load_all_routers()   # what the app serves, not what it has loaded yet
    out = set()
    for x in leaf_routes(app.router.routes):
        for m in getattr(x, "methods", None) or ():
            if m != "HEAD":
                out.add((m, x.path))
    return out


def leaf_routes(routes: list[Any], prefix: str = "") -> list[Any]:
    """Every route, however deeply its router is included (a router included into an included
    router — the support API inside /api/v1 — is one more level), with its full path in
    ``path`` (FastAPI resolves nested routers lazily, so the path is rebuilt from the prefixes)."""
    out = []
    for r in routes:
        if hasattr(r, "original_router"):
            out += leaf_routes(r.original_router.routes, prefix + r.include_context.prefix)
        elif prefix and hasattr(r, "path"):
            out.append(type("Leaf", (), {"path": prefix + r.path, "methods": getattr(r, "methods", None),
                                          "endpoint": getattr(r, "endpoint", None)})())
        else:
            out.append(r)
    return out


def test_every_endpoint_is_in_the_matrix() -> None:
    covered = {(m, route) for m, route, *_ in CASES} | NOT_IN_MATRIX
    missing = app_routes() - covered
    assert not missing, f"add these endpoints to the access matrix: {sorted(missing)}"


def support_fixture(uow: UnitOfWork, a: dict[str, Any]) -> dict[str, str]:
    """重点支援: an open call with a draft, a joint draft and a submitted application (ministry
    reviewing), and a closed call whose 喜多方市 application was selected and published."""
    from datetime import timedelta

    from digiden.services.support import applications as apps
    from digiden.services.support import programmes as pg
    from digiden.services.support import review, selection
    crit = [{"code": "vision", "name": "整合", "weight": 100, "max_points": 5}]
    base = {"budget": 50_000_000, "joint_allowed": True, "joint_bonus": 5, "synthetic": True, "criteria": crit}
    call = pg.create_call(uow, a["admin"], "digital-garden-city-grant", base | {
        "round": 1, "opens_at": "2026-11-01", "closes_at": "2026-12-31"}, now=NOW).id
    draft = apps.save_draft(uow, a["aizu"], call, APP_IN, now=NOW).id
    joint = apps.save_draft(uow, a["aizu"], call, APP_IN | {"members": ["072087"]}, now=NOW).id
    submitted = apps.save_draft(uow, a["sapporo"], call, APP_IN | {"lead": None}, now=NOW).id
    apps.submit(uow, a["sapporo"], submitted, now=NOW)
    review.assign_reviewer(uow, a["admin"], call, "ministry", now=NOW)
    closed = pg.create_call(uow, a["admin"], "digital-garden-city-grant", base | {
        "round": 2, "opens_at": "2026-10-01", "closes_at": "2026-11-01"}, now=NOW).id
    before = NOW - timedelta(days=40)
    selected = apps.save_draft(uow, a["kitakata"], closed, APP_IN | {"lead": None}, now=before).id
    from digiden.services.support.attachments import Upload, add
    selected_file = add(uow, a["kitakata"], selected, [Upload("選定.pdf", b"%PDF-1.7 synthetic")], now=before)[0].id
    apps.submit(uow, a["kitakata"], selected, now=before)
    review.assign_reviewer(uow, a["admin"], closed, "ministry", now=NOW)
    review.score(uow, a["ministry"], selected, {"vision": 4}, now=NOW)
    selection.decide(uow, a["admin"], closed, {}, now=NOW)
    selection.publish(uow, a["admin"], closed, now=NOW)
    region = f"digital-garden-city-grant:call{closed}:app{selected}"
    from digiden.services.support import attachments as att
    pdf = [att.Upload("計画.pdf", b"%PDF-1.7 synthetic")]
    files = {n: att.add(uow, a["aizu"], app, pdf, now=NOW)[0].id for n, app in (("attachment", draft),
                                                                               ("joint_file", joint))}
    return {"call": str(call), "closed": str(closed), "draft": str(draft), "joint": str(joint),
            "submitted": str(submitted), "selected": str(selected), "region": region,
            **{k: str(v) for k, v in files.items()}, "selected_file": str(selected_file)}


def consult_fixture(uow: UnitOfWork, a: dict[str, Any]) -> dict[str, str]:
    """相談窓口: ministry answers for 東北総合通信局; 会津若松市's consultation routed there and a
    duplicate; ministry's FAQ draft from it; a support plan for 会津若松市 with a goal and an action."""
    from datetime import date

    from sqlalchemy import select

    from digiden.services.consult import cases, faq, offices, plans
    from digiden.store.consult_models import ConsultRule
    offices.add_responder(uow, a["admin"], "東北総合通信局", "ministry", now=NOW)
    with uow:
        rule = uow.session.scalars(select(ConsultRule).where(ConsultRule.ministry == "総務省",
                                                             ConsultRule.measure_code.is_not(None))
                                   .order_by(ConsultRule.id)).first()
        assert rule is not None and rule.measure_code
        measure = rule.measure_code
    case = cases.ask(uow, a["aizu"], subject="補助の対象", body="対象になりますか。", kind="programme",
                     measures=[measure], attachments=[cases.Attachment("資料.pdf", b"%PDF-1.7 test")], now=NOW)
    cases.reply(uow, a["ministry"], case, "担当者間の確認", note=True,
                attachments=[cases.Attachment("内部.txt", "内部の資料".encode())], now=NOW)
    files = {f.file_name: f.id for f in cases.get(uow, a["admin"], case, now=NOW).attachments}
    dup = cases.ask(uow, a["aizu"], subject="補助の対象（重複）", body="同じ質問です。", kind="programme",
                    measures=[measure], now=NOW)
    cases.reply(uow, a["ministry"], case, "対象になります。", now=NOW)
    draft = faq.draft_from_case(uow, a["ministry"], case, now=NOW)
    rule_id = offices.add_rule(uow, a["admin"], ministry="総務省", measure_code=measure, family="総合通信局",
                               priority=500, now=NOW)
    page_rule = offices.add_rule(uow, a["admin"], ministry="総務省", field_code="P1", family="総合通信局",
                                 priority=501, now=NOW)       # the page's delete row removes this one
    plan = plans.start(uow, a["admin"], org_code="072028", title="合成データ: 伴走支援", origin="request",
                       starts_on=date(2026, 12, 1), now=NOW)
    goal = plans.add_goal(uow, a["admin"], plan, title="窓口のオンライン化", now=NOW)
    paction = plans.add_action(uow, a["admin"], plan, title="要件整理", owner="企画課", due_on=date(2026, 12, 20),
                               now=NOW)
    area = offices.areas(uow, unconfirmed_only=True)[0]
    return {"case": str(case), "file": str(files["資料.pdf"]), "notefile": str(files["内部.txt"]),
            "dup": str(dup), "faq": str(draft), "rule": str(rule_id), "page_rule": str(page_rule), "plan": str(plan),
            "goal": str(goal), "paction": str(paction), "family": area.family, "pref": area.prefecture_code,
            "measure": measure}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_it_may(role: str, client_as, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    uow = UnitOfWork(session_factory)
    ls.save(uow, accounts["aizu"], "072028", STRATEGY, now=NOW)            # an unpublished draft
    ls.save(uow, accounts["kitakata"], "072087", STRATEGY | {"title": "喜多方市 戦略"}, now=NOW)
    ls.act(uow, accounts["kitakata"], "072087", 1, "submit", now=NOW)
    ls.act(uow, accounts["fukushima"], "072087", 1, "approve", now=NOW)
    ls.act(uow, accounts["admin"], "072087", 1, "accept", now=NOW)         # a published one
    _, token = acc.create_token(uow, system("t"), username="kitakata", name="x", now=NOW)
    from digiden.services.knowledge import practices, similarity
    practice = practices.add(uow, accounts["aizu"], PRACTICE, submit=False, now=NOW).code   # a draft
    group = similarity.save_group(uow, accounts["admin"], GROUP_IN, now=NOW).id
    ids = support_fixture(uow, accounts) | consult_fixture(uow, accounts)
    c = client_as(role)
    wrong = []
    for method, _route, path, kw, allowed in CASES:
        path = path.replace("{token}", str(token.id)).replace("{practice}", practice).replace("{group}", str(group))
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        if isinstance(kw.get("json"), dict):    # placeholders in a body ({"into": "{case}"}), ids as numbers
            kw = kw | {"json": {k: (int(ids[v[1:-1]]) if ids[v[1:-1]].isdigit() else ids[v[1:-1]])
                                if isinstance(v, str) and v[:1] == "{" and v[1:-1] in ids else v
                                for k, v in kw["json"].items()}}
        if isinstance(kw.get("data"), dict):    # and in a form ({"family": "{family}"}), as text
            kw = kw | {"data": {k: ids[v[1:-1]] if isinstance(v, str) and v[:1] == "{" and v[1:-1] in ids else v
                                for k, v in kw["data"].items()}}
        r = c.request(method, path, follow_redirects=False, **kw)
        if refused(method, r) == (role in allowed):
            wrong.append(f"{method} {path}: {r.status_code} {'(refused)' if role in allowed else '(let through)'}")
        if role not in allowed and r.status_code == 200:
            wrong.append(f"{method} {path}: refused but answered 200")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


# Responder roles of the desk beyond the seven: a member of the national desk who is not a national
# administrator ("desk-member"), and a responder of an office the consultation was never routed to
# ("kanto-responder", 関東総合通信局). Checked on the desk's rows (and the inbox they reach).
DESK_ROUTES = ("/api/v1/consultations", "/api/v1/desk", "/api/v1/faq", "/api/v1/plans", "/api/v1/plan-",
               "/api/v1/inbox/read", "/inbox/read")
ASKING = {("POST", "/api/v1/consultations"), ("POST", "/api/v1/consultations/files")}


def responder_may(role: str, method: str, route: str, allowed: frozenset[str]) -> bool:
    """What the responder roles may do on a row of the desk: the desk member what the national
    administrator may, except asking (only a local government's staff asks); the other office's
    responder what every signed-in account may, its own dashboard and its inbox."""
    inbox = route.endswith("/inbox/read")
    if role == "desk-member":
        return inbox or ("admin" in allowed and (method, route) not in ASKING)
    return inbox or STAFF <= allowed or route == "/api/v1/desk/dashboard"


@pytest.mark.parametrize("role", ["desk-member", "kanto-responder"])
def test_responders_of_the_desk_get_exactly_what_they_may(role: str, client_as, session_factory,  # type: ignore[no-untyped-def]
                                                           accounts) -> None:
    from digiden.services.consult import offices
    uow = UnitOfWork(session_factory)
    ids = consult_fixture(uow, accounts)
    acc.create_user(uow, system("t"), username=role, password=PASSWORD, role="ministry_editor", ministry="総務省",
                    now=NOW)
    office = offices.DESK_CODE if role == "desk-member" else "関東総合通信局"
    offices.add_responder(uow, accounts["admin"], office, role, now=NOW)
    c = client_as(role)
    wrong = []
    rows = [row for row in CASES if row[1].startswith(DESK_ROUTES)]
    assert len(rows) > 30
    for method, route, path, kw, allowed in rows:
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        if isinstance(kw.get("json"), dict):
            kw = kw | {"json": {k: (int(ids[v[1:-1]]) if ids[v[1:-1]].isdigit() else ids[v[1:-1]])
                                if isinstance(v, str) and v[:1] == "{" and v[1:-1] in ids else v
                                for k, v in kw["json"].items()}}
        may = responder_may(role, method, route, allowed)
        r = c.request(method, path, follow_redirects=False, **kw)
        if refused(method, r) == may:
            wrong.append(f"{method} {path}: {r.status_code} {'(refused)' if may else '(let through)'}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", ["kitakata", "sapporo", "fukushima", "ministry", "public"])
def test_another_local_governments_draft_is_indistinguishable_from_nothing(role: str, client_as, session_factory,  # type: ignore[no-untyped-def]
                                                                            accounts) -> None:
    """Guessing codes tells nothing: a draft that exists answers exactly like a code with none."""
    ls.save(UnitOfWork(session_factory), accounts["aizu"], "072028", STRATEGY, now=NOW)
    c = client_as(role)
    exists = c.get("/api/v1/local-strategies/072028")
    absent = c.get("/api/v1/local-strategies/064033")
    assert exists.status_code == absent.status_code == 404
    said, absent_said = exists.json()["error"]["message"], absent.json()["error"]["message"]
    assert said.replace("072028", "X") == absent_said.replace("064033", "X")
