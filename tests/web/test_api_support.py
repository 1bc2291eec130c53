"""重点支援 through the JSON API, on both databases: a call opened, applications alone and joint
(each member confirming itself), reviews with a conflicted reviewer refused, the selection
proposal beside greedy, the decision, the published result as JSON and CSV, and the selected
regions — with every bad input refused in Japanese and nothing written."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, SupportApplication, SupportCall, SupportReview
from tests.conftest import FIXED_NOW as NOW
from tests.web.helpers import Clients, count, refused

AIZU, KITAKATA, SAPPORO = "072028", "072087", "011002"
CLOSE = NOW + timedelta(hours=1)            # sessions last 8 hours: the deadline passes within one
AFTER = NOW + timedelta(hours=2)
GRANT = "digital-garden-city-grant"


def call_doc(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "round": 1, "title": "合成データ: APIの公募", "opens_at": (NOW - timedelta(days=1)).isoformat(),
        "closes_at": CLOSE.isoformat(), "budget": 100_000_000, "per_application_cap": 60_000_000,
        "joint_allowed": True, "joint_bonus": 5, "synthetic": True,
        "criteria": [{"code": "vision", "name": "地域ビジョンとの整合", "weight": 60, "max_points": 5},
                     {"code": "collab", "name": "地域間連携", "weight": 40, "max_points": 5,
                      "regional_collaboration": True}]}
    return base | kw


def app_doc(**kw: Any) -> dict[str, Any]:
    return {"title": "会津・喜多方 データ連携", "members": [KITAKATA], "requested_amount": 50_000_000,
            "measures": [{"title": "データ連携基盤", "digital": True}], "synthetic": True} | kw




def test_the_whole_cycle_through_the_api(as_: Clients, clock: list[datetime],
                                         session_factory: sessionmaker[Session]) -> None:
    admin, public = as_("admin"), as_("public")
    assert {p["code"] for p in public.get("/api/v1/programmes").json()} >= {GRANT, "decarbonization-leading"}

    # a call: bad terms refused in Japanese, nothing written
    for kw, field in [({"budget": 0}, "budget"), ({"budget": -5}, "budget"),
                      ({"criteria": [{"code": "a", "name": "A", "weight": 50, "max_points": 5}]}, "criteria")]:
        refused(admin.post(f"/api/v1/programmes/{GRANT}/calls", json=call_doc(**kw)), 422, field)
    assert count(session_factory, SupportCall) == 0
    refused(as_("aizu").post(f"/api/v1/programmes/{GRANT}/calls", json=call_doc()), 403)
    r = admin.post(f"/api/v1/programmes/{GRANT}/calls", json=call_doc())
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert public.get(f"/api/v1/calls/{cid}").json()["phase"] == "open"
    assert [c["id"] for c in public.get(f"/api/v1/programmes/{GRANT}").json()["calls"]] == [cid]

    # a joint proposal: refused until its member confirms itself
    aizu, kitakata, sapporo = as_("aizu"), as_("kitakata"), as_("sapporo")
    r = aizu.post(f"/api/v1/calls/{cid}/applications", json=app_doc())
    assert r.status_code == 201 and r.json()["status"] == "draft" and r.json()["joint"], r.text
    joint = r.json()["id"]
    err = refused(aizu.post(f"/api/v1/applications/{joint}/submit"), 409)
    assert "喜多方市" in err["message_ja"]
    assert aizu.get(f"/api/v1/applications/{joint}").json()["status"] == "draft"
    refused(aizu.post(f"/api/v1/applications/{joint}/confirm", json={"member": KITAKATA}), 403)
    assert kitakata.post(f"/api/v1/applications/{joint}/confirm").json()["members"][0]["confirmed"] is True
    assert aizu.post(f"/api/v1/applications/{joint}/submit").json()["status"] == "submitted"

    def submitted(c: Any, **kw: Any) -> int:
        r = c.post(f"/api/v1/calls/{cid}/applications", json=app_doc(members=[], **kw))
        assert r.status_code == 201, r.text
        s = c.post(f"/api/v1/applications/{r.json()['id']}/submit")
        assert s.status_code == 200, s.text
        return r.json()["id"]  # type: ignore[no-any-return]
    spr = submitted(sapporo, title="札幌 スマート除雪", requested_amount=40_000_000)
    kit = submitted(kitakata, title="喜多方 蔵オフィス", requested_amount=30_000_000)

    # a draft saved from a stale copy is refused; the newer save stays
    r = sapporo.post(f"/api/v1/calls/{cid}/applications", json=app_doc(title="札幌 二つ目", members=[]))
    draft, v = r.json()["id"], r.json()["version"]
    assert sapporo.put(f"/api/v1/applications/{draft}", json=app_doc(title="札幌 二つ目（改）", members=[],
                                                                      version=v)).status_code == 200
    refused(sapporo.put(f"/api/v1/applications/{draft}", json=app_doc(title="古い版", members=[], version=v)),
            409, "version")
    refused(sapporo.put(f"/api/v1/applications/{draft}", json=app_doc(members=[], version="三")), 422, "version")
    assert sapporo.get(f"/api/v1/applications/{draft}").json()["title"] == "札幌 二つ目（改）"
    refused(sapporo.post(f"/api/v1/calls/{cid}/applications", json=app_doc(members=[], requested_amount=70_000_000)),
            422, "requested_amount")

    # who sees an unsubmitted or unpublished application: 404 exactly like nothing
    for who in ("public", "fukushima", "ministry", "kitakata"):
        refused(as_(who).get(f"/api/v1/applications/{spr}"), 404)
    refused(as_("hokkaido").get(f"/api/v1/applications/{joint}"), 404)
    hidden, absent = (refused(kitakata.get(f"/api/v1/applications/{i}"), 404) for i in (spr, 999999))
    assert hidden["message_ja"].replace(str(spr), "X") == absent["message_ja"].replace("999999", "X")
    assert hidden["message"].replace(str(spr), "X") == absent["message"].replace("999999", "X")
    refused(aizu.get(f"/api/v1/applications/{draft}"), 404)                 # another's draft
    assert as_("hokkaido").get(f"/api/v1/applications/{spr}").status_code == 200        # their prefecture
    assert as_("fukushima").get(f"/api/v1/applications/{joint}").status_code == 200
    assert public.get(f"/api/v1/calls/{cid}/applications").json() == []

    # review: assignment, a conflicted reviewer refused, scores out of range refused, nothing written
    for who in ("ministry", "hokkaido"):
        assert admin.post(f"/api/v1/calls/{cid}/reviewers", json={"reviewer": who}).status_code == 201
    refused(admin.post(f"/api/v1/calls/{cid}/reviewers", json={"reviewer": "nobody-here"}), 422, "reviewer")
    refused(as_("fukushima").post(f"/api/v1/calls/{cid}/reviewers", json={"reviewer": "ministry"}), 403)
    ministry, hokkaido = as_("ministry"), as_("hokkaido")
    err = refused(hokkaido.post(f"/api/v1/applications/{spr}/reviews", json={"scores": {"vision": 3, "collab": 1}}),
                  403)
    assert "利益相反" in err["message_ja"]
    refused(ministry.post(f"/api/v1/applications/{joint}/reviews", json={"scores": {"vision": 6, "collab": 1}}),
            422, "scores.vision")
    refused(ministry.post(f"/api/v1/applications/{joint}/reviews", json={"scores": [1, 2]}), 422, "scores")
    refused(aizu.post(f"/api/v1/applications/{kit}/reviews", json={"scores": {"vision": 5, "collab": 5}}), 404)
    assert count(session_factory, SupportReview) == 0
    for app_id, scores in [(joint, {"vision": 3, "collab": 4}), (spr, {"vision": 5, "collab": 0}),
                           (kit, {"vision": 4, "collab": 0})]:
        r = ministry.post(f"/api/v1/applications/{app_id}/reviews", json={"scores": scores,
                                                                           "comments": {"vision": "明確"}})
        assert r.status_code == 200, r.text
    assert ministry.post(f"/api/v1/applications/{kit}/conflicts", json={"reason": "元職員"}).status_code == 201
    refused(ministry.get(f"/api/v1/applications/{kit}"), 404)           # a declared conflict hides it
    assert [x["reviewer"] for x in ministry.get(f"/api/v1/applications/{joint}/reviews").json()] == ["ministry"]
    assert aizu.get(f"/api/v1/applications/{joint}/reviews").json() == []
    assert len(admin.get(f"/api/v1/applications/{joint}/reviews").json()) == 1
    progress = admin.get(f"/api/v1/calls/{cid}/review-progress").json()
    assert (progress["submitted"], progress["reviewed"]) == (3, 3)
    refused(ministry.get(f"/api/v1/calls/{cid}/review-progress"), 403)

    # the proposal beside greedy, every outcome explained; bad or infeasible policies named
    prop = admin.get(f"/api/v1/calls/{cid}/selection?every_prefecture=true").json()
    assert set(prop["selected"]) == {joint, spr} and prop["budget_used"] == 90_000_000
    assert prop["budget"] == 100_000_000 and prop["total_score"] >= prop["greedy"]["total_score"]
    why = {o["application"]: o for o in prop["not_selected"]}
    assert why[kit]["reason"] == "budget" and why[kit]["shortfall"] == 20_000_000 and why[kit]["reason_ja"]
    assert {c["key"] for c in prop["constraints"]} and all("label_ja" in c for c in prop["constraints"])
    err = refused(admin.get(f"/api/v1/calls/{cid}/selection?every_prefecture=true&budget=45000000"), 422)
    assert "全都道府県で1件以上" in err["message_ja"]
    refused(admin.get(f"/api/v1/calls/{cid}/selection?budget=0"), 422, "budget")
    refused(as_("fukushima").get(f"/api/v1/calls/{cid}/selection"), 403)
    refused(admin.post(f"/api/v1/calls/{cid}/decision", json={}), 409)       # before the deadline

    # after the deadline: submission refused with the deadline, nothing written
    clock[0] = AFTER
    err = refused(sapporo.post(f"/api/v1/applications/{draft}/submit"), 409)
    assert "締切" in err["message_ja"] and "日本時間" in err["message_ja"]
    assert sapporo.get(f"/api/v1/applications/{draft}").json()["status"] == "draft"
    before = count(session_factory, SupportApplication)
    err = refused(sapporo.post(f"/api/v1/calls/{cid}/applications", json=app_doc(members=[])), 409, "call")
    assert "締切（2026年11月29日 19:00（日本時間））を過ぎている" in err["message_ja"]
    refused(sapporo.put(f"/api/v1/applications/{draft}", json=app_doc(title="締切後", members=[])), 409, "call")
    assert count(session_factory, SupportApplication) == before
    assert sapporo.get(f"/api/v1/applications/{draft}").json()["title"] == "札幌 二つ目（改）"

    # the decision: an override needs its reason; then decided once, published, public
    refused(admin.post(f"/api/v1/calls/{cid}/decision", json={"every_prefecture": True, "selected": [joint, kit]}),
            422, "override_reason")
    refused(admin.post(f"/api/v1/calls/{cid}/decision", json={"selected": "all"}), 422, "selected")
    refused(admin.post(f"/api/v1/calls/{cid}/decision", json={"selected": [999999], "override_reason": "x"}),
            422, "selected")
    err = refused(admin.post(f"/api/v1/calls/{cid}/decision", json={"every_prefecture": True, "budget": 45_000_000}),
                  422)
    assert "全都道府県で1件以上" in err["message_ja"]                    # infeasible: the constraint named
    refused(admin.post(f"/api/v1/calls/{cid}/decision", json={"budget": -1}), 422, "budget")
    with UnitOfWork(session_factory).for_reading() as u:
        assert set(u.session.scalars(select(SupportApplication.status))) == {"submitted", "draft"}
        assert u.session.scalar(select(SupportCall.decided_at)) is None
    refused(public.get(f"/api/v1/calls/{cid}/results"), 404)
    r = admin.post(f"/api/v1/calls/{cid}/decision", json={"every_prefecture": True})
    assert r.status_code == 201, r.text
    assert set(r.json()["selected"]) == {joint, spr} and r.json()["changed"] == []
    refused(admin.post(f"/api/v1/calls/{cid}/decision", json={}), 409)
    refused(public.get(f"/api/v1/calls/{cid}/results"), 404)             # decided, not yet published
    refused(as_("fukushima").post(f"/api/v1/calls/{cid}/publication"), 403)
    assert admin.post(f"/api/v1/calls/{cid}/publication").json() == {"call": cid, "selections": 2}
    res = public.get(f"/api/v1/calls/{cid}/results").json()
    assert {x["application"] for x in res["selected"]} == {joint, spr} and res["synthetic"] is True
    assert next(x for x in res["selected"] if x["application"] == joint)["members"][0]["code"] == KITAKATA
    raw = public.get(f"/api/v1/calls/{cid}/results?format=csv")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(raw.content.decode("utf-8-sig"))))
    assert rows[0][0] == "申請番号" and len(rows) == 3 and all(r[-1] == "合成データ" for r in rows[1:])
    refused(public.get(f"/api/v1/calls/{cid}/results?format=xml"), 422, "format")
    assert public.get(f"/api/v1/applications/{joint}").json()["status"] == "selected"
    refused(public.get(f"/api/v1/applications/{kit}"), 404)               # not selected stays unpublished
    assert {a["id"] for a in public.get(f"/api/v1/calls/{cid}/applications").json()} == {joint, spr}

    # the selected regions and their state, the nation's with a reason
    regions = public.get(f"/api/v1/regions?programme={GRANT}").json()
    assert {x["lead_code"] for x in regions} == {AIZU, SAPPORO} and all(x["origin"] == "decision" for x in regions)
    key = regions[0]["key"]
    refused(as_("fukushima").put(f"/api/v1/regions/{key}/state", json={"state": "cancelled", "reason": "x"}), 403)
    refused(admin.put(f"/api/v1/regions/{key}/state", json={"state": "cancelled", "reason": " "}), 422, "reason")
    r = admin.put(f"/api/v1/regions/{key}/state", json={"state": "cancelled", "reason": "辞退（合成データの例）"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    assert public.get(f"/api/v1/programmes/{GRANT}").json()["count"]["total"] == 1

    with UnitOfWork(session_factory).for_reading() as u:
        actions = set(u.session.scalars(select(AuditEvent.action).where(AuditEvent.entity.in_(
            ("support_call", "support_application", "support_selection")))))
    assert {"call.create", "call.reviewer", "application.save", "application.confirm", "application.submit",
            "review.score", "review.conflict", "call.decide", "call.publish", "selection.state"} <= actions


def test_a_rubric_is_replaced_until_the_first_review(as_: Clients, session_factory: sessionmaker[Session]) -> None:
    admin = as_("admin")
    cid = admin.post(f"/api/v1/programmes/{GRANT}/calls", json=call_doc()).json()["id"]
    crit = [{"code": "only", "name": "総合評価", "weight": 100, "max_points": 10}]
    refused(admin.put(f"/api/v1/calls/{cid}/rubric", json={"criteria": crit[:0]}), 422, "criteria")
    refused(as_("ministry").put(f"/api/v1/calls/{cid}/rubric", json={"criteria": crit}), 403)
    refused(admin.put(f"/api/v1/calls/{cid}/rubric",
                      json={"criteria": [crit[0] | {"weight": 90}]}), 422, "criteria")
    r = admin.put(f"/api/v1/calls/{cid}/rubric", json={"criteria": [
        {"code": "only", "name": "総合評価", "weight": 70, "max_points": 10},
        {"code": "collab", "name": "地域間連携", "weight": 30, "max_points": 5, "regional_collaboration": True}]})
    # the codes kept ("collab") are replaced in place (a unique code per call), not refused with a 500
    assert r.status_code == 200 and [c["code"] for c in r.json()["criteria"]] == ["only", "collab"], r.text
    assert [c["weight"] for c in admin.get(f"/api/v1/calls/{cid}").json()["criteria"]] == [70, 30]
    refused(admin.get("/api/v1/calls/999999999"), 404)
    refused(as_("public").get("/api/v1/programmes/no-such-programme"), 404)


def test_the_demo_call_can_be_clicked_through(as_: Clients, session_factory: sessionmaker[Session]) -> None:
    """`digiden demo` leaves a decided and published call whose every application, result row
    and region says it is synthetic, with 山形県's reviewer conflicted with 飯豊町's applications."""
    from digiden.domain.access import system
    from digiden.services.local.demo import create_demo
    report = create_demo(UnitOfWork(session_factory), system("test-demo"), now=NOW)
    [cid] = report["calls"]
    public, admin = as_("public"), as_("admin")
    call = public.get(f"/api/v1/calls/{cid}").json()
    assert call["synthetic"] and "合成データ" in call["title"] and call["published_at"] and call["phase"] == "closed"
    res = public.get(f"/api/v1/calls/{cid}/results").json()
    assert res["selected"] and all("合成データ" in x["title"] and x["synthetic"] for x in res["selected"])
    assert {x["lead_code"] for x in res["selected"]} >= {"064033"}       # every prefecture: 山形県 too
    rows = list(csv.reader(io.StringIO(public.get(f"/api/v1/calls/{cid}/results?format=csv").content
                                       .decode("utf-8-sig"))))
    assert len(rows) == len(res["selected"]) + 1 and all(r[-1] == "合成データ" for r in rows[1:])
    everything = admin.get(f"/api/v1/calls/{cid}/applications").json()
    assert len(everything) == 4 and any(a["joint"] for a in everything) and all(a["synthetic"] for a in everything)
    assert {a["status"] for a in everything} == {"selected", "not_selected"}
    reviews = {a["id"]: admin.get(f"/api/v1/applications/{a['id']}/reviews").json() for a in everything}
    iide = [a["id"] for a in everything if a["lead_code"] == "064033"]
    assert iide and all([r["reviewer"] for r in reviews[i]] == ["demo-soumu"] for i in iide)   # 山形県's conflicted
    regions = public.get("/api/v1/regions?programme=digital-garden-city-grant").json()
    assert regions and all(x["synthetic"] for x in regions)
