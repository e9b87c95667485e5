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

import composition
from credentials.checks import HEALTH_DEADLINE_SECONDS, run_checks
from credentials.health import ProbeOutcome, iso_time
from shared.caller_auth import Caller, require_any_role
from shared.context import request_scope
from shared.correlation import correlation_id_from
from shared.deadline import Deadline
from shared.errors import ConfigurationError, DomainError, InvalidRequest
from shared.log import log_event, quoted
from shared.problems import json_response, problem_for, problem_response
from shared.query import query_parameters, shown_name, unknown_parameters
from shared.settings import SettingsError
from shared.unexpected import unexpected_error

logger = logging.getLogger("credentials_health")
audit_logger = logging.getLogger("audit.credentials_health")
AUDIT_EVENT = "credentials_health.probe"

CRITICAL_STATUS = 503
KNOWN_QUERY_PARAMETERS = frozenset({"probe"})

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions


@dataclass
class _Served:
    """What the probe's audit record needs, gathered as the request is served."""

    caller: Caller = field(default_factory=Caller)
    probe: bool = False
    outcome: ProbeOutcome | None = None
    # The report's status, or the problem's code when the request was refused.
    status: str = "internal_error"


@bp.function_name("credentials_health")
@bp.route(route="health/credentials", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def credentials_health(req: func.HttpRequest) -> func.HttpResponse:
    correlation_id = correlation_id_from(req.headers)
    with request_scope(correlation_id, Deadline(HEALTH_DEADLINE_SECONDS)):
        served = _Served()
        try:
            response = _serve(req, correlation_id, served)
        except DomainError as error:
            response = _refuse(error, correlation_id, served)
        except Exception as error:  # noqa: BLE001 - the last line of defence answers 500
            failure = unexpected_error(error, logger=logger, during="credentials health check")
            response = _refuse(failure, correlation_id, served)
        if served.probe:
            _audit(served, response, correlation_id)
        return response


def _serve(req: func.HttpRequest, correlation_id: uuid.UUID, served: _Served) -> func.HttpResponse:
    query = _probe_query(req)
    served.probe = query is True
    access = _access()
    # Who calls is settled before anything about the request is answered.
    if access.caller_tokens is not None:
        served.caller = access.caller_tokens.verify(req.headers)
        roles = access.settings
        require_any_role(served.caller, (roles.caller_required_role, roles.caller_operator_role))
    if isinstance(query, InvalidRequest):
        raise query
    if served.probe and access.caller_tokens is not None:
        require_any_role(served.caller, (access.settings.caller_operator_role,))
    floor = access.settings.health_probe_min_seconds if served.probe else None
    report, served.outcome = run_checks(composition.credentials_health, probe_floor=floor)
    served.status = report.status
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


def _refuse(error: DomainError, correlation_id: uuid.UUID, served: _Served) -> func.HttpResponse:
    problem = problem_for(error)
    served.status = problem.code
    logger.log(
        logging.WARNING if problem.status < 500 else logging.ERROR,
        "credentials health refused: %s %s: %s",
        problem.status,
        problem.code,
        quoted(error.detail),
    )
    return problem_response(error, str(correlation_id))


def _access() -> composition.HealthRouteAccess:
    try:
        return composition.health_route_access()
    except SettingsError as exc:
        # Who may call cannot be decided: nothing is read, nothing exchanged.
        raise ConfigurationError(
            "The function's app settings are incomplete: " + "; ".join(exc.problems)
        ) from None


def _audit(served: _Served, response: func.HttpResponse, correlation_id: uuid.UUID) -> None:
    """One record per probe asked for, refused ones included: who spent (or tried to
    spend) the partner's credential, and whether this request made the exchange."""
    outcome = served.outcome
    fields: dict[str, object] = {
        "caller": served.caller.audit_fields(),
        "probed": outcome is not None and outcome.probed,
        "lastProbeAt": iso_time(outcome.at) if outcome and outcome.at is not None else None,
        "status": served.status,
        "httpStatus": response.status_code,
        "correlationId": str(correlation_id),
    }
    level = logging.INFO if response.status_code < 400 else logging.WARNING
    log_event(audit_logger, level, AUDIT_EVENT, fields)


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
