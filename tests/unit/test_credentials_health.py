"""The credentials health checks: facts, thresholds and the time in, statuses and
actionable details out."""

from __future__ import annotations

import pytest

from credentials.health import (
    CredentialFacts,
    ProbeOutcome,
    assess,
    check_app_secret,
    check_key_vault,
    check_mfa,
    check_refresh_token,
    check_token_exchange,
    settings_report,
    worst,
)
from credentials.history import ExchangeFailed, ExchangeHistory, ExchangeSucceeded
from credentials.key_vault import SecretState
from shared.settings import HealthSettings, load_health_settings

DAY = 86400.0
NOW = 1_800_000_000.0
THRESHOLDS = load_health_settings({})
APP_ID = SecretState("partner-center-app-id", "v1", NOW - DAY)
APP_SECRET = SecretState("partner-center-app-secret", "v1", NOW - DAY)
REFRESH_TOKEN = SecretState("partner-center-refresh-token", "v1", NOW - DAY)
MISSING = "Key Vault secret 'partner-center-app-secret' does not exist: add it to the vault."
GOOD_EXCHANGE = ExchangeHistory(ExchangeSucceeded(NOW - 60, ("pwd", "mfa")))


def stored_days_ago(days: float) -> SecretState:
    return SecretState("partner-center-refresh-token", "v2", NOW - days * DAY)


def expiring_in(days: float) -> SecretState:
    return SecretState("partner-center-app-secret", "v2", NOW - DAY, NOW + days * DAY)


def facts(**changes: object) -> CredentialFacts:
    values: dict[str, object] = {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "history": GOOD_EXCHANGE,
        "probe": None,
        **changes,
    }
    return CredentialFacts(**values)  # type: ignore[arg-type]


# --- overall ----------------------------------------------------------------------------


def test_the_overall_status_is_the_worst_checks() -> None:
    assert worst(["ok", "warning", "ok"]) == "warning"
    assert worst(["warning", "critical", "ok"]) == "critical"
    assert worst([]) == "ok"


def test_healthy_credentials_are_ok_in_five_named_checks() -> None:
    report = assess(facts(), THRESHOLDS, NOW)
    assert report.status == "ok"
    assert [check.name for check in report.checks] == [
        "key_vault",
        "refresh_token",
        "app_secret",
        "token_exchange",
        "mfa",
    ]


def test_every_check_answers_name_status_and_detail() -> None:
    for check in assess(facts(), THRESHOLDS, NOW).to_json()["checks"]:  # type: ignore[attr-defined]
        assert {"name", "status", "detail"} <= set(check)


def test_broken_settings_are_one_critical_check_naming_them() -> None:
    report = settings_report(["KEY_VAULT_URL is required but not set"])
    assert report.status == "critical"
    [check] = report.checks
    assert check.name == "settings"
    assert "KEY_VAULT_URL" in check.detail


# --- Key Vault ---------------------------------------------------------------------------


def test_key_vault_lists_the_three_secrets_by_name_when_present() -> None:
    check = check_key_vault([APP_ID, APP_SECRET, REFRESH_TOKEN])
    assert check.status == "ok"
    assert [s["name"] for s in check.facts["secrets"]] == [  # type: ignore[attr-defined]
        "partner-center-app-id",
        "partner-center-app-secret",
        "partner-center-refresh-token",
    ]


def test_a_missing_secret_is_critical_and_named() -> None:
    check = check_key_vault([APP_ID, SecretState(APP_SECRET.name, problem=MISSING), REFRESH_TOKEN])
    assert check.status == "critical"
    assert "'partner-center-app-secret' does not exist" in check.detail
    assert {"name": "partner-center-app-secret", "present": False} in check.facts["secrets"]  # type: ignore[operator]


# --- refresh token -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "status"),
    [
        (0, "ok"),
        (59.9, "ok"),
        (60, "warning"),
        (61, "warning"),
        (79.9, "warning"),
        (80, "critical"),
        (95, "critical"),
    ],
)
def test_the_refresh_tokens_age_sets_its_status(days: float, status: str) -> None:
    check = check_refresh_token(stored_days_ago(days), GOOD_EXCHANGE, THRESHOLDS, NOW)
    assert check.status == status


def test_the_refresh_token_check_reports_its_dates_and_days_left() -> None:
    check = check_refresh_token(stored_days_ago(61), GOOD_EXCHANGE, THRESHOLDS, NOW)
    assert check.facts["daysSinceStored"] == 61
    assert check.facts["daysLeft"] == 29
    assert check.facts["storedAt"] == "2026-11-15T08:00:00Z"
    assert check.facts["lastExchangeAt"] == "2027-01-15T07:59:00Z"


def test_an_ageing_refresh_token_says_what_to_do() -> None:
    check = check_refresh_token(stored_days_ago(81), GOOD_EXCHANGE, THRESHOLDS, NOW)
    assert "python3 -m ops consent" in check.detail
    assert "partner-center-refresh-token" in check.detail


def test_the_refresh_token_thresholds_are_settings() -> None:
    strict = HealthSettings.model_validate(
        {"HEALTH_REFRESH_TOKEN_WARNING_DAYS": 10, "HEALTH_REFRESH_TOKEN_CRITICAL_DAYS": 20}
    )
    assert check_refresh_token(stored_days_ago(15), GOOD_EXCHANGE, strict, NOW).status == "warning"


def test_an_unreadable_refresh_token_is_critical() -> None:
    state = SecretState(REFRESH_TOKEN.name, problem="Key Vault is unreachable.")
    assert check_refresh_token(state, GOOD_EXCHANGE, THRESHOLDS, NOW).status == "critical"


