"""GET /api/health/credentials: are the Partner Center credentials healthy, and what to do.

Auth level FUNCTION: the answer names secrets and dates an anonymous caller has no
business knowing (never a secret value). With caller tokens on, a valid token holding
CALLER_REQUIRED_ROLE or CALLER_OPERATOR_ROLE is needed too. Without `?probe=true` it reads
Key Vault's dates and this instance's exchange history and makes no token exchange.
`?probe=true` (CALLER_OPERATOR_ROLE, with tokens on) spends the partner's one credential,
so it is rationed (credentials/probe.py) and audited with its caller. 200 for ok and
warning, 503 for critical, so an availability test or a probe alerts on critical alone.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import azure.functions as func

from credentials.checks import HEALTH_DEADLINE_SECONDS, run_checks
from credentials.dependencies import AccessProvider, HealthProvider
from credentials.health import ProbeOutcome, iso_time
from shared.caller_auth import Caller, require_any_role
from shared.errors import InvalidRequest
from shared.http_edge import Answered, Edge
from shared.log import log_event
from shared.problems import json_response
from shared.query import query_parameters, shown_name, unknown_parameters

logger = logging.getLogger("credentials_health")
audit_logger = logging.getLogger("audit.credentials_health")
AUDIT_EVENT = "credentials_health.probe"

CRITICAL_STATUS = 503
KNOWN_QUERY_PARAMETERS = frozenset({"probe"})
EDGE = Edge(
    logger,
    refused="credentials health refused",
    during="credentials health check",
    deadline_seconds=HEALTH_DEADLINE_SECONDS,
)


@dataclass
class _ProbeTrail:
    """How far one request got, for the probe's audit record: who called, whether a
    probe was asked for, the probe's outcome and the report's status."""

    caller: Caller = field(default_factory=Caller)
    probe: bool = False
    outcome: ProbeOutcome | None = None
    status: str | None = None

    def emit(self, answered: Answered) -> None:
        """One record per probe asked for, refused ones included: who spent (or tried to
        spend) the partner's credential, and whether this request made the exchange."""
        if not self.probe:
            return
        outcome, response, refusal = self.outcome, answered.response, answered.refusal
        fields: dict[str, object] = {
            "caller": self.caller.audit_fields(),
            "probed": outcome is not None and outcome.probed,
            "lastProbeAt": iso_time(outcome.at) if outcome and outcome.at is not None else None,
            "status": refusal.code if refusal is not None else self.status,
            "httpStatus": response.status_code,
            "correlationId": str(answered.correlation_id),
        }
        level = logging.INFO if response.status_code < 400 else logging.WARNING
        log_event(audit_logger, level, AUDIT_EVENT, fields)


def blueprint(access: AccessProvider, health: HealthProvider) -> func.Blueprint:
    """`access`: who may call (a bad setting is the 500 configuration_error); `health`:
    what the checks read (a bad setting is the report's critical `settings` check)."""
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("credentials_health")
    @bp.route(route="health/credentials", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
    def credentials_health(req: func.HttpRequest) -> func.HttpResponse:
        trail = _ProbeTrail()
        return EDGE.answer(
            req,
            lambda correlation_id: _serve(req, correlation_id, access, health, trail),
            finish=trail.emit,
        )

    return bp


def _serve(
    req: func.HttpRequest,
    correlation_id: uuid.UUID,
    access_provider: AccessProvider,
    health: HealthProvider,
    trail: _ProbeTrail,
) -> func.HttpResponse:
    query = _probe_query(req)
    trail.probe = query is True
    # A bad setting here leaves who may call undecided: nothing is read or exchanged.
    access = access_provider()
    # Who calls is settled before anything about the request is answered.
    if access.caller_tokens is not None:
        trail.caller = access.caller_tokens.verify(req.headers)
        roles = access.settings
        require_any_role(trail.caller, (roles.caller_required_role, roles.caller_operator_role))
    if isinstance(query, InvalidRequest):
        raise query
    if trail.probe and access.caller_tokens is not None:
        require_any_role(trail.caller, (access.settings.caller_operator_role,))
    floor = access.settings.health_probe_min_seconds if trail.probe else None
    report, trail.outcome = run_checks(health, probe_floor=floor)
    trail.status = report.status
    logger.info(
        "credentials health: %s (%s)",
        report.status,
        ", ".join(f"{check.name}={check.status}" for check in report.checks),
    )
    return json_response(
        report.to_json(),
        status=CRITICAL_STATUS if report.status == "critical" else 200,
        correlation_id=str(correlation_id),
    )


def _probe_query(req: func.HttpRequest) -> bool | InvalidRequest:
    """Whether a probe was asked for, or why the query is refused (raised only once the
    caller is known)."""
    try:
        return probe_requested(req)
    except InvalidRequest as error:
        return error


def probe_requested(req: func.HttpRequest) -> bool:
    """`probe` is true or false in any letter case; anything else, an empty or repeated
    `probe` and any unknown parameter are refused: a misspelt `probe` must not pass for a
    check that made no exchange."""
    query = query_parameters(req)
    errors = [
        {"field": shown_name(name), "message": "is not a known query parameter (known: probe)"}
        for name in unknown_parameters(query, KNOWN_QUERY_PARAMETERS)
    ]
    text = query.get("probe")
    # Only the letter case is forgiven, as for the reset's dryRun.
    value = text.lower() if text is not None else "false"
    if value not in {"true", "false"}:
        errors.append({"field": "probe", "message": "must be given once, as true or false"})
    if errors:
        fields = ", ".join(dict.fromkeys(error["field"] for error in errors))
        raise InvalidRequest(
            f"The request has invalid values: {fields}. See 'errors' for each rule.",
            errors=errors,
        )
    return value == "true"
