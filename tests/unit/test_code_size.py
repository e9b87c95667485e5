"""Small pieces in the product code: no function over 60 lines (nested ones counted with
the function that holds them) and no constructor taking more than 6 collaborators.
ruff's PLR0913 (max-args 7, self included) says the same of every function."""

from __future__ import annotations

import ast

import pytest

from tests.unit.helpers import MODULES, syntax_tree

MAX_FUNCTION_LINES = 60
MAX_COLLABORATORS = 6


def functions(module: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = syntax_tree(MODULES[module])
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """From its first decorator to its last line: the decorators are part of it."""
    first = min([decorator.lineno for decorator in node.decorator_list] + [node.lineno])
    return (node.end_lineno or node.lineno) - first + 1


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_function_is_over_60_lines(module: str) -> None:
    long = {
        f"{node.name} at line {node.lineno}": length(node)
        for node in functions(module)
        if length(node) > MAX_FUNCTION_LINES
    }
    assert long == {}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_constructor_takes_more_than_6_collaborators(module: str) -> None:
    crowded = {}
    for node in functions(module):
        if node.name != "__init__":
            continue
        arguments = node.args
        named = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        if len(named) - 1 > MAX_COLLABORATORS:
            crowded[f"line {node.lineno}"] = len(named) - 1
    assert crowded == {}
