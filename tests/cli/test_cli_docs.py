"""The command reference: every command's --help ends with real examples, and docs/cli.md is that
--help, generated.

docs/cli.md holds cog markers that call `reference()` below. After changing a command or its help:

    .venv/bin/cog -r docs/cli.md

The help is rendered as a user sees it (Typer's rich layout), at a fixed width, without colour, so
the file is the same on every machine.
"""

from __future__ import annotations

import difflib
import functools
import io
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.sqlite_only   # help text and examples

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
REGENERATE = ".venv/bin/cog -r docs/cli.md"
WIDTH = 100          # the width docs/cli.md is rendered at
EXAMPLE_WIDTH = 78   # example lines fit an 80-column terminal (rich pads the help by one column)
HEADINGS = ("Example:", "Examples:")


# ------------------------------------------------------------------ the commands and their help

@functools.cache
def _root() -> Any:
    import typer

    from digiden.cli import app
    return typer.main.get_command(app)


def commands() -> list[tuple[str, ...]]:
    """Every command path, the app itself first, then each command in the order --help lists it,
    a group followed by its sub-commands."""
    paths: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            if not sub.hidden:
                walk(sub, (*path, name))
    walk(_root(), ())
    return paths


def command(path: tuple[str, ...]) -> Any:
    cmd = _root()
    for name in path:
        cmd = cmd.commands[name]
    return cmd


@contextmanager
def _plain_help() -> Iterator[None]:
    """Typer's rich help at WIDTH columns, no colour, whatever the terminal or environment says."""
    from typer import rich_utils
    saved = rich_utils.MAX_WIDTH, rich_utils.FORCE_TERMINAL, rich_utils.COLOR_SYSTEM
    rich_utils.MAX_WIDTH, rich_utils.FORCE_TERMINAL, rich_utils.COLOR_SYSTEM = WIDTH, False, None
    try:
        yield
    finally:
        rich_utils.MAX_WIDTH, rich_utils.FORCE_TERMINAL, rich_utils.COLOR_SYSTEM = saved


