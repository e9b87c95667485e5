"""One batch user's reset: the single reset's service, and its audit record.

The item becomes the order a single reset with a generated password would be: the
customer and user as sent, `delivery` with the link answered when the batch was accepted
(filed under the user's IDs just before the PATCH), `revokeSessions`, `ticketId`,
`requestedBy`, `forceChangePassword` true. The service does the rest as for any reset:
the lookups, the caller's CALLER_POLICY as it stands now (a customer named by domain is
held to it here, once discovery named its tenant), the guard, the PATCH, the revocation,
the seal and the retirement of the user's older links. What it returns becomes the
item's outcome: a refusal's code and status from the problem table.

One audit record per attempt (logger `audit.password_reset`), the single reset's record
with the batch ID: a retried message is a new reset, audited again.
"""

from __future__ import annotations

import logging

from reset_batches.errors import batch_problem
from reset_batches.records import BatchItem, ItemOutcome
from reset_password.audit import ResetTrail, emit_audit
from reset_password.caller_policy import CustomerPolicy
from reset_password.records import GeneratedPassword, ResetOrder, ResetOutcome
from reset_password.request import PathValues
from reset_password.service import ResetService
from shared.errors import InternalError

logger = logging.getLogger("reset_batches.step")

# What an answer to the same reset would have been: the audit's httpStatus.
SUCCEEDED_STATUS = 200


def order_of(item: BatchItem) -> ResetOrder:
    """The order a single reset of this user with a generated password would be."""
    if item.delivery == "link" and item.link_id is None:
        # Never a link nobody was given: the message decoder refuses this already.
        raise InternalError("A batch item to deliver by link names no link.")
    return ResetOrder(
        customer=item.customer,
        user=item.user.ref,
        source=GeneratedPassword(item.delivery, item.link_id),
        force_change_password=True,
        ticket_id=item.ticket_id,
        idempotency_key=None,
        dry_run=False,
        revoke_sessions=item.revoke_sessions,
        requested_by=item.requested_by,
    )


def item_outcome(outcome: ResetOutcome) -> ItemOutcome:
    """A finished reset as the item's outcome; a success after which something did not
    work (sessions not revoked, older links not deleted) keeps that caveat's code."""
    if outcome.error is None:
        assert outcome.user_id is not None, "a reset that succeeded names its user"
        code = outcome.warnings[0].code if outcome.warnings else None
        return ItemOutcome.succeeded(
            outcome.user_id, sessions_revoked=outcome.sessions_revoked, code=code
        )
    problem = batch_problem(outcome.error)
    return ItemOutcome.failed(
        problem.code,
        problem.status,
        user_id=outcome.user_id,
        retry_after=outcome.error.retry_after,
    )


class ServiceResetStep:
    """The reset step the worker runs: the reset service the single reset routes use."""

    def __init__(self, service: ResetService, policy: CustomerPolicy) -> None:
        self._service = service
        self._policy = policy

    def reset_one(self, item: BatchItem) -> ItemOutcome:
        """Runs inside the item's context (its deadline, the batch's correlation ID)."""
        trail = ResetTrail(
            PathValues(item.customer.requested, item.user.sent),
            caller=item.caller,
            batch_id=item.batch_id,
        )
        result: ItemOutcome | None = None
        try:
            trail.order = order = order_of(item)
            trail.outcome = outcome = self._service.reset(
                order, self._policy.access_for(item.caller)
            )
            result = item_outcome(outcome)
            return result
        finally:
            # Written whatever stopped the reset: a bug is audited as internal_error.
            code, status = _ended(result)
            emit_audit(trail.settled(code, status, item.correlation_id))


def _ended(result: ItemOutcome | None) -> tuple[str | None, int]:
    if result is None:
        return "internal_error", 500
    if result.status == "succeeded":
        return None, SUCCEEDED_STATUS
    return result.code, result.http_status or 500
