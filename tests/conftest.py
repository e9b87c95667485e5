"""Hypothesis settings for the whole suite.

These machines are noisy: per-example deadlines would fail on load, not on bugs. In CI
the examples are derandomized so that a run is reproducible from its commit alone.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "project",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
)
settings.load_profile("project")
