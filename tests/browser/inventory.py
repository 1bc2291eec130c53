"""Every page of the app, with a concrete address and the roles to visit it as.

A GET route that is not the API, a static file or a download must have a row here;
test_inventory.py fails when a page is added without one. Each row is visited as every role
listed (anonymous first where the public may read it, then the role that works with it) at
1280 px and at 375 px; see test_pages_*.py.

``{practice}``, ``{draft_practice}``, ``{group}`` and ``{job}`` are filled in from what
conftest.build_site and start_dry_run created.
"""

from __future__ import annotations

from typing import NamedTuple


class Row(NamedTuple):
    route: str          # the route template, as the app declares it
    path: str           # a concrete address
    roles: tuple[str, ...]
    owner: str          # the template (or module) that renders it, for the findings report


PAGES: list[Row] = [
    Row("/", "/", ("anonymous", "admin"), "dashboard.html"),
    Row("/kpis", "/kpis", ("anonymous",), "redirect to / (dashboard.html)"),
    Row("/kpis/{code}", "/kpis/5g-population-coverage", ("anonymous", "admin"), "kpis/detail.html"),
    Row("/kpis/{code}", "/kpis/digital-implementation", ("anonymous",), "kpis/detail.html"),
    Row("/kpis/{code}/local", "/kpis/digital-implementation/local", ("anonymous", "ministry"), "local/facts.html"),
    Row("/strategy", "/strategy", ("anonymous",), "strategy/index.html"),
    Row("/local-governments", "/local-governments?q=会津", ("anonymous",), "localgov/index.html"),
    Row("/local-governments/{code}", "/local-governments/072028", ("anonymous", "aizu"), "localgov/detail.html"),
    Row("/map", "/map", ("anonymous",), "map.html"),
    Row("/about", "/about", ("anonymous",), "about.html"),
    Row("/validation", "/validation", ("anonymous", "admin"), "imports/validation.html"),
    Row("/export", "/export", ("anonymous",), "imports/export.html"),
    Row("/coverage", "/coverage", ("anonymous", "fukushima"), "local/coverage.html"),
    Row("/local-strategies", "/local-strategies", ("anonymous", "fukushima"), "local/list.html"),
    Row("/local-governments/{code}/strategy", "/local-governments/072028/strategy", ("anonymous", "aizu", "fukushima"),
        "local/view.html"),
    Row("/local-governments/{code}/strategy/edit", "/local-governments/072028/strategy/edit", ("aizu",),
        "local/edit.html"),
    Row("/local-governments/{code}/strategy/diff", "/local-governments/072028/strategy/diff?a=1&b=2", ("aizu",),
        "local/diff.html"),
    Row("/observations/new", "/observations/new", ("admin", "ministry"), "observations/new.html"),
    Row("/imports", "/imports", ("admin", "ministry"), "imports/index.html"),
    Row("/imports/jobs/{job_id}", "/imports/jobs/{job}", ("admin",), "imports/job.html, imports/_job.html"),
    Row("/batches/{batch_id}", "/batches/1", ("admin",), "imports/batch.html"),
    Row("/audit", "/audit", ("admin", "fukushima"), "audit.html"),
    Row("/inbox", "/inbox", ("fukushima", "admin", "aizu"), "local/inbox.html"),
    Row("/admin/users", "/admin/users", ("admin",), "local/users.html"),
    Row("/login", "/login", ("anonymous",), "auth/login.html"),
    Row("/docs", "/docs", ("anonymous",), "Swagger UI (web/app.py, static/vendor/swagger-ui)"),
    Row("/search", "/search?q=子育て", ("anonymous",), "search/index.html, search/_results.html"),
    Row("/search", "/search?q=買い物弱者", ("anonymous",), "search/index.html, search/_results.html"),
    Row("/measures", "/measures?problem=mobility", ("anonymous",), "catalogue/measures.html"),
    Row("/measures/{code}", "/measures/transport-redesign", ("anonymous",), "catalogue/measure.html"),
    Row("/roadmap", "/roadmap", ("anonymous",), "catalogue/roadmap.html"),
    Row("/menubook", "/menubook?pillar=P4", ("anonymous",), "render/menubook.py"),
    Row("/practices", "/practices", ("anonymous",), "practices/list.html"),
    Row("/practices/{code}", "/practices/iide-gps-snow-removal", ("anonymous",), "practices/detail.html"),
    Row("/practices/{code}", "/practices/{practice}", ("admin",), "practices/detail.html"),
    Row("/practices/new", "/practices/new", ("aizu",), "practices/new.html"),
    Row("/practices/{code}/edit", "/practices/{draft_practice}/edit", ("aizu",), "practices/new.html"),
    Row("/local-governments/{code}/similar", "/local-governments/064033/similar", ("anonymous",),
        "collab/similar.html"),
    Row("/collaboration", "/collaboration?issue=mobility", ("anonymous",), "collab/partners.html"),
    Row("/collaboration/groups/{group_id}", "/collaboration/groups/{group}", ("anonymous",), "collab/group.html"),
    # 重点支援: the demo's call is the first call of a fresh site (digiden demo), its joint application the first
    Row("/programmes", "/programmes", ("anonymous",), "support/programmes.html"),
    Row("/programmes/{code}", "/programmes/decarbonization-leading", ("anonymous",), "support/programme.html"),
    Row("/programmes/{code}", "/programmes/digital-garden-city-grant", ("anonymous",), "support/programme.html"),
    Row("/calls/{call_id}", "/calls/1", ("anonymous", "admin", "aizu"), "support/call.html"),
    Row("/calls/{call_id}/selection", "/calls/1/selection", ("admin",), "support/selection.html"),
    Row("/applications/{app_id}", "/applications/1", ("aizu",), "support/application.html"),
    Row("/calls/{call_id}/applications/new", "/calls/{open_call}/applications/new", ("aizu",),
        "support/application_form.html"),
    Row("/applications/{app_id}/edit", "/applications/{draft_application}/edit", ("aizu",),
        "support/application_form.html"),
    Row("/regions/{key}", "/regions/{region}", ("anonymous", "admin"), "support/region.html"),
    Row("/kpis/{code}", "/kpis/decarbonization-leading-areas", ("anonymous",), "kpis/detail.html (selections)"),
    # 相談窓口: the demo's overdue consultation (assigned to 東北総合通信局, whose lead is demo-soumu), its
    # support plan for 会津若松市 and its published FAQ entry
    Row("/consultations", "/consultations", ("aizu", "ministry", "admin"), "consult/list.html"),
    Row("/consultations/new", "/consultations/new", ("aizu",), "consult/new.html, consult/_suggestions.html"),
    Row("/consultations/{case_id}", "/consultations/{consultation}", ("aizu", "ministry", "fukushima"),
        "consult/thread.html"),
    Row("/faq", "/faq", ("anonymous",), "consult/faq_list.html, consult/faq_results.html"),
    Row("/faq/{faq_id}", "/faq/{faq}", ("anonymous",), "consult/faq_entry.html"),
    Row("/desk", "/desk", ("admin", "ministry"), "desk/dashboard.html"),
    Row("/desk/offices", "/desk/offices", ("anonymous", "admin"), "desk/offices.html"),
    Row("/desk/rules", "/desk/rules", ("admin",), "desk/rules.html"),
    Row("/desk/rules/check", "/desk/rules/check?ministry=デジタル庁&field=P1", ("admin",), "desk/rules.html"),
    Row("/plans", "/plans", ("admin", "aizu"), "desk/plans.html"),
    Row("/plans/{plan_id}", "/plans/{plan}", ("admin", "aizu", "fukushima"), "desk/plan.html"),
]

# GET routes that are not pages: downloads (CSV, Excel, JSON, PDF) and the OpenAPI document.
NOT_PAGES = {"/export/download", "/menubook.pdf", "/openapi.json",
             "/consultations/{case_id}/attachments/{attachment_id}"}

# Rules a page may fail because of a vendor's stylesheet that is not ours to fix, by route. The
# issue allows this for Swagger UI (/docs, static/vendor/swagger-ui) only; with Swagger UI as
# vendored today /docs passes every WCAG 2.1 AA rule, so nothing is excluded. Add a rule here only
# with the vendor's selector that causes it, and keep /docs checked for overflow.
AXE_EXCLUDED: dict[str, set[str]] = {}


def concrete(row: Row, ids: dict[str, str]) -> str:
    path = row.path
    for key, value in ids.items():
        path = path.replace("{" + key + "}", value)
    return path


def cases(roles: set[str]) -> list[tuple[Row, str]]:
    return [(row, role) for row in PAGES for role in row.roles if role in roles]


def case_id(case: tuple[Row, str]) -> str:
    row, role = case
    return f"{role}:{row.path}"
