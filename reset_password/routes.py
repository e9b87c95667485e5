"""HTTP layer of the reset: parse, call the service, map errors, audit.

One request, top to bottom: correlation ID -> settings and clients -> parse and
validate -> service (Partner Center) -> allow-listed answer or problem -> audit record.
"""

from __future__ import annotations

import logging
import time
import traceback

import azure.functions as func

from reset_password.audit import Caller, emit_audit
from reset_password.models import ResetPasswordAnswer
from reset_password.parsing import ResetRequest, derive_request_id, parse_reset_request
from reset_password.service import GuardPolicy, ResetCommand, ResetOutcome, reset_password
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
    request_id = None
    try:
        clients = _clients()
        deadline = Deadline(clients.settings.reset_deadline_seconds)
        request = parse_reset_request(req)
        request_id = derive_request_id(
            caller=caller.key,
            customer=request.customer,
            user=request.user,
            key=request.idempotency_key,
        )
        reset_password(
            command=ResetCommand(
                customer_id=request.customer,
                user_id=request.user,
                password=request.password,
                force_change_password=request.force_change_password,
                request_id=request_id,
                correlation_id=correlation_id,
                dry_run=request.dry_run,
            ),
            partner_center=clients.partner_center,
            guard=GuardPolicy(
                clients.settings.protected_role_guard, clients.settings.protected_role_ids
            ),
            deadline=deadline,
            outcome=outcome,
        )
        answer = ResetPasswordAnswer(
            status="validated" if request.dry_run else "succeeded",
            customerTenantId=request.customer,
            userId=request.user,
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
            "caller": {
                "kind": caller.kind,
                "appId": caller.app_id,
                "objectId": caller.object_id,
                "name": caller.name,
            },
            "customerTenantId": request.customer if request else None,
            "userId": request.user if request else None,
            "userPrincipalName": outcome.user_principal_name,
            "ticketId": request.ticket_id if request else None,
            "outcome": code,
            "httpStatus": response.status_code,
            "correlationId": str(correlation_id),
            "requestId": str(request_id) if request_id else None,
            "attempts": outcome.stats.attempts,
            "durationMs": round((time.monotonic() - started) * 1000, 1),
            "dryRun": request.dry_run if request else None,
        }
    )
    return response


def _clients() -> Clients:
    try:
        return get_clients()
    except SettingsError as exc:
        raise ConfigurationError(
            "The function's app settings are incomplete: " + "; ".join(exc.problems)
        ) from None
