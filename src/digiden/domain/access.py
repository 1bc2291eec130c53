"""Who may do what: roles, the acting principal and the pure access rules.

The services layer asks these questions before every read of unpublished data and every write;
pages, the API and the CLI never decide access themselves. The rules:

- national administrator: everything.
- ministry editor: reads like the public plus the staff views; writes observations of the
  KPIs assigned to its own ministry (``kpi_owner``), nothing of local governments.
- prefecture staff: reads its prefecture and the municipalities in it (drafts included once
  submitted, its own always); reviews its municipalities' submissions; writes its own
  prefecture's strategy.
- municipality staff: reads and writes its own local government only.
- public (anonymous): published data only; writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from digiden.domain.errors import InvalidInput, PermissionDenied, SignInRequired
from digiden.domain.practice import PUBLIC_STATUSES
from digiden.domain.practice import Status as PracticeStatus


class Role(StrEnum):
    NATIONAL_ADMIN = "national_admin"
    MINISTRY_EDITOR = "ministry_editor"
    PREFECTURE = "prefecture_staff"
    MUNICIPALITY = "municipality_staff"
    PUBLIC = "public"

    @property
    def label_ja(self) -> str:
        return ROLE_LABELS_JA[self]

    @classmethod
    def parse(cls, text: str) -> Role:
        t = (text or "").strip()
        for r in cls:
            if t in (r.value, r.label_ja):
                return r
        aliases = {"admin": cls.NATIONAL_ADMIN, "national": cls.NATIONAL_ADMIN,
                   "ministry": cls.MINISTRY_EDITOR, "prefecture": cls.PREFECTURE,
                   "municipality": cls.MUNICIPALITY}
        if t in aliases:
            return aliases[t]
        raise InvalidInput(f"unknown role {t!r} (one of {', '.join(r.value for r in cls)})",
                           message_ja=f"不明な役割です: {t}", field="role")


ROLE_LABELS_JA: dict[Role, str] = {
    Role.NATIONAL_ADMIN: "国の管理者",
    Role.MINISTRY_EDITOR: "府省の担当者",
    Role.PREFECTURE: "都道府県の職員",
    Role.MUNICIPALITY: "市区町村の職員",
    Role.PUBLIC: "一般（未ログイン）",
}

READ = "read"
WRITE = "write"
ALL_SCOPES = frozenset({READ, WRITE})


@dataclass(frozen=True)
class Principal:
    """The one acting: a signed-in user, an API token's user (with the token's scopes), the
    CLI operator, or the anonymous public."""

    role: Role
    name: str                          # what the audit trail records
    user_id: int | None = None
    org_unit_id: int | None = None     # prefecture / municipality staff: their own unit
    org_code: str | None = None
    prefecture_code: str | None = None  # two digits, for prefecture and municipality staff
    ministry: str | None = None         # ministry editors
    scopes: frozenset[str] = field(default=ALL_SCOPES)
    synthetic: bool = False

    @property
    def signed_in(self) -> bool:
        return self.role is not Role.PUBLIC

    @property
    def is_admin(self) -> bool:
        return self.role is Role.NATIONAL_ADMIN

    @property
    def can_write_at_all(self) -> bool:
        return self.signed_in and WRITE in self.scopes


PUBLIC = Principal(Role.PUBLIC, "public", scopes=frozenset({READ}))


def system(name: str) -> Principal:
    """The operator at the server's command line: a national administrator."""
    return Principal(Role.NATIONAL_ADMIN, name)


NATION_CODE = "JP"   # the nation's pseudo local government (``OrgRef.is_nation``)


@dataclass(frozen=True)
class OrgRef:
    """What the rules need to know about a local government."""

    id: int
    code: str
    prefecture_code: str
    is_prefecture: bool
    is_nation: bool = False


def owns(p: Principal, org: OrgRef) -> bool:
    """The principal is staff of this very local government."""
    return p.org_unit_id is not None and p.org_unit_id == org.id


def in_jurisdiction(p: Principal, org: OrgRef) -> bool:
    """A prefecture's staff oversee the municipalities in their prefecture (and themselves)."""
    return (p.role is Role.PREFECTURE and p.prefecture_code is not None
            and org.prefecture_code == p.prefecture_code and not org.is_nation)


def can_see_drafts(p: Principal, org: OrgRef) -> bool:
    """The owner sees its own drafts; the national administrator sees everything."""
    return p.is_admin or owns(p, org)


def can_see_submitted(p: Principal, org: OrgRef) -> bool:
    """Submitted (not yet accepted) records: the owner, its reviewers and the nation."""
    return p.is_admin or owns(p, org) or in_jurisdiction(p, org)


def can_edit_local(p: Principal, org: OrgRef) -> bool:
    """Write the local government's own records (strategy, measures, local KPIs)."""
    if not p.can_write_at_all:
        return False
    return p.is_admin or (p.role in (Role.MUNICIPALITY, Role.PREFECTURE) and owns(p, org))


def can_review_as_prefecture(p: Principal, org: OrgRef) -> bool:
    """First review of a municipality's submission: its prefecture (or the nation)."""
    if not p.can_write_at_all or org.is_prefecture:
        return p.is_admin and p.can_write_at_all
    return p.is_admin or (in_jurisdiction(p, org) and not owns(p, org))


