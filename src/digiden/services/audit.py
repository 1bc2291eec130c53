"""Audit trail: every mutation writes one event with who, when, what, before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import Principal, Role
from digiden.domain.errors import SignInRequired
from digiden.domain.local import Status, may_see
from digiden.domain.practice import Status as PracticeStatus
from digiden.services.common import org_ref
from digiden.services.uow import UnitOfWork
from digiden.shapes.audit import AuditEntryOut
from digiden.store.models import AuditEvent, BatchKpi, Kpi, Observation, OrgUnit, Practice, PracticeOrgUnit


def record(session: Session, *, actor: str, action: str, entity: str, entity_key: str,
           at: datetime, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, kpi_id: int | None = None,
           org_unit_id: int | None = None, batch_id: int | None = None,
           summary: str = "") -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change itself)."""
    ev = AuditEvent(at=at, actor=actor, action=action, entity=entity, entity_key=entity_key,
                    before=before, after=after, kpi_id=kpi_id, org_unit_id=org_unit_id,
                    batch_id=batch_id, summary=summary)
    session.add(ev)
    return ev


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_key: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def shape(self) -> AuditEntryOut:
        return AuditEntryOut(id=self.id, at=self.at.isoformat(), actor=self.actor, action=self.action,
                             entity=self.entity, entity_key=self.entity_key, summary=self.summary,
                             before=self.before, after=self.after)


# Changes to the national, published data: every signed-in user may read their history.
SHARED_ENTITIES = ("observation", "import_batch", "import_mapping", "kpi")
# Events whose entity has rules of its own (the services' visibility rules, applied per event).
RULED_ENTITIES = ("local_strategy", "practice")


def _statuses(e: AuditEvent) -> list[str]:
    """The states of the entity an event records: those named in its before/after."""
    return [str(d["status"]) for d in (e.before, e.after) if isinstance(d, dict) and d.get("status")]


class _Visibility:
    """Whether a reader may see an audit event: what the reader may see of the entity it records,
    by the same rules as the services that own the entity.

    - national data (observations, imports, mappings, KPI assignments): every signed-in user;
    - a local strategy revision: within the reader's reach (owner, its prefecture), and only if
      the reader may see the revision in a state the event records. A save records the content
      of an open revision (下書き or 差し戻し: the owner's and the nation's only); a step of the
      cycle records the states before and after, so a prefecture sees a submission, its own
      approval or return, and the nation's decision, but never a municipality's draft;
    - a good practice: while an event records unpublished content, the people who may see an
      unpublished practice (its authors, its local governments, their prefecture); content that
      was published, every signed-in user; an import of many practices, the administrator;
    - accounts, tokens, notifications and everything else: the national administrator."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session, self.p = session, principal
        self._orgs: dict[int, Any] = {}
        self._practices: dict[str, Any] = {}

    def org(self, org_unit_id: int) -> Any:
        if org_unit_id not in self._orgs:
            o = self.session.get(OrgUnit, org_unit_id)
            self._orgs[org_unit_id] = org_ref(o) if o is not None else None
        return self._orgs[org_unit_id]

    def practice(self, code: str) -> Any:
        """(status, its local governments, created_by), or None for a key that is no practice."""
        if code not in self._practices:
            pr = self.session.scalars(select(Practice).where(Practice.code == code)).one_or_none()
            if pr is None:
                self._practices[code] = None
            else:
                units = self.session.scalars(select(OrgUnit).join(
                    PracticeOrgUnit, PracticeOrgUnit.org_unit_id == OrgUnit.id).where(
                    PracticeOrgUnit.practice_id == pr.id)).all()
                self._practices[code] = (pr.status, [org_ref(u) for u in units], pr.created_by)
        return self._practices[code]

    def __call__(self, e: AuditEvent) -> bool:
        p = self.p
        if p.is_admin:
            return True
        if e.entity in SHARED_ENTITIES:
            return True
        if e.entity == "local_strategy":
            org = self.org(e.org_unit_id) if e.org_unit_id is not None else None
            if org is None or not access.can_see_submitted(p, org):
                return False
            states = [Status(x) for x in _statuses(e) if x in Status._value2member_map_] or [Status.DRAFT]
            return any(may_see(p, org, st) for st in states)
        if e.entity == "practice":
            found = self.practice(e.entity_key)
            if found is None:
                return False
            status, orgs, created_by = found
            # every state the event records must be visible (a state of no practice counts as unpublished)
            shown = [PracticeStatus(x) if x in PracticeStatus._value2member_map_ else PracticeStatus.DRAFT
                     for x in (_statuses(e) or [status])]
            return all(access.can_see_practice(p, st, orgs, created_by) for st in shown)
        return False


def history(uow: UnitOfWork, principal: Principal, *, kpi_code: str | None = None,
            org_unit_code: str | None = None, batch_id: int | None = None, limit: int = 200) -> list[AuditView]:
    """Newest first; optionally only the events touching one KPI, one local government or one
    import batch. A batch's events count for every KPI and local government it touched.

    Each reader sees only the events of what it may see (see ``_Visibility``); the public reads
    none (sign in)."""
    if not principal.signed_in:
        raise SignInRequired("sign in to read the audit trail", message_ja="監査ログの閲覧にはサインインが必要です")
    with uow:
        q = select(AuditEvent).order_by(AuditEvent.id.desc())
        if not principal.is_admin:
            # a coarse filter in SQL; _Visibility decides each event
            scope = select(OrgUnit.id).where(OrgUnit.id == (principal.org_unit_id or -1))
            if principal.role is Role.PREFECTURE and principal.prefecture_code:
                scope = select(OrgUnit.id).where(OrgUnit.prefecture_code == principal.prefecture_code,
                                                 OrgUnit.code != "JP")
            q = q.where(or_(AuditEvent.entity.in_(SHARED_ENTITIES), AuditEvent.entity == "practice",
                            and_(AuditEvent.entity == "local_strategy", AuditEvent.org_unit_id.in_(scope))))
        if kpi_code:
            kpi_id = select(Kpi.id).where(Kpi.code == kpi_code).scalar_subquery()
            q = q.where(or_(AuditEvent.kpi_id == kpi_id,
                            AuditEvent.batch_id.in_(select(BatchKpi.batch_id).where(BatchKpi.kpi_id == kpi_id))
                            & (AuditEvent.kpi_id.is_(None))))
        if org_unit_code:
            org_id = select(OrgUnit.id).where(OrgUnit.code == org_unit_code).scalar_subquery()
            q = q.where(or_(AuditEvent.org_unit_id == org_id,
                            AuditEvent.batch_id.in_(select(Observation.batch_id).where(
                                Observation.kpi_id.in_(select(Kpi.id)), Observation.org_unit_id == org_id,
                                Observation.batch_id.is_not(None)))
                            & (AuditEvent.org_unit_id.is_(None))))
        if batch_id is not None:
            q = q.where(AuditEvent.batch_id == batch_id)
        visible = _Visibility(uow.session, principal)
        found: list[AuditView] = []
        page = max(limit, 1) * 2
        last_id: int | None = None
        while len(found) < limit:
            chunk = q.where(AuditEvent.id < last_id) if last_id is not None else q
            rows = list(uow.session.scalars(chunk.limit(page)))
            for e in rows:
                if visible(e):
                    found.append(AuditView(e.id, e.at, e.actor, e.action, e.entity, e.entity_key, e.summary,
                                           e.before, e.after))
                    if len(found) == limit:
                        break
            if len(rows) < page:
                break
            last_id = rows[-1].id
        return found
