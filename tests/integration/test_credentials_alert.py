"""The alert "credentials health changed" fires once per change of state, not per run.

The rule (infra/app/alerts.bicep) runs infra/queries/alert-credentials-health.kql every
`credentialsEvaluationMinutes` over the last `credentialsLookBack` of records. The Kusto
language service checks the query's text (tests/integration/test_queries.py); here its
logic is modelled in Python, operator by operator, and the model is held to the text: a
changed query fails `test_the_model_is_the_query` until the model says what it computes.

The model is then evaluated, at every evaluation of the rule, over the records the timers
really wrote (called as the host calls them), each run stamped with the day it stands
for: daily runs ok -> warning -> warning -> critical -> ok mail exactly on the changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dev import kql
from dev.emulators.samples import SECRET_NAME_APP_SECRET
from tests.integration.conftest import Harness
from tests.integration.helpers import (
    HEALTH_EVENT,
    HEALTH_LOGGER,
    health_records,
    record_fields,
    run_daily_checks,
    run_timer,
)

# The host's storage: the daily checks report the rotation's kept checks from it.
pytestmark = pytest.mark.usefixtures("check_table")

QUERY = kql.load(kql.QUERIES / "alert-credentials-health.kql")
RULE = (kql.ROOT / "infra" / "app" / "alerts.bicep").read_text(encoding="utf-8")
DAY = timedelta(days=1)
# A Monday: the rotation's default day.
MONDAY = datetime(2025, 3, 3, tzinfo=UTC)
DAILY_RUN = timedelta(hours=3, minutes=30)  # CREDENTIALS_CHECK_SCHEDULE's default
ROTATION_RUN = timedelta(hours=3)  # REFRESH_TOKEN_ROTATION_SCHEDULE's default
# From a record's write to its arrival in the workspace.
INGESTION = timedelta(minutes=4)
NOT_OK = ("warning", "critical")

# The query's pipeline, each operator on one line, as the model below computes it.
PIPELINE = (
    "AppTraces",
    f'| where tostring(Properties.logger) == "{HEALTH_LOGGER}" and '
    f'tostring(Properties.event) == "{HEALTH_EVENT}"',
    "| project TimeGenerated, arrived = ingestion_time(), check = tostring(Properties.check), "
    "status = tostring(Properties.status), detail = tostring(Properties.detail)",
    "| sort by check asc, TimeGenerated asc",
    '| extend previousStatus = iff(prev(check) == check, prev(status), "")',
    '| where arrived > ago(evaluationPeriod) and status in ("warning", "critical") '
    "and status != previousStatus",
    "| summarize arg_max(TimeGenerated, status, previousStatus, detail) by check",
    "| project TimeGenerated, check, status, previousStatus, detail",
)


def pipeline(text: str) -> tuple[str, ...]:
    """The query's operators, one per entry, spaces collapsed, comments left out."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    stages = re.split(r"\n(?=\|)", "\n".join(lines).strip())
    return tuple(" ".join(stage.split()) for stage in stages)


def rule_timing() -> tuple[timedelta, timedelta]:
    """The rule's look-back and evaluation period, as alerts.bicep deploys them."""
    look_back = re.search(r"var credentialsLookBack = 'P(\d+)D'", RULE)
    period = re.search(r"var credentialsEvaluationMinutes = (\d+)", RULE)
    assert look_back is not None and period is not None
    return timedelta(days=int(look_back.group(1))), timedelta(minutes=int(period.group(1)))


LOOK_BACK, PERIOD = rule_timing()


@dataclass(frozen=True)
class Trace:
    """One `credentials.health` record as the workspace holds it."""

    time_generated: datetime
    arrived: datetime
    check: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class Alert:
    evaluated: datetime
    check: str
    status: str
    previous: str


