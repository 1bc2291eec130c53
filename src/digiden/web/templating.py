"""Jinja2 environment with the filters the Japanese pages need."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from digiden.domain.access import PUBLIC, can_write_observation
from digiden.domain.calendar import fiscal_year, format_wareki_date, format_wareki_fiscal_year
from digiden.domain.labels import SYSTEM_ACTOR_JA, audit_action_ja
from digiden.domain.quantities import format_number
from digiden.domain.text import http_url
from digiden.services.data.imports.columns import ROLE_LABELS
from digiden.services.local.actors import public_actor_labels
from digiden.services.local.local_strategies import inbox
from digiden.services.uow import UnitOfWork


def _auth_context(request: Request) -> dict[str, Any]:
    """Who is signed in, the CSRF token for forms, and how much waits in the inbox."""
    me = getattr(request.state, "principal", PUBLIC)
    csrf = getattr(request.state, "csrf", None)
    count = 0
    if me.signed_in and hasattr(request.app.state, "session_factory"):
        # the same list the inbox page shows, so that the number is the number of its items
        count = inbox(UnitOfWork(request.app.state.session_factory, read_only=True), me).total

    def csrf_input() -> Markup:
        if not csrf:
            return Markup("")
        return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf)

    return {"me": me, "csrf": csrf, "csrf_input": csrf_input, "inbox_count": count}


templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"),
                            context_processors=[_auth_context])


def _date_ja(d: date | str | None) -> str:
    """2025年3月31日 for a date, or for an ISO date string (import reports carry dates as text);
    text that is not an ISO date is shown as it is."""
    if d is None or d == "":
        return "—"
    if isinstance(d, str):
        try:
            d = date.fromisoformat(d[:10])
        except ValueError:
            return d
    return f"{d.year}年{d.month}月{d.day}日"


def _deadline_ja(t: Any) -> str:
    """A target's deadline as the strategy words it, with the day as a Japanese date:
    2024年度まで（2025年3月31日）. The API and the CSV keep ISO dates."""
    if t.deadline is None:
        return "期限の定めなし"
    day = _date_ja(t.deadline)
    if t.deadline_kind == "within":
        return f"{t.deadline_label}（{day}頃）"
    return f"{t.deadline_label}{'目途' if t.approximate else 'まで'}（{day}）"


def _wareki(d: date | None) -> str:
    return format_wareki_date(d) if d else "—"


def _fy(d: date | None) -> str:
    if d is None:
        return "—"
    fy = fiscal_year(d)
    return f"{fy}年度（{format_wareki_fiscal_year(fy)}）"


JST = ZoneInfo("Asia/Tokyo")


def _dt(d: datetime | None) -> str:
    """A moment as people in Japan read it: Japan time, 2026年11月30日 14:05. Stored times are
    UTC (a naive one, as SQLite returns them, is UTC too); the API keeps ISO 8601 with offset."""
    if d is None:
        return "—"
    local = (d if d.tzinfo else d.replace(tzinfo=UTC)).astimezone(JST)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


@pass_context
def _actor(ctx: Context, name: str | None) -> str:
    """Who acted, for the reader in front of the page: signed-in staff see the recorded name;
    the public sees the organisation (or the system's administrator), never a login."""
    if not name:
        return "—"
    me = ctx.get("me", PUBLIC)
    if me.signed_in:
        return name
    request: Request | None = ctx.get("request")
    if request is None or not hasattr(request.app.state, "session_factory"):
        return SYSTEM_ACTOR_JA
    cache: dict[str, str] | None = getattr(request.state, "public_actors", None)
    if cache is None:
        cache = {}
        request.state.public_actors = cache
    if name not in cache:
        cache.update(public_actor_labels(UnitOfWork(request.app.state.session_factory, read_only=True), [name]))
    return cache.get(name, SYSTEM_ACTOR_JA)


env = templates.env
env.filters["num"] = format_number
env.filters["date_ja"] = _date_ja
env.filters["deadline_ja"] = _deadline_ja
env.filters["wareki"] = _wareki
env.filters["fy"] = _fy
env.filters["dt"] = _dt
env.filters["actor"] = _actor
env.filters["action_ja"] = audit_action_ja
# every stored URL that becomes an href goes through this: http(s) only, never javascript:/data:
env.filters["safe_url"] = http_url
env.globals["ROLE_LABELS"] = ROLE_LABELS
# A page offers an action only to whom the service would let take it: the same rule, not a copy.
env.globals["can_write_observation"] = can_write_observation
