"""How handlers/ depends on the rest, read from the source: no SQL (nothing from sqlalchemy)
and no import cycles between handler modules (each feature owns its forms)."""

from __future__ import annotations

import ast
from pathlib import Path

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"


def imports(path: Path) -> set[str]:
    """Every module a file imports, `from x import y` counted as both x and x.y."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def modules() -> dict[str, set[str]]:
    return {
        f"handlers.{p.stem}": imports(p)
        for p in sorted(HANDLERS.glob("*.py"))
        if p.stem != "__init__"
    }


def test_handlers_import_nothing_from_sqlalchemy() -> None:
    offenders = {
        name: sorted(m for m in found if m.split(".")[0] == "sqlalchemy")
        for name, found in modules().items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_handler_modules_import_each_other_without_cycles() -> None:
    graph = {name: {m for m in found if m in modules()} for name, found in modules().items()}
    assert graph["handlers.forms"] <= {"handlers.base", "handlers.menus"}

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(graph[path[-1]]):
            if nxt == start:
                return [*path, nxt]
            if nxt not in path:
                found = cycle_from(start, [*path, nxt])
                if found:
                    return found
        return None

    cycles = [c for name in graph if (c := cycle_from(name, [name]))]
    assert cycles == []
