"""Jinja2 environment with the filters the Japanese pages need."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from digiden.domain.access import PUBLIC
from digiden.domain.calendar import fiscal_year, format_wareki_date, format_wareki_fiscal_year
from digiden.domain.quantities import format_number
from digiden.domain.text import http_url
from digiden.services.data.imports.columns import ROLE_LABELS
from digiden.services.local.local_strategies import inbox
from digiden.services.uow import UnitOfWork


def _auth_context(request: Request) -> dict[str, Any]:
    """Who is signed in, the CSRF token for forms, and how much waits in the inbox."""
    me = getattr(request.state, "principal", PUBLIC)
    csrf = getattr(request.state, "csrf", None)
    count = 0
    if me.signed_in and hasattr(request.app.state, "session_factory"):
        count = inbox(UnitOfWork(request.app.state.session_factory, read_only=True), me, limit=1).total

    def csrf_input() -> Markup:
        if not csrf:
            return Markup("")
        return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf)

    return {"me": me, "csrf": csrf, "csrf_input": csrf_input, "inbox_count": count}


templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"),
                            context_processors=[_auth_context])


def _date_ja(d: date | None) -> str:
    if d is None:
        return "—"
    return f"{d.year}年{d.month}月{d.day}日"


def _wareki(d: date | None) -> str:
    return format_wareki_date(d) if d else "—"


def _fy(d: date | None) -> str:
    if d is None:
        return "—"
    fy = fiscal_year(d)
    return f"{fy}年度（{format_wareki_fiscal_year(fy)}）"


def _dt(d: datetime | None) -> str:
    return d.strftime("%Y-%m-%d %H:%M") if d else "—"


env = templates.env
env.filters["num"] = format_number
env.filters["date_ja"] = _date_ja
env.filters["wareki"] = _wareki
env.filters["fy"] = _fy
env.filters["dt"] = _dt
# every stored URL that becomes an href goes through this: http(s) only, never javascript:/data:
env.filters["safe_url"] = http_url
env.globals["ROLE_LABELS"] = ROLE_LABELS
