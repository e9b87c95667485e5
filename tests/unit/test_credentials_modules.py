"""How the credentials package is cut: no class takes more than five collaborators (the
house rule that ruff's PLR0913 checks)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "credentials"
MAX_COLLABORATORS = 5


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_constructor_takes_more_than_five_collaborators(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            arguments = node.args
            named = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            assert len(named) - 1 <= MAX_COLLABORATORS, f"{path.name}:{node.lineno}"
