"""Fixtures for the emulator tests: one stack per session, reset between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dev.emulators import EmulatorStack


@pytest.fixture(scope="session")
def emulator_stack() -> Iterator[EmulatorStack]:
    with EmulatorStack() as stack:
        yield stack


@pytest.fixture
def emulators(emulator_stack: EmulatorStack) -> EmulatorStack:
    """The session's stack, freshly seeded with the sample data."""
    emulator_stack.reset_state()
    return emulator_stack
