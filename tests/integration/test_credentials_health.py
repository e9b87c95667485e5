"""GET /api/health/credentials and the timers' ALERT lines, against the emulators:
each status from real Key Vault dates and real token exchanges, the probe's one exchange,
the query rules, and no secret in any answer or log line."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import pytest

from dev.emulators.faults import Status
from dev.emulators.samples import (
    SAMPLE_APP_ID,
    SECRET_NAME_APP_SECRET,
    SECRET_NAME_REFRESH_TOKEN,
)
from tests.integration.conftest import Answer, Harness
from tests.integration.helpers import checks, run_daily_checks, run_timer

# The host's storage: the daily checks report the rotation's kept checks from it.
pytestmark = pytest.mark.usefixtures("rotation_ran")

DAY = 86400.0
ROUTE = "health/credentials"
CANARY_APP_SECRET = "Canary~AppSecret.health-5b1e9d"
CANARY_REFRESH_TOKEN = "canary-rt-health-0c7f2a9e4b"
CHINA_RESOURCE = "https://partner.partnercenterapi.microsoftonline.cn"


def check_health(harness: Harness, params: Mapping[str, str] | None = None) -> Answer:
    return harness.call(
        "credentials_health", method="GET", route=ROUTE, route_params={}, params=params
    )


def alert_records(harness: Harness) -> list[logging.LogRecord]:
    return [r for r in harness.caplog.records if "ALERT:" in r.getMessage()]


def alerts(harness: Harness) -> list[str]:
    """The ALERT lines, without the correlation prefix every line carries."""
    return [r.getMessage()[r.getMessage().index("ALERT:") :] for r in alert_records(harness)]


@pytest.fixture
def canaries(harness: Harness) -> Harness:
    """Distinct app secret and refresh token values in the identity emulator and the vault,
    searched for (with every access token issued) in every answer and log line."""
    identity, vault = harness.stack.identity, harness.stack.key_vault
    identity.register_app(SAMPLE_APP_ID, CANARY_APP_SECRET)
    identity.add_refresh_token(CANARY_REFRESH_TOKEN, SAMPLE_APP_ID)
    vault.set_secret(SECRET_NAME_APP_SECRET, CANARY_APP_SECRET)
    vault.set_secret(SECRET_NAME_REFRESH_TOKEN, CANARY_REFRESH_TOKEN)
    harness.extra_secrets += [CANARY_APP_SECRET, CANARY_REFRESH_TOKEN]
    return harness


def assert_no_secret_anywhere(harness: Harness) -> None:
    """Every value the vault and the identity emulator hold, and the signed parts of every
    access token (a JWT's payload or signature alone would still be a leak)."""
    vault = harness.stack.key_vault
    values = [*vault.versions(SECRET_NAME_APP_SECRET), *vault.versions(SECRET_NAME_REFRESH_TOKEN)]
    for token in harness.stack.ledger.issued_tokens():
        values += [part for part in token.split(".")[1:] if len(part) >= 16]
    harness.assert_nothing_leaked(*values)


# --- the scenarios, each setting the stack up for one status -------------------------------


def _ok(harness: Harness) -> None:
    del harness


def _refresh_token_61_days_old(harness: Harness) -> None:
    harness.stack.key_vault.set_attributes(
        SECRET_NAME_REFRESH_TOKEN, created=time.time() - 61 * DAY
    )


def _refresh_token_81_days_old(harness: Harness) -> None:
    harness.stack.key_vault.set_attributes(
        SECRET_NAME_REFRESH_TOKEN, created=time.time() - 81 * DAY
    )


def _app_secret_expires_in_20_days(harness: Harness) -> None:
    harness.stack.key_vault.set_attributes(SECRET_NAME_APP_SECRET, expires=time.time() + 20 * DAY)


def _app_secret_expires_in_5_days(harness: Harness) -> None:
    harness.stack.key_vault.set_attributes(SECRET_NAME_APP_SECRET, expires=time.time() + 5 * DAY)


def _refresh_token_revoked(harness: Harness) -> None:
    harness.stack.identity.revoke_refresh_tokens(aadsts=50173)


def _sign_in_without_mfa(harness: Harness) -> None:
    harness.stack.identity.refresh_grant_amr = ["pwd"]


def _key_vault_down(harness: Harness) -> None:
    harness.stack.key_vault.inject(Status(503), times=None)


def _app_secret_missing(harness: Harness) -> None:
    harness.stack.key_vault.delete_secret(SECRET_NAME_APP_SECRET)


Scenario = Callable[[Harness], None]
# name: (set-up, probe?, overall status, the check that sets it)
SCENARIOS: dict[str, tuple[Scenario, bool, str, str]] = {
    "ok": (_ok, False, "ok", "key_vault"),
    "ok-probed": (_ok, True, "ok", "token_exchange"),
    "refresh-token-61-days": (_refresh_token_61_days_old, False, "warning", "refresh_token"),
    "app-secret-20-days": (_app_secret_expires_in_20_days, False, "warning", "app_secret"),
    "refresh-token-81-days": (_refresh_token_81_days_old, False, "critical", "refresh_token"),
    "app-secret-5-days": (_app_secret_expires_in_5_days, False, "critical", "app_secret"),
    "invalid-grant-probed": (_refresh_token_revoked, True, "critical", "token_exchange"),
    "no-mfa-probed": (_sign_in_without_mfa, True, "critical", "mfa"),
    "key-vault-down": (_key_vault_down, False, "critical", "key_vault"),
    "app-secret-missing": (_app_secret_missing, False, "critical", "key_vault"),
}


def _answer_for(harness: Harness, scenario: str) -> Answer:
    set_up, probe, _, _ = SCENARIOS[scenario]
    set_up(harness)
    return check_health(harness, {"probe": "true"} if probe else None)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_answer_carries_the_worst_checks_status(harness: Harness, scenario: str) -> None:
    _, _, status, check = SCENARIOS[scenario]
    answer = _answer_for(harness, scenario)
    assert answer.json["status"] == status
    assert checks(answer)[check]["status"] == status


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ok_and_warning_answer_200_and_critical_503(harness: Harness, scenario: str) -> None:
    _, _, status, _ = SCENARIOS[scenario]
    answer = _answer_for(harness, scenario)
    assert answer.status == (503 if status == "critical" else 200)
    assert answer.mimetype == "application/json"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_answer_is_no_store(harness: Harness, scenario: str) -> None:
    assert _answer_for(harness, scenario).headers["cache-control"] == "no-store"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_secret_reaches_the_answer_or_the_log(canaries: Harness, scenario: str) -> None:
    _answer_for(canaries, scenario)
    assert_no_secret_anywhere(canaries)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_secret_reaches_the_timers_log(canaries: Harness, scenario: str) -> None:
    SCENARIOS[scenario][0](canaries)
    run_timer(canaries)
    run_daily_checks(canaries)
    assert_no_secret_anywhere(canaries)


# --- what each check reports ------------------------------------------------------------


def test_every_check_has_a_name_a_status_and_a_detail(harness: Harness) -> None:
    answer = check_health(harness, {"probe": "true"})
    assert [c["name"] for c in answer.json["checks"]] == [
        "key_vault",
        "refresh_token",
        "app_secret",
        "token_exchange",
        "mfa",
    ]
    for check in answer.json["checks"]:
        assert check["status"] in {"ok", "warning", "critical"}
        assert isinstance(check["detail"], str) and check["detail"]


def test_key_vault_names_the_three_secrets(harness: Harness) -> None:
    secrets = checks(check_health(harness))["key_vault"]["secrets"]
    assert secrets == [
        {"name": "partner-center-app-id", "present": True},
        {"name": "partner-center-app-secret", "present": True},
        {"name": "partner-center-refresh-token", "present": True},
    ]


def test_a_missing_secret_is_named(harness: Harness) -> None:
    _app_secret_missing(harness)
    detail = checks(check_health(harness))["key_vault"]["detail"]
    assert "'partner-center-app-secret' does not exist" in detail


def test_the_refresh_tokens_age_comes_from_key_vaults_dates(harness: Harness) -> None:
    _refresh_token_61_days_old(harness)
    check = checks(check_health(harness))["refresh_token"]
    assert check["daysSinceStored"] == 61
    # A few milliseconds past 61 days: fewer than 29 whole days are left.
    assert check["daysLeft"] == 28


def test_the_app_secrets_expiry_comes_from_key_vault(harness: Harness) -> None:
    _app_secret_expires_in_20_days(harness)
    check = checks(check_health(harness))["app_secret"]
    assert check["daysLeft"] in (19, 20)
    assert "python3 -m ops secrets" in check["detail"]


def test_a_refused_probe_names_the_aadsts_code_and_the_fix(harness: Harness) -> None:
    _refresh_token_revoked(harness)
    detail = checks(check_health(harness, {"probe": "true"}))["token_exchange"]["detail"]
    assert "AADSTS50173" in detail
    assert "consent again" in detail


def test_a_reset_s_exchange_is_reported_without_a_probe(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    assert harness.reset().status == 200
    found = checks(check_health(harness))
    assert found["mfa"]["mfa"] is True
    assert found["refresh_token"]["lastExchangeAt"] is not None


def test_a_refused_exchange_of_a_reset_is_critical_without_a_probe(harness: Harness) -> None:
    _refresh_token_revoked(harness)
    harness.reset()
    answer = check_health(harness)
    assert checks(answer)["token_exchange"]["status"] == "critical"
    assert harness.stack.identity.exchanges == 0


# --- exchanges: none without the probe, one with it -------------------------------------


def test_without_probe_no_token_exchange_is_made(harness: Harness) -> None:
    check_health(harness)
    check_health(harness, {"probe": "false"})
    assert harness.stack.identity.requests_to("POST", r"/oauth2/") == []


def test_with_probe_exactly_one_token_exchange_is_made(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    assert harness.reset().status == 200  # a cached access token must not stand in for it
    harness.stack.identity.clear_requests()
    check_health(harness, {"probe": "TRUE"})
    assert len(harness.stack.identity.requests_to("POST", r"/oauth2/")) == 1


def test_the_probes_new_refresh_token_is_stored_before_the_vault_is_read(
    harness: Harness,
) -> None:
    _refresh_token_61_days_old(harness)
    answer = check_health(harness, {"probe": "true"})
    assert harness.stack.key_vault.writes(SECRET_NAME_REFRESH_TOKEN) == 1
    assert checks(answer)["refresh_token"]["daysSinceStored"] == 0


# --- the request ---------------------------------------------------------------------


def test_the_route_needs_the_function_key(harness: Harness) -> None:
    trigger = harness.registered["credentials_health"].get_trigger()
    assert str(trigger.auth_level.value).lower() == "function"
    assert trigger.route == "health/credentials"
    assert [str(m.value) for m in trigger.methods] == ["GET"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"prob": "true"}, "prob"),
        ({"Probe": "true"}, "Probe"),
        ({"probe": ""}, "probe"),
        ({"probe": "yes"}, "probe"),
        ({"probe": "true,true"}, "probe"),
        ({"probe": " true"}, "probe"),
    ],
)
def test_an_unknown_or_malformed_query_is_refused_as_a_problem(
    harness: Harness, params: dict[str, str], field: str
) -> None:
    answer = check_health(harness, params)
    assert answer.status == 400
    assert answer.mimetype == "application/problem+json"
    body = answer.json
    assert body["code"] == "invalid_request"
    assert body["correlationId"] == answer.headers["x-correlation-id"]
    assert [error["field"] for error in body["errors"]] == [field]
    assert answer.headers["cache-control"] == "no-store"
    assert harness.stack.identity.requests == []
    assert harness.stack.key_vault.reads(SECRET_NAME_APP_SECRET) == 0


