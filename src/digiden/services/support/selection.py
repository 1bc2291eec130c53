"""The selection of a call (選定): the proposal that maximises the total normalised score under
the budget and the constraints the administrator switches on (solved to optimality by HiGHS),
greedy beside it, every application's outcome explained; the decision, with a written reason
where it departs from the proposal; and the publication of the result (採択結果), which makes
each selected application a published selection (a model region)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import Principal
from digiden.domain.calendar import japan_date
from digiden.domain.errors import Conflict, InvalidInput
from digiden.domain.support import (
    AppStatus,
    Candidate,
    Outcome,
    Plan,
    Policy,
    Selection,
    check_override,
)
from digiden.domain.support import (
    select as solve_selection,
)
from digiden.domain.text import bounded
from digiden.services import audit
from digiden.services.support.programmes import aware, load_call, parse_amount
from digiden.services.support.review import call_scores
from digiden.services.support.solver import solve
from digiden.services.uow import UnitOfWork
from digiden.store.models import (
    OrgUnit,
    SupportApplication,
    SupportCall,
    SupportProgramme,
    SupportSelection,
    SupportSelectionMember,
)


def parse_policy(doc: Mapping[str, Any], call: SupportCall) -> Policy:
    """The administrator's switches; the budget defaults to the call's."""
    def num(key: str, label: str) -> float | None:
        v = doc.get(key)
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        if isinstance(v, bool):
            raise InvalidInput(f"{key}: not a number", message_ja=f"{label}は数値で入力してください", field=key)
        try:
            return float(v) if isinstance(v, int | float) else float(str(v).strip().rstrip("%")) / (
                100 if str(v).strip().endswith("%") else 1)
        except ValueError:
            raise InvalidInput(f"{key}: not a number", message_ja=f"{label}は数値で入力してください",
                               field=key) from None

    def whole(key: str, label: str) -> int | None:
        v = num(key, label)
        if v is not None and not v.is_integer():
            raise InvalidInput(f"{key}: a whole number", message_ja=f"{label}は整数で入力してください", field=key)
        return int(v) if v is not None else None

    budget = parse_amount(doc.get("budget"), field="budget", label_ja="予算額") if doc.get("budget") not in (
        None, "") else call.budget
    every = doc.get("every_prefecture")
    return Policy(budget=budget, max_selections=whole("max_selections", "選定数の上限"),
                  min_score=num("min_score", "最低点"),
                  every_prefecture=every is True or str(every or "").lower() in ("1", "true", "on", "yes", "はい"),
                  per_prefecture_cap=whole("per_prefecture_cap", "都道府県ごとの上限"),
                  min_joint_share=num("min_joint_share", "共同提案の最低割合")).check()


def policy_dict(p: Policy) -> dict[str, Any]:
    return {"budget": p.budget, "max_selections": p.max_selections, "min_score": p.min_score,
            "every_prefecture": p.every_prefecture, "per_prefecture_cap": p.per_prefecture_cap,
            "min_joint_share": p.min_joint_share}


def candidates(s: Session, call: SupportCall, statuses: tuple[str, ...]) -> tuple[list[Candidate], dict[str, str]]:
    """The call's applications in these states as the selection sees them, and the names of the
    prefectures (code → name)."""
    apps = list(s.scalars(select(SupportApplication).where(SupportApplication.call_id == call.id,
                                                           SupportApplication.status.in_(statuses))
                          .order_by(SupportApplication.id)))
    joint = {a.id: bool(a.members) for a in apps}
    scores = call_scores(s, call, joint)
    orgs = {o.id: o for o in s.scalars(select(OrgUnit).where(OrgUnit.id.in_(
        {a.lead_org_unit_id for a in apps} | {m.org_unit_id for a in apps for m in a.members})))}
    names = {o.prefecture_code: o.full_name for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "prefecture"))}
    out = []
    for a in apps:
        prefs = frozenset(orgs[i].prefecture_code for i in [a.lead_org_unit_id] + [m.org_unit_id for m in a.members])
        out.append(Candidate(a.id, a.title, scores.get(a.id), int(a.requested_amount or 0), prefs, joint[a.id]))
    return out, names


@dataclass(frozen=True)
class Proposal:
    call_id: int
    policy: dict[str, Any]
    selection: Selection

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``digiden select CALL --json`` and of the API."""
        return selection_dict(self.call_id, self.policy, self.selection)


