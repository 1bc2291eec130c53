"""Request-scoped access to services: a unit of work and today's date (the one clock read)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Body, Depends, Request

from digiden.domain.calendar import japan_date
from digiden.services.uow import UnitOfWork

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def uow(request: Request) -> UnitOfWork:
    """A reading unit of work for GET/HEAD (never takes SQLite's write lock; a write inside it
    is refused as a bug), a writing one for everything else."""
    return UnitOfWork(request.app.state.session_factory, read_only=request.method in SAFE_METHODS)


def today(request: Request) -> date:
    return japan_date(request.app.state.clock())


def now(request: Request) -> datetime:
    return request.app.state.clock()  # type: ignore[no-any-return]


def system_clock() -> datetime:
    return datetime.now(UTC)


def next_page_url(request: Request, cursor: str) -> str:
    """The path and query of the next page of a keyset listing: this request's, with ``after``
    set to ``cursor`` (and no ``offset``: a cursor replaces it)."""
    url = request.url.remove_query_params("offset").include_query_params(after=cursor)
    return f"{url.path}?{url.query}"


def next_link(request: Request, cursor: str | None) -> dict[str, str]:
    """The ``Link: <…>; rel="next"`` header (RFC 8288) of a keyset listing, when a next page exists."""
    return {"Link": f'<{next_page_url(request, cursor)}>; rel="next"'} if cursor is not None else {}


def link_header_doc(what: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry declaring that Link header."""
    return {200: {"headers": {"Link": {"description": f'<…>; rel="next" when more {what} follow (RFC 8288)',
                                       "schema": {"type": "string"}}}}}


# The request-scoped parameters every route takes, declared once.
Uow = Annotated[UnitOfWork, Depends(uow)]
Today = Annotated[date, Depends(today)]
Now = Annotated[datetime, Depends(now)]
# a JSON object body the route reads itself (its keys checked by the service)
Doc = Annotated[dict[str, Any], Body()]
