"""The retry policy's waits, computed without waiting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.retry import RetryPolicy, parse_retry_after, parse_seconds


@pytest.mark.parametrize(("retry", "around"), [(1, 0.5), (2, 1.5), (3, 3.5)])
def test_backoff_grows_like_the_partner_center_sdk_with_a_quarter_of_jitter(
    retry: int, around: float
) -> None:
    waits = [RetryPolicy().backoff(retry) for _ in range(200)]
    assert all(around * 0.75 <= wait <= around * 1.25 for wait in waits)


def test_backoff_is_capped() -> None:
    assert RetryPolicy(max_delay=2.0, jitter=0).backoff(10) == 2.0


def test_a_throttled_wait_is_what_upstream_asked_for_capped() -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.throttle_delay(3.0, 1) == 3.0
    assert policy.throttle_delay(10_000.0, 1) == policy.max_retry_after


@given(st.text(max_size=20))
def test_retry_after_never_raises(value: str) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or seconds >= 0


@given(st.one_of(st.text(max_size=10), st.floats(), st.integers(), st.booleans(), st.none()))
def test_a_json_lifetime_is_a_finite_non_negative_number_or_absent(value: object) -> None:
    seconds = parse_seconds(value)
    assert seconds is None or 0 <= seconds < float("inf")