def _plan_dict(plan: Plan) -> dict[str, Any]:
    return {"selected": list(plan.chosen), "total_score": round(plan.total_score, 6), "budget_used": plan.budget_used,
            "feasible": plan.feasible,
            "constraints": [{"key": c.key, "label_ja": c.label_ja, "met": c.met, "detail": c.detail}
                            for c in plan.constraints]}


def _outcome_dict(o: Outcome) -> dict[str, Any]:
    return {"application": o.application, "title": o.label, "score": None if o.score is None else round(o.score, 6),
            "amount": o.amount, "reason": o.reason, "reason_ja": o.reason_ja, "shortfall": o.shortfall}


def selection_dict(call_id: int, policy: dict[str, Any], s: Selection) -> dict[str, Any]:
    opt = _plan_dict(s.optimal)
    return {"call": call_id, "policy": policy, "selected": opt["selected"],
            "not_selected": [_outcome_dict(o) for o in s.outcomes if not o.selected],
            "outcomes": [_outcome_dict(o) for o in s.outcomes],
            "total_score": opt["total_score"], "budget_used": opt["budget_used"], "budget": s.budget,
            "constraints": opt["constraints"], "greedy": _plan_dict(s.greedy), "gain": round(s.gain, 6),
            "notes": list(s.notes)}


def propose(uow: UnitOfWork, p: Principal, call_id: int, policy: Mapping[str, Any]) -> Proposal:
    """The optimal selection among the submitted applications (nothing is written). An
    infeasible combination of constraints is an InvalidInput naming the constraint."""
    access.require(p, p.is_admin, message="only the nation proposes a selection",
                   message_ja="選定案を作成できるのは国の管理者だけです", sign_in_ja="ログインが必要です")
    with uow.for_reading() as u:
        s = u.session
        call = load_call(s, call_id)
        pol = parse_policy(policy, call)
        cands, names = candidates(s, call, (AppStatus.SUBMITTED.value,))
        return Proposal(call.id, policy_dict(pol), solve_selection(cands, pol, solve, names))


def decide(uow: UnitOfWork, p: Principal, call_id: int, policy: Mapping[str, Any], *, now: datetime,
           selected: list[int] | None = None, override_reason: str = "") -> dict[str, Any]:
    """Decide the call: the proposal as it stands, or the administrator's own set (``selected``)
    with a written reason for the difference. Submitted applications become 選定 or 不選定;
    the budget is never exceeded; the decision and its reason are kept and audited."""
    access.require(p, access.can_manage_programmes(p), message="only the nation decides",
                   message_ja="選定を決定できるのは国の管理者だけです", sign_in_ja="ログインが必要です")
    reason = bounded(override_reason, 4000, field="override_reason", label_ja="変更の理由")
    with uow:
        s = uow.session
        call = load_call(s, call_id)
        if call.decided_at is not None:
            raise Conflict("already decided", message_ja="この公募の選定は既に決定しています", field="call")
        if now <= aware(call.closes_at):
            raise Conflict("the call is still open", message_ja="締切前の公募は選定できません", field="call")
        pol = parse_policy(policy, call)
        cands, names = candidates(s, call, (AppStatus.SUBMITTED.value,))
        proposal = solve_selection(cands, pol, solve, names)
        proposed = set(proposal.optimal.chosen)
        chosen = proposed if selected is None else set(selected)
        changed = chosen ^ proposed
        warnings = check_override(pol, cands, chosen, changed, reason, names)
        apps = {a.id: a for a in s.scalars(select(SupportApplication).where(
            SupportApplication.call_id == call.id, SupportApplication.status == AppStatus.SUBMITTED.value))}
        for a in apps.values():
            a.status = (AppStatus.SELECTED if a.id in chosen else AppStatus.NOT_SELECTED).value
            a.override_reason = reason if a.id in changed else ""
            a.updated_at = now
            a.version += 1
        decision = {"policy": policy_dict(pol), "selected": sorted(chosen), "proposed": sorted(proposed),
                    "changed": sorted(changed), "override_reason": reason, "warnings": warnings,
                    "proposal": selection_dict(call.id, policy_dict(pol), proposal)}
        call.policy, call.decision, call.decided_at, call.decided_by = policy_dict(pol), decision, now, p.name
        call.version += 1
        s.flush()
        audit.record(s, actor=p.name, action="call.decide", entity="support_call", entity_key=str(call.id), at=now,
                     after={"selected": sorted(chosen), "changed": sorted(changed), "override_reason": reason,
                            "warnings": warnings},
                     summary=f"公募「{call.title}」の選定を決定しました（{len(chosen)}件"
                             + ("、提案から変更あり" if changed else "") + "）")
        uow.commit()
        return decision


