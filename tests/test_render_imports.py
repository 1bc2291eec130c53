"""Rendering needs no web framework: importing `digiden.render` (every module), `digiden.cli`
and `digiden.cli_knowledge`, drawing a chart and the map, and writing the menu book (HTML and PDF,
also through `digiden menubook`) leave FastAPI, Starlette and `digiden.web` unimported.

Each check runs in a fresh interpreter: this test process has imported the web app already."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("fastapi", "starlette", "digiden.web")

CHECK = """
import sys
def web_modules():
    return sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in {forbidden!r}))
"""


def run(code: str, tmp_path: Path) -> None:
    env = {**os.environ, "DIGIDEN_DATABASE_URL": f"sqlite:///{tmp_path / 'render.sqlite3'}",
           "DIGIDEN_DATA_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", CHECK.format(forbidden=FORBIDDEN) + code],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_importing_render_and_the_cli_imports_no_web_framework(tmp_path: Path) -> None:
    run("""
import importlib, pkgutil
import digiden.render
names = [m.name for m in pkgutil.iter_modules(digiden.render.__path__)]
assert {"charts", "geo", "menubook", "outlines"} <= set(names), names
for name in names:
    importlib.import_module(f"digiden.render.{name}")
import digiden.cli, digiden.cli_knowledge
assert not web_modules(), web_modules()
""", tmp_path)


def test_rendering_imports_no_web_framework(tmp_path: Path) -> None:
    run("""
from datetime import date
from digiden.render.charts import ChartSeries, line_chart
from digiden.render.geo import japan_map
from digiden.render.menubook import render_html, render_pdf
from digiden.services.knowledge.menubook import MenuBook
svg = line_chart([ChartSeries("a", ((date(2023, 3, 31), 1.0), (date(2024, 3, 31), 2.0)))], unit="%", title="t")
assert svg.startswith("<svg")
assert len(japan_map().shapes) == 47
book = MenuBook("メニューブック", date(2026, 11, 29), (), 0, 0, 0)
assert "<h1>メニューブック</h1>" in render_html(book)
assert render_pdf(book).startswith(b"%PDF")
assert not web_modules(), web_modules()
""", tmp_path)


def test_the_menubook_command_imports_no_web_framework(tmp_path: Path) -> None:
    run("""
from pathlib import Path
from digiden.cli import app
app(["db", "upgrade"], standalone_mode=False)
for name in ("book.html", "book.pdf"):
    app(["menubook", "-o", name], standalone_mode=False)
    assert Path(name).stat().st_size > 1000, name
assert not web_modules(), web_modules()
""", tmp_path)
