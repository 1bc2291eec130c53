"""What the API and page tests of the newer capabilities share: counting rows to prove nothing was
written, and reading a refusal in the one error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.uow import UnitOfWork

Clients = Callable[[str], Any]


def count(session_factory: sessionmaker[Session], model: type) -> int:
    with UnitOfWork(session_factory).for_reading() as u:
        return u.session.scalar(select(func.count()).select_from(model)) or 0


def refused(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """The refusal's error body, after checking its status, a Japanese message and the field."""
    assert r.status_code == status, r.text[:500]
    err = r.json()["error"]
    assert err["message_ja"] and any("\u3040" <= ch <= "\u9fff" for ch in err["message_ja"]), err
    if field is not None:
        assert err["details"].get("field") == field, err
    return err  # type: ignore[no-any-return]