def publish(uow: UnitOfWork, p: Principal, call_id: int, *, now: datetime) -> int:
    """Publish a decided call's result: every selected application becomes a published selection
    of the programme (a model region with its lead and members). Returns how many."""
    access.require(p, access.can_manage_programmes(p), message="only the nation publishes",
                   message_ja="選定結果を公表できるのは国の管理者だけです", sign_in_ja="ログインが必要です")
    with uow:
        s = uow.session
        call = load_call(s, call_id)
        if call.decided_at is None:
            raise Conflict("not decided", message_ja="選定が決定していない公募は公表できません", field="call")
        if call.published_at is not None:
            raise Conflict("already published", message_ja="この公募の選定結果は既に公表しています", field="call")
        prog = s.get(SupportProgramme, call.programme_id)
        assert prog is not None
        state = "registered" if prog.kind == "registration" else "selected"
        n = 0
        for a in s.scalars(select(SupportApplication).where(SupportApplication.call_id == call.id,
                                                            SupportApplication.status == AppStatus.SELECTED.value)
                           .order_by(SupportApplication.id)):
            sel = SupportSelection(key=f"{prog.code}:call{call.id}:app{a.id}", programme_id=prog.id, call_id=call.id,
                                   application_id=a.id, round=call.round, selected_on=japan_date(now), title=a.title,
                                   lead_org_unit_id=a.lead_org_unit_id, state=state, origin="decision",
                                   created_at=now, synthetic=a.synthetic or call.synthetic)
            sel.members = [SupportSelectionMember(org_unit_id=m.org_unit_id) for m in a.members]
            s.add(sel)
            n += 1
        call.published_at = now
        call.version += 1
        s.flush()
        audit.record(s, actor=p.name, action="call.publish", entity="support_call", entity_key=str(call.id), at=now,
                     after={"selections": n}, summary=f"公募「{call.title}」の選定結果を公表しました（{n}件）")
        uow.commit()
        return n


def decided_reasons(uow: UnitOfWork, call_id: int, visible: set[int]) -> dict[int, str]:
    """Why each decided application ended as it did, in Japanese (the proposal's reason, and the
    administrator's written reason where the decision departed from it), for the applications in
    ``visible`` — the ones the viewer may open (``applications.list_for_call``); the rest of
    the call's outcomes stay unseen, as their applications do."""
    with uow.for_reading() as u:
        call = load_call(u.session, call_id)
        decision = call.decision or {}
    if not decision or not visible:
        return {}
    changed = set(decision.get("changed") or [])
    out: dict[int, str] = {}
    for o in (decision.get("proposal") or {}).get("outcomes") or []:
        a = o.get("application")
        if a in visible:
            text = str(o.get("reason_ja") or "")
            if a in changed and decision.get("override_reason"):
                text = f"国の判断で提案から変更（理由: {decision['override_reason']}）"
            out[a] = text
    return out