def evaluate(traces: Iterable[Trace], now: datetime) -> list[Alert]:
    """One evaluation of the rule at `now`: what the query returns, row by row."""
    # The rule's time range: the records of the look-back that have arrived.
    seen = [t for t in traces if now - LOOK_BACK <= t.time_generated <= now and t.arrived <= now]
    # sort by check asc, TimeGenerated asc | extend previousStatus = ...
    ordered = sorted(seen, key=lambda t: (t.check, t.time_generated))
    rows = [
        (t, before.status if before is not None and before.check == t.check else "")
        for before, t in zip([None, *ordered], ordered, strict=False)
    ]
    # where arrived > ago(evaluationPeriod) and status in (...) and status != previousStatus
    changed = [
        (t, previous)
        for t, previous in rows
        if t.arrived > now - PERIOD and t.status in NOT_OK and t.status != previous
    ]
    # summarize arg_max(TimeGenerated, ...) by check
    latest: dict[str, tuple[Trace, str]] = {}
    for t, previous in changed:
        if t.check not in latest or t.time_generated > latest[t.check][0].time_generated:
            latest[t.check] = (t, previous)
    return [Alert(now, t.check, t.status, previous) for t, previous in latest.values()]


def alerts_over(traces: Sequence[Trace], start: datetime, end: datetime) -> list[Alert]:
    """Every alert of the rule, evaluated every period from `start` to `end`."""
    found: list[Alert] = []
    now = start
    while now <= end:
        found += evaluate(traces, now)
        now += PERIOD
    return found


def stamped(harness: Harness, at: datetime) -> list[Trace]:
    """The records the last run wrote (selected by logger and event), as the workspace
    holds them had the run been at `at`; the capture is cleared for the next run."""
    traces = [
        Trace(at, at + INGESTION, fields["check"], fields["status"], fields["detail"])
        for fields in map(record_fields, health_records(harness))
    ]
    harness.caplog.clear()
    return traces


def daily_runs(
    harness: Harness, days: int, before_run: Callable[[int], None], rotate_on: Iterable[int] = ()
) -> list[Trace]:
    """`days` daily runs from MONDAY (and a rotation before the daily run on the days
    named), each after `before_run(day)`."""
    traces: list[Trace] = []
    for day in range(days):
        before_run(day)
        if day in rotate_on:
            run_timer(harness)
            traces += stamped(harness, MONDAY + day * DAY + ROTATION_RUN)
        run_daily_checks(harness)
        traces += stamped(harness, MONDAY + day * DAY + DAILY_RUN)
    return traces


def expire_app_secret_in(harness: Harness, days_left: Sequence[float]) -> Callable[[int], None]:
    def before_run(day: int) -> None:
        # Now in real time: the checks judge Key Vault's dates by the real clock.
        expires = datetime.now(UTC) + timedelta(days=days_left[day])
        harness.stack.key_vault.set_attributes(SECRET_NAME_APP_SECRET, expires=expires.timestamp())

    return before_run


