"""Fault injection: answers a test can put in place of what the emulator would say."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from dev.emulators.messages import RecordedRequest


@dataclass(frozen=True)
class Status:
    """Answer this status (and body) instead of the real handler."""

    status: int
    body: bytes | dict[str, object] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Hold the connection without answering, then close it."""

    seconds: float = 60.0


@dataclass(frozen=True)
class Delay:
    """Wait, then let the real handler answer."""

    seconds: float


@dataclass(frozen=True)
class RawBody:
    """Answer bytes that need not parse, with a declared type that may lie."""

    status: int = 200
    body: bytes = b"not json"
    content_type: str = "application/json"


@dataclass(frozen=True)
class Disconnect:
    """Close the connection before answering anything."""


@dataclass(frozen=True)
class DropResponse:
    """Let the real handler act, then close without sending its answer.

    This is the lost-answer case that MS-RequestId idempotency exists for: the change
    happened upstream but the client never learned it.
    """


Fault = Status | Hang | Delay | RawBody | Disconnect | DropResponse


@dataclass
class _Rule:
    fault: Fault
    remaining: int | None
    method: str | None
    path: re.Pattern[str] | None
    # Answers one matching request in `every` (the every-th, then the 2*every-th...).
    every: int = 1
    seen: int = 0

    def matches(self, request: RecordedRequest) -> bool:
        if self.method is not None and self.method != request.method:
            return False
        return self.path is None or self.path.search(request.path) is not None


class FaultBook:
    """Injected faults, consumed first-in first-out by the requests they match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []

    def add(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        every: int = 1,
    ) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for always")
        if every < 1:
            raise ValueError("every must be at least 1")
        rule = _Rule(
            fault,
            times,
            method.upper() if method else None,
            re.compile(path) if path is not None else None,
            every,
        )
        with self._lock:
            self._rules.append(rule)

    def take(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not rule.matches(request):
                    continue
                rule.seen += 1
                if rule.seen % rule.every:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        del self._rules[index]
                return rule.fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._rules)
