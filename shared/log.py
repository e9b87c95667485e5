"""Logging helpers: every line carries the correlation ID, holds no character that could
break or hide it, and events are JSON with their logger and name as fields.

The Functions host forwards the message text of each record to Application Insights,
so the correlation ID goes into the text as well as onto the record (`correlation_id`,
for exporters that read record attributes). Structured events put their fields into the
message as JSON, onto the record as a mapping (`custom_dimensions`), and their logger and
event name onto the record as well: the worker's own export (`worker/log_export.py`,
when APPLICATIONINSIGHTS_CONNECTION_STRING is set) makes each a `customDimensions`
entry, which is what the documented queries select on. Message text is never a
selector: a caller's words can reach it.

Caller text (a field name, a header, a path value, a `detail` quoting one) goes into a
message through `quoted`, JSON-escaped and delimited. As a second line of defence the
record factory escapes every character Python would not print (C0 and C1 controls, line
and paragraph separators, bidi and zero-width format characters) in every final message,
so no record can start a forged line or hide text, whatever a log call passed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from shared.context import current_correlation_id

_PREFIX = "[correlationId={}] "
# Record attributes a structured event carries, for queries that select on them.
LOGGER_FIELD = "logger"
EVENT_FIELD = "event"
# The event's fields as a mapping; exported one dimension per field.
CUSTOM_DIMENSIONS_FIELD = "custom_dimensions"


def quoted(text: str) -> str:
    """`text` as a JSON string of printable ASCII: how caller text goes into a message."""
    return json.dumps(text, ensure_ascii=True)


def printable(text: str) -> str:
    """`text` with each character Python would not print escaped as `\\n`, `\\x85`,
    `\\u2028`, `\\U000e0041`, ...; the common case (nothing to escape) costs one scan."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def install_correlation_logging() -> None:
    """Stamp every record with the correlation ID of the request being served, and make
    its message one printable line.

    A record factory rather than a handler filter: it sees every logger, the SDKs' and
    the test harness's included, whatever handlers the host installs. The message is
    formatted here, once, so that what is escaped is the final text, arguments included.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "correlated", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        correlation_id = current_correlation_id()
        record.correlation_id = correlation_id
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format is logging's to report, at emit
            return record
        prefix = "" if correlation_id is None else _PREFIX.format(correlation_id)
        record.msg = prefix + printable(message)
        record.args = ()
        return record

    factory.correlated = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def log_event(logger: logging.Logger, level: int, event: str, fields: Mapping[str, Any]) -> None:
    """One structured record: `event {json}`; the caller passes only safe fields.

    The JSON is ASCII (`json.dumps` escapes every control and non-ASCII character), so a
    field holding caller text cannot break the line."""
    if not logger.isEnabledFor(level):
        return
    payload = {"event": event, **fields}
    logger.log(
        level,
        "%s %s",
        event,
        json.dumps(payload, default=str, separators=(",", ":")),
        extra={LOGGER_FIELD: logger.name, EVENT_FIELD: event, CUSTOM_DIMENSIONS_FIELD: payload},
    )
