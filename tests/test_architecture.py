"""The dependency rules of src/digiden (docs/architecture.md), checked on the source with `ast`.

The import graph counts every import of a digiden module, at module level and inside functions
(a function-level import is an arrow all the same), with relative imports resolved. Each failure
names the offending import as file:line.

- no import cycle among the modules of src/digiden;
- no private name (``_x``) imported from another module: a name another module needs is public;
- domain/ imports only domain/, the standard library and pure libraries;
- shapes/ (the API's and the CLI's JSON) imports only shapes/, domain/, the standard library and
  Pydantic: the web layer and the CLI both use it, so it may use neither;
- no SQL outside store/ (raw SQL strings, ``text(...)``, ``exec_driver_sql``), except the entries
  of ALLOWED_SQL, each with its reason (printed when the test runs);
- the reference-data loader (digiden.services.reference) sits on top: no module under services/
  imports it; only the entry points (the CLI, the web app) do.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import digiden

ROOT = Path(digiden.__file__).parent
SRC = ROOT.parent

#: Third-party libraries domain/ may use: pure computation, no I/O, no framework.
PURE_LIBRARIES: frozenset[str] = frozenset()

#: SQL outside store/ that stays, file (relative to src/digiden) → why.
ALLOWED_SQL: dict[str, str] = {}

REFERENCE = "digiden.services.reference"


@dataclass(frozen=True)
class Import:
    source: str          # importing module
    target: str          # imported digiden module
    name: str | None     # the name imported from it (from X import name), if any
    where: str           # file:line
    statement: str       # as written, one name: `from digiden.services import audit`

    def __str__(self) -> str:
        return f"{self.where}: {self.source}: {self.statement}"


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.relative_to(ROOT).parts:
            continue
        name = ".".join(path.with_suffix("").relative_to(SRC).parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


MODULES = _modules()
TREES = {m: ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for m, p in MODULES.items()}


def _where(module: str, node: ast.AST) -> str:
    return f"{MODULES[module].relative_to(SRC.parent)}:{getattr(node, 'lineno', 0)}"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        parts = package.split(".")
        parts = parts[:len(parts) - node.level + 1]
        base = ".".join(parts + ([base] if base else []))
    return base


def all_imports() -> list[Import]:
    """Every import of a digiden module, anywhere in a file."""
    out: list[Import] = []
    for m, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "digiden" or a.name.startswith("digiden."):
                        target = a.name
                        while target not in MODULES and "." in target:
                            target = target.rpartition(".")[0]
                        out.append(Import(m, target, None, _where(m, node), f"import {a.name}"))
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(m, node)
                if not (base == "digiden" or base.startswith("digiden.")):
                    continue
                for a in node.names:
                    stmt = f"from {'.' * node.level}{node.module or ''} import {a.name}"
                    sub = f"{base}.{a.name}"
                    if sub in MODULES:      # from package import module
                        out.append(Import(m, sub, None, _where(m, node), stmt))
                    else:
                        target = base
                        while target not in MODULES and "." in target:
                            target = target.rpartition(".")[0]
                        out.append(Import(m, target, a.name, _where(m, node), stmt))
    return out


IMPORTS = all_imports()


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_graph_sees_function_level_and_relative_imports() -> None:
    """The checks below are only as good as the graph: it must hold imports inside functions
    (the CLI imports its services per command) and resolve relative imports."""
    cli = {i.target for i in IMPORTS if i.source == "digiden.cli"}
    assert "digiden.services.reference" in cli       # inside `digiden db init`
    tree = ast.parse("from .access import Principal\nfrom . import errors\n")
    first, second = tree.body
    assert isinstance(first, ast.ImportFrom) and isinstance(second, ast.ImportFrom)
    assert _resolve("digiden.domain.local", first) == "digiden.domain.access"
    assert _resolve("digiden.domain", second) == "digiden.domain"


def _shortest_loop(start: str, edges: dict[str, set[str]], members: set[str]) -> list[str]:
    """start → … → start through members, fewest arrows first (breadth first)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & members):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return [start]


def test_no_import_cycles() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for m in MODULES:
        edges[m]
    for i in IMPORTS:
        if i.target != i.source and i.target in MODULES:
            edges[i.source].add(i.target)
    problems = []
    for comp in _cycles(edges):
        members = set(comp)
        loop = _shortest_loop(comp[0], edges, members)
        arrows = [next(str(i) for i in IMPORTS if i.source == a and i.target == b)
                  for a, b in zip(loop, loop[1:], strict=False)]
        problems.append(f"{len(comp)} modules in a cycle ({', '.join(comp)}); one loop:\n    "
                        + "\n    ".join(arrows))
    assert not problems, "import cycles:\n" + "\n".join(problems)


def test_no_private_name_is_imported_across_modules() -> None:
    bad = [str(i) for i in IMPORTS
           if i.name and i.name.startswith("_") and not i.name.startswith("__") and i.target != i.source]
    assert not bad, "private names imported from another module (make them public):\n" + "\n".join(bad)


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _impure_imports(package: str, may_use: tuple[str, ...], libraries: frozenset[str]) -> list[str]:
    """Imports by modules of ``package`` of anything but ``may_use`` (digiden packages), the
    standard library and ``libraries``, as file:line."""
    bad = []
    for m, tree in TREES.items():
        if not _within(m, (package,)):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [_resolve(m, node)] if node.level or node.module else []
            else:
                continue
            for n in names:
                top = n.partition(".")[0]
                if top == "digiden":
                    ok = _within(n, may_use)
                else:
                    ok = top in sys.stdlib_module_names or top == "__future__" or top in libraries
                if not ok:
                    bad.append(f"{_where(m, node)}: {m} imports {n}")
    return bad


