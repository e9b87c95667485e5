"""Timer: exchange the refresh token on a schedule so an idle function keeps its
credentials (a refresh token dies after 90 days unused), and store the new one.

Its outcome is the check `rotation`; after it, the checks only an exchange can answer,
judged from the one it just made: `token_exchange` and `mfa` (the sign-in's methods in the
access token it got). Each check is one `credentials.health` record, ok ones included,
and one ALERT line when it is not ok (credentials/health_records.py), so a change is
mailed when the rotation finds it. The checks are also kept in table `credentialchecks`
(credentials/outcome_table.py): the daily checks timer reports them again every day, so
each has a record a day old for the alert rule to compare with (a week-old one is out of
its sight), and tells a rotation that stopped running from one that is not due.
"""

from __future__ import annotations

import logging
import uuid

import azure.functions as func

from credentials.dependencies import CredentialsProvider, OutcomesProvider
from credentials.health import Check, Status, assess_exchanges, report_of
from credentials.health_records import record
from credentials.outcome_table import OutcomesUnavailable
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
# Keeping the outcome has a deadline of its own: a rotation that used all of its own is
# the one whose outcome matters most.
KEEP_DEADLINE_SECONDS = 15.0


def blueprint(credentials: CredentialsProvider, outcomes: OutcomesProvider) -> func.Blueprint:
    """`credentials`: what the rotation exchanges with; `outcomes`: where it keeps its
    checks for the daily timer."""
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("rotate_refresh_token")
    @bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False, use_monitor=True)
    def rotate_refresh_token(timer: func.TimerRequest) -> None:
        rotate_now(credentials, outcomes)

    return bp


def rotate_now(credentials: CredentialsProvider, outcomes: OutcomesProvider) -> bool:
    """One rotation, and the exchange checks after it, recorded and kept; True when a new
    refresh token was obtained and stored."""
    try:
        tokens = credentials().tokens
    except SettingsError as exc:
        rotated = False
        checks: tuple[Check, ...] = (
            _check("critical", "refresh token rotation skipped: " + "; ".join(exc.problems)),
        )
        record(report_of(checks))
    else:
        with request_scope(uuid.uuid4(), Deadline(ROTATION_DEADLINE_SECONDS)) as scope:
            rotation, rotated = _rotate(tokens, scope.deadline)
            # No second exchange: the history holds the one just made.
            checks = (rotation, *assess_exchanges(tokens.history(), None))
            record(report_of(checks))
    _keep(outcomes, checks)
    return rotated


def _keep(outcomes: OutcomesProvider, checks: tuple[Check, ...]) -> None:
    """The checks kept for the daily timer; a failure is logged, and shows there: the
    last kept outcome grows overdue."""
    with request_scope(uuid.uuid4(), Deadline(KEEP_DEADLINE_SECONDS)):
        try:
            outcomes().keep((check.name, check.status, check.detail) for check in checks)
        except SettingsError as exc:
            logger.warning("The rotation's outcome was not kept: %s", "; ".join(exc.problems))
        except OutcomesUnavailable as exc:
            logger.warning("The rotation's outcome was not kept in its table (%s).", exc.kind)


def _check(status: Status, detail: str) -> Check:
    return Check(ROTATION_CHECK, status, detail)


def _rotate(tokens: PartnerCenterTokens, deadline: Deadline) -> tuple[Check, bool]:
    # The timer may wait a little past its deadline for the write-back: nobody waits on it.
    renewal = renew(tokens, deadline, wait_at_least=1.0)
    failure = renewal.failure
    if isinstance(failure, DomainError):
        code = problem_for(failure).code
        return _check(
            "critical", f"refresh token rotation failed ({code}): {failure.detail}"
        ), False
    if failure is not None:
        # The type only: an unexpected exception's message may hold anything.
        detail = f"refresh token rotation failed unexpectedly ({type(failure).__name__})."
        return _check("critical", detail), False
    return _stored(renewal)


def _stored(renewal: Renewal) -> tuple[Check, bool]:
    if not renewal.rotated:
        message = "Token exchange worked but returned no new refresh token to store."
        logger.warning(message)
        return _check("warning", message), False
    if not renewal.written:
        # A choice, not a fault: the refresh_token check watches the stored one's age.
        message = (
            "Token exchange worked; ROTATE_REFRESH_TOKEN is off, so the refresh token in Key "
            "Vault is not renewed and expires 90 days after it was stored."
        )
        logger.warning(message)
        return _check("ok", message), False
    failure = renewal.store_failure
    if isinstance(failure, StoreLate):
        detail = "storing the new refresh token in Key Vault did not finish in time."
    elif isinstance(failure, DomainError):
        detail = f"the new refresh token could not be stored: {failure.detail}"
    elif failure is not None:
        detail = f"storing the new refresh token failed ({type(failure).__name__})."
    else:
        message = "Refresh token rotated and stored in Key Vault."
        logger.info(message)
        return _check("ok", message), True
    return _check("critical", detail), False
