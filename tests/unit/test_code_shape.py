"""The shape of the production code, read from the source: no function over 60 lines, so each
one fits on a screen and says one thing (Alembic revisions are history and keep their shape)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "scheduler", "storage")
HISTORY = ROOT / "storage" / "migrations" / "versions"
MAX_LINES = 60


def production_modules() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if not path.is_relative_to(HISTORY)
    ]


def long_functions(path: Path) -> list[str]:
    """'module.py:line name (N lines)' for each function in `path` longer than MAX_LINES."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_LINES:
                where = path.relative_to(ROOT).as_posix()
                found.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_the_walk_sees_the_production_packages() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in production_modules()}
    assert {"bot/app.py", "handlers/base.py", "scheduler/__init__.py", "storage/db.py"} <= names
    assert not any(name.startswith("storage/migrations/versions/") for name in names)


def test_no_production_function_is_over_60_lines() -> None:
    offenders = [line for path in production_modules() for line in long_functions(path)]
    assert offenders == [], "split these into named steps:\n" + "\n".join(offenders)
