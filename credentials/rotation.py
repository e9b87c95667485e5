"""Timer: exchange the refresh token on a schedule so an idle function keeps its
credentials (a refresh token dies after 90 days unused), and store the new one.

Failures are logged as one `ALERT` line naming the AADSTS code and the fix, so an
Application Insights alert rule on `message contains "ALERT:"` catches them (every line
starts with its correlation ID). After the
rotation the credentials health checks run (no second exchange), and each check that is
not ok is logged as one more `ALERT` line: an expiring app secret or a refresh token
that stopped being renewed is heard of weeks before resets fail.
"""

from __future__ import annotations

import logging
import uuid

import azure.functions as func

from credentials.checks import HEALTH_DEADLINE_SECONDS, check_credentials
from credentials.dependencies import CredentialsProvider, HealthProvider
from credentials.partner_center_tokens import PartnerCenterTokens
from credentials.renewal import Renewal, StoreLate, renew
from shared.context import request_scope
from shared.deadline import Deadline
from shared.errors import DomainError
from shared.problems import problem_for
from shared.settings import SettingsError, rotation_schedule

logger = logging.getLogger("token_rotation")

SCHEDULE = rotation_schedule()
ROTATION_DEADLINE_SECONDS = 60.0


def blueprint(credentials: CredentialsProvider, health: HealthProvider) -> func.Blueprint:
    """`credentials`: what the rotation exchanges with; `health`: what the checks after
    it read (a bad threshold setting does not stop the rotation)."""
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("rotate_refresh_token")
    @bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False, use_monitor=True)
    def rotate_refresh_token(timer: func.TimerRequest) -> None:
        rotate_now(credentials, health)

    return bp


def rotate_now(credentials: CredentialsProvider, health: HealthProvider) -> bool:
    """One rotation; True when a new refresh token was obtained and stored."""
    try:
        tokens = credentials().tokens
    except SettingsError as exc:
        logger.error("ALERT: refresh token rotation skipped: %s", "; ".join(exc.problems))
        return False
    with request_scope(uuid.uuid4(), Deadline(ROTATION_DEADLINE_SECONDS)) as scope:
        rotated = _rotate(tokens, scope.deadline)
    with request_scope(uuid.uuid4(), Deadline(HEALTH_DEADLINE_SECONDS)):
        alert_on_credentials_health(health)
    return rotated


def alert_on_credentials_health(health: HealthProvider) -> None:
    """One ALERT line per check that is not ok (critical as errors, warnings as warnings);
    nothing when all are ok."""
    try:
        report = check_credentials(health)
    except Exception as exc:  # noqa: BLE001 - the timer must finish and say why
        logger.error("ALERT: credentials health check failed (%s).", type(exc).__name__)
        return
    for check in report.checks:
        if check.status == "ok":
            continue
        logger.log(
            logging.ERROR if check.status == "critical" else logging.WARNING,
            "ALERT: credentials %s %s: %s",
            check.name,
            check.status,
            check.detail,
        )


def _rotate(tokens: PartnerCenterTokens, deadline: Deadline) -> bool:
    # The timer may wait a little past its deadline for the write-back: nobody waits on it.
    renewal = renew(tokens, deadline, wait_at_least=1.0)
    failure = renewal.failure
    if isinstance(failure, DomainError):
        code = problem_for(failure).code
        logger.error("ALERT: refresh token rotation failed (%s): %s", code, failure.detail)
        return False
    if failure is not None:
        # The type only: an unexpected exception's message may hold anything.
        logger.error(
            "ALERT: refresh token rotation failed unexpectedly (%s).", type(failure).__name__
        )
        return False
    return _stored(renewal)


def _stored(renewal: Renewal) -> bool:
    if not renewal.rotated:
        logger.warning("Token exchange worked but returned no new refresh token to store.")
        return False
    if not renewal.written:
        logger.warning(
            "Token exchange worked; ROTATE_REFRESH_TOKEN is off, so the refresh token in Key "
            "Vault is not renewed and expires 90 days after it was stored."
        )
        return False
    failure = renewal.store_failure
    if isinstance(failure, StoreLate):
        logger.error("ALERT: storing the new refresh token in Key Vault did not finish in time.")
    elif isinstance(failure, DomainError):
        logger.error("ALERT: the new refresh token could not be stored: %s", failure.detail)
    elif failure is not None:
        logger.error("ALERT: storing the new refresh token failed (%s).", type(failure).__name__)
    else:
        logger.info("Refresh token rotated and stored in Key Vault.")
    return failure is None
