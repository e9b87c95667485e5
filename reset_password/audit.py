"""The audit record: one structured event per reset attempt, success or not.

Its own logger and event name, carried as record fields (`shared.log.log_event`), so
operators select it on them (Application Insights: customDimensions.logger and
customDimensions.event, see the README), never on message text, which a caller's words
can reach. Only identifiers and outcomes go in it.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reset_password.records import ResetOrder, ResetOutcome
from reset_password.request import PathValues
from shared.caller_auth import Caller
from shared.http_edge import Answered
from shared.log import log_event

audit_logger = logging.getLogger("audit.password_reset")
AUDIT_EVENT = "password_reset.audit"


def emit_audit(fields: dict[str, Any]) -> None:
    record = {"time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), **fields}
    level = logging.INFO if fields.get("httpStatus", 500) < 400 else logging.WARNING
    log_event(audit_logger, level, AUDIT_EVENT, record)


@dataclass
class ResetTrail:
    """How far one request got: each stage's record, kept as it is reached (the path
    values as sent, the caller, the order, the service's outcome). The audit record is
    rendered from it once the request is answered, whatever stopped it."""

    path: PathValues
    started: float = field(default_factory=time.monotonic)
    caller: Caller = field(default_factory=Caller)
    order: ResetOrder | None = None
    outcome: ResetOutcome | None = None
    # The batch this reset is one user of (contract 1d); None for a single reset.
    batch_id: str | None = None

    def emit(self, answered: Answered) -> None:
        emit_audit(self.record(answered))

    def record(self, answered: Answered) -> dict[str, Any]:
        refusal = answered.refusal
        code = refusal.code if refusal is not None else None
        return self.settled(code, answered.response.status_code, answered.correlation_id)

    def settled(
        self, refusal_code: str | None, http_status: int, correlation_id: uuid.UUID
    ) -> dict[str, Any]:
        """The record of a reset that ended with `http_status` (the answer's, or for a
        batch user the answer a single reset would have had), refused with
        `refusal_code` or not."""
        customer_sent, user_sent = self.path.audited()
        order = self.order
        # An unexpected error in the service leaves only what the order says.
        outcome = self.outcome if self.outcome is not None else ResetOutcome()
        return {
            "caller": self.caller.audit_fields(),
            "customerRequested": customer_sent,
            "userRequested": user_sent,
            "customerTenantId": outcome.customer_id,
            "userId": outcome.user_id,
            "userPrincipalName": outcome.user_principal_name,
            "ticketId": order.ticket_id if order else None,
            "requestedBy": order.requested_by if order else None,
            "forceChangePassword": order.force_change_password if order else None,
            "revokeSessions": order.revoke_sessions if order else None,
            "sessionsRevoked": outcome.sessions_revoked,
            # Codes only: what went wrong after the reset, for alerts on failed revocations.
            "warnings": [warning.code for warning in outcome.warnings],
            "outcome": refusal_code if refusal_code is not None else outcome.status,
            "httpStatus": http_status,
            "correlationId": str(correlation_id),
            "requestId": str(outcome.request_id) if outcome.request_id else None,
            "attempts": outcome.calls.attempts,
            "durationMs": round((time.monotonic() - self.started) * 1000, 1),
            "dryRun": order.dry_run if order else None,
            "delivery": order.delivery if order else None,
            "passwordGenerated": outcome.password_generated,
            # Partner Center confirmed the new password (even if its link then failed).
            "passwordSet": outcome.password_set,
            # The link's ID only: its key never leaves the reset's answer.
            "secretLinkId": outcome.secret_link_id,
            "batchId": self.batch_id,
        }
