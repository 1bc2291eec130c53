"""Import batches: listing them, what a batch overwrote, and reverting a whole batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from digiden.domain.access import Principal, can_import, require_signed_in
from digiden.domain.codes import NATION_CODE
from digiden.domain.errors import InvalidInput, NotFound, PermissionDenied
from digiden.services import audit
from digiden.services.uow import UnitOfWork
from digiden.shapes import imports as shapes
from digiden.store import batches as stored_batches
from digiden.store import bulk
from digiden.store.models import BatchKpi, ImportBatch, Kpi, Observation, ObservationChange, OrgUnit


@dataclass(frozen=True)
class BatchView:
    id: int
    kind: str
    file_name: str
    checksum: str
    created_by: str
    created_at: datetime
    rows: int
    created: int
    updated: int
    unchanged: int
    status: str
    file_format: str
    encoding: str
    shape: str
    warnings: int
    reverted_at: datetime | None
    reverted_by: str | None
    kpis: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """For cli.py."""
        return shapes.Batch.model_validate(self).model_dump(mode="json")


def _batch_view(s: Any, b: ImportBatch) -> BatchView:
    codes = tuple(s.scalars(select(Kpi.code).join(BatchKpi, BatchKpi.kpi_id == Kpi.id)
                            .where(BatchKpi.batch_id == b.id).order_by(Kpi.position)))
    return BatchView(b.id, b.kind, b.file_name, b.checksum, b.created_by, b.created_at, b.rows,
                     b.created, b.updated, b.unchanged, b.status, b.file_format, b.encoding,
                     b.shape, b.warnings, b.reverted_at, b.reverted_by, codes)


def list_batches(uow: UnitOfWork, actor: Principal, *, limit: int = 200) -> list[BatchView]:
    """Import records name people and files: signed-in users only (as for the rest below)."""
    require_signed_in(actor, "取込の記録の閲覧にはサインインが必要です")
    with uow:
        s = uow.session
        return [_batch_view(s, b) for b in s.scalars(
            select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit))]


def get_batch(uow: UnitOfWork, actor: Principal, batch_id: int) -> BatchView:
    require_signed_in(actor, "取込の記録の閲覧にはサインインが必要です")
    with uow:
        b = uow.session.get(ImportBatch, batch_id)
        if b is None:
            raise NotFound(f"no import batch {batch_id}", message_ja=f"取込 #{batch_id} はありません",
                           field="batch")
        return _batch_view(uow.session, b)


def revert_batch(uow: UnitOfWork, batch_id: int, *, actor: Principal, now: datetime) -> BatchView:
    """Undo a whole import: remove what it created, restore what it overwrote."""
    require_signed_in(actor, "取込の取消にはサインインが必要です")
    with uow:
        s = uow.session
        b = s.get(ImportBatch, batch_id)
        if b is None:
            raise NotFound(f"no import batch {batch_id}", message_ja=f"取込 #{batch_id} はありません",
                           field="batch")
        if not actor.is_admin and not (can_import(actor) and b.created_by == actor.name):
            raise PermissionDenied(f"{actor.name} may not revert batch {batch_id}",
                                   message_ja="この取込を取り消す権限がありません（取り込んだ本人か国の管理者のみ）")
        if b.status == "reverted":
            raise InvalidInput(f"batch {batch_id} is already reverted",
                               message_ja=f"取込 #{batch_id} はすでに取り消されています", field="batch")
        later = s.scalar(select(ObservationChange.id).join(
            ImportBatch, ImportBatch.id == ObservationChange.batch_id).where(
            ObservationChange.old_batch_id == batch_id, ImportBatch.status == "applied").limit(1))
        edited = s.scalar(select(Observation.id).where(
            Observation.batch_id == batch_id, Observation.updated_at.is_not(None),
            Observation.updated_at > b.created_at).limit(1))
        if later is not None or edited is not None:
            raise InvalidInput(
                f"values of batch {batch_id} were changed afterwards; revert those changes first",
                message_ja=f"取込 #{batch_id} の値はその後の取込や入力で変更されています。"
                           "先にそちらを取り消してください",
                field="batch")
        kpi_ids = [k for (k,) in s.execute(select(BatchKpi.kpi_id).where(BatchKpi.batch_id == batch_id))]
        conn = s.connection()
        removed = stored_batches.remove_created(conn, batch_id)
        restored = stored_batches.restore_overwritten(conn, batch_id)
        nation = s.scalar(select(OrgUnit.id).where(OrgUnit.code == NATION_CODE))
        bulk.rollup_recompute(conn, int(nation or 0), kpi_ids=kpi_ids)
        bulk.refresh_statistics(conn, removed + restored)
        b.status, b.reverted_at, b.reverted_by = "reverted", now, actor.name[:64]
        audit.record(s, actor=actor.name, action="import.revert", entity="import_batch",
                     entity_key=str(batch_id), at=now, batch_id=batch_id,
                     before={"status": "applied", "created": b.created, "updated": b.updated},
                     after={"status": "reverted", "removed": removed, "restored": restored},
                     summary=f"取込 #{batch_id}（{b.file_name}）を取り消しました（削除 {removed}、復元 {restored}）")
        view = _batch_view(s, b)
        uow.commit()
        return view


@dataclass(frozen=True)
class ChangeView:
    """One value an import batch overwrote: before and after."""

    kpi: str
    org_unit: str
    org_unit_name: str
    as_of: str
    breakdown: str
    before: float
    before_source: str
    after: float | None
    after_source: str | None

    def as_dict(self) -> dict[str, Any]:
        """For cli.py."""
        return shapes.Change.model_validate(self).model_dump(mode="json")


def batch_changes(uow: UnitOfWork, actor: Principal, batch_id: int, *, limit: int = 500) -> list[ChangeView]:
    """The values a batch overwrote, with what it wrote instead (while it is applied)."""
    require_signed_in(actor, "取込の記録の閲覧にはサインインが必要です")
    with uow:
        rows = uow.session.execute(
            select(Kpi.code, OrgUnit.code, OrgUnit.full_name, Observation.as_of, Observation.breakdown,
                   ObservationChange.old_value, ObservationChange.old_source_title, Observation.value,
                   Observation.source_title, Observation.batch_id)
            .join(Observation, Observation.id == ObservationChange.observation_id)
            .join(Kpi, Kpi.id == Observation.kpi_id).join(OrgUnit, OrgUnit.id == Observation.org_unit_id)
            .where(ObservationChange.batch_id == batch_id)
            .order_by(Kpi.position, OrgUnit.code, Observation.as_of).limit(limit)).all()
        return [ChangeView(k, o, n, a.isoformat(), bd, old, old_src,
                           new if b == batch_id else None, new_src if b == batch_id else None)
                for k, o, n, a, bd, old, old_src, new, new_src, b in rows]
