"""Jinja2 environment with the filters the Japanese pages need."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

from digiden.domain.calendar import fiscal_year, format_wareki_date, format_wareki_fiscal_year
from digiden.domain.quantities import format_number
from digiden.services.imports.columns import ROLE_LABELS

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


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
env.globals["ROLE_LABELS"] = ROLE_LABELS
env.globals["STATUS_ORDER"] = ["achieved", "on_track", "needs_acceleration", "stalled",
                               "deteriorating", "not_assessable"]
