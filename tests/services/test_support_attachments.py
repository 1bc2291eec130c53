"""Files attached to applications, on both databases: kept in the database with their SHA-256, so
`digiden backup` and `digiden restore` carry them byte for byte; a file whose stored bytes no
longer match their checksum is not handed out."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from digiden.domain.access import system
from digiden.domain.errors import Conflict
from digiden.services.local import accounts
from digiden.services.support import applications as apps
from digiden.services.support import attachments
from digiden.services.support import programmes as pg
from digiden.services.uow import UnitOfWork
from digiden.store.backup import backup, restore
from digiden.store.db import make_session_factory
from digiden.store.models import SupportAttachment
from tests.conftest import FIXED_NOW as NOW
from tests.store.test_backup import empty_engine  # noqa: F401  (the fixture: an empty database to restore into)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def attach(engine: Engine, n: int) -> tuple[int, int]:
    """A draft of 会津若松市 with a PDF attached, in the module's own database (``n``: a round and
    an account of each test's own, since the tests of a module share that database)."""
    uow = UnitOfWork(make_session_factory(engine))
    op = system("attachment-test")
    accounts.create_user(uow, op, username=f"aizu-att{n}", password="correct horse battery",
                         role="municipality_staff", org_unit="072028", now=NOW)
    aizu = accounts.user_principal(uow, f"aizu-att{n}")
    call = pg.create_call(uow, op, "digital-garden-city-grant", {
        "round": 40 + n, "title": "合成データ: 添付の公募", "opens_at": (NOW - timedelta(days=1)).isoformat(),
        "closes_at": (NOW + timedelta(days=1)).isoformat(), "budget": 1_000_000, "synthetic": True,
        "criteria": [{"code": "v", "name": "整合", "weight": 100, "max_points": 5}]}, now=NOW).id
    app = apps.save_draft(uow, aizu, call, {"title": "合成データ: 添付のある申請"}, now=NOW).id
    [f] = attachments.add(uow, aizu, app, [attachments.Upload("事業計画書.pdf", PDF)], now=NOW)
    assert f.sha256 == hashlib.sha256(PDF).hexdigest() and f.size == len(PDF)
    return app, f.id


def test_backup_and_restore_keep_an_attachment_byte_for_byte(live_db, empty_engine: Engine,  # type: ignore[no-untyped-def]  # noqa: F811
                                                            tmp_path: Path) -> None:
    app, fid = attach(live_db.engine, 1)
    backup(live_db.engine, tmp_path / "digiden.bak")
    restore(empty_engine, tmp_path / "digiden.bak")
    view, data = attachments.download(UnitOfWork(make_session_factory(empty_engine)), system("t"), app, fid)
    assert data == PDF and view.file_name == "事業計画書.pdf" and view.sha256 == hashlib.sha256(PDF).hexdigest()


def test_a_file_that_no_longer_matches_its_checksum_is_not_handed_out(live_db) -> None:  # type: ignore[no-untyped-def]
    app, fid = attach(live_db.engine, 2)
    with live_db.engine.begin() as c:
        c.execute(update(SupportAttachment).where(SupportAttachment.id == fid).values(data=PDF[:-1] + b"X"))
    with pytest.raises(Conflict) as e:
        attachments.download(UnitOfWork(make_session_factory(live_db.engine)), system("t"), app, fid)
    assert "チェックサム" in (e.value.message_ja or "")

