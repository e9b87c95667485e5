"""The request being served, reachable from any layer without passing it by hand.

A `ContextVar` holds the correlation ID and the deadline of the work under way (a reset,
a timer run): every log record carries the ID (see `shared.log`) and every upstream call
takes its time budget from the deadline. Work handed to another thread takes a copy of
the context with it (`in_current_context`), so a background write logs the correlation
ID of the request that started it.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from shared.deadline import Deadline

_P = ParamSpec("_P")
_R = TypeVar("_R")


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


def current_correlation_id() -> str | None:
    context = _current.get()
    return None if context is None else str(context.correlation_id)


def in_current_context(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """`function`, bound to a copy of the caller's context (for executors and threads)."""
    context = contextvars.copy_context()

    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return context.run(function, *args, **kwargs)

    return run
