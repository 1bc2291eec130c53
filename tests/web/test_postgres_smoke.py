"""One read and one write through every router, on both databases.

The web and CLI tests run on SQLite alone (``sqlite_only``: the database plays no part in HTML,
help text or access decisions); this module is their PostgreSQL copy: each router's handlers,
dependencies and session handling reach a real PostgreSQL at least once, reading and writing.
The inventory test fails when a router is added without a case here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FIX = Path(__file__).resolve().parents[1] / "fixtures"
PRACTICE = {"title": "オンライン窓口", "org_units": ["072028"], "problem": "来庁の負担", "solution": "オンライン申請"}
STRATEGY = {"title": "会津若松市 戦略", "fiscal_year": "令和6年度", "measures": [{"title": "x", "digital": True}]}

# router module → a read (path, status, text shown), a write (method, path, kwargs, status), its effect (path, text)
Read = tuple[str, int, str]
Write = tuple[str, str, dict[str, Any], int]
Seen = tuple[str, str]
SMOKE: dict[str, tuple[Read, Write, Seen]] = {
    "digiden.web.api": (
        ("/api/v1/kpis/digital-implementation", 200, "digital-implementation"),
        ("POST", "/api/v1/observations", {"json": {"kpi": "smart-city-selections", "as_of": "2024-03-31",
                                                   "value": 61, "source_title": "国土交通省 発表"}}, 201),
        ("/api/v1/observations?kpi=smart-city-selections&from=2024-03-31&to=2024-03-31", '"value":61')),
    "digiden.web.api.imports": (
        ("/api/v1/mappings", 200, "["),
        ("POST", "/api/v1/imports", {"files": {"file": ("wide_bom.csv", (FIX / "wide_bom.csv").read_bytes())},
                                     "data": {"kpi": "digital-promotion-talent"}}, 201),
        ("/api/v1/batches", "wide_bom.csv")),
    "digiden.web.api.local": (
        ("/api/v1/local-strategies/072028", 404, "072028"),
        ("PUT", "/api/v1/local-strategies/072028", {"json": STRATEGY}, 200),
        ("/api/v1/local-strategies/072028", "会津若松市 戦略")),
    "digiden.web.api.knowledge": (
        ("/api/v1/search?q=子育て", 200, "kodomo"),
        ("POST", "/api/v1/practices", {"json": PRACTICE}, 201),
        ("/api/v1/practices?status=submitted", "オンライン窓口")),
    "digiden.web.api.support": (
        ("/api/v1/programmes/decarbonization-leading", 200, "脱炭素先行地域"),
        ("POST", "/api/v1/programmes/digital-garden-city-grant/calls", {"json": {
            "round": 1, "title": "合成データ: スモークの公募", "opens_at": "2026-11-28", "closes_at": "2026-12-20",
            "budget": 10_000_000_000, "criteria": [{"code": "v", "name": "整合", "weight": 100, "max_points": 5}]}},
         201),
        ("/api/v1/calls?programme=digital-garden-city-grant", '"budget":10000000000')),
    "digiden.web.api.consult": (
        ("/api/v1/desk/areas?unconfirmed=true", 200, '"confirmed":false'),
        ("POST", "/api/v1/consultations?org_unit=072028", {"json": {
            "subject": "合成データ: スモークの相談", "body": "どこに聞けばよいですか。"}}, 201),
        ("/api/v1/consultations?org_unit=072028", "合成データ: スモークの相談")),
    "digiden.web.pages.imports": (
        ("/imports", 200, "取り込み"),
        ("POST", "/imports", {"files": {"file": ("wide_bom.csv", (FIX / "wide_bom.csv").read_bytes())},
                              "data": {"kpi": "digital-promotion-talent"}}, 303),
        ("/api/v1/batches", "wide_bom.csv")),
    "digiden.web.pages.local": (
        ("/local-strategies", 200, "戦略"),
        ("POST", "/local-governments/072028/strategy", {"data": {"title": "会津若松市 戦略の案", "fiscal_year": "R6"}},
         303),
        ("/local-governments/072028/strategy", "会津若松市 戦略の案")),
    "digiden.web.pages.knowledge": (
        ("/practices/aict-aizuwakamatsu", 200, "AiCT"),
        ("POST", "/collaboration/groups", {"data": {"name": "会津の連携", "members": "072028,072087",
                                                     "issue": "mobility"}}, 303),
        ("/api/v1/collaboration-groups", "会津の連携")),
    "digiden.web.pages.support": (
        ("/programmes", 200, "脱炭素先行地域"),
        ("POST", "/calls/{call}/decision", {"data": {}}, 303),     # {call}: a closed call (closed_call below)
        ("/calls/{call}", "選定済み・未公表")),
    "digiden.web.pages.consult": (
        ("/faq", 200, "よくある質問"),
        ("POST", "/consultations", {"data": {"subject": "合成データ: スモークの相談（画面）",
                                             "body": "どこに聞けばよいですか。", "org_unit": "072028"}}, 303),
        ("/consultations", "合成データ: スモークの相談（画面）")),
    "digiden.web.pages.desk": (
        ("/desk/offices", 200, "未確認"),
        ("POST", "/desk/offices", {"data": {"name": "合成データ: スモークの課", "ministry": "文部科学省"}}, 303),
        ("/desk/offices", "合成データ: スモークの課")),
    "digiden.web.pages": (
        ("/kpis/5g-population-coverage", 200, "５Gの人口カバー率"),
        ("POST", "/observations", {"data": {"kpi": "smart-city-selections", "as_of": "2024-03-31", "value": "６２",
                                            "source_title": "国土交通省 発表"}}, 303),
        ("/kpis/smart-city-selections", "62地域")),
}


def router_modules() -> set[str]:
    from sqlalchemy.orm import sessionmaker

    from digiden.web.app import create_app
    app = create_app(sessionmaker())
    app.load_all_routers()
    from tests.web.test_access_matrix import leaf_routes
    out = set()
    for x in leaf_routes(app.router.routes):     # nested routers too (the support API inside /api/v1)
        module = getattr(getattr(x, "endpoint", None), "__module__", "")
        if module.startswith("digiden.web.") and module != "digiden.web.app":
            out.add(module)
    return out


@pytest.mark.sqlite_only
def test_every_router_has_a_smoke_case() -> None:
    assert router_modules() == set(SMOKE), "add a read and a write of each new router to SMOKE"


def closed_call(session_factory: Any, accounts: dict[str, Any]) -> dict[str, str]:
    """A call that closed yesterday with one submitted, scored application: the nation may decide it."""
    from datetime import timedelta

    from digiden.services.support import applications as apps
    from digiden.services.support import programmes as pg
    from digiden.services.support import review
    from digiden.services.uow import UnitOfWork
    from tests.conftest import FIXED_NOW
    uow, then = UnitOfWork(session_factory), FIXED_NOW - timedelta(days=10)
    call = pg.create_call(uow, accounts["admin"], "digital-garden-city-grant", {
        "round": 1, "title": "合成データ: スモークの選定", "opens_at": then.isoformat(), "synthetic": True,
        "closes_at": (FIXED_NOW - timedelta(days=1)).isoformat(), "budget": 3_000_000,
        "criteria": [{"code": "v", "name": "整合", "weight": 100, "max_points": 5}]}, now=then).id
    a = apps.save_draft(uow, accounts["aizu"], call, {"title": "合成データ: 会津の提案", "requested_amount": 1_000_000},
                        now=then).id
    apps.submit(uow, accounts["aizu"], a, now=then)
    review.assign_reviewer(uow, accounts["admin"], call, "ministry", now=then)
    review.score(uow, accounts["ministry"], a, {"v": 4}, now=then)
    return {"call": str(call)}


@pytest.mark.parametrize("router", sorted(SMOKE))
def test_each_router_reads_and_writes(router: str, client, session_factory, accounts) -> None:  # type: ignore[no-untyped-def]
    (path, status, shows), (method, target, kw, written), (check, seen) = SMOKE[router]
    if "{call}" in target:
        ids = closed_call(session_factory, accounts)
        target, check = target.format(**ids), check.format(**ids)
    r = client.get(path)
    assert r.status_code == status and shows in r.text, (path, r.status_code, r.text[:300])
    w = client.request(method, target, follow_redirects=False, **kw)
    assert w.status_code == written, (target, w.status_code, w.text[:500])
    after = client.get(check)
    assert after.status_code == 200 and seen in after.text, (check, after.text[:500])