def test_shapes_import_only_shapes_domain_the_standard_library_and_pydantic() -> None:
    bad = _impure_imports("digiden.shapes", ("digiden.shapes", "digiden.domain"), frozenset({"pydantic"}))
    assert not bad, "shapes/ must stay free of services, store, web and the CLI:\n" + "\n".join(bad)


def test_domain_imports_only_domain_the_standard_library_and_pure_libraries() -> None:
    bad = _impure_imports("digiden.domain", ("digiden.domain",), PURE_LIBRARIES)
    assert not bad, "domain/ must stay pure:\n" + "\n".join(bad)


_SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "PRAGMA ", "CREATE ", "DROP ", "ALTER ",
              "TRUNCATE ", "VACUUM", "ANALYZE", "BEGIN", "COMMIT", "SET ", "LOCK ", "WITH ")


def _is_sql(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) \
        and node.value.lstrip().upper().startswith(_SQL_WORDS)


def sql_calls(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, call) of each call that carries SQL: `text(...)` of sqlalchemy, `exec_driver_sql(...)`,
    `execute`/`executescript`/`scalar` of a literal SQL string."""
    text_names = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                  and (node.module or "").startswith("sqlalchemy") for a in node.names if a.name == "text"}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if (isinstance(f, ast.Name) and called in text_names) or called == "exec_driver_sql" \
                or (called in ("execute", "executescript", "scalar") and node.args and _is_sql(node.args[0])):
            found.append((node.lineno, called))
    return sorted(found)


def sql_outside_store() -> dict[str, list[str]]:
    """file (relative to src/digiden) → the places outside store/ that carry SQL."""
    found: dict[str, list[str]] = defaultdict(list)
    for m, tree in TREES.items():
        rel = MODULES[m].relative_to(ROOT).as_posix()
        if not rel.startswith("store/"):
            for line, called in sql_calls(tree):
                found[rel].append(f"{MODULES[m].relative_to(SRC.parent)}:{line}: {called}(…)")
    return found


def test_no_sql_outside_the_store() -> None:
    found = sql_outside_store()
    for rel, reason in ALLOWED_SQL.items():
        print(f"allowed SQL outside store/: {rel} — {reason} ({len(found.get(rel, []))} places)")
    bad = [line for rel, lines in found.items() if rel not in ALLOWED_SQL for line in lines]
    assert not bad, "SQL belongs in store/:\n" + "\n".join(bad)
    stale = [rel for rel in ALLOWED_SQL if not found.get(rel)]
    assert not stale, f"allowed but no SQL left there (remove from ALLOWED_SQL): {stale}"


def test_the_sql_detector_sees_text_driver_sql_and_literal_sql() -> None:
    tree = ast.parse("from sqlalchemy import select, text as t\n"
                     "def f(c, x):\n"
                     "    c.execute(t('SELECT 1'))\n"
                     "    c.exec_driver_sql('VACUUM')\n"
                     "    c.execute('PRAGMA quick_check')\n"
                     "    c.execute(select(x))\n"
                     "    c.execute('hello')\n")
    assert sql_calls(tree) == [(3, "t"), (4, "exec_driver_sql"), (5, "execute")]


def test_no_service_imports_the_reference_data_loader() -> None:
    """The loader uses the capabilities (catalogue, search, observations, the importer); none
    of them uses it. Only the entry points (digiden.cli, digiden.web) import it."""
    bad = [str(i) for i in IMPORTS
           if i.target == REFERENCE and i.source != REFERENCE and i.source.startswith("digiden.services")]
    assert not bad, "services must not import the reference-data loader:\n" + "\n".join(bad)


CAPABILITIES = "digiden.services."


def _capability(module: str) -> str | None:
    """The capability package of a service module (services/<package>/…), else None."""
    if not module.startswith(CAPABILITIES):
        return None
    rest = module[len(CAPABILITIES):].split(".")
    return rest[0] if len(rest) > 1 and (ROOT / "services" / rest[0]).is_dir() else None


def test_capability_packages_depend_one_way() -> None:
    """services/registry, national, data, local, knowledge: if one package imports another, the
    other never imports it back (directly or round a longer loop), so each can be understood —
    and moved out — without the ones above it."""
    edges: dict[str, set[str]] = defaultdict(set)
    seen: dict[tuple[str, str], str] = {}
    for i in IMPORTS:
        a, b = _capability(i.source), _capability(i.target)
        if a and b and a != b:
            edges[a].add(b)
            seen.setdefault((a, b), str(i))
    for p in {c for c in map(_capability, MODULES) if c}:
        edges[p]
    problems = []
    for comp in _cycles(edges):
        loop = _shortest_loop(comp[0], edges, set(comp))
        problems.append(" → ".join(loop) + ":\n    " + "\n    ".join(
            seen[(a, b)] for a, b in zip(loop, loop[1:], strict=False)))
    assert not problems, "capability packages in a cycle:\n" + "\n".join(problems)
    assert len(edges) >= 5, sorted(edges)    # the packages are there and seen
