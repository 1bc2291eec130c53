"""Starting the web app loads no library that only one feature needs (issue 12 goal 6, cold start):
the selection's solver (numpy, scipy) and the desk's holiday calendar (holidays) load on first use.
Checked in a fresh interpreter, where nothing was imported before."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.sqlite_only   # imports only

HEAVY = ("numpy", "scipy", "holidays", "openpyxl", "fpdf")


def test_creating_the_app_loads_no_feature_only_library() -> None:
    code = ("import sys, json\n"
            "from sqlalchemy.orm import sessionmaker\n"
            "from digiden.web.app import create_app\n"
            "create_app(sessionmaker())\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_the_holiday_calendar_still_knows_the_holidays() -> None:
    from datetime import date

    from digiden.services.consult.calendar import holiday_name, is_national_holiday
    assert is_national_holiday(date(2026, 1, 12)) and holiday_name(date(2026, 1, 12)) == "成人の日"
    assert holiday_name(date(2026, 12, 30)) == "年末年始（行政機関の休日）"
    assert not is_national_holiday(date(2026, 12, 1))
