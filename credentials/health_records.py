"""The timers' credentials records: one structured `credentials.health` record per check
and run, ok ones included (fields `check`, `status`, `detail`), for the alert rule and the
workbook (infra/queries/), which select them on their logger and event, never on the
text; and one `ALERT` line per check that is not ok, for people reading the log.

The rule mails when a check's status differs from its previous record's, and can look
back two days at most. So every check has a record at least every other day: the daily
checks timer writes the checks of what Key Vault holds (`key_vault`, `refresh_token`,
`app_secret`, or `settings` / `checks` when they cannot run), and every day again the
weekly rotation's (`rotation`, `token_exchange`, `mfa`) as the rotation kept them; the
rotation writes those three when it runs, with the statuses it keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from credentials.health import Report, Status
from shared.log import log_event

# The logger the rule and the workbook select on: the rotation's, from when it was the
# only timer; kept, so the records of both timers and their history read as one.
logger = logging.getLogger("token_rotation")
HEALTH_EVENT = "credentials.health"
_LEVELS = {"ok": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}


def report_check(check: str, status: Status, detail: str) -> None:
    """The structured record of one check in one run (`detail` in our own words)."""
    fields = {"check": check, "status": status, "detail": detail}
    log_event(logger, _LEVELS[status], HEALTH_EVENT, fields)


def alert(status: Status, detail: str) -> None:
    """An ALERT line for people (critical as an error, a warning as a warning)."""
    logger.log(_LEVELS[status], "ALERT: %s", detail)


def record_checks(run: Callable[[], Report]) -> None:
    """Run the checks and record each, with an ALERT line for each that is not ok. Checks
    that fail unexpectedly are one critical `checks` record: the timer must finish and
    say why."""
    try:
        report = run()
    except Exception as exc:  # noqa: BLE001 - the timer must finish and say why
        # The type only: an unexpected exception's message may hold anything.
        detail = f"credentials health check failed ({type(exc).__name__})."
        alert("critical", detail)
        report_check("checks", "critical", detail)
        return
    record(report)


def record(report: Report) -> None:
    """One record per check of the report, and an ALERT line for each that is not ok."""
    for check in report.checks:
        if check.status != "ok":
            alert(check.status, f"credentials {check.name} {check.status}: {check.detail}")
        report_check(check.name, check.status, check.detail)
