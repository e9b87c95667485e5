"""How the credentials package is cut: the timers need no HTTP module, and no class
takes more than five collaborators (the house rule that ruff's PLR0913 checks)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "credentials"
MAX_COLLABORATORS = 5


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


@pytest.mark.parametrize("timer", ["rotation.py", "daily_checks.py", "health_records.py"])
def test_the_timers_do_not_import_the_health_route(timer: str) -> None:
    assert "credentials.health_route" not in imported_modules(PACKAGE / timer)


def test_the_credentials_checks_live_outside_every_http_module() -> None:
    from credentials.checks import check_stored_credentials

    module = PACKAGE / f"{check_stored_credentials.__module__.rsplit('.', 1)[-1]}.py"
    assert "azure.functions" not in imported_modules(module)


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_constructor_takes_more_than_five_collaborators(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            arguments = node.args
            named = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            assert len(named) - 1 <= MAX_COLLABORATORS, f"{path.name}:{node.lineno}"
