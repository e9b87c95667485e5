"""Fixtures for the emulator tests: the run's one stack (tests/conftest.py), reset
between tests."""

from __future__ import annotations

import pytest

from dev.emulators import EmulatorStack


@pytest.fixture
def emulators(emulator_stack: EmulatorStack) -> EmulatorStack:
    """The session's stack, freshly seeded with the sample data."""
    emulator_stack.reset_state()
    return emulator_stack
