"""Timer: exchange the refresh token on a schedule so an idle function keeps its
credentials (a refresh token dies after 90 days unused), and store the new one.

Failures are logged as one `ALERT` line naming the AADSTS code and the fix, for people
reading the log. After the rotation the credentials health checks run (no second
exchange), and each check that is not ok is logged as one more `ALERT` line: an expiring
app secret or a refresh token that stopped being renewed is heard of weeks before resets
fail.

For the alert rules, each run also writes one structured `credentials.health` record per
check, ok ones included, the rotation itself being the check `rotation`: fields `check`,
`status` and `detail`, selected on its logger and event (infra/queries/), never on the
text. The ok records are what lets a rule tell a change of state from a repeat.
"""

from __future__ import annotations

import logging
import uuid

import azure.functions as func

from credentials.checks import HEALTH_DEADLINE_SECONDS, check_credentials
from credentials.dependencies import CredentialsProvider, HealthProvider
from credentials.health import Status
from credentials.partner_center_tokens import PartnerCenterTokens
from credentials.renewal import Renewal, StoreLate, renew
from shared.context import Deadline, request_scope
from shared.errors import DomainError
from shared.log import log_event
from shared.problems import problem_for
from shared.settings import SettingsError, rotation_schedule

logger = logging.getLogger("token_rotation")
HEALTH_EVENT = "credentials.health"
ROTATION_CHECK = "rotation"
_LEVELS = {"ok": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}

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
        _alert("critical", "refresh token rotation skipped: " + "; ".join(exc.problems))
        return False
    with request_scope(uuid.uuid4(), Deadline(ROTATION_DEADLINE_SECONDS)) as scope:
        rotated = _rotate(tokens, scope.deadline)
    with request_scope(uuid.uuid4(), Deadline(HEALTH_DEADLINE_SECONDS)):
        alert_on_credentials_health(health)
    return rotated


def alert_on_credentials_health(health: HealthProvider) -> None:
    """One ALERT line per check that is not ok (critical as errors, warnings as warnings),
    and one `credentials.health` record per check, ok or not."""
    try:
        report = check_credentials(health)
    except Exception as exc:  # noqa: BLE001 - the timer must finish and say why
        detail = f"credentials health check failed ({type(exc).__name__})."
        logger.error("ALERT: %s", detail)
        report_check("checks", "critical", detail)
        return
    for check in report.checks:
        if check.status != "ok":
            logger.log(
                _LEVELS[check.status],
                "ALERT: credentials %s %s: %s",
                check.name,
                check.status,
                check.detail,
            )
        report_check(check.name, check.status, check.detail)


def report_check(check: str, status: Status, detail: str) -> None:
    """The structured record of one check in one run (`detail` in our own words)."""
    fields = {"check": check, "status": status, "detail": detail}
    log_event(logger, _LEVELS[status], HEALTH_EVENT, fields)


def _alert(status: Status, detail: str) -> None:
    """The rotation's outcome: an ALERT line unless ok, and its `rotation` record."""
    if status != "ok":
        logger.log(_LEVELS[status], "ALERT: %s", detail)
    report_check(ROTATION_CHECK, status, detail)


def _rotate(tokens: PartnerCenterTokens, deadline: Deadline) -> bool:
    # The timer may wait a little past its deadline for the write-back: nobody waits on it.
    renewal = renew(tokens, deadline, wait_at_least=1.0)
    failure = renewal.failure
    if isinstance(failure, DomainError):
        code = problem_for(failure).code
        _alert("critical", f"refresh token rotation failed ({code}): {failure.detail}")
        return False
    if failure is not None:
        # The type only: an unexpected exception's message may hold anything.
        _alert(
            "critical", f"refresh token rotation failed unexpectedly ({type(failure).__name__})."
        )
        return False
    return _stored(renewal)


def _stored(renewal: Renewal) -> bool:
    if not renewal.rotated:
        message = "Token exchange worked but returned no new refresh token to store."
        logger.warning(message)
        report_check(ROTATION_CHECK, "warning", message)
        return False
    if not renewal.written:
        # A choice, not a fault: the refresh_token check watches the stored one's age.
        message = (
            "Token exchange worked; ROTATE_REFRESH_TOKEN is off, so the refresh token in Key "
            "Vault is not renewed and expires 90 days after it was stored."
        )
        logger.warning(message)
        report_check(ROTATION_CHECK, "ok", message)
        return False
    failure = renewal.store_failure
    if isinstance(failure, StoreLate):
        _alert("critical", "storing the new refresh token in Key Vault did not finish in time.")
    elif isinstance(failure, DomainError):
        _alert("critical", f"the new refresh token could not be stored: {failure.detail}")
    elif failure is not None:
        _alert("critical", f"storing the new refresh token failed ({type(failure).__name__}).")
    else:
        message = "Refresh token rotated and stored in Key Vault."
        logger.info(message)
        report_check(ROTATION_CHECK, "ok", message)
    return failure is None
