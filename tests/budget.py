"""Example budgets for the slowest property specs: a share of the loaded Hypothesis profile
(tests/conftest.py), so `HYPOTHESIS_PROFILE=deep` still scales them up twentyfold."""

from __future__ import annotations

from hypothesis import settings

# Below this a property is barely sampled: no budget goes lower.
MIN_EXAMPLES = 10


def examples(share: float) -> int:
    """`share` of the profile's max_examples, never fewer than MIN_EXAMPLES."""
    return max(MIN_EXAMPLES, round(settings().max_examples * share))