def _tidy(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


@functools.cache
def render_help(path: tuple[str, ...]) -> str:
    """`digiden PATH --help` as printed: the same call click makes for --help (a fraction of the
    cost of running the command line each time; test_rendering_is_what_help_prints checks)."""
    cmd = _root()
    ctx = cmd.make_context("digiden", [], resilient_parsing=True)
    for name in path:
        cmd = cmd.commands[name]
        ctx = cmd.make_context(name, [], parent=ctx, resilient_parsing=True)
    printed = io.StringIO()
    with _plain_help(), redirect_stdout(printed):
        returned = cmd.get_help(ctx)   # Typer's rich help prints; click's plain help returns
    return _tidy(printed.getvalue() + returned)


def run_help(path: tuple[str, ...]) -> str:
    """`digiden PATH --help`, run through the command line."""
    from typer.testing import CliRunner

    from digiden.cli import app
    with _plain_help():
        result = CliRunner().invoke(app, [*path, "--help"], prog_name="digiden",
                                    env={"COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return _tidy(result.stdout)


def summary(path: tuple[str, ...]) -> str:
    """The first paragraph of a command's help: what the command listings show."""
    return " ".join((command(path).help or "").strip().split("\n\n")[0].split())


def title(path: tuple[str, ...]) -> str:
    return " ".join(("digiden", *path))


def anchor(path: tuple[str, ...]) -> str:
    return "-".join(("digiden", *path))


def reference() -> str:
    """The body of docs/cli.md between its cog markers: an index, then every command's --help."""
    paths = commands()
    parts = ["## Commands\n"]
    for p in paths[1:]:
        indent = "  " * (len(p) - 1)
        parts.append(f"{indent}- [`{title(p)}`](#{anchor(p)}) — {summary(p)}")
    for p in paths:
        level = "#" * min(len(p) + 2, 4) if p else "##"
        parts.append(f"\n{level} {title(p)}\n\n```\n{render_help(p)}\n```")
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------ examples in a help text

def example_block(help_text: str) -> list[str] | None:
    """The lines of the Example(s) block that ends a help text, or None when it does not end with one."""
    paragraphs = help_text.strip().split("\n\n")
    if len(paragraphs) < 3 or paragraphs[-2].strip() not in HEADINGS:
        return None
    return paragraphs[-1].split("\n")


def example_commands(lines: list[str]) -> list[list[list[str]]]:
    """Each example (continuation lines joined) as its commands (`a && b` is two), each as the
    arguments after `digiden`; a shell substitution such as $(date +%F) is replaced by a value."""
    joined: list[str] = []
    for line in lines:
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1].rstrip() + " " + line.strip()
        else:
            joined.append(line)
    out: list[list[list[str]]] = []
    for line in joined:
        out.append([])
        for part in re.sub(r"\$\([^)]*\)", "2026-11-29", line).split(" && "):
            words = shlex.split(part)
            assert words[:1] == ["digiden"], f"an example starts with `digiden`: {part!r}"
            out[-1].append(words[1:])
    return out


def examples(path: tuple[str, ...]) -> list[list[list[str]]]:
    block = example_block(command(path).help or "")
    assert block is not None, f"`{title(path)} --help` does not end with an Example(s) block"
    return example_commands(block)


def parse(args: list[str]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Parse an example as click would run it, without running it: every option and argument must
    exist and convert. Returns the command path it runs and its parameters."""
    cmd = _root()
    ctx = cmd.make_context("digiden", list(args))
    path: tuple[str, ...] = ()
    while hasattr(cmd, "commands"):
        name, cmd, rest = cmd.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        path = (*path, name)
        ctx = cmd.make_context(name, rest, parent=ctx)
    return path, ctx.params


# ------------------------------------------------------------------ the tests

ALL = commands()


def test_every_command_is_covered() -> None:
    assert len(ALL) > 60 and ("kpi", "show") in ALL and ("practice", "adopt") in ALL and () in ALL


@pytest.mark.parametrize("path", [(), ("local",), ("kpi", "show"), ("practice", "add")], ids=title)
def test_rendering_is_what_help_prints(path: tuple[str, ...]) -> None:
    assert render_help(path) == run_help(path)
    assert "\x1b[" not in render_help(path)   # no colour codes


@pytest.mark.parametrize("path", ALL, ids=title)
def test_help_ends_with_examples_of_that_command(path: tuple[str, ...]) -> None:
    found = examples(path)
    assert found
    for example in found:
        ran = [parse(args)[0] for args in example]
        assert any(r[:len(path)] == path for r in ran), \
            f"an example in `{title(path)} --help` runs only {[title(r) for r in ran]}"
    # As printed: the examples close the description, each line whole (not re-wrapped) and
    # narrow enough for an 80-column terminal.
    from rich.cells import cell_len
    block = example_block(command(path).help or "")
    assert block is not None
    shown = render_help(path)
    description = shown.split("╭─", 1)[0].rstrip().split("\n")
    printed = [line[1:] for line in description[-len(block):]]
    assert [line.strip() for line in printed] == [line.strip() for line in block], shown
    assert description[-len(block) - 2].strip() in HEADINGS
    for line in block:
        assert cell_len(line) <= EXAMPLE_WIDTH, f"too wide for 80 columns: {line!r}"


def test_example_parser_refuses_what_click_refuses() -> None:
    from typer._click.exceptions import UsageError
    assert parse(["kpi", "show", "5g-population-coverage", "--json"]) == (
        ("kpi", "show"), {"code": "5g-population-coverage", "json_out": True})
    assert parse(["--as", "demo-fukushima", "local", "approve", "072087", "1"])[0] == ("local", "approve")
    for bad in (["kpi", "show", "--nope"], ["kpi", "shw"], ["batch", "show", "one"], ["observe", "add"]):
        with pytest.raises(UsageError):
            parse(bad)
    assert example_block("Summary.\n\nExamples:\n\ndigiden kpi list\n\nMore prose.") is None
    assert example_commands(["digiden a --b \\", "    c && digiden d $(date +%F)", "digiden e"]) == [
        [["a", "--b", "c"], ["d", "2026-11-29"]], [["e"]]]


def test_docs_cli_md_is_up_to_date() -> None:
    from cogapp import Cog
    text = DOCS.read_text(encoding="utf-8")
    assert "[[[cog" in text, "docs/cli.md lost its cog markers"
    fresh = Cog().process_string(text, fname=str(DOCS))
    if fresh != text:
        diff = "".join(list(difflib.unified_diff(text.splitlines(True), fresh.splitlines(True),
                                                 "docs/cli.md", "--help now", n=1))[:60])
        pytest.fail(f"docs/cli.md is out of date with the commands' --help; regenerate it with\n"
                    f"    {REGENERATE}\n\n{diff}")


# ------------------------------------------------------------------ the examples are real

# Examples that are parsed above but not run here, and why.
NOT_RUN = {
    ("serve",): "starts a web server",
    ("db", "upgrade"): "migrates the database (tests/store covers it)",
    ("db", "init"): "loads all reference data (the fixtures do exactly this)",
    ("backup",): "copies the whole database (tests of backup cover it)",
    ("restore",): "replaces the whole database (tests of backup cover it)",
    ("import",): "needs the user's file",
    ("local", "import"): "needs the user's file",
    ("practice", "import"): "needs the user's file",
    ("application", "attach"): "needs the user's file (tests/cli/test_cli_support_regions.py attaches one)",
    ("batch", "revert"): "needs an import of the user's own",
    ("reindex",): "rebuilds the whole index (tests/search covers it)",
    ("demo",): "run once before the others, as the examples assume",
}

# What an example needs done first (on top of `digiden demo`), by the command it runs.
AIZU_SATO = ["user", "create", "aizu-sato", "--role", "municipality_staff", "--org-unit", "072028"]
SETUP: dict[tuple[str, ...], list[list[str]]] = {
    ("user", "disable"): [AIZU_SATO],
    ("user", "enable"): [AIZU_SATO, ["user", "disable", "aizu-sato"]],
    ("token", "create"): [AIZU_SATO],
    ("token", "revoke"): [AIZU_SATO, ["token", "create", "aizu-sato"]],
    ("local", "submit"): [["--as", "demo-fukushima", "local", "return", "072028", "2", "--comment", "記入漏れ"]],
}


def _all_examples() -> list[tuple[tuple[str, ...], list[str]]]:
    return [(p, args) for p in ALL for example in examples(p) for args in example]


@pytest.mark.parametrize("backend", ["sqlite"])  # the help and its examples are the same on PostgreSQL
def test_examples_run_on_the_packaged_data(cli, session_factory, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every example that needs no file of the user's runs, exit 0, on the packaged reference data
    plus `digiden demo`, each from that same state (a savepoint rolled back after each)."""
    monkeypatch.chdir(tmp_path)                      # export and menubook write here
    monkeypatch.setenv("DIGIDEN_PASSWORD", "correct horse battery")  # user create asks otherwise
    code, _, err = cli("demo")
    assert code == 0, err
    conn = session_factory.kw["bind"]
    ran = 0
    for where, args in _all_examples():
        path, _ = parse(args)
        if path in NOT_RUN:
            continue
        sp = conn.begin_nested()
        try:
            for step in SETUP.get(path, []):
                code, _, err = cli(*step)
                assert code == 0, f"setup {step} for {args}: {err}"
            code, out, err = cli(*args)
            assert code == 0, f"`{shlex.join(['digiden', *args])}` (in `{title(where)} --help`) exited {code}: {err}"
            ran += 1
        finally:
            sp.rollback()
    assert ran > 80
