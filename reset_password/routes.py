"""HTTP layer of the reset: authenticate, parse, `service.reset`, render, audit.

Two routes, one path through the code: by customer and user, and by the user's UPN
alone (the customer is the tenant that verified the UPN's domain). The blueprint is made
with the provider of its dependencies (the composition root's), asked once per request.
Every log line written while the request is served carries its correlation ID; the
audit record is written once, when the request is answered (`shared.http_edge`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import azure.functions as func

from reset_password.audit import ResetTrail
from reset_password.dependencies import ResetProvider
from reset_password.records import ResetOrder, ResetOutcome
from reset_password.request import PathValues, parse_reset_order
from shared.context import Deadline, request_scope
from shared.http_edge import Edge
from shared.problems import json_response

logger = logging.getLogger("reset_password")
EDGE = Edge(logger, refused="reset failed", during="reset")


def blueprint(dependencies: ResetProvider) -> func.Blueprint:
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("reset_password")
    @bp.route(
        route="customers/{customer}/users/{user}/resetpassword",
        methods=["POST"],
        auth_level=func.AuthLevel.FUNCTION,
    )
    def reset_password(req: func.HttpRequest) -> func.HttpResponse:
        return _handle(req, dependencies, upn_only=False)

    @bp.function_name("reset_password_by_upn")
    @bp.route(
        route="users/{user}/resetpassword",
        methods=["POST"],
        auth_level=func.AuthLevel.FUNCTION,
    )
    def reset_password_by_upn(req: func.HttpRequest) -> func.HttpResponse:
        return _handle(req, dependencies, upn_only=True)

    return bp


def _handle(
    req: func.HttpRequest, dependencies: ResetProvider, *, upn_only: bool
) -> func.HttpResponse:
    trail = ResetTrail(PathValues.of(req))
    return EDGE.answer(
        req,
        lambda correlation_id: _serve(req, correlation_id, dependencies, trail, upn_only),
        finish=trail.emit,
    )


def _serve(
    req: func.HttpRequest,
    correlation_id: uuid.UUID,
    dependencies: ResetProvider,
    trail: ResetTrail,
    upn_only: bool,
) -> func.HttpResponse:
    deps = dependencies()
    deadline = Deadline(deps.deadline_seconds, clock=deps.deadline_clock)
    with request_scope(correlation_id, deadline):
        # Who calls is settled before anything about the request is revealed.
        if deps.caller_tokens is not None:
            trail.caller = deps.caller_tokens.authenticate(req.headers)
        access = deps.customer_policy.access_for(trail.caller)
        trail.order = order = parse_reset_order(req, trail.path, upn_only=upn_only)
        trail.outcome = outcome = deps.reset_service.reset(order, access)
    if outcome.error is not None:
        raise outcome.error
    return json_response(
        render_answer(order, outcome, correlation_id), correlation_id=str(correlation_id)
    )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_answer(
    order: ResetOrder, outcome: ResetOutcome, correlation_id: uuid.UUID
) -> dict[str, object]:
    """The success answer, field by field from an allow-list (the fields and types of
    models.ResetPasswordAnswer; a spec checks each answer against that schema)."""
    assert outcome.completed_at is not None, "only a finished outcome is answered"
    answer: dict[str, object] = {
        "status": outcome.status,
        "customerTenantId": outcome.customer_id,
        "userId": outcome.user_id,
        "userPrincipalName": outcome.user_principal_name,
        "displayName": outcome.display_name,
        "forceChangePassword": order.force_change_password,
        "ticketId": order.ticket_id,
        "requestedBy": order.requested_by,
        "correlationId": str(correlation_id),
        "completedAt": _utc(outcome.completed_at),
        "sessionsRevoked": outcome.sessions_revoked,
    }
    if order.delivery is not None:
        answer["passwordGenerated"] = outcome.password_generated
        answer["delivery"] = order.delivery
    if outcome.secret_link is not None:
        # The one place the link's key leaves the function: in the URL's fragment.
        answer["secretLink"] = {
            "url": outcome.secret_link.url,
            "expiresAt": _utc(outcome.secret_link.expires_at),
            "maxViews": 1,
        }
    if outcome.warnings:
        answer["warnings"] = [{"code": w.code, "detail": w.detail} for w in outcome.warnings]
    return answer