@pytest.mark.parametrize("name", ["code", "Code", "CODE"])
def test_the_function_key_in_the_query_is_no_unknown_parameter(harness: Harness, name: str) -> None:
    # The host reads its key parameter in any letter case, so each reaches the function.
    assert check_health(harness, {name: "host-key"}).status == 200


def test_a_bad_reset_setting_does_not_break_the_credentials_check(harness: Harness) -> None:
    harness.configure(CALLER_POLICY="{not json")
    assert check_health(harness).json["status"] == "ok"


def test_a_bad_threshold_is_a_critical_settings_check_naming_it(harness: Harness) -> None:
    harness.configure(HEALTH_APP_SECRET_CRITICAL_DAYS="40")
    answer = check_health(harness)
    assert answer.status == 503
    [check] = answer.json["checks"]
    assert check["name"] == "settings"
    assert "HEALTH_APP_SECRET_WARNING_DAYS" in check["detail"]


def test_thresholds_are_app_settings(harness: Harness) -> None:
    harness.configure(HEALTH_APP_SECRET_WARNING_DAYS="10", HEALTH_APP_SECRET_CRITICAL_DAYS="2")
    _app_secret_expires_in_20_days(harness)
    assert check_health(harness).json["status"] == "ok"


# --- sovereign clouds -----------------------------------------------------------------


