"""Timer: the credentials checks every day (CREDENTIALS_CHECK_SCHEDULE), with no token
exchange: Key Vault's dates for the three secrets, judged by the clock. An app secret
nearing its expiry or a refresh token that stopped being renewed is heard of weeks
before resets fail.

Each check is one `credentials.health` record, ok ones included, and one ALERT line when
it is not (credentials/health_records.py). A day apart, each record's previous one is
within the alert rule's two-day look-back, so the rule mails once per change of state,
not at every run. The checks of exchanges (`token_exchange`, `mfa`) are not run here: on
Flex Consumption this timer has instances of its own, which never exchange, and the
weekly rotation reports them from the exchange it makes.
"""

from __future__ import annotations

import uuid

import azure.functions as func

from credentials.checks import HEALTH_DEADLINE_SECONDS, check_stored_credentials
from credentials.dependencies import HealthProvider
from credentials.health_records import record_checks
from shared.context import Deadline, request_scope
from shared.settings import credentials_check_schedule

# Read when the host indexes the functions: a malformed setting leaves the default.
SCHEDULE = credentials_check_schedule()


def blueprint(health: HealthProvider) -> func.Blueprint:
    """`health`: what the checks read (a bad credential or threshold setting is their one
    critical `settings` record, naming it)."""
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("check_credentials_daily")
    @bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False, use_monitor=True)
    def check_credentials_daily(timer: func.TimerRequest) -> None:
        check_now(health)

    return bp


def check_now(health: HealthProvider) -> None:
    """One run of the checks, recorded."""
    with request_scope(uuid.uuid4(), Deadline(HEALTH_DEADLINE_SECONDS)):
        record_checks(lambda: check_stored_credentials(health))
