"""The test command (dev/test.py): what it runs, in which order."""

from __future__ import annotations

import sys

from dev import test


def test_the_formatters_verdict_is_a_step_and_it_changes_nothing() -> None:
    commands = dict(test.steps([]))
    assert commands["ruff format"] == [sys.executable, "-m", "ruff", "format", "--check", "."]


def test_lint_and_format_come_before_the_types_and_the_specs() -> None:
    names = [name for name, _ in test.steps(["-k", "x"])]
    assert names == ["ruff", "ruff format", "mypy", "pytest", "infra"]
    assert dict(test.steps(["-k", "x"]))["pytest"][-2:] == ["-k", "x"]
