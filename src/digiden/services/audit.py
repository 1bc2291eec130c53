"""Audit trail: every mutation writes one event with who, when, what, before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def history(uow: UnitOfWork, *, kpi_code: str | None = None, org_unit_code: str | None = None,
            limit: int = 200) -> list[AuditView]:
    """Newest first; optionally only the events touching one KPI or one local government."""
    with uow:
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if kpi_code:
            q = q.join(Kpi, Kpi.id == AuditEvent.kpi_id).where(Kpi.code == kpi_code)
        if org_unit_code:
            q = q.join(OrgUnit, OrgUnit.id == AuditEvent.org_unit_id).where(
                OrgUnit.code == org_unit_code)
        return [AuditView(e.id, e.at, e.actor, e.action, e.entity, e.entity_key, e.summary,
                          e.before, e.after) for e in uow.session.scalars(q)]
