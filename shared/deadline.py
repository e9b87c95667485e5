"""The reset's time budget, shared by every upstream call it makes."""

from __future__ import annotations

import time
from collections.abc import Callable

from shared.errors import deadline_ran_out

# Below this, an HTTP call cannot even connect; better to give up cleanly.
MIN_USEFUL_SECONDS = 0.05


class Deadline:
    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def expired(self) -> bool:
        return self.remaining() < MIN_USEFUL_SECONDS

    def timeout(
        self, cap: float | None = None, *, dependency: str = "an upstream service"
    ) -> float:
        """Seconds the next call to `dependency` may take; raises UpstreamTimeout naming
        it when none are left."""
        left = self.remaining()
        if left < MIN_USEFUL_SECONDS:
            raise deadline_ran_out(dependency)
        return left if cap is None else min(left, cap)
