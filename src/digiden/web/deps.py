"""Request-scoped access to services: a unit of work and today's date (the one clock read)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Request

from digiden.services.uow import UnitOfWork


def uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.session_factory)


def today(request: Request) -> date:
    return request.app.state.clock().date()  # type: ignore[no-any-return]


def now(request: Request) -> datetime:
    return request.app.state.clock()  # type: ignore[no-any-return]


def system_clock() -> datetime:
    return datetime.now(UTC)


# The request-scoped parameters every route takes, declared once.
Uow = Annotated[UnitOfWork, Depends(uow)]
Today = Annotated[date, Depends(today)]
Now = Annotated[datetime, Depends(now)]
