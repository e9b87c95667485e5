"""Timer: the credentials checks every day (CREDENTIALS_CHECK_SCHEDULE), with no token
exchange: Key Vault's dates for the three secrets, judged by the clock. An app secret
nearing its expiry or a refresh token that stopped being renewed is heard of weeks
before resets fail.

Then the weekly rotation's checks (`rotation`, `token_exchange`, `mfa`) again, as its
last run kept them in table `credentialchecks` (credentials/outcome_table.py): on Flex
Consumption this timer has instances of its own, which never exchange, so it reports what
the rotation found rather than checking it; `rotation` turns critical once the rotation is
a day overdue, and is a warning before its first run or when the table cannot be read.

Each check is one `credentials.health` record, ok ones included, and one ALERT line when
it is not (credentials/health_records.py). A day apart, each record's previous one is
within the alert rule's two-day look-back, so the rule mails once per change of state,
not at every run: the rotation's checks too, which the rotation alone, a week apart,
would mail at each run while not ok.
"""

from __future__ import annotations

import uuid

import azure.functions as func

from credentials.checks import (
    HEALTH_DEADLINE_SECONDS,
    check_rotation_outcomes,
    check_stored_credentials,
)
from credentials.dependencies import HealthProvider, OutcomesProvider
from credentials.health_records import record_checks
from shared.context import Deadline, request_scope
from shared.settings import credentials_check_schedule

# Read when the host indexes the functions: a malformed setting leaves the default.
SCHEDULE = credentials_check_schedule()


def blueprint(health: HealthProvider, outcomes: OutcomesProvider) -> func.Blueprint:
    """`health`: what the checks read (a bad credential or threshold setting is their one
    critical `settings` record, naming it); `outcomes`: the rotation's kept checks."""
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("check_credentials_daily")
    @bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False, use_monitor=True)
    def check_credentials_daily(timer: func.TimerRequest) -> None:
        check_now(health, outcomes)

    return bp


def check_now(health: HealthProvider, outcomes: OutcomesProvider) -> None:
    """One run of the checks, recorded."""
    with request_scope(uuid.uuid4(), Deadline(HEALTH_DEADLINE_SECONDS)):
        record_checks(lambda: check_stored_credentials(health))
        record_checks(lambda: check_rotation_outcomes(outcomes))
