"""A tiny method-and-regex router for the emulators' handlers."""

from __future__ import annotations

import re
from collections.abc import Callable

from dev.emulators.messages import RecordedRequest, Response

Handler = Callable[[RecordedRequest, re.Match[str]], Response]


class Router:
    def __init__(self, *, ignore_case: bool = False) -> None:
        self._flags = re.IGNORECASE if ignore_case else 0
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), re.compile(pattern, self._flags), handler))

    def dispatch(self, request: RecordedRequest) -> Response | None:
        """The matching handler's answer, or None when no route takes the request."""
        for method, pattern, handler in self._routes:
            if method != request.method:
                continue
            match = pattern.fullmatch(request.path)
            if match is not None:
                return handler(request, match)
        return None
