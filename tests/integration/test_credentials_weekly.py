"""The weekly rotation's checks, reported every day: the rotation keeps its checks in table
`credentialchecks` of the host's storage (Azurite here), and the daily checks timer reports
them again, dated, so each has a record a day old for the alert rule. Fail closed: before
the first rotation, with the table out of reach or a row it cannot read, `rotation` is a
warning; a rotation overdue by more than a day (its schedule says when it was due) is
critical. The rows hold our own words and dates, never a secret."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import CheckTable, Harness
from tests.integration.helpers import (
    health_records,
    health_statuses,
    record_fields,
    run_daily_checks,
    run_timer,
)

DAY = 86400.0
HOUR = 3600.0
ROTATION_CHECKS = ("rotation", "token_exchange", "mfa")


def details(harness: Harness) -> dict[str, str]:
    return {record_fields(r)["check"]: record_fields(r)["detail"] for r in health_records(harness)}


def daily_run_at(harness: Harness, offset: float) -> None:
    """The daily checks `offset` seconds from now (the wall clock the rows are dated by)."""
    harness.caplog.clear()
    harness.timings(token_clock=lambda: time.time() + offset)
    run_daily_checks(harness)


def test_the_daily_run_reports_the_rotations_last_outcome_with_its_date(
    harness: Harness, check_table: CheckTable
) -> None:
    harness.stack.identity.revoke_refresh_tokens(aadsts=700082)
    run_timer(harness)
    kept_at = check_table.rows()["rotation"]["At"]
    harness.caplog.clear()
    run_daily_checks(harness)
    assert health_statuses(harness)["rotation"] == "critical"
    detail = details(harness)["rotation"]
    assert "AADSTS700082" in detail
    assert f"As of the weekly rotation at {kept_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z" in detail


def test_the_rotation_keeps_each_of_its_checks_as_it_recorded_them(
    harness: Harness, check_table: CheckTable
) -> None:
    harness.stack.identity.refresh_grant_amr = ["pwd"]
    run_timer(harness)
    rows = check_table.rows()
    assert {name: row["Status"] for name, row in rows.items()} == health_statuses(harness)
    assert {name: row["Detail"] for name, row in rows.items()} == details(harness)


def test_a_rotation_overdue_by_more_than_a_day_is_critical(
    harness: Harness, check_table: CheckTable
) -> None:
    run_timer(harness)  # now; the default schedule fires next within a week
    daily_run_at(harness, 8 * DAY + HOUR)
    assert health_statuses(harness)["rotation"] == "critical"
    assert "has not run since" in details(harness)["rotation"]


def test_a_rotation_not_yet_overdue_by_a_day_is_reported_as_it_was(
    harness: Harness, check_table: CheckTable
) -> None:
    # Daily: it next fires within a day of now, so a day from now is never a day late.
    harness.configure(REFRESH_TOKEN_ROTATION_SCHEDULE="0 0 3 * * *")
    run_timer(harness)
    daily_run_at(harness, DAY)
    assert {c: health_statuses(harness)[c] for c in ROTATION_CHECKS} == dict.fromkeys(
        ROTATION_CHECKS, "ok"
    )


def test_the_rotations_own_schedule_says_when_it_is_overdue(
    harness: Harness, check_table: CheckTable
) -> None:
    harness.configure(REFRESH_TOKEN_ROTATION_SCHEDULE="0 0 3 * * *")
    run_timer(harness)
    daily_run_at(harness, 2 * DAY + HOUR)
    assert health_statuses(harness)["rotation"] == "critical"


def test_a_rotation_schedule_that_cannot_be_read_is_critical(
    harness: Harness, check_table: CheckTable
) -> None:
    check_table.keep_ok(time.time())
    harness.configure(REFRESH_TOKEN_ROTATION_SCHEDULE="every monday")
    run_daily_checks(harness)
    assert health_statuses(harness)["rotation"] == "critical"
    assert "REFRESH_TOKEN_ROTATION_SCHEDULE" in details(harness)["rotation"]


def test_before_the_first_rotation_the_rotation_is_a_warning(
    harness: Harness, check_table: CheckTable
) -> None:
    run_daily_checks(harness)
    statuses = health_statuses(harness)
    assert statuses["rotation"] == "warning"
    assert "has not run yet" in details(harness)["rotation"]
    # Nothing is known of them yet: no record rather than a guess.
    assert "token_exchange" not in statuses and "mfa" not in statuses


def test_a_table_out_of_reach_is_a_rotation_warning_naming_the_failure_type(
    harness: Harness, azurite_connection_string: str
) -> None:
    # A loopback port nobody listens on.
    dead = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    harness.timings(table_retry_backoff=0.0)
    harness.configure(
        AzureWebJobsStorage=dead + "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    )
    run_daily_checks(harness)
    statuses = health_statuses(harness)
    assert statuses["rotation"] == "warning"
    assert {statuses[c] for c in ("key_vault", "refresh_token", "app_secret")} == {"ok"}
    detail = details(harness)["rotation"]
    assert "(ServiceRequestError)" in detail
    assert "127.0.0.1" not in detail


def test_no_storage_setting_is_a_rotation_warning_naming_it(harness: Harness) -> None:
    run_daily_checks(harness)
    assert health_statuses(harness)["rotation"] == "warning"
    assert "AzureWebJobsStorage" in details(harness)["rotation"]


def test_a_row_it_cannot_read_is_a_rotation_warning(
    harness: Harness, check_table: CheckTable
) -> None:
    check_table.keep_ok(time.time())
    check_table.table.upsert_entity(
        {"PartitionKey": "rotation", "RowKey": "mfa", "Status": "splendid", "At": "yesterday"}
    )
    run_daily_checks(harness)
    assert health_statuses(harness)["rotation"] == "warning"
    assert "splendid" not in json.dumps(details(harness))


def test_a_rotation_that_cannot_keep_its_outcome_still_rotates_and_says_so(
    harness: Harness,
) -> None:
    run_timer(harness)
    assert health_statuses(harness)["rotation"] == "ok"
    assert any("outcome was not kept" in r.getMessage() for r in harness.caplog.records)


@pytest.mark.parametrize("refused", [False, True])
def test_the_kept_rows_hold_our_words_and_dates_and_no_secret(
    harness: Harness, check_table: CheckTable, refused: bool
) -> None:
    if refused:
        harness.stack.identity.revoke_refresh_tokens(aadsts=700082)
    run_timer(harness)
    rows = check_table.rows()
    assert sorted(rows) == sorted(ROTATION_CHECKS)
    for row in rows.values():
        assert set(row) == {"PartitionKey", "RowKey", "Status", "Detail", "At"}
        assert isinstance(row["At"], datetime)
    text = json.dumps(rows, default=str)
    for secret in harness.secrets():
        assert secret not in text
