"""Audit trail: every mutation writes one event with who, when, what, before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiden.domain.access import Principal, Role
from digiden.domain.errors import SignInRequired
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, Kpi, OrgUnit


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


# Changes to the national, published data: every signed-in user may read their history.
SHARED_ENTITIES = ("observation", "import_batch", "import_mapping", "kpi")


def history(uow: UnitOfWork, principal: Principal, *, kpi_code: str | None = None,
            org_unit_code: str | None = None, batch_id: int | None = None, limit: int = 200) -> list[AuditView]:
    """Newest first; optionally only the events touching one KPI, one local government or one
    import batch. A batch's events count for every KPI and local government it touched.

    The national administrator reads everything; other staff read the history of national data
    and of the local strategies in their jurisdiction; the public reads none (sign in)."""
    from sqlalchemy import and_, or_

    from digiden.store.models import BatchKpi, Observation
    if not principal.signed_in:
        raise SignInRequired("sign in to read the audit trail", message_ja="監査ログの閲覧にはサインインが必要です")
    with uow:
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if not principal.is_admin:
            scope = select(OrgUnit.id).where(OrgUnit.id == (principal.org_unit_id or -1))
            if principal.role is Role.PREFECTURE and principal.prefecture_code:
                scope = select(OrgUnit.id).where(OrgUnit.prefecture_code == principal.prefecture_code,
                                                 OrgUnit.code != "JP")
            q = q.where(or_(AuditEvent.entity.in_(SHARED_ENTITIES),
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
        return [AuditView(e.id, e.at, e.actor, e.action, e.entity, e.entity_key, e.summary,
                          e.before, e.after) for e in uow.session.scalars(q)]
