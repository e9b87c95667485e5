"""Timer: exchange the refresh token on a schedule so an idle function keeps its
credentials (a refresh token dies after 90 days unused), and store the new one.

Its outcome is the check `rotation`: a failure is logged as one `ALERT` line naming the
AADSTS code and the fix, for people reading the log. After it, the checks only an
exchange can answer, judged from the one it just made: `token_exchange` and `mfa` (the
sign-in's methods in the access token it got). Each check is one `credentials.health`
record, ok ones included, and one more ALERT line when it is not ok
(credentials/health_records.py). The checks of what Key Vault holds are the daily timer's
(credentials/daily_checks.py): every check has one writer, so the alert rule compares a
record with its own timer's previous run.
"""

from __future__ import annotations

import logging
import uuid

import azure.functions as func

from credentials.dependencies import CredentialsProvider
from credentials.health import Status, assess_exchanges, report_of
from credentials.health_records import alert, record, report_check
from credentials.partner_center_tokens import PartnerCenterTokens
from credentials.renewal import Renewal, StoreLate, renew
from shared.context import Deadline, request_scope
from shared.errors import DomainError
from shared.problems import problem_for
from shared.settings import SettingsError, rotation_schedule

logger = logging.getLogger("token_rotation")
ROTATION_CHECK = "rotation"

SCHEDULE = rotation_schedule()
ROTATION_DEADLINE_SECONDS = 60.0


def blueprint(credentials: CredentialsProvider) -> func.Blueprint:
    """`credentials`: what the rotation exchanges with."""
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("rotate_refresh_token")
    @bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False, use_monitor=True)
    def rotate_refresh_token(timer: func.TimerRequest) -> None:
        rotate_now(credentials)

    return bp


def rotate_now(credentials: CredentialsProvider) -> bool:
    """One rotation, and the exchange checks after it; True when a new refresh token was
    obtained and stored."""
    try:
        tokens = credentials().tokens
    except SettingsError as exc:
        _outcome("critical", "refresh token rotation skipped: " + "; ".join(exc.problems))
        return False
    with request_scope(uuid.uuid4(), Deadline(ROTATION_DEADLINE_SECONDS)) as scope:
        rotated = _rotate(tokens, scope.deadline)
        # No second exchange: the history holds the one just made.
        record(report_of(assess_exchanges(tokens.history(), None)))
    return rotated


def _outcome(status: Status, detail: str) -> None:
    """The rotation's outcome: an ALERT line unless ok, and its `rotation` record."""
    if status != "ok":
        alert(status, detail)
    report_check(ROTATION_CHECK, status, detail)


def _rotate(tokens: PartnerCenterTokens, deadline: Deadline) -> bool:
    # The timer may wait a little past its deadline for the write-back: nobody waits on it.
    renewal = renew(tokens, deadline, wait_at_least=1.0)
    failure = renewal.failure
    if isinstance(failure, DomainError):
        code = problem_for(failure).code
        _outcome("critical", f"refresh token rotation failed ({code}): {failure.detail}")
        return False
    if failure is not None:
        # The type only: an unexpected exception's message may hold anything.
        _outcome(
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
        _outcome("critical", "storing the new refresh token in Key Vault did not finish in time.")
    elif isinstance(failure, DomainError):
        _outcome("critical", f"the new refresh token could not be stored: {failure.detail}")
    elif failure is not None:
        _outcome("critical", f"storing the new refresh token failed ({type(failure).__name__}).")
    else:
        message = "Refresh token rotated and stored in Key Vault."
        logger.info(message)
        report_check(ROTATION_CHECK, "ok", message)
    return failure is None
