"""類似団体, recommendations of good practices, collaboration partners and saved collaboration
groups (地域間連携).

The reference part of every municipality's profile (kind, population, aging rate, fiscal
indices, city hall, neighbours) changes only with `digiden db init`; it is read once per
process and kept. The strategy part (the fields of its declared social issues and its model
types) is read fresh on every call from the latest accepted revisions: only published
strategies are compared, so what one local government sees of another is what the public sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import Principal, require
from digiden.domain.errors import InvalidInput, NotFound
from digiden.domain.local import MeasureState
from digiden.domain.similarity import (
    Match,
    Profile,
    compare,
    groups,
    parse_weights,
    rank,
)
from digiden.domain.text import bounded
from digiden.services import audit
from digiden.services.common import org_ref
from digiden.services.national.local_facts import latest_accepted
from digiden.services.registry.localgov import resolve_org
from digiden.services.uow import UnitOfWork
from digiden.store import dataversion
from digiden.store.db import engine_key
from digiden.store.models import (
    Adjacency,
    Adoption,
    Area,
    CollaborationGroup,
    CollaborationMember,
    FiscalIndex,
    LocalIssue,
    LocalMeasure,
    LocalStrategy,
    LocalStrategyModelType,
    ModelType,
    OrgUnit,
    Practice,
    PracticeModelType,
    PracticeOrgUnit,
    Problem,
)

MUNICIPAL_KINDS = ("designated_city", "city", "town", "village", "special_ward")
# The profiles (population, fiscal indices, neighbours of every municipality), computed once per
# (database, data version) in each process. The data version (store/dataversion.py) changes with
# every committed write in any process or worker, so a reference-data reload that corrects a
# population or a fiscal index in place is seen at once (the row counts this was keyed by before
# did not change with it).
_cache: dict[tuple[object, str], dict[int, Profile]] = {}


def _static_profiles(s: Session) -> dict[int, Profile]:
    token = dataversion.current(s)   # before the data: an entry may be newer, never older
    if token is None:
        return _read_static_profiles(s)
    key = (engine_key(s), token)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    out = _read_static_profiles(s)
    # On PostgreSQL each statement may see a later commit than the token did: keep the result
    # only if no write committed meanwhile.
    if dataversion.current(s) == token:
        _cache.clear()
        _cache[key] = out
    return out


def _read_static_profiles(s: Session) -> dict[int, Profile]:
    fiscal = {f.org_unit_id: f for f in s.scalars(select(FiscalIndex))}
    neigh: dict[int, set[int]] = {}
    for a, b in s.execute(select(Adjacency.org_unit_id, Adjacency.neighbour_id)):
        neigh.setdefault(a, set()).add(b)
    out = {}
    for o in s.scalars(select(OrgUnit).where(OrgUnit.kind.in_(MUNICIPAL_KINDS))):
        f = fiscal.get(o.id)
        out[o.id] = Profile(o.id, o.code, o.full_name, o.kind, o.prefecture_code, o.population, o.aging_rate_pct,
                            f.fiscal_strength if f else None, f.current_balance_ratio if f else None,
                            o.lat, o.lng, frozenset(neigh.get(o.id, ())), frozenset())
    return out


def _topics(s: Session) -> dict[int, frozenset[str]]:
    """org unit id → field codes of its declared issues and its model-type codes (accepted only)."""
    accepted = latest_accepted(s)
    if not accepted:
        return {}
    by_strategy = {ls.id: org for org, ls in accepted.items()}
    out: dict[int, set[str]] = {}
    for sid, code in s.execute(select(LocalIssue.strategy_id, Area.code).join(Area, Area.id == LocalIssue.area_id)
                               .where(LocalIssue.strategy_id.in_(by_strategy))):
        out.setdefault(by_strategy[sid], set()).add(code)
    for sid, code in s.execute(select(LocalStrategyModelType.strategy_id, ModelType.code)
                               .join(ModelType, ModelType.id == LocalStrategyModelType.model_type_id)
                               .where(LocalStrategyModelType.strategy_id.in_(by_strategy))):
        out.setdefault(by_strategy[sid], set()).add(code)
    return {k: frozenset(v) for k, v in out.items()}


def profiles(s: Session) -> dict[int, Profile]:
    static = _static_profiles(s)
    topics = _topics(s)
    if not topics:
        return static
    return {i: (replace(p, topics=topics[i]) if i in topics else p) for i, p in static.items()}


def _topic_names(s: Session) -> dict[str, str]:
    return {a.code: a.name for a in s.scalars(select(Area))} | {m.code: m.name for m in s.scalars(select(ModelType))}


def _municipality(s: Session, code: str) -> OrgUnit:
    o = resolve_org(s, code)
    if o.kind not in MUNICIPAL_KINDS:
        raise InvalidInput(f"{o.full_name} is not a municipality; similarity compares the 1,741 municipalities",
                           message_ja=f"{o.full_name}は市区町村ではありません（類似団体は1,741市区町村の間で比べます）",
                           field="code")
    return o


# ---------------------------------------------------------------- 類似団体

@dataclass(frozen=True)
class SimilarItem:
    code: str
    name: str
    score: float
    reasons: tuple[str, ...]
    components: tuple[tuple[str, float | None, float], ...]   # key, similarity, weight


@dataclass(frozen=True)
class SimilarResult:
    code: str
    name: str
    weights: dict[str, float]
    items: tuple[SimilarItem, ...]
    compared: int


def _item(m: Match) -> SimilarItem:
    return SimilarItem(m.profile.code, m.profile.name, m.score, tuple(m.reasons),
                       tuple((c.key, c.similarity, c.weight) for c in m.components))


def similar(uow: UnitOfWork, principal: Principal, code: str, *, weights: Mapping[str, object] | None = None,
            limit: int = 20, same_prefecture: bool = False) -> SimilarResult:
    w = parse_weights(weights)
    limit = max(1, min(int(limit), 200))
    with uow:
        s = uow.session
        o = _municipality(s, code)
        ps = profiles(s)
        target = ps[o.id]
        others = [p for p in ps.values() if not same_prefecture or p.prefecture_code == target.prefecture_code]
        matches = rank(target, others, w, limit=limit, topic_names=_topic_names(s))
        return SimilarResult(o.code, o.full_name, w, tuple(_item(m) for m in matches), len(others) - 1)


# ---------------------------------------------------------------- recommendations

@dataclass(frozen=True)
class Recommendation:
    code: str
    title: str
    place: str
    score: float
    why: tuple[str, ...]
    synthetic: bool


@dataclass(frozen=True)
class Recommendations:
    code: str
    name: str
    issues: tuple[tuple[str, str], ...]     # the declared issue fields / model types used
    items: tuple[Recommendation, ...]
    message: str


def _declared(s: Session, principal: Principal, o: OrgUnit) -> frozenset[str]:
    """The issues of the latest accepted strategy; the owner (and the nation) also see those
    of their newest revision, drafts included, so they get advice while they write."""
    strategy = None
    if access.can_see_drafts(principal, org_ref(o)):
        strategy = s.scalars(select(LocalStrategy).where(LocalStrategy.org_unit_id == o.id)
                             .order_by(LocalStrategy.revision.desc())).first()
    if strategy is None:
        strategy = latest_accepted(s).get(o.id)
    if strategy is None:
        return frozenset()
    codes = set(s.scalars(select(Area.code).join(LocalIssue, LocalIssue.area_id == Area.id)
                          .where(LocalIssue.strategy_id == strategy.id)))
    codes |= set(s.scalars(select(ModelType.code).join(LocalStrategyModelType,
                                                      LocalStrategyModelType.model_type_id == ModelType.id)
                           .where(LocalStrategyModelType.strategy_id == strategy.id)))
    return frozenset(codes)


def recommendations(uow: UnitOfWork, principal: Principal, code: str, *, fields: list[str] | None = None,
                    limit: int = 20) -> Recommendations:
    """Published practices addressing the local government's declared issues (or the fields
    given), ranked by relevance × how similar their adopters are to it."""
    with uow:
        s = uow.session
        o = _municipality(s, code)
        names = _topic_names(s)
        wanted = frozenset(f for f in (fields or []) if f) or _declared(s, principal, o)
        unknown = [f for f in wanted if f not in names]
        if unknown:
            raise InvalidInput(f"unknown fields {unknown}", message_ja=f"不明な分野です: {'、'.join(unknown)}",
                               field="field")
        if not wanted:
            return Recommendations(o.code, o.full_name, (), (),
                                   "地方版総合戦略に社会課題が登録されていません。"
                                   "分野を選ぶと、その分野の事例をおすすめします。")
        ps = profiles(s)
        me = ps[o.id]
        w = parse_weights(None)
        areas = {a.id: a.code for a in s.scalars(select(Area))}
        practices = list(s.scalars(select(Practice).where(Practice.status == "published")))
        pids = [p.id for p in practices]
        adopters: dict[int, set[int]] = {}
        for pid, uid in s.execute(select(PracticeOrgUnit.practice_id, PracticeOrgUnit.org_unit_id)
                                  .where(PracticeOrgUnit.practice_id.in_(pids))):
            adopters.setdefault(pid, set()).add(uid)
        for pid, uid in s.execute(select(Adoption.practice_id, Adoption.org_unit_id)
                                  .where(Adoption.practice_id.in_(pids))):
            adopters.setdefault(pid, set()).add(uid)
        types: dict[int, set[str]] = {}
        for pid, tcode in s.execute(select(PracticeModelType.practice_id, ModelType.code)
                                    .join(ModelType, ModelType.id == PracticeModelType.model_type_id)):
            types.setdefault(pid, set()).add(tcode)
        place = {pid: name for pid, name in s.execute(
            select(PracticeOrgUnit.practice_id, OrgUnit.full_name)
            .join(OrgUnit, OrgUnit.id == PracticeOrgUnit.org_unit_id))}
        out = []
        for p in practices:
            who = adopters.get(p.id, set())
            if o.id in who:
                continue
            field = areas.get(p.area_id or 0)
            why, rel = [], 0.0
            if field and field in wanted:
                rel, why = 1.0, [f"課題の分野「{names[field]}」の事例"]
            elif field and any(field.split(".")[0] == f.split(".")[0] and "." in f for f in wanted):
                rel, why = 0.5, [f"同じ柱の分野「{names[field]}」の事例"]
            shared_types = types.get(p.id, set()) & wanted
            if shared_types:
                rel = max(rel, 0.8)
                why.append("モデル・重点分野「" + "、".join(names[t] for t in sorted(shared_types)) + "」")
            if rel == 0:
                continue
            best, best_name = 0.0, ""
            for uid in who:
                if uid in ps:
                    m = compare(me, ps[uid], w)
                    if m.score > best:
                        best, best_name = m.score, ps[uid].name
            if best_name:
                why.append(f"導入団体の{best_name}と類似度 {best:.2f}")
            out.append(Recommendation(p.code, p.title, place.get(p.id, p.place or ""), rel * (0.5 + 0.5 * best),
                                      tuple(why), p.synthetic))
        out.sort(key=lambda r: (-r.score, r.code))
        issues = tuple((c, names[c]) for c in sorted(wanted))
        return Recommendations(o.code, o.full_name, issues, tuple(out[:limit]),
                               "" if out else "この課題に当てはまる公開済みの事例はまだありません。")


# ---------------------------------------------------------------- partners

@dataclass(frozen=True)
class PartnerMember:
    code: str
    name: str
    experience: bool          # has a digital measure in this field in place (実施中・終了)
    fiscal_strength: float | None
    population: int | None


@dataclass(frozen=True)
class PartnerGroup:
    members: tuple[PartnerMember, ...]
    complementary: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class Partners:
    issue: tuple[str, str]
    fields: tuple[str, ...]
    within_km: float
    sharing: tuple[PartnerMember, ...]
    groups: tuple[PartnerGroup, ...]
    anchor: str | None


def _issue_fields(s: Session, issue: str) -> tuple[tuple[str, str], tuple[str, ...]]:
    prob = s.scalars(select(Problem).where(Problem.code == issue)).one_or_none()
    if prob is not None:
        return (prob.code, prob.name), tuple(prob.field_codes)
    area = s.scalars(select(Area).where(Area.code == issue)).first()
    if area is not None:
        if "." in area.code:
            return (area.code, area.name), (area.code,)
        return (area.code, area.name), tuple(s.scalars(select(Area.code).where(Area.code.like(area.code + ".%"))))
    mt = s.scalars(select(ModelType).where(ModelType.code == issue)).first()
    if mt is not None:
        return (mt.code, mt.name), (mt.code,)
    raise InvalidInput(f"unknown issue {issue!r} (a social issue, field or model type code)",
                       message_ja=f"不明な社会課題・分野です: {issue}", field="issue")


def partners(uow: UnitOfWork, principal: Principal, issue: str, *, within_km: float = 30.0,
             anchor: str | None = None, prefecture: str | None = None) -> Partners:
    """Local governments whose published strategy declares the issue, in candidate groups of
    neighbours (shared border or city halls within ``within_km``); a group is complementary
    when it mixes members with the digital measure already in place and members starting out,
    or strong and weak fiscal capacity."""
    if not 0 < within_km <= 300:
        raise InvalidInput("within_km: between 0 and 300", message_ja="距離は0より大きく300 km以下にしてください",
                           field="within_km")
    with uow:
        s = uow.session
        label, fields = _issue_fields(s, issue)
        ps = profiles(s)
        accepted = latest_accepted(s)
        fset = set(fields)
        sharing_ids = {i for i, p in ps.items() if p.topics & fset}
        anchor_unit = _municipality(s, anchor) if anchor else None
        if anchor_unit is not None:
            sharing_ids.add(anchor_unit.id)
        if prefecture:
            sharing_ids = {i for i in sharing_ids if ps[i].prefecture_code == prefecture.zfill(2)[:2]}
        area_ids = {a.id for a in s.scalars(select(Area).where(Area.code.in_(fields)))}
        experienced: set[int] = set()
        by_strategy = {ls.id: org for org, ls in accepted.items() if org in sharing_ids}
        if by_strategy:
            for sid in s.scalars(select(LocalMeasure.strategy_id).where(
                    LocalMeasure.strategy_id.in_(by_strategy), LocalMeasure.digital.is_(True),
                    LocalMeasure.area_id.in_(area_ids),
                    LocalMeasure.state.in_([MeasureState.IN_PLACE.value, MeasureState.ENDED.value]))):
                experienced.add(by_strategy[sid])

        def member(i: int) -> PartnerMember:
            p = ps[i]
            return PartnerMember(p.code, p.name, i in experienced, p.fiscal_strength, p.population)

        sharing = sorted((ps[i] for i in sharing_ids), key=lambda p: p.code)
        out = []
        for g in groups(sharing, within_km=within_km):
            if anchor_unit is not None and anchor_unit.id not in {p.id for p in g}:
                continue
            comp = []
            exp = [p for p in g if p.id in experienced]
            if exp and len(exp) < len(g):
                comp.append("導入済みの団体（" + "、".join(p.name for p in exp) + "）が経験を共有できる")
            fs = [p.fiscal_strength for p in g if p.fiscal_strength is not None]
            if fs and max(fs) - min(fs) >= 0.2:
                comp.append(f"財政力に差がある（財政力指数 {min(fs):.2f}〜{max(fs):.2f}）: "
                            "共同調達・共同運用の効果が大きい")
            adjacent = sum(1 for p in g for q in g if q.id in p.neighbours) // 2
            if adjacent:
                comp.append(f"境界を共有する組が{adjacent}組")
            score = len(g) + 2 * len(comp)
            out.append(PartnerGroup(tuple(member(p.id) for p in g), tuple(comp), score))
        out.sort(key=lambda g: (-g.score, g.members[0].code))
        return Partners(label, fields, within_km, tuple(member(p.id) for p in sharing), tuple(out),
                        anchor_unit.code if anchor_unit else None)


# ---------------------------------------------------------------- saved collaboration groups

@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    issue: tuple[str, str] | None
    description: str
    initiatives: tuple[str, ...]
    members: tuple[tuple[str, str, str], ...]    # code, name, role
    created_by: str
    created_at: datetime
    synthetic: bool


def _group_view(s: Session, g: CollaborationGroup) -> GroupView:
    issue = None
    if g.problem_code:
        issue = _issue_fields(s, g.problem_code)[0]
    members = s.execute(select(OrgUnit.code, OrgUnit.full_name, CollaborationMember.role)
                        .join(CollaborationMember, CollaborationMember.org_unit_id == OrgUnit.id)
                        .where(CollaborationMember.group_id == g.id).order_by(OrgUnit.code)).all()
    return GroupView(g.id, g.name, issue, g.description, tuple(str(x) for x in g.initiatives),
                     tuple((c, n, r) for c, n, r in members), g.created_by, g.created_at, g.synthetic)


def save_group(uow: UnitOfWork, principal: Principal, doc: Mapping[str, Any], *, now: datetime) -> GroupView:
    """Save a collaboration group: name, issue, members (codes, at least two) and the joint
    initiatives (one per line)."""
    name = bounded(doc.get("name"), 200, field="name", label_ja="連携の名称", required=True)
    description = bounded(doc.get("description"), 4000, field="description", label_ja="説明")
    raw_init = doc.get("initiatives") or []
    lines = raw_init.splitlines() if isinstance(raw_init, str) else [str(x) for x in raw_init]
    initiatives = [bounded(x, 500, field="initiatives", label_ja="共同の取組") for x in lines if str(x).strip()]
    raw_members = doc.get("members") or []
    codes = ([c for c in raw_members.replace("、", ",").replace(";", ",").replace("\n", ",").split(",")]
             if isinstance(raw_members, str) else [str(c) for c in raw_members])
    codes = [c.strip() for c in codes if c.strip()]
    if len(set(codes)) < 2:
        raise InvalidInput("a group needs at least two members", message_ja="連携には2団体以上を指定してください",
                           field="members")
    issue = str(doc.get("issue") or "").strip() or None
    with uow:
        s = uow.session
        if issue:
            _issue_fields(s, issue)
        units = []
        for c in dict.fromkeys(codes):
            try:
                units.append(resolve_org(s, c))
            except NotFound:
                raise InvalidInput(f"members: no local government {c}", field="members",
                                   message_ja=f"構成団体: 団体コード {c} の地方公共団体はありません") from None
        require(principal, access.can_save_group(principal, [org_ref(u) for u in units]),
                message="only a member, its prefecture (for all members) or the nation saves this group",
                message_ja="連携を登録できるのは、構成団体・（全団体を所管する）都道府県の職員か国の管理者です",
                sign_in_ja="連携を登録するにはログインしてください")
        g = CollaborationGroup(name=name, problem_code=issue, description=description, initiatives=initiatives,
                               created_by=principal.name, created_at=now, synthetic=principal.synthetic)
        s.add(g)
        s.flush()
        s.add_all([CollaborationMember(group_id=g.id, org_unit_id=u.id) for u in units])
        s.flush()
        audit.record(s, actor=principal.name, action="collaboration.create", entity="collaboration_group",
                     entity_key=str(g.id), at=now,
                     after={"name": name, "issue": issue, "members": [u.code for u in units],
                            "initiatives": initiatives},
                     summary=f"地域間連携「{name}」を登録しました（{len(units)}団体）")
        view = _group_view(s, g)
        uow.commit()
        return view


def list_groups(uow: UnitOfWork, *, org_code: str | None = None) -> list[GroupView]:
    with uow:
        s = uow.session
        q = select(CollaborationGroup).order_by(CollaborationGroup.id.desc())
        if org_code:
            o = resolve_org(s, org_code)
            q = q.where(CollaborationGroup.id.in_(select(CollaborationMember.group_id)
                                                  .where(CollaborationMember.org_unit_id == o.id)))
        return [_group_view(s, g) for g in s.scalars(q)]


def get_group(uow: UnitOfWork, group_id: int) -> GroupView:
    with uow:
        g = uow.session.get(CollaborationGroup, group_id)
        if g is None:
            raise NotFound(f"no collaboration group {group_id}", message_ja=f"連携 {group_id} は見つかりません")
        return _group_view(uow.session, g)
