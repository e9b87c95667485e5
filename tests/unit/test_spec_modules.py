"""How the specs are kept: what several share has one home (a conftest.py fixture, a
helpers.py function), so no spec module imports another and no fixture or helper is
written twice."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# tests/infra runs in its own virtualenv, apart from the rest.
SPEC_FILES = sorted(p for p in TESTS.rglob("*.py") if "infra" not in p.relative_to(TESTS).parts)


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)


def test_no_spec_module_imports_another_spec_module() -> None:
    reached = [
        f"{module_name(path)} imports {node.module}"
        for path in SPEC_FILES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module is not None
        and node.module.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert reached == []


def test_no_fixture_or_helper_is_written_twice() -> None:
    bodies: dict[str, list[str]] = defaultdict(list)
    for path in SPEC_FILES:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("test_"):
                body = ast.dump(ast.Module(body=node.body, type_ignores=[]))
                bodies[body].append(f"{module_name(path)}.{node.name}")
    assert [places for places in bodies.values() if len(places) > 1] == []