# --- app secret ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "status"),
    [
        (365, "ok"),
        (31, "ok"),
        (30, "warning"),
        (20, "warning"),
        (8, "warning"),
        (7, "critical"),
        (5, "critical"),
        (-1, "critical"),
    ],
)
def test_the_app_secrets_days_to_expiry_set_its_status(days: float, status: str) -> None:
    assert check_app_secret(expiring_in(days), THRESHOLDS, NOW).status == status


def test_an_expiring_app_secret_says_how_to_renew_it() -> None:
    check = check_app_secret(expiring_in(20), THRESHOLDS, NOW)
    assert check.facts["daysLeft"] == 20
    assert "python3 -m ops secrets --app-secret-expires" in check.detail


def test_an_app_secret_without_an_expiry_is_ok_and_says_how_to_record_one() -> None:
    check = check_app_secret(APP_SECRET, THRESHOLDS, NOW)
    assert check.status == "ok"
    assert check.facts["expiresAt"] is None
    assert "--app-secret-expires" in check.detail


# --- token exchange ----------------------------------------------------------------------


def test_no_exchange_yet_is_ok_and_points_at_the_probe() -> None:
    check = check_token_exchange(ExchangeHistory(), None)
    assert check.status == "ok"
    assert "probe=true" in check.detail
    assert check.facts["probed"] is False


def test_a_refused_last_exchange_is_critical_with_its_advice() -> None:
    refused = ExchangeFailed(NOW, "Token exchange failed (invalid_grant, AADSTS700082): ...", True)
    history = ExchangeHistory(ExchangeSucceeded(NOW - 60, ("mfa",)), refused)
    check = check_token_exchange(history, None)
    assert check.status == "critical"
    assert "AADSTS700082" in check.detail


def test_an_unreachable_token_endpoint_is_a_warning() -> None:
    down = ExchangeFailed(NOW, "The Microsoft identity platform token endpoint failed.", False)
    assert check_token_exchange(ExchangeHistory(None, down), None).status == "warning"


def test_an_exchange_that_worked_after_a_failure_is_ok() -> None:
    earlier = ExchangeFailed(NOW - 120, "refused", True)
    history = ExchangeHistory(ExchangeSucceeded(NOW - 60, ("mfa",)), earlier)
    assert check_token_exchange(history, None).status == "ok"


def test_a_refused_probe_is_critical() -> None:
    probe = ProbeOutcome(
        failure="Token exchange failed (invalid_grant, ...)", credentials_rejected=True
    )
    check = check_token_exchange(GOOD_EXCHANGE, probe)
    assert check.status == "critical"
    assert check.facts["probed"] is True


def test_a_probe_whose_refresh_token_could_not_be_stored_is_a_warning() -> None:
    probe = ProbeOutcome(store_problem="the identity lacks the 'Key Vault Secrets Officer' role.")
    check = check_token_exchange(GOOD_EXCHANGE, probe)
    assert check.status == "warning"
    assert "Secrets Officer" in check.detail


# --- MFA ------------------------------------------------------------------------------


def test_an_access_token_with_mfa_is_ok() -> None:
    assert check_mfa(GOOD_EXCHANGE).status == "ok"


def test_an_access_token_without_mfa_is_critical_and_says_to_consent_again() -> None:
    check = check_mfa(ExchangeHistory(ExchangeSucceeded(NOW, ("pwd",))))
    assert check.status == "critical"
    assert "amr: pwd" in check.detail
    assert "python3 -m ops consent" in check.detail


def test_unknown_sign_in_methods_are_not_repeated() -> None:
    check = check_mfa(ExchangeHistory(ExchangeSucceeded(NOW, ("pwd", "<script>"))))
    assert "<script>" not in check.detail
    assert check.facts["authenticationMethods"] == ["pwd", "other"]


def test_an_unreadable_access_token_cannot_confirm_mfa() -> None:
    assert check_mfa(ExchangeHistory(ExchangeSucceeded(NOW, None))).status == "warning"


def test_mfa_before_any_exchange_is_not_known_and_not_alarming() -> None:
    check = check_mfa(ExchangeHistory())
    assert check.status == "ok"
    assert check.facts["mfa"] is None


# --- a probe within the floor: the last probe, reported again --------------------------


def test_a_probe_that_exchanged_says_probed_and_when() -> None:
    check = check_token_exchange(GOOD_EXCHANGE, ProbeOutcome(at=NOW))
    assert check.facts["probed"] is True
    assert check.facts["lastProbeAt"] == "2027-01-15T08:00:00Z"
    assert check.detail == "A token exchange just worked."


def test_a_probe_reported_again_says_not_probed_and_names_the_earlier_probe() -> None:
    check = check_token_exchange(GOOD_EXCHANGE, ProbeOutcome(at=NOW, probed=False))
    assert check.status == "ok"
    assert check.facts["probed"] is False
    assert check.facts["lastProbeAt"] == "2027-01-15T08:00:00Z"
    assert "HEALTH_PROBE_MIN_SECONDS" in check.detail
    assert "2027-01-15T08:00:00Z" in check.detail


def test_a_refused_probe_reported_again_stays_critical() -> None:
    refused = ProbeOutcome(
        failure="Token exchange failed (invalid_grant, AADSTS50173): ...",
        credentials_rejected=True,
        at=NOW,
        probed=False,
    )
    check = check_token_exchange(GOOD_EXCHANGE, refused)
    assert check.status == "critical"
    assert "AADSTS50173" in check.detail


def test_without_a_probe_there_is_no_last_probe_time() -> None:
    assert check_token_exchange(GOOD_EXCHANGE, None).facts["lastProbeAt"] is None
