"""The one retry loop of every upstream call (shared/upstream.py, the token endpoint).

Backoff follows the shape of the Partner Center SDK (about 0.5 s, 1.5 s, 3.5 s) with
full jitter, and every wait is clipped to what is left of the reset's deadline.
"""

from __future__ import annotations

import logging
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from shared.context import current_deadline

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# ASCII digits only: str.isdigit() also accepts '²' and other digits float() refuses.
_DELTA_SECONDS = re.compile(r"^[0-9]{1,10}$")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def backoff(self, retry_number: int) -> float:
        """Delay before retry `retry_number` (1 for the first retry)."""
        delay = min(self.max_delay, self.base_delay * (float(2**retry_number) - 1))
        spread = delay * self.jitter
        return max(0.0, delay + random.uniform(-spread, spread))  # noqa: S311 - not crypto

    def throttle_delay(self, retry_after: float | None, retry_number: int) -> float:
        """Wait what the service asked for, then back off further on repeated 429s."""
        if retry_after is None:
            return self.backoff(retry_number)
        extra = self.backoff(retry_number - 1) if retry_number > 1 else 0.0
        return min(self.max_retry_after, retry_after + extra)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return max(0.0, seconds)


def parse_seconds(value: object) -> float | None:
    """A finite, non-negative number of seconds from JSON (number or digit string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) and number >= 0 else None
    if isinstance(value, str) and _DELTA_SECONDS.fullmatch(value.strip()):
        return float(value.strip())
    return None


_T = TypeVar("_T")


@dataclass(frozen=True)
class TryAgain:
    """One attempt failed in a way worth retrying."""

    # What failed, for the log line and the final error (None: no answer in time).
    failure: str | None
    retry_after: float | None = None
    # Throttled: wait what upstream asked (then back off further), not the plain backoff.
    throttled: bool = False


def with_retries(
    attempt: Callable[[], _T | TryAgain],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    give_up: Callable[[TryAgain, float], Exception],
    label: str,
) -> _T:
    """Call `attempt` until it returns a value, at most `policy.max_attempts` times and
    never past the deadline; `give_up(last failure, next wait)` makes the final error.

    The caller keeps whatever must stay the same across attempts (the MS-RequestId).
    """
    retry_number = 0
    while True:
        outcome = attempt()
        if not isinstance(outcome, TryAgain):
            return outcome
        retry_number += 1
        delay = (
            policy.throttle_delay(outcome.retry_after, retry_number)
            if outcome.throttled or outcome.retry_after is not None
            else policy.backoff(retry_number)
        )
        if retry_number >= policy.max_attempts or delay >= current_deadline().remaining():
            raise give_up(outcome, delay)
        logger.info(
            "%s: %s; retry %d in %.2f s",
            label,
            outcome.failure or "no answer in time",
            retry_number,
            delay,
        )
        sleep(delay)
