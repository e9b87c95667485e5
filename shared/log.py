"""Logging helpers: every line carries the correlation ID; events are JSON.

The Functions host forwards the message text of each record to Application Insights,
so the correlation ID goes into the text as well as onto the record (`correlation_id`,
for exporters that read record attributes), and structured events put their fields into
the message as JSON as well as into `extra`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from shared.context import current_correlation_id

_PREFIX = "[correlationId={}] "


def install_correlation_logging() -> None:
    """Stamp every record made while a request is served with its correlation ID.

    A record factory rather than a handler filter: it sees every logger, the SDKs' and
    the test harness's included, whatever handlers the host installs.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "correlated", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        correlation_id = current_correlation_id()
        record.correlation_id = correlation_id
        if correlation_id is not None:
            record.msg = _PREFIX.format(correlation_id) + str(record.msg)
        return record

    factory.correlated = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def log_event(logger: logging.Logger, level: int, event: str, fields: Mapping[str, Any]) -> None:
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
