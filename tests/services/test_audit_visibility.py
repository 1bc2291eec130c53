"""The audit trail shows a reader only what that reader may see of the entity an event records:
a municipality's draft is hidden from its prefecture in the audit trail exactly as on the
strategy page (404 there), through the service, the API and the page. Both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from digiden.domain.access import PUBLIC
from digiden.domain.errors import NotFound, SignInRequired
from digiden.services.audit import AuditView, history
from digiden.services.knowledge import practices
from digiden.services.local import local_strategies as ls
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW as NOW

AIZU, KITAKATA = "072028", "072087"
DRAFT_SECRET = "下書きの秘密ビジョン draft-7f3a"   # only in 会津若松市's never-submitted draft (ASCII too:
#                                                 pages show before/after as escaped JSON)
SUBMITTED = "喜多方市の提出したビジョン submitted-5c1e"
PRACTICE_SECRET = "未公開事例の秘密の課題 practice-9d2b"


def doc(vision: str) -> dict[str, Any]:
    return {"title": "デジタル田園都市国家構想総合戦略", "fiscal_year": "令和6年度", "vision": vision,
            "measures": [{"title": "データ連携基盤", "field": "F1.3", "digital": True, "state": "in_place"}]}


def setup(uow: UnitOfWork, a: dict[str, Any]) -> None:
    ls.save(uow, a["aizu"], AIZU, doc(DRAFT_SECRET), now=NOW)                   # never submitted
    ls.save(uow, a["kitakata"], KITAKATA, doc(SUBMITTED), now=NOW)
    ls.act(uow, a["kitakata"], KITAKATA, 1, "submit", now=NOW)
    practices.add(uow, a["aizu"], {"title": "未公開の事例", "org_units": [AIZU], "field": "P4.3",
                                   "problem": PRACTICE_SECRET, "solution": "AIで配車"}, submit=False, now=NOW)


def dump(events: list[AuditView] | list[dict[str, Any]]) -> str:
    return json.dumps([e if isinstance(e, dict) else e.__dict__ for e in events], ensure_ascii=False, default=str)


def keys(events: list[AuditView]) -> set[tuple[str, str, str]]:
    return {(e.entity, e.entity_key, e.action) for e in events}


def test_the_prefecture_sees_submissions_it_reviews_but_no_draft(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    setup(uow, accounts)
    with pytest.raises(NotFound):                     # the page's rule …
        ls.get(uow, accounts["fukushima"], AIZU)
    seen = history(uow, accounts["fukushima"])      # … is the audit trail's rule
    assert DRAFT_SECRET not in dump(seen) and not any(e.entity_key == f"{AIZU}#1" for e in seen)
    assert ("local_strategy", f"{KITAKATA}#1", "submit") in keys(seen)
    for org in (AIZU, None):
        assert DRAFT_SECRET not in dump(history(uow, accounts["fukushima"], org_unit_code=org))
    # the prefecture oversees 会津若松市's unpublished practice (as on the practice's page)
    assert PRACTICE_SECRET in dump(seen)
    # accounts and tokens are the administrator's business
    assert not any(e.entity in ("user", "api_token") for e in seen)


def test_the_owner_sees_its_own_drafts_and_others_see_nothing_of_them(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    setup(uow, accounts)
    own = history(uow, accounts["aizu"])
    assert ("local_strategy", f"{AIZU}#1", "create") in keys(own) and DRAFT_SECRET in dump(own)
    assert PRACTICE_SECRET in dump(own)
    assert SUBMITTED not in dump(own)                 # 喜多方市 is not 会津若松市's business
    for who in ("kitakata", "sapporo", "hokkaido", "ministry"):
        seen = dump(history(uow, accounts[who]))
        assert DRAFT_SECRET not in seen and PRACTICE_SECRET not in seen, who
    assert SUBMITTED in dump(history(uow, accounts["kitakata"]))


def test_the_administrator_sees_everything_and_the_public_nothing(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    setup(uow, accounts)
    every = history(uow, accounts["admin"])
    assert DRAFT_SECRET in dump(every) and SUBMITTED in dump(every) and PRACTICE_SECRET in dump(every)
    assert any(e.entity == "user" for e in every)
    with pytest.raises(SignInRequired):
        history(uow, PUBLIC)


def test_the_limit_counts_visible_events_only(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    setup(uow, accounts)
    for i in range(6):                                 # many hidden events, newer than the visible ones
        ls.save(uow, accounts["aizu"], AIZU, doc(f"{DRAFT_SECRET}{i}"), now=NOW)
    seen = history(uow, accounts["fukushima"], limit=2)
    assert len(seen) == 2 and DRAFT_SECRET not in dump(seen)
    assert ("local_strategy", f"{KITAKATA}#1", "submit") in keys(seen)


def test_api_and_page_hide_the_draft_from_the_prefecture(uow: UnitOfWork, accounts, client_as) -> None:  # type: ignore[no-untyped-def]
    setup(uow, accounts)
    pref = client_as("fukushima")
    r = pref.get("/api/v1/audit", params={"org_unit": AIZU})
    assert r.status_code == 200 and DRAFT_SECRET not in r.text
    r = pref.get("/api/v1/audit", params={"org_unit": KITAKATA})
    assert r.status_code == 200 and any(e["action"] == "submit" for e in r.json())
    for params in ({"org_unit": AIZU}, {}):
        page = pref.get("/audit", params=params)
        assert page.status_code == 200 and "draft-7f3a" not in page.text and "第1版を保存: 福島県会津" not in page.text
    assert pref.get(f"/api/v1/local-strategies/{AIZU}").status_code == 404
    owner = client_as("aizu")
    assert DRAFT_SECRET in owner.get("/api/v1/audit", params={"org_unit": AIZU}).text
    page = owner.get("/audit", params={"org_unit": AIZU}).text
    assert "draft-7f3a" in page and "第1版を保存: 福島県会津" in page
    public = client_as("public")
    assert public.get("/api/v1/audit", params={"org_unit": AIZU}).status_code == 401
    r = public.get("/audit", params={"org_unit": AIZU}, follow_redirects=False)
    assert r.status_code in (302, 303, 401) and "draft-7f3a" not in r.text
    admin = client_as("admin")
    assert DRAFT_SECRET in admin.get("/api/v1/audit", params={"org_unit": AIZU}).text