def test_the_token_request_asks_for_the_configured_resources_scope(harness: Harness) -> None:
    harness.configure(PARTNER_CENTER_RESOURCE=CHINA_RESOURCE)
    check_health(harness, {"probe": "true"})
    [request] = harness.stack.identity.requests_to("POST", r"/oauth2/v2\.0/token$")
    assert request.form()["scope"] == f"{CHINA_RESOURCE}/.default"


def test_the_v1_token_request_names_the_configured_resource(harness: Harness) -> None:
    harness.configure(PARTNER_CENTER_RESOURCE=CHINA_RESOURCE)
    harness.stack.identity.inject(Status(404, b""), times=None, path=r"/oauth2/v2\.0/token$")
    check_health(harness, {"probe": "true"})
    [request] = harness.stack.identity.requests_to("POST", r"/oauth2/token$")
    assert request.form()["resource"] == CHINA_RESOURCE


# --- the timers' ALERT lines ------------------------------------------------------------


def test_neither_timer_logs_an_alert_when_all_is_well(harness: Harness) -> None:
    run_timer(harness)
    run_daily_checks(harness)
    assert alerts(harness) == []


def test_the_daily_checks_alert_on_an_app_secret_near_expiry_as_a_warning(
    harness: Harness,
) -> None:
    _app_secret_expires_in_20_days(harness)
    run_daily_checks(harness)
    [alert] = alerts(harness)
    assert alert.startswith("ALERT: credentials app_secret warning:")
    assert [r.levelno for r in alert_records(harness)] == [logging.WARNING]


