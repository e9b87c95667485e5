"""HTTP layer of the reset: parse, call the service, map errors, audit.

One request, top to bottom: correlation ID -> settings and clients -> parse and
validate -> service (Partner Center) -> allow-listed answer or problem -> audit record.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Callable

import azure.functions as func

from reset_password.audit import emit_audit
from reset_password.models import ResetPasswordAnswer
from reset_password.parsing import ResetRequest, derive_request_id, parse_reset_request
from reset_password.service import (
    GuardPolicy,
    ResetCommand,
    ResetOutcome,
    ResetTarget,
    resolve_and_reset,
)
from shared.caller_auth import Caller
from shared.clients import Clients, get_clients
from shared.correlation import correlation_id_from
from shared.deadline import Deadline
from shared.errors import ConfigurationError, ProblemError
from shared.log import CorrelatedLogger
from shared.problems import json_response, problem_response
from shared.settings import SettingsError

logger = logging.getLogger("reset_password")

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions


@bp.function_name("reset_password")
@bp.route(
    route="customers/{customer}/users/{user}/resetpassword",
    methods=["POST"],
    auth_level=func.AuthLevel.FUNCTION,
)
def reset_password_route(req: func.HttpRequest) -> func.HttpResponse:
    started = time.monotonic()
    correlation_id = correlation_id_from(req.headers)
    log = CorrelatedLogger(logger, str(correlation_id))
    caller = Caller()
    outcome = ResetOutcome()
    request: ResetRequest | None = None
    try:
        clients = _clients()
        deadline = Deadline(clients.settings.reset_deadline_seconds)
        # Who calls is settled before anything about the request is revealed.
        if clients.caller_tokens is not None:
            caller = clients.caller_tokens.authenticate(req.headers, deadline)
        clients.customer_policy.check_caller(caller)
        request = parse_reset_request(req)
        resolve_and_reset(
            target=ResetTarget(request.customer, request.user),
            command_for=_command_builder(request, caller.key, correlation_id),
            names=clients.names,
            partner_center=clients.partner_center,
            guard=GuardPolicy(
                clients.settings.protected_role_guard, clients.settings.protected_role_ids
            ),
            deadline=deadline,
            outcome=outcome,
            correlation_id=correlation_id,
            # CALLER_POLICY lists tenant IDs, so a domain can be judged only once resolved.
            authorize_customer=lambda tenant_id: clients.customer_policy.check_customer(
                caller, tenant_id
            ),
        )
        answer = ResetPasswordAnswer(
            status="validated" if request.dry_run else "succeeded",
            customerTenantId=outcome.customer_id,
            userId=outcome.user_id,
            userPrincipalName=outcome.user_principal_name,
            displayName=outcome.display_name,
            forceChangePassword=request.force_change_password,
            ticketId=request.ticket_id,
            correlationId=str(correlation_id),
            completedAt=outcome.completed_at,
        )
        response = json_response(answer.to_json_dict(), correlation_id=str(correlation_id))
        code = outcome.status
    except ProblemError as error:
        response = problem_response(error, str(correlation_id))
        code = error.code
        log.log(
            logging.WARNING if error.status < 500 else logging.ERROR,
            "reset failed: %s %s: %s",
            error.status,
            error.code,
            error.detail,
        )
    except Exception as error:  # noqa: BLE001 - the last line of defence answers 500
        response = problem_response(
            ProblemError("An unexpected error occurred. Quote the correlation ID to support."),
            str(correlation_id),
        )
        code = "internal_error"
        # Type and stack frames only: exception messages may hold values.
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("unexpected %s during reset\n%s", type(error).__name__, frames)
    emit_audit(
        {
            "caller": caller.audit_fields(),
            "customerRequested": request.customer.requested if request else None,
            "userRequested": request.user.requested if request else None,
            "customerTenantId": outcome.customer_id,
            "userId": outcome.user_id,
            "userPrincipalName": outcome.user_principal_name,
            "ticketId": request.ticket_id if request else None,
            "outcome": code,
            "httpStatus": response.status_code,
            "correlationId": str(correlation_id),
            "requestId": str(outcome.request_id) if outcome.request_id else None,
            "attempts": outcome.stats.attempts,
            "durationMs": round((time.monotonic() - started) * 1000, 1),
            "dryRun": request.dry_run if request else None,
        }
    )
    return response


def _command_builder(
    request: ResetRequest, caller_key: str, correlation_id: uuid.UUID
) -> Callable[[str, str], ResetCommand]:
    """The reset command for the resolved IDs; the idempotent MS-RequestId derives from
    them, not from the names, so a key means the same whichever way the user was named."""

    def command(customer_id: str, user_id: str) -> ResetCommand:
        return ResetCommand(
            customer_id=customer_id,
            user_id=user_id,
            password=request.password,
            force_change_password=request.force_change_password,
            request_id=derive_request_id(
                caller=caller_key,
                customer=customer_id,
                user=user_id,
                key=request.idempotency_key,
            ),
            correlation_id=correlation_id,
            dry_run=request.dry_run,
        )

    return command


def _clients() -> Clients:
    try:
        return get_clients()
    except SettingsError as exc:
        raise ConfigurationError(
            "The function's app settings are incomplete: " + "; ".join(exc.problems)
        ) from None
