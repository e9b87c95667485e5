"""The timers' structured records, which the credentials alert rule reads
(infra/queries/alert-credentials-health.kql): one `credentials.health` record per check
and run, ok ones included, each carrying `check`, `status` and `detail` as fields, on
logger `token_rotation`, so a rule selects them by logger and event and compares a check's
status with its previous record's.

The daily checks timer records what Key Vault holds, judged by the clock, and every day
again the weekly rotation's checks as its last run kept them; the rotation records its
own exchange (`rotation`) and what only an exchange shows (`token_exchange`, `mfa`) when
it runs, and keeps them. So a rotation's check has a record a day old at most, and the
two timers' records of it agree."""

from __future__ import annotations

import logging
import time

import pytest

from dev.emulators.samples import SECRET_NAME_APP_SECRET
from tests.integration.conftest import Harness
from tests.integration.helpers import (
    health_records,
    health_statuses,
    record_fields,
    run_daily_checks,
    run_timer,
)

# The host's storage: the daily checks report the rotation's kept checks from it.
pytestmark = pytest.mark.usefixtures("check_table")

DAY = 86400.0
ROTATION_CHECKS = ["rotation", "token_exchange", "mfa"]
DAILY_CHECKS = ["key_vault", "refresh_token", "app_secret"]


def checks_recorded(harness: Harness) -> list[str]:
    return [record_fields(record)["check"] for record in health_records(harness)]


def app_secret_record(harness: Harness) -> logging.LogRecord:
    [record] = [r for r in health_records(harness) if record_fields(r)["check"] == "app_secret"]
    return record


def test_a_rotation_run_records_its_own_checks_once_ok_ones_included(harness: Harness) -> None:
    run_timer(harness)
    assert sorted(checks_recorded(harness)) == sorted(ROTATION_CHECKS)
    assert set(health_statuses(harness).values()) == {"ok"}


def test_a_daily_run_records_every_check_once_ok_ones_included(harness: Harness) -> None:
    run_timer(harness)
    harness.caplog.clear()
    run_daily_checks(harness)
    assert sorted(checks_recorded(harness)) == sorted(DAILY_CHECKS + ROTATION_CHECKS)
    assert set(health_statuses(harness).values()) == {"ok"}


def test_the_daily_run_records_the_rotations_checks_as_the_rotation_did(
    harness: Harness,
) -> None:
    harness.stack.identity.refresh_grant_amr = ["pwd"]
    run_timer(harness)
    by_rotation = {c: s for c, s in health_statuses(harness).items() if c in ROTATION_CHECKS}
    harness.caplog.clear()
    run_daily_checks(harness)
    by_daily = {c: s for c, s in health_statuses(harness).items() if c in ROTATION_CHECKS}
    assert by_daily == by_rotation == {"rotation": "ok", "token_exchange": "ok", "mfa": "critical"}


def test_a_record_carries_the_check_its_status_and_our_detail(harness: Harness) -> None:
    harness.stack.key_vault.set_attributes(SECRET_NAME_APP_SECRET, expires=time.time() + 20 * DAY)
    run_daily_checks(harness)
    record = app_secret_record(harness)
    assert record_fields(record)["status"] == "warning"
    assert "expires" in record_fields(record)["detail"]
    assert record.levelno == logging.WARNING


def test_a_critical_check_is_recorded_at_error_level(harness: Harness) -> None:
    harness.stack.key_vault.set_attributes(SECRET_NAME_APP_SECRET, expires=time.time() + 5 * DAY)
    run_daily_checks(harness)
    record = app_secret_record(harness)
    assert (record_fields(record)["status"], record.levelno) == ("critical", logging.ERROR)


def test_a_sign_in_without_mfa_is_a_critical_mfa_record_of_the_rotation(harness: Harness) -> None:
    harness.stack.identity.refresh_grant_amr = ["pwd"]
    run_timer(harness)
    assert health_statuses(harness)["mfa"] == "critical"


def test_a_failed_rotation_is_a_critical_rotation_record(harness: Harness) -> None:
    harness.stack.identity.revoke_refresh_tokens(aadsts=700082)
    run_timer(harness)
    assert health_statuses(harness)["rotation"] == "critical"
    [record] = [r for r in health_records(harness) if record_fields(r)["check"] == "rotation"]
    assert "AADSTS700082" in record_fields(record)["detail"]


def test_a_refused_write_back_is_a_critical_rotation_record(harness: Harness) -> None:
    harness.stack.key_vault.read_only = True
    run_timer(harness)
    assert health_statuses(harness)["rotation"] == "critical"


def test_rotation_turned_off_is_no_fault_of_the_rotation(harness: Harness) -> None:
    # The refresh_token check watches the stored token's age instead.
    harness.configure(ROTATE_REFRESH_TOKEN="false")
    run_timer(harness)
    assert health_statuses(harness)["rotation"] == "ok"


def test_skipped_for_broken_settings_is_a_critical_rotation_record(harness: Harness) -> None:
    harness.configure(PARTNER_TENANT_ID=None)
    run_timer(harness)
    assert health_statuses(harness)["rotation"] == "critical"
