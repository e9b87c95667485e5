"""Hypothesis settings for the whole suite.

These machines are noisy: per-example deadlines would fail on load, not on bugs. In CI
the examples are derandomized so that a run is reproducible from its commit alone.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# A developer's Application Insights must not receive the tests' records: the app starts its
# log export at import when this is set (shared/telemetry.py); specs that export set it
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
