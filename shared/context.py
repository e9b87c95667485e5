"""The request being served, reachable from any layer without passing it by hand.

A `ContextVar` holds the correlation ID for the code that serves one request, so every
log record can carry it (see `shared.log`). Work handed to another thread takes a copy of
the context with it (`in_current_context`), so a background write logs the correlation
ID of the request that started it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)


def current_correlation_id() -> str | None:
    return _correlation_id.get()


@contextmanager
def correlation_scope(correlation_id: str) -> Iterator[None]:
    """Everything run inside, in this thread, belongs to this correlation ID."""
    token = _correlation_id.set(correlation_id)
    try:
        yield
    finally:
        _correlation_id.reset(token)


def in_current_context(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """`function`, bound to a copy of the caller's context (for executors and threads)."""
    context = contextvars.copy_context()

    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return context.run(function, *args, **kwargs)

    return run
