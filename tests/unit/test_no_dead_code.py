"""What the function defines, it uses: every problem in the table is one some code path
can answer, and every error carries only the members a problem answer states."""

from __future__ import annotations

import ast
import functools

import pytest

from shared.errors import DomainError
from shared.problems import PROBLEMS
from tests.unit.helpers import MODULES, syntax_tree


@functools.cache
def constructed_names() -> frozenset[str]:
    """Every name called anywhere in the product code (`Name(...)`, `module.Name(...)`)."""
    found: set[str] = set()
    for path in MODULES.values():
        for node in ast.walk(syntax_tree(path)):
            if isinstance(node, ast.Call):
                function = node.func
                if isinstance(function, ast.Name):
                    found.add(function.id)
                elif isinstance(function, ast.Attribute):
                    found.add(function.attr)
    return frozenset(found)


@pytest.mark.parametrize("error", list(PROBLEMS), ids=lambda cls: cls.__name__)
def test_every_problem_in_the_table_is_one_the_function_can_answer(
    error: type[DomainError],
) -> None:
    assert error.__name__ in constructed_names()


def test_a_domain_error_carries_only_what_a_problem_answer_states() -> None:
    error = DomainError("Something to fix.")
    assert set(vars(error)) == {"detail", "errors", "retry_after"}