def summary(alerts: Iterable[Alert]) -> list[tuple[int, str, str]]:
    """(day, check, status) of each alert."""
    return [((a.evaluated - MONDAY) // DAY, a.check, a.status) for a in alerts]


def trace(day: float, status: str, check: str = "app_secret") -> Trace:
    at = MONDAY + timedelta(days=day) + DAILY_RUN
    return Trace(at, at + INGESTION, check, status)


# --- the model is the query ------------------------------------------------------------------


def test_the_model_is_the_query() -> None:
    assert pipeline(QUERY.text) == PIPELINE
    assert QUERY.parameters == {"evaluationPeriod": "timespan"}


def test_a_daily_run_is_well_inside_the_look_back() -> None:
    assert DAY < LOOK_BACK


# --- the records the timers write, evaluated --------------------------------------------------


@pytest.mark.usefixtures("rotation_ran")
def test_daily_runs_alert_exactly_on_each_change(harness: Harness) -> None:
    # ok -> warning -> warning -> critical -> ok (a new app secret stored).
    days_left = [60, 20, 19, 5, 700]
    traces = daily_runs(harness, len(days_left), expire_app_secret_in(harness, days_left))
    alerts = alerts_over(traces, MONDAY, MONDAY + 7 * DAY)
    assert summary(alerts) == [(1, "app_secret", "warning"), (3, "app_secret", "critical")]
    assert [a.previous for a in alerts] == ["ok", "warning"]
    assert harness.stack.identity.exchanges == 0


@pytest.mark.usefixtures("rotation_ran")
def test_a_state_that_lasts_is_mailed_once(harness: Harness) -> None:
    days_left = [20] * 10
    traces = daily_runs(harness, len(days_left), expire_app_secret_in(harness, days_left))
    alerts = alerts_over(traces, MONDAY, MONDAY + 12 * DAY)
    assert summary(alerts) == [(0, "app_secret", "warning")]


def test_the_weekly_rotation_beside_the_daily_runs_adds_no_alert(harness: Harness) -> None:
    # Monday's rotation and daily run land in one evaluation: their checks differ.
    days_left = [60, 60, 20, 20, 20, 20, 20, 20, 20]
    before_run = expire_app_secret_in(harness, days_left)
    traces = daily_runs(harness, len(days_left), before_run, rotate_on=(0, 7))
    alerts = alerts_over(traces, MONDAY, MONDAY + 10 * DAY)
    assert summary(alerts) == [(2, "app_secret", "warning")]
    assert {t.check for t in traces if (t.time_generated - MONDAY) % DAY == ROTATION_RUN} == {
        "rotation",
        "token_exchange",
        "mfa",
    }


def test_a_weekly_check_turned_critical_mails_once_across_three_weeks(harness: Harness) -> None:
    # Refused from the first rotation on: three rotations, 21 daily runs, all critical.
    harness.stack.identity.revoke_refresh_tokens(aadsts=700082)
    traces = daily_runs(harness, 21, lambda day: None, rotate_on=(0, 7, 14))
    alerts = alerts_over(traces, MONDAY, MONDAY + 23 * DAY)
    weekly = [a for a in summary(alerts) if a[1] in ("rotation", "token_exchange", "mfa")]
    assert (0, "rotation", "critical") in weekly
    assert len({check for _, check, _ in weekly}) == len(weekly)
    assert {day for day, _, _ in weekly} == {0}


# --- what the query makes of records ----------------------------------------------------------


@given(st.lists(st.sampled_from(["ok", "warning", "critical"]), min_size=1, max_size=12))
def test_any_run_of_daily_statuses_alerts_on_its_changes_to_not_ok(statuses: list[str]) -> None:
    traces = [trace(day, status) for day, status in enumerate(statuses)]
    alerts = alerts_over(traces, MONDAY, MONDAY + (len(statuses) + 3) * DAY)
    changes = [
        (day, "app_secret", status)
        for day, (before, status) in enumerate(zip(["", *statuses], statuses, strict=False))
        if status in NOT_OK and status != before
    ]
    assert summary(alerts) == changes


def test_a_repeat_within_the_same_evaluation_does_not_hide_a_change() -> None:
    # A run started by hand right after the scheduled one.
    traces = [trace(0, "ok"), trace(1, "critical"), trace(1 + 10 / 1440, "critical")]
    assert summary(alerts_over(traces, MONDAY, MONDAY + 3 * DAY)) == [(1, "app_secret", "critical")]


def test_each_check_alerts_on_its_own() -> None:
    traces = [
        trace(0, "ok", "app_secret"),
        trace(0, "ok", "refresh_token"),
        trace(1, "warning", "app_secret"),
        trace(1, "warning", "refresh_token"),
    ]
    alerts = alerts_over(traces, MONDAY, MONDAY + 3 * DAY)
    assert sorted(summary(alerts)) == [
        (1, "app_secret", "warning"),
        (1, "refresh_token", "warning"),
    ]


@pytest.mark.parametrize("apart", [3, 7])
def test_records_further_apart_than_the_look_back_alert_at_every_run_not_ok(apart: int) -> None:
    # Why the checks run daily: a weekly record's previous one is out of the rule's sight.
    traces = [trace(day, "warning") for day in range(0, 3 * apart, apart)]
    alerts = alerts_over(traces, MONDAY, MONDAY + 3 * apart * DAY)
    assert len(alerts) == 3
