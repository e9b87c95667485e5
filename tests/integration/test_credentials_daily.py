"""The daily credentials checks timer (`check_credentials_daily`), called as the host calls
it, against the emulators: every day it reads Key Vault's dates and judges them by the
clock, with no token exchange, and writes one `credentials.health` record per check (ok
ones included) and one ALERT line per check that is not ok. A day apart, each record's
previous one is within the alert rule's look-back, so the rule mails once per change."""

from __future__ import annotations

from typing import Any

import pytest

from dev.emulators.samples import SECRET_NAME_REFRESH_TOKEN
from tests.integration.conftest import Harness
from tests.integration.helpers import (
    health_records,
    health_statuses,
    record_fields,
    run_daily_checks,
)

# The host's storage: the daily checks report the rotation's kept checks from it.
pytestmark = pytest.mark.usefixtures("rotation_ran")

TIMER = "check_credentials_daily"
# Reported again from the rotation's table, whatever becomes of the checks of Key Vault.
ROTATION_CHECKS = {"rotation", "token_exchange", "mfa"}


def vault_records(harness: Harness) -> list[Any]:
    """The records of the checks this timer makes itself (not the rotation's, reported)."""
    return [r for r in health_records(harness) if record_fields(r)["check"] not in ROTATION_CHECKS]


def test_it_is_registered_with_a_daily_schedule(harness: Harness) -> None:
    binding = harness.registered[TIMER].get_trigger().get_dict_repr()
    assert binding["schedule"] == "0 30 3 * * *"
    assert binding["type"] == "timerTrigger"


def test_a_run_makes_no_token_exchange(harness: Harness) -> None:
    run_daily_checks(harness)
    assert harness.stack.identity.exchanges == 0
    assert harness.stack.key_vault.writes(SECRET_NAME_REFRESH_TOKEN) == 0
    assert harness.stack.partner_center.requests == []


def test_each_run_writes_one_record_per_check(harness: Harness) -> None:
    for _ in range(3):
        harness.caplog.clear()
        run_daily_checks(harness)
        checks = [record_fields(r)["check"] for r in health_records(harness)]
        assert sorted(checks) == sorted(
            ["app_secret", "key_vault", "refresh_token", *ROTATION_CHECKS]
        )
    assert harness.stack.identity.exchanges == 0


def test_each_run_reads_the_vault_again(harness: Harness) -> None:
    # Past the secret cache: the dates must be today's, not a warm instance's memory.
    run_daily_checks(harness)
    harness.stack.key_vault.set_attributes(SECRET_NAME_REFRESH_TOKEN, created=0.0)
    harness.caplog.clear()
    run_daily_checks(harness)
    assert health_statuses(harness)["refresh_token"] == "critical"


def test_broken_credential_settings_are_one_critical_settings_record(harness: Harness) -> None:
    harness.configure(PARTNER_TENANT_ID=None)
    run_daily_checks(harness)
    [record] = vault_records(harness)
    assert record_fields(record)["check"] == "settings"
    assert record_fields(record)["status"] == "critical"
    assert "PARTNER_TENANT_ID" in record_fields(record)["detail"]


def test_checks_that_fail_unexpectedly_are_one_critical_checks_record(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("credentials.checks.gather", explode)
    run_daily_checks(harness)
    [record] = vault_records(harness)
    assert (record_fields(record)["check"], record_fields(record)["status"]) == (
        "checks",
        "critical",
    )
    # The type only: an unexpected exception's message may hold anything.
    assert "RuntimeError" in record_fields(record)["detail"]
    assert "boom" not in record_fields(record)["detail"]


def test_broken_credential_settings_do_not_stop_the_rotations_checks_being_reported(
    harness: Harness,
) -> None:
    harness.configure(PARTNER_TENANT_ID=None)
    run_daily_checks(harness)
    statuses = health_statuses(harness)
    assert {check: statuses[check] for check in ROTATION_CHECKS} == dict.fromkeys(
        ROTATION_CHECKS, "ok"
    )


def test_a_bad_reset_setting_does_not_stop_the_daily_checks(harness: Harness) -> None:
    harness.configure(CALLER_POLICY="{not json", PROTECTED_ROLE_IDS="not-a-guid")
    run_daily_checks(harness)
    assert set(health_statuses(harness).values()) == {"ok"}


def test_a_malformed_schedule_is_named_at_start_up(harness: Harness) -> None:
    from worker.startup import report_settings_problems

    harness.configure(CREDENTIALS_CHECK_SCHEDULE="0 30 3 * * 1")
    [problem] = report_settings_problems()
    assert problem.startswith("CREDENTIALS_CHECK_SCHEDULE ")
