"""HTTP layer of the reset: authenticate, parse, `service.reset`, render, audit.

Two routes, one path through the code: by customer and user, and by the user's UPN
alone (the customer is the tenant that verified the UPN's domain). Every log line
written while the request is served carries its correlation ID (`shared.context`); the
audit record is written once, at the end.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

import azure.functions as func

import composition
from reset_password.audit import emit_audit
from reset_password.request import ResetRequest, parse_reset_request, path_values_as_sent
from reset_password.service import ResetFacts, ResetFailed, ResetResult
from shared.caller_auth import Caller
from shared.context import request_scope
from shared.correlation import correlation_id_from
from shared.deadline import Deadline
from shared.errors import ConfigurationError, DomainError
from shared.log import quoted
from shared.problems import json_response, problem_for, problem_response
from shared.settings import SettingsError
from shared.unexpected import unexpected_error

logger = logging.getLogger("reset_password")
DEFAULT_DEADLINE_SECONDS = 25.0

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions


@dataclass
class _Served:
    """What the audit record needs, gathered as the request is served."""

    response: func.HttpResponse | None = None
    outcome: str = "internal_error"
    caller: Caller = field(default_factory=Caller)
    request: ResetRequest | None = None
    facts: ResetFacts = field(default_factory=ResetFacts)
    sessions_revoked: bool | None = None
    warnings: tuple[str, ...] = ()


@bp.function_name("reset_password")
@bp.route(
    route="customers/{customer}/users/{user}/resetpassword",
    methods=["POST"],
    auth_level=func.AuthLevel.FUNCTION,
)
def reset_password_route(req: func.HttpRequest) -> func.HttpResponse:
    return _handle(req, upn_only=False)


@bp.function_name("reset_password_by_upn")
@bp.route(
    route="users/{user}/resetpassword",
    methods=["POST"],
    auth_level=func.AuthLevel.FUNCTION,
)
def reset_password_by_upn_route(req: func.HttpRequest) -> func.HttpResponse:
    return _handle(req, upn_only=True)


def _handle(req: func.HttpRequest, *, upn_only: bool) -> func.HttpResponse:
    started = time.monotonic()
    correlation_id = correlation_id_from(req.headers)
    # Until the settings are read, the deadline is the contract's default.
    with request_scope(correlation_id, Deadline(DEFAULT_DEADLINE_SECONDS)):
        served = _Served()
        try:
            _serve(req, correlation_id, served, upn_only=upn_only)
        except ResetFailed as failed:
            served.facts = failed.facts
            _fail(failed.error, correlation_id, served)
        except DomainError as error:
            _fail(error, correlation_id, served)
        except Exception as error:  # noqa: BLE001 - the last line of defence answers 500
            _fail(unexpected_error(error, logger=logger, during="reset"), correlation_id, served)
        assert served.response is not None
        _audit(req, served, correlation_id, started)
        return served.response


def _serve(
    req: func.HttpRequest, correlation_id: uuid.UUID, served: _Served, *, upn_only: bool
) -> None:
    deps = _dependencies()
    with request_scope(
        correlation_id, Deadline(deps.settings.reset_deadline_seconds, clock=deps.deadline_clock)
    ):
        # Who calls is settled before anything about the request is revealed.
        if deps.caller_tokens is not None:
            served.caller = deps.caller_tokens.authenticate(req.headers)
        access = deps.customer_policy.access_for(served.caller)
        served.request = request = parse_reset_request(req, upn_only=upn_only)
        result = deps.reset_service.reset(request.order(served.caller.key), access=access)
    served.facts = result.facts
    served.outcome = result.status
    served.sessions_revoked = result.sessions_revoked
    served.warnings = tuple(warning.code for warning in result.warnings)
    served.response = json_response(
        _answer(result, request, correlation_id), correlation_id=str(correlation_id)
    )


def _answer(
    result: ResetResult, request: ResetRequest, correlation_id: uuid.UUID
) -> dict[str, object]:
    """The success answer, field by field from an allow-list (the fields and types of
    models.ResetPasswordAnswer; a spec checks each answer against that schema)."""
    answer: dict[str, object] = {
        "status": result.status,
        "customerTenantId": result.customer_id,
        "userId": result.user_id,
        "userPrincipalName": result.facts.user_principal_name,
        "displayName": result.facts.display_name,
        "forceChangePassword": request.force_change_password,
        "ticketId": request.ticket_id,
        "correlationId": str(correlation_id),
        "completedAt": result.completed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sessionsRevoked": result.sessions_revoked,
    }
    if result.warnings:
        answer["warnings"] = [{"code": w.code, "detail": w.detail} for w in result.warnings]
    return answer


def _fail(error: DomainError, correlation_id: uuid.UUID, served: _Served) -> None:
    problem = problem_for(error)
    served.response = problem_response(error, str(correlation_id))
    served.outcome = problem.code
    # `detail` may quote what the caller sent (a UPN, a caller's app ID): quoted, so it
    # stays one JSON string inside the line.
    logger.log(
        logging.WARNING if problem.status < 500 else logging.ERROR,
        "reset failed: %s %s: %s",
        problem.status,
        problem.code,
        quoted(error.detail),
    )


def _audit(
    req: func.HttpRequest, served: _Served, correlation_id: uuid.UUID, started: float
) -> None:
    customer_sent, user_sent = path_values_as_sent(req)
    request, facts = served.request, served.facts
    assert served.response is not None
    emit_audit(
        {
            "caller": served.caller.audit_fields(),
            "customerRequested": customer_sent,
            "userRequested": user_sent,
            "customerTenantId": facts.customer_id,
            "userId": facts.user_id,
            "userPrincipalName": facts.user_principal_name,
            "ticketId": request.ticket_id if request else None,
            "forceChangePassword": request.force_change_password if request else None,
            "revokeSessions": request.revoke_sessions if request else None,
            "sessionsRevoked": served.sessions_revoked,
            # Codes only: what went wrong after the reset, for alerts on failed revocations.
            "warnings": list(served.warnings),
            "outcome": served.outcome,
            "httpStatus": served.response.status_code,
            "correlationId": str(correlation_id),
            "requestId": str(facts.request_id) if facts.request_id else None,
            "attempts": facts.attempts,
            "durationMs": round((time.monotonic() - started) * 1000, 1),
            "dryRun": request.dry_run if request else None,
        }
    )


def _dependencies() -> composition.ResetDependencies:
    try:
        return composition.reset_dependencies()
    except SettingsError as exc:
        raise ConfigurationError(
            "The function's app settings are incomplete: " + "; ".join(exc.problems)
        ) from None
