"""Files attached to an application (添付資料): PDF and Excel (.xlsx) only, recognised by their
content and not only by their name, at most ``MAX_BYTES`` each and ``MAX_FILES`` per
application, with a SHA-256 computed on upload and checked again on every download. They are
rows of the database (``support_attachment``), so ``digiden backup`` carries them.

Who may open the application may list and download its files (anyone else is told the
application does not exist); its lead's staff add and delete them while it is a draft."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digiden.domain import access, files
from digiden.domain.errors import Conflict, InvalidInput, NotFound
from digiden.domain.support import AppStatus
from digiden.services import audit
from digiden.services.common import org_ref
from digiden.services.support.applications import load_visible
from digiden.services.support.programmes import aware
from digiden.services.uow import UnitOfWork
from digiden.store.models import OrgUnit, SupportApplication, SupportAttachment

MAX_BYTES = 10 * 1024 * 1024          # 10 MiB a file
MAX_FILES = 20                        # per application
PDF = files.MEDIA_TYPES[".pdf"]
XLSX = files.MEDIA_TYPES[".xlsx"]
TYPES = {".pdf": PDF, ".xlsx": XLSX}


@dataclass(frozen=True)
class Upload:
    """A file as received: its name as the sender gave it and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class AttachmentView:
    id: int
    application: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


def _view(a: SupportAttachment) -> AttachmentView:
    return AttachmentView(a.id, a.application_id, a.file_name, a.media_type, a.size, a.sha256, a.uploaded_by,
                          aware(a.uploaded_at))


def check_file(name: str, data: bytes) -> tuple[str, str]:
    """(the file name kept, its media type), or InvalidInput in Japanese naming the file and why
    (domain.files: the same checks as a consultation's attachments, PDF and .xlsx only)."""
    ok = files.check_file(name, data, accept=TYPES, max_bytes=MAX_BYTES, field="files")
    return ok.name, ok.media_type


def _lead_may_change(s: Session, p: access.Principal, a: SupportApplication, verb: str) -> None:
    lead = s.get(OrgUnit, a.lead_org_unit_id)
    assert lead is not None
    access.require(p, access.can_apply_for(p, org_ref(lead)), message=f"you may not {verb} files of this application",
                   message_ja="添付資料を変更できるのは代表団体の職員だけです",
                   sign_in_ja="添付資料の変更にはログインが必要です")
    if a.status != AppStatus.DRAFT.value:
        raise Conflict("only a draft's files change", field="status",
                       message_ja=f"「{AppStatus(a.status).label_ja}」の申請の添付資料は変更できません（下書きの間だけです）")


def add(uow: UnitOfWork, p: access.Principal, app_id: int, files: list[Upload], *,
        now: datetime) -> list[AttachmentView]:
    """Attach files to a draft: every file is checked before anything is written, so one refused
    file refuses them all. Returns the views of the files added."""
    if not files:
        raise InvalidInput("no file", field="files", message_ja="添付するファイルを選んでください")
    checked = [check_file(f.name, f.data) for f in files]
    with uow:
        s = uow.session
        a = load_visible(s, p, app_id)
        _lead_may_change(s, p, a, "add")
        have = s.scalar(select(func.count()).select_from(SupportAttachment)
                        .where(SupportAttachment.application_id == a.id)) or 0
        if have + len(files) > MAX_FILES:
            raise InvalidInput(f"at most {MAX_FILES} files per application", field="files",
                               message_ja=f"添付資料は1件の申請につき{MAX_FILES}個までです（既に{have}個あります）")
        rows = []
        for (name, media), f in zip(checked, files, strict=True):
            row = SupportAttachment(application_id=a.id, file_name=name, media_type=media, size=len(f.data),
                                    sha256=hashlib.sha256(f.data).hexdigest(), data=f.data, uploaded_by=p.name,
                                    uploaded_at=now)
            s.add(row)
            rows.append(row)
        s.flush()
        for row in rows:
            audit.record(s, actor=p.name, action="application.attach", entity="support_application",
                         entity_key=str(a.id), at=now, org_unit_id=a.lead_org_unit_id,
                         after={"attachment": row.id, "file_name": row.file_name, "size": row.size,
                                "sha256": row.sha256},
                         summary=f"申請「{a.title}」に「{row.file_name}」を添付しました")
        out = [_view(r) for r in rows]
        uow.commit()
        return out


def list_for(uow: UnitOfWork, p: access.Principal, app_id: int) -> list[AttachmentView]:
    """The files of an application one may open (404 as an unknown application otherwise)."""
    with uow.for_reading() as u:
        a = load_visible(u.session, p, app_id)
        return [_view(x) for x in u.session.scalars(
            select(SupportAttachment).where(SupportAttachment.application_id == a.id).order_by(SupportAttachment.id))]


def _one(s: Session, p: access.Principal, app_id: int, attachment_id: int) -> tuple[SupportApplication,
                                                                                     SupportAttachment]:
    a = load_visible(s, p, app_id)
    x = s.get(SupportAttachment, attachment_id)
    if x is None or x.application_id != a.id:
        raise NotFound(f"no attachment {attachment_id}", field="attachment",
                       message_ja=f"添付資料 {attachment_id} は見つかりません")
    return a, x


def download(uow: UnitOfWork, p: access.Principal, app_id: int, attachment_id: int) -> tuple[AttachmentView, bytes]:
    """A file as uploaded, after checking it is still what was uploaded (its SHA-256)."""
    with uow.for_reading() as u:
        _a, x = _one(u.session, p, app_id, attachment_id)
        data = bytes(x.data)
        if hashlib.sha256(data).hexdigest() != x.sha256:
            raise Conflict(f"attachment {x.id} does not match its checksum", field="attachment",
                               message_ja=f"添付資料「{x.file_name}」は保存時のチェックサムと一致しません。"
                                          "管理者に連絡してください")
        return _view(x), data


def delete(uow: UnitOfWork, p: access.Principal, app_id: int, attachment_id: int, *, now: datetime) -> None:
    """Remove a file from a draft (its lead's staff); audited with its name and checksum."""
    with uow:
        s = uow.session
        a, x = _one(s, p, app_id, attachment_id)
        _lead_may_change(s, p, a, "delete")
        before = {"attachment": x.id, "file_name": x.file_name, "size": x.size, "sha256": x.sha256}
        s.delete(x)
        s.flush()
        audit.record(s, actor=p.name, action="application.detach", entity="support_application",
                     entity_key=str(a.id), at=now, org_unit_id=a.lead_org_unit_id, before=before,
                     summary=f"申請「{a.title}」から「{before['file_name']}」を削除しました")
        uow.commit()