def can_accept_nationally(p: Principal) -> bool:
    return p.is_admin and p.can_write_at_all


def can_write_observation(p: Principal, kpi_ministry: str | None) -> bool:
    """National KPI observations: the administrator, or the editor of the owning ministry."""
    if not p.can_write_at_all:
        return False
    if p.is_admin:
        return True
    return (p.role is Role.MINISTRY_EDITOR and p.ministry is not None
            and kpi_ministry is not None and kpi_ministry == p.ministry)


def can_import(p: Principal) -> bool:
    """Who may start an import of national KPI observations at all (per-KPI checks follow)."""
    return p.can_write_at_all and p.role in (Role.NATIONAL_ADMIN, Role.MINISTRY_EDITOR)


def can_manage_accounts(p: Principal) -> bool:
    return p.is_admin and p.can_write_at_all


def may_follow_job(p: Principal, started_by: Principal) -> bool:
    """An import job in progress: its starter, and the national administrator."""
    return p.name == started_by.name or p.is_admin


def require_signed_in(p: Principal, message_ja: str) -> None:
    """Refuse the anonymous public where signing in would help (401, pages go to /login)."""
    if not p.signed_in:
        raise SignInRequired("sign in or send an API token", message_ja=message_ja)


def require(p: Principal, allowed: bool, *, message: str, message_ja: str, sign_in_ja: str) -> None:
    """The one shape of a refusal: anonymous → sign in (401); signed in but not allowed → 403."""
    if allowed:
        return
    require_signed_in(p, sign_in_ja)
    raise PermissionDenied(message, message_ja=message_ja)


# --- good practices, adoptions, collaboration groups -------------------------------------------

def can_propose_practice(p: Principal, orgs: list[OrgRef]) -> bool:
    """Write a practice (draft or submission) about these local governments: staff of one of
    them, their prefecture, or the nation."""
    if not p.can_write_at_all:
        return False
    if p.is_admin:
        return True
    if p.role not in (Role.MUNICIPALITY, Role.PREFECTURE) or not orgs:
        return False
    return any(owns(p, o) for o in orgs) or all(in_jurisdiction(p, o) for o in orgs)


def can_propose_any_practice(p: Principal) -> bool:
    """The form for a new practice: staff of a local government, or the nation (which local
    governments it may name is ``can_propose_practice``)."""
    return p.can_write_at_all and (p.is_admin or p.role in (Role.MUNICIPALITY, Role.PREFECTURE))


def can_review_practice(p: Principal) -> bool:
    """Review before publishing is the nation's (the menu book is a national publication)."""
    return p.is_admin and p.can_write_at_all



def can_edit_practice(p: Principal, status: PracticeStatus, orgs: list[OrgRef]) -> bool:
    """Its authors change a practice while it is a draft or returned; the nation at any time."""
    return can_propose_practice(p, orgs) and (status.editable_by_authors or can_review_practice(p))


@dataclass(frozen=True)
class PracticeReach:
    """Which practices one principal may see: the visibility rule for practices, as data.

    It is read in two ways that therefore cannot drift apart: ``sees`` answers for one practice
    (a page, the audit trail), and the services turn the same fields into the SQL filter of a
    list (``services.knowledge.practices.visible_to``), so that paging is exact."""

    everything: bool = False                   # the nation
    public: frozenset[PracticeStatus] = PUBLIC_STATUSES   # seen by all, whoever wrote them
    author: str | None = None                  # unpublished ones this account created
    org_unit_id: int | None = None             # unpublished ones naming this local government
    prefecture_code: str | None = None         # unpublished ones naming a local government here

    def sees(self, status: PracticeStatus, orgs: list[OrgRef], created_by: str) -> bool:
        return (self.everything or status in self.public
                or (self.author is not None and created_by == self.author)
                or any(self.reaches(o) for o in orgs))

    def reaches(self, org: OrgRef) -> bool:
        """The local government is the principal's own or in its prefecture (the nation's
        pseudo unit is in none)."""
        return ((self.org_unit_id is not None and org.id == self.org_unit_id)
                or (self.prefecture_code is not None and org.prefecture_code == self.prefecture_code
                    and not org.is_nation))


def practice_reach(p: Principal) -> PracticeReach:
    """The rule: published practices for everyone; everything for the nation; for signed-in
    staff also the unpublished ones they wrote, those of their own local government and, for
    a prefecture's staff, those of every local government in the prefecture."""
    if p.is_admin:
        return PracticeReach(everything=True)
    if not p.signed_in:
        return PracticeReach()
    return PracticeReach(author=p.name, org_unit_id=p.org_unit_id,
                         prefecture_code=(p.prefecture_code or None) if p.role is Role.PREFECTURE else None)


def can_see_practice(p: Principal, status: PracticeStatus, orgs: list[OrgRef], created_by: str) -> bool:
    return practice_reach(p).sees(status, orgs, created_by)


