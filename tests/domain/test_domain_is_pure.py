"""domain/ imports nothing of the infrastructure (STYLE habit 1)."""

import ast
from pathlib import Path

import digiden.domain

FORBIDDEN = ("sqlalchemy", "fastapi", "starlette", "jinja2", "typer", "rich", "yaml", "alembic",
             "digiden.store", "digiden.services", "digiden.web", "digiden.cli", "open")


def test_domain_modules_import_no_infrastructure() -> None:
    root = Path(digiden.domain.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", f"{path.name} does file I/O"
                continue
            else:
                continue
            for n in names:
                assert not n.startswith(FORBIDDEN[:-1]), f"{path.name} imports {n}"
