"""The request being served, reachable from any layer without passing it by hand.

A request (a reset, a timer run) has a correlation ID, taken from the caller when it
sends a GUID and made up otherwise, and a deadline: the time budget every upstream call
it makes shares. A `ContextVar` holds both for the work under way: every log record
carries the ID (see `shared.log`) and every upstream call takes its time budget from the
deadline. Work handed to another thread takes a copy of the context with it
(`in_current_context`), so a background write logs the correlation ID of the request
that started it.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from shared.errors import deadline_ran_out

_P = ParamSpec("_P")
_R = TypeVar("_R")

CORRELATION_HEADERS = ("x-correlation-id", "ms-correlationid")
# Below this, an HTTP call cannot even connect; better to give up cleanly.
MIN_USEFUL_SECONDS = 0.05


def parse_guid(value: str | None) -> uuid.UUID | None:
    """A GUID in its usual textual forms (with or without braces or dashes), else None."""
    if value is None:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def correlation_id_from(headers: Mapping[str, str]) -> uuid.UUID:
    """The first header that holds a GUID wins; x-correlation-id is looked at first."""
    for name in CORRELATION_HEADERS:
        found = parse_guid(headers.get(name))
        if found is not None:
            return found
    return uuid.uuid4()


class Deadline:
    """The request's time budget, shared by every upstream call it makes."""

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


@dataclass(frozen=True)
class RequestContext:
    correlation_id: uuid.UUID
    deadline: Deadline


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "request_context", default=None
)


@contextmanager
def request_scope(correlation_id: uuid.UUID, deadline: Deadline) -> Iterator[RequestContext]:
    """Everything run inside, in this thread and the work it hands on, belongs to it."""
    context = RequestContext(correlation_id, deadline)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def current_request() -> RequestContext:
    context = _current.get()
    if context is None:
        raise RuntimeError("no request scope: run this inside shared.context.request_scope()")
    return context


def current_deadline() -> Deadline:
    return current_request().deadline


def deadline_if_any() -> Deadline | None:
    """The deadline of the request under way, or None outside one (a spec driving a
    client directly, which then waits as the client's own timeouts say)."""
    context = _current.get()
    return None if context is None else context.deadline


def current_correlation_id() -> str | None:
    context = _current.get()
    return None if context is None else str(context.correlation_id)


def in_current_context(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """`function`, bound to a copy of the caller's context (for executors and threads)."""
    context = contextvars.copy_context()

    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return context.run(function, *args, **kwargs)

    return run