def can_record_any_adoption(p: Principal) -> bool:
    """The adoption form under a published practice: staff of a local government, or the nation
    (which local government may be recorded is ``can_record_adoption``)."""
    return p.can_write_at_all and (p.is_admin or p.role in (Role.MUNICIPALITY, Role.PREFECTURE))


def can_record_adoption(p: Principal, org: OrgRef) -> bool:
    """横展開 is recorded by the adopting local government, its prefecture, or the nation."""
    if not p.can_write_at_all or org.is_nation:
        return False
    return p.is_admin or (p.role in (Role.MUNICIPALITY, Role.PREFECTURE) and owns(p, org)) or (
        in_jurisdiction(p, org) and p.role is Role.PREFECTURE)


def can_save_group(p: Principal, members: list[OrgRef]) -> bool:
    """A collaboration group is saved by one of its members, a prefecture over all of them,
    or the nation."""
    if not p.can_write_at_all:
        return False
    if p.is_admin:
        return True
    if p.role not in (Role.MUNICIPALITY, Role.PREFECTURE):
        return False
    return any(owns(p, m) for m in members) or all(in_jurisdiction(p, m) for m in members)


# --- 重点支援: programmes, calls, applications, review, selection (domain/support.py) -------------

def can_manage_programmes(p: Principal) -> bool:
    """Programmes, calls, rubrics, reviewers and the selection decision are the nation's."""
    return p.is_admin and p.can_write_at_all


def can_apply_for(p: Principal, lead: OrgRef) -> bool:
    """An application is written by staff of its lead local government (or the nation)."""
    if not p.can_write_at_all or lead.is_nation:
        return False
    return p.is_admin or (p.role in (Role.MUNICIPALITY, Role.PREFECTURE) and owns(p, lead))


def can_confirm_membership(p: Principal, member: OrgRef) -> bool:
    """Only a member's own staff confirm that it takes part in a joint proposal."""
    return p.can_write_at_all and p.role in (Role.MUNICIPALITY, Role.PREFECTURE) and owns(p, member)


def can_see_application(p: Principal, parties: list[OrgRef], *, draft: bool, published_selection: bool,
                        reviewer: bool, conflicted: bool) -> bool:
    """Who sees an application:

    - everyone, once it is a published selection (採択結果);
    - the nation;
    - its lead and members' staff, drafts included;
    - their prefecture's staff, once submitted;
    - a reviewer assigned to the call, once submitted, unless conflicted."""
    if published_selection or p.is_admin or any(owns(p, o) for o in parties):
        return True
    if draft:
        return False
    if any(in_jurisdiction(p, o) for o in parties):
        return True
    return p.signed_in and reviewer and not conflicted


def can_score(p: Principal, *, reviewer: bool, conflicted: bool) -> bool:
    return p.can_write_at_all and reviewer and not conflicted


# --- 重点支援: selected regions and their yearly evaluation (選定地域の評価・支援) -------------------

@dataclass(frozen=True)
class ModelRegion:
    """What the evaluation rules need of a selected region (選定地域)."""

    parties: tuple[OrgRef, ...]     # lead first, then members
    ministry: str                   # the programme's 所管 as written, e.g. 「内閣府・総務省など」


def ministries_of(text: str) -> frozenset[str]:
    """The ministries named by a programme's 所管 (「内閣府・総務省など」 → 内閣府, 総務省)."""
    return frozenset(m.strip() for m in re.split(r"[・、,]", text.replace("など", "")) if m.strip())


def is_national_staff(p: Principal) -> bool:
    """National administrators and every ministry's editors."""
    return p.is_admin or p.role is Role.MINISTRY_EDITOR


def in_region(p: Principal, r: ModelRegion) -> bool:
    """Staff of the region's lead or of one of its members."""
    return any(owns(p, o) for o in r.parties)


def may_see_region_reports(p: Principal, r: ModelRegion) -> bool:
    """The region, its prefecture and national staff see its submitted reports (beyond the
    public's submitted national assessments)."""
    return is_national_staff(p) or in_region(p, r) or any(in_jurisdiction(p, o) for o in r.parties)


def may_write_evaluation(p: Principal, r: ModelRegion, *, national: bool) -> bool:
    """A self-assessment (自己評価) is written by the region's own staff (lead or member); the
    national assessment (国の評価) by the administrators or the programme's ministry's editors."""
    if not p.can_write_at_all:
        return False
    if not national:
        return in_region(p, r) and p.role in (Role.MUNICIPALITY, Role.PREFECTURE)
    return p.is_admin or (p.role is Role.MINISTRY_EDITOR and p.ministry is not None
                          and p.ministry in ministries_of(r.ministry))


def may_see_evaluation(p: Principal, r: ModelRegion, *, national: bool, submitted: bool) -> bool:
    """Who sees one evaluation report:

    - a submitted national assessment: everyone;
    - a submitted self-assessment: the region, its prefecture and national staff;
    - a draft: the side that writes it (a national draft: national staff; a self-assessment's:
      the region's staff) and the administrators."""
    if submitted:
        return national or may_see_region_reports(p, r)
    return p.is_admin or may_write_evaluation(p, r, national=national) or (
        national and is_national_staff(p)) or (not national and in_region(p, r))
