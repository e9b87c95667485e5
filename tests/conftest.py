"""Suite-wide: Hypothesis settings, and Azurite for the tests that need Azure Storage.

These machines are noisy: per-example deadlines would fail on load, not on bugs. In CI
the examples are derandomized so that a run is reproducible from its commit alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from dev.azurite import CONNECTION_STRING_VARIABLE, running_azurite
from dev.emulators.app_insights import IngestionEmulator
from dev.emulators.stack import EmulatorStack

# A developer's Application Insights must not receive the tests' records: the app starts its
# log export at import when this is set (worker/telemetry.py); specs that export set it
# themselves, to a loopback emulator.
os.environ.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)

settings.register_profile(
    "project",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
)
# HYPOTHESIS_PROFILE=deep python3 dev/test.py: twenty times the examples, for fuzzing.
settings.register_profile("deep", parent=settings.get_profile("project"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "project"))


@pytest.fixture(scope="session")
def azurite_connection_string() -> Iterator[str]:
    """Azurite for the tests that need Azure Storage (tables, queues): the one the test
    command started, or one started here (one per xdist worker, so runs never share)."""
    given = os.environ.get(CONNECTION_STRING_VARIABLE)
    if given and not os.environ.get("PYTEST_XDIST_WORKER"):
        yield given
        return
    with running_azurite() as azurite:
        yield azurite.connection_string


@pytest.fixture(scope="session")
def emulator_stack() -> Iterator[EmulatorStack]:
    """The emulators, started once for the whole run (the integration, operator-command
    and emulator specs share them); each spec resets them to their seed first."""
    with EmulatorStack() as running:
        yield running


@pytest.fixture
def ingestion(emulator_stack: EmulatorStack) -> Iterator[IngestionEmulator]:
    """Application Insights' ingestion endpoint; it honours the managed-identity
    emulator's tokens, as it shares the stack's ledger."""
    with IngestionEmulator(emulator_stack.ledger, emulator_stack.ca) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def app_functions() -> list[Any]:
    """The app's functions, indexed once for the whole run (get_functions() may run once
    per app): the integration specs and the one-time link specs both call them."""
    import function_app

    return list(function_app.app.get_functions())


@pytest.fixture(scope="session")
def registered(app_functions: list[Any]) -> dict[str, Any]:
    """The app's functions by name, as specs call them."""
    return {str(f.get_function_name()): f for f in app_functions}
