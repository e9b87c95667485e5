"""Every wait the function makes is composition.Timings': no product module holds a
timeout of its own, and every upstream HTTP call goes through the one helper
(shared/upstream.py), which takes its timeouts from Timings."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.unit.helpers import MODULES, syntax_tree

# Where an HTTP request is made: the helper, and the session it sends through.
SENDERS = {"shared.upstream", "worker.http"}
UPSTREAM_TIMEOUT = re.compile(r"(CONNECT|READ|CONNECTION)_?TIMEOUT", re.IGNORECASE)


def module_constants(module: str) -> list[str]:
    tree = syntax_tree(MODULES[module])
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def keywords_passed(path: Path) -> set[str]:
    return {
        keyword.arg
        for node in ast.walk(syntax_tree(path))
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg is not None
    }


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "composition"))
def test_no_product_module_holds_a_connect_or_read_timeout_of_its_own(module: str) -> None:
    held = [name for name in module_constants(module) if UPSTREAM_TIMEOUT.search(name)]
    assert held == []


@pytest.mark.parametrize("module", sorted(set(MODULES) - SENDERS))
def test_only_the_upstream_helper_sends_an_http_request(module: str) -> None:
    # Every requests call states whether it follows redirects (never): the sign of one.
    assert "allow_redirects" not in keywords_passed(MODULES[module])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_call_is_given_a_timeout_written_in_place(module: str) -> None:
    written = [
        f"{keyword.arg} at line {node.lineno}"
        for node in ast.walk(syntax_tree(MODULES[module]))
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg is not None
        and UPSTREAM_TIMEOUT.search(keyword.arg)
        and isinstance(keyword.value, ast.Constant)
    ]
    assert written == []
