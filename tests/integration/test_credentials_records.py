"""The rotation timer's structured records, which the credentials alert rule reads
(infra/queries/alert-credentials-health.kql): one `credentials.health` record per check
and run, ok ones included, the rotation being the check `rotation`; each carries `check`,
`status` and `detail` as fields, on logger `token_rotation`, so a rule selects them by
logger and event and compares a check's status with its previous run's."""

from __future__ import annotations

import logging
import time
from typing import Any

from azure.functions.timer import TimerRequest

from dev.emulators.samples import SECRET_NAME_APP_SECRET
from tests.integration.conftest import Harness

DAY = 86400.0
LOGGER = "token_rotation"
EVENT = "credentials.health"
CHECKS = ["rotation", "key_vault", "refresh_token", "app_secret", "token_exchange", "mfa"]


def run_timer(harness: Harness) -> None:
    harness.registered["rotate_refresh_token"].get_user_function()(TimerRequest())


def health_records(harness: Harness) -> list[logging.LogRecord]:
    """The records a rule selects: by their logger and event fields, never their text."""
    return [
        record
        for record in harness.caplog.records
        if getattr(record, "logger", None) == LOGGER and getattr(record, "event", None) == EVENT
    ]


def fields(record: logging.LogRecord) -> dict[str, Any]:
    value: dict[str, Any] = record.custom_dimensions  # type: ignore[attr-defined]
    return value


def statuses(harness: Harness) -> dict[str, str]:
    return {fields(r)["check"]: fields(r)["status"] for r in health_records(harness)}


def test_each_run_records_every_check_once_ok_ones_included(harness: Harness) -> None:
    run_timer(harness)
    checks = [fields(record)["check"] for record in health_records(harness)]
    assert sorted(checks) == sorted(CHECKS)
    assert set(statuses(harness).values()) == {"ok"}


def test_a_record_carries_the_check_its_status_and_our_detail(harness: Harness) -> None:
    harness.stack.key_vault.set_attributes(SECRET_NAME_APP_SECRET, expires=time.time() + 20 * DAY)
    run_timer(harness)
    [record] = [r for r in health_records(harness) if fields(r)["check"] == "app_secret"]
    assert fields(record)["status"] == "warning"
    assert "expires" in fields(record)["detail"]
    assert record.levelno == logging.WARNING


def test_a_critical_check_is_recorded_at_error_level(harness: Harness) -> None:
    harness.stack.key_vault.set_attributes(SECRET_NAME_APP_SECRET, expires=time.time() + 5 * DAY)
    run_timer(harness)
    [record] = [r for r in health_records(harness) if fields(r)["check"] == "app_secret"]
    assert (fields(record)["status"], record.levelno) == ("critical", logging.ERROR)


def test_a_failed_rotation_is_a_critical_rotation_record(harness: Harness) -> None:
    harness.stack.identity.revoke_refresh_tokens(aadsts=700082)
    run_timer(harness)
    assert statuses(harness)["rotation"] == "critical"
    [record] = [r for r in health_records(harness) if fields(r)["check"] == "rotation"]
    assert "AADSTS700082" in fields(record)["detail"]


def test_a_refused_write_back_is_a_critical_rotation_record(harness: Harness) -> None:
    harness.stack.key_vault.read_only = True
    run_timer(harness)
    assert statuses(harness)["rotation"] == "critical"


def test_rotation_turned_off_is_no_fault_of_the_rotation(harness: Harness) -> None:
    # The refresh_token check watches the stored token's age instead.
    harness.configure(ROTATE_REFRESH_TOKEN="false")
    run_timer(harness)
    assert statuses(harness)["rotation"] == "ok"


def test_skipped_for_broken_settings_is_a_critical_rotation_record(harness: Harness) -> None:
    harness.configure(PARTNER_TENANT_ID=None)
    run_timer(harness)
    assert statuses(harness)["rotation"] == "critical"
