"""The audit record: one structured event per reset attempt, success or not.

Its own logger and event name, carried as record fields (`shared.log.log_event`), so
operators select it on them (Application Insights: customDimensions.logger and
customDimensions.event, see the README), never on message text, which a caller's words
can reach. Only identifiers and outcomes go in it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from shared.log import log_event

audit_logger = logging.getLogger("audit.password_reset")
AUDIT_EVENT = "password_reset.audit"


def emit_audit(fields: dict[str, Any]) -> None:
    record = {"time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), **fields}
    level = logging.INFO if fields.get("httpStatus", 500) < 400 else logging.WARNING
    log_event(audit_logger, level, AUDIT_EVENT, record)
