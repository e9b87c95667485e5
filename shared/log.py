"""Logging helpers: every line carries the correlation ID; events are JSON.

The Functions host forwards the message text of each record to Application Insights,
so structured fields go into the message as JSON as well as into `extra`
(for OpenTelemetry exporters, which read record attributes).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any


class CorrelatedLogger(logging.LoggerAdapter[logging.Logger]):
    """Prefixes each message with the request's correlation ID."""

    def __init__(self, logger: logging.Logger, correlation_id: str) -> None:
        super().__init__(logger, {"correlation_id": correlation_id})

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(kwargs.get("extra") or {})
        extra.setdefault("correlation_id", self.correlation_id)
        kwargs["extra"] = extra
        return f"[correlationId={self.correlation_id}] {msg}", kwargs

    @property
    def correlation_id(self) -> str:
        return str((self.extra or {})["correlation_id"])


def log_event(
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    level: int,
    event: str,
    fields: Mapping[str, Any],
) -> None:
    """One structured record: `event {json}`; the caller passes only safe fields."""
    if not logger.isEnabledFor(level):
        return
    payload = {"event": event, **fields}
    logger.log(
        level,
        "%s %s",
        event,
        json.dumps(payload, default=str, separators=(",", ":")),
        extra={"event": event, "custom_dimensions": payload},
    )
