"""The knowledge commands (digiden.cli_knowledge) load on first need (issue 12 goal 6, cold start):
`digiden serve` and the other commands of digiden.cli do not import them, while every command
still runs, `--help` lists every command in the same order, and a mistyped command still gets
its suggestions. Each check runs in a fresh interpreter, where nothing was imported before."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only   # no database involved

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": SRC, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_importing_the_cli_loads_no_knowledge_command() -> None:
    r = _python("import sys, json, digiden.cli\n"
                "print(json.dumps(['digiden.cli_knowledge' in sys.modules, 'rich.progress' in sys.modules]))")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [False, False]


def test_help_lists_every_command_in_the_order_of_the_full_group() -> None:
    code = ("import sys, json, typer.main\n"
            "from typer.testing import CliRunner\n"
            "from digiden.cli import app\n"
            "out = CliRunner().invoke(app, ['--help'], terminal_width=200).stdout\n"
            "import digiden.cli_knowledge\n"
            "names = list(typer.main.get_group(app).commands)\n"
            "print(json.dumps([names, out]))")
    r = _python(code)
    assert r.returncode == 0, r.stderr
    names, out = json.loads(r.stdout)
    assert {"serve", "kpi", "search", "similar", "practice", "measure"} <= set(names)
    panel = out[out.index("Commands"):]
    listed = [m for m in re.findall(r"^\W+([a-z][a-z-]*) ", panel, re.M) if m in names]
    assert listed == names                             # every command, in the order of the full group


def test_a_knowledge_command_runs_from_a_fresh_process() -> None:
    r = _python("from digiden.cli import main; main(['similar', '--help'])")
    assert r.returncode == 0, r.stderr
    assert "類似団体" in r.stdout


def test_a_mistyped_command_is_still_suggested_the_knowledge_one() -> None:
    r = _python("from digiden.cli import main; main(['serch', 'x'])")
    assert r.returncode == 2
    assert "No such command 'serch'" in r.stderr and "'search'" in r.stderr
