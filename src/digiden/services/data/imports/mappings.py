"""Saved column mappings (the columns of a file the importer does not recognise by name)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from digiden.domain.access import Principal, require_signed_in
from digiden.domain.errors import NotFound
from digiden.services import audit
from digiden.services.uow import UnitOfWork
from digiden.store.models import ImportMapping


def load_mapping(session: Any, name: str) -> dict[str, str]:
    """A saved mapping (role → column header) by name; NotFound when there is none."""
    m = session.scalars(select(ImportMapping).where(ImportMapping.name == name)).one_or_none()
    if m is None:
        raise NotFound(f"no saved mapping named {name!r}",
                       message_ja=f"保存された列の対応付け「{name}」はありません", field="mapping")
    return dict(m.mapping)


def save_mapping(session: Any, name: str, mapping: dict[str, str], actor: str, now: datetime) -> None:
    """Save (or replace) a mapping under a name, in the caller's transaction, with an audit event."""
    m = session.scalars(select(ImportMapping).where(ImportMapping.name == name)).one_or_none()
    before = dict(m.mapping) if m else None
    if m is None:
        m = ImportMapping(name=name[:64], mapping=mapping, created_by=actor, created_at=now)
        session.add(m)
    else:
        m.mapping = mapping
    audit.record(session, actor=actor, action="mapping.save", entity="import_mapping",
                 entity_key=name, at=now, before=before, after=mapping,
                 summary=f"列の対応付け「{name}」を保存しました")


def list_mappings(uow: UnitOfWork, actor: Principal) -> list[dict[str, Any]]:
    require_signed_in(actor, "取込の記録の閲覧にはサインインが必要です")
    with uow:
        return [{"name": m.name, "mapping": m.mapping, "created_by": m.created_by,
                 "created_at": m.created_at.isoformat()}
                for m in uow.session.scalars(select(ImportMapping).order_by(ImportMapping.name))]
