"""GET /api/health/credentials: are the Partner Center credentials healthy, and what to do.

Auth level FUNCTION: the answer names secrets and dates an anonymous caller has no
business knowing (never a secret value). Without `?probe=true` it reads Key Vault's
dates and this instance's exchange history and makes no token exchange; with it, one
exchange. 200 for ok and warning, 503 for critical, so an availability test or a
probe alerts on critical alone.
"""

from __future__ import annotations

import logging

import azure.functions as func

import composition
from credentials.exchange import SecretNames
from credentials.health import Report, assess, settings_report
from credentials.health_facts import gather
from shared.context import request_scope
from shared.correlation import correlation_id_from
from shared.deadline import Deadline
from shared.errors import InvalidRequest
from shared.log import quoted
from shared.problems import json_response, problem_response
from shared.query import query_parameters, shown_name, unknown_parameters
from shared.settings import SettingsError

logger = logging.getLogger("credentials_health")

# Key Vault's reads and a probe's exchange both fit well inside it.
HEALTH_DEADLINE_SECONDS = 25.0
CRITICAL_STATUS = 503
KNOWN_QUERY_PARAMETERS = frozenset({"probe"})

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions


@bp.function_name("credentials_health")
@bp.route(route="health/credentials", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def credentials_health(req: func.HttpRequest) -> func.HttpResponse:
    correlation_id = correlation_id_from(req.headers)
    with request_scope(correlation_id, Deadline(HEALTH_DEADLINE_SECONDS)):
        try:
            probe = probe_requested(req)
        except InvalidRequest as error:
            logger.warning("credentials health refused: %s", quoted(error.detail))
            return problem_response(error, str(correlation_id))
        report = check_credentials(probe=probe)
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


def check_credentials(*, probe: bool) -> Report:
    """The checks, in the current request scope (its deadline bounds Key Vault and the probe)."""
    try:
        deps = composition.credentials_health()
    except SettingsError as exc:
        return settings_report(exc.problems)
    credentials = deps.credentials
    facts = gather(
        secrets=credentials.secrets,
        tokens=credentials.tokens,
        names=SecretNames(*credentials.settings.secret_names),
        probe=probe,
    )
    return assess(facts, deps.thresholds, deps.clock())


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