def test_the_daily_checks_alert_on_an_app_secret_about_to_expire_as_an_error(
    harness: Harness,
) -> None:
    _app_secret_expires_in_5_days(harness)
    run_daily_checks(harness)
    [alert] = alerts(harness)
    assert alert.startswith("ALERT: credentials app_secret critical:")
    assert [r.levelno for r in alert_records(harness)] == [logging.ERROR]


def test_the_rotation_alerts_when_the_sign_in_lacked_mfa(harness: Harness) -> None:
    _sign_in_without_mfa(harness)
    run_timer(harness)
    assert [a.split(":")[1].strip() for a in alerts(harness)] == ["credentials mfa critical"]


def test_the_daily_checks_alert_on_a_refresh_token_that_is_not_renewed(harness: Harness) -> None:
    _refresh_token_61_days_old(harness)
    run_daily_checks(harness)
    assert [a.split(":")[1].strip() for a in alerts(harness)] == [
        "credentials refresh_token warning"
    ]


def test_the_daily_checks_alert_once_per_failing_check(harness: Harness) -> None:
    _app_secret_expires_in_5_days(harness)
    _refresh_token_81_days_old(harness)
    run_daily_checks(harness)
    assert sorted(a.split(":")[1].strip() for a in alerts(harness)) == [
        "credentials app_secret critical",
        "credentials refresh_token critical",
    ]


def test_the_daily_checks_alert_when_key_vault_is_down(harness: Harness) -> None:
    _key_vault_down(harness)
    run_daily_checks(harness)
    assert any(a.startswith("ALERT: credentials key_vault critical") for a in alerts(harness))
