"""App settings: defaults, validation, and error messages that name the setting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.directory_roles import ALWAYS_PROTECTED_ROLES, PRIVILEGED_ROLES
from shared.settings import (
    SETTING_NAMES,
    SettingsError,
    load_credential_settings,
    load_health_route_settings,
    load_health_settings,
    load_settings,
)

URL_SETTINGS = [
    "AUTHORITY_HOST",
    "PARTNER_CENTER_BASE_URL",
    "KEY_VAULT_URL",
    "PARTNER_CENTER_RESOURCE",
]
BASE = {
    "KEY_VAULT_URL": "https://kv-example.vault.azure.net/",
    "PARTNER_TENANT_ID": "11111111-1111-1111-1111-111111111111",
}


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    return caught.value.problems


def test_the_two_required_settings_are_enough() -> None:
    settings = load_settings(BASE)
    assert settings.key_vault_url == "https://kv-example.vault.azure.net"
    assert settings.partner_center_base_url == "https://api.partnercenter.microsoft.com"
    assert settings.authority_host == "https://login.microsoftonline.com"
    assert settings.secret_names == (
        "partner-center-app-id",
        "partner-center-app-secret",
        "partner-center-refresh-token",
    )
    assert settings.reset_deadline_seconds == 25
    assert settings.secret_cache_seconds == 300
    assert settings.rotate_refresh_token is True
    assert settings.protected_role_guard is True
    assert settings.protected_role_ids == frozenset(PRIVILEGED_ROLES)
    assert settings.caller_tokens_required is False


def test_each_missing_required_setting_is_named() -> None:
    problems = _problems({})
    assert "KEY_VAULT_URL is required but not set" in problems
    assert "PARTNER_TENANT_ID is required but not set" in problems


def test_a_plain_http_vault_url_is_refused_by_name() -> None:
    problems = _problems({**BASE, "KEY_VAULT_URL": "http://vault.local"})
    assert problems == [
        "KEY_VAULT_URL must use https (plain http is allowed only on a loopback host)"
    ]


def test_a_malformed_boolean_names_the_setting() -> None:
    problems = _problems({**BASE, "ROTATE_REFRESH_TOKEN": "maybe"})
    assert problems == ["ROTATE_REFRESH_TOKEN must be true or false"]


@pytest.mark.parametrize("text", ["false", "False", "0", "no"])
def test_false_spellings_turn_a_switch_off(text: str) -> None:
    assert (
        load_settings(
            {**BASE, "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE": text}
        ).key_vault_verify_challenge_resource
        is False
    )


def test_a_non_numeric_deadline_is_named() -> None:
    problems = _problems({**BASE, "RESET_DEADLINE_SECONDS": "soon"})
    assert problems[0].startswith("RESET_DEADLINE_SECONDS")


def test_caller_tenant_without_audience_is_refused() -> None:
    problems = _problems({**BASE, "CALLER_TENANT_ID": "22222222-2222-2222-2222-222222222222"})
    assert "CALLER_TENANT_ID and CALLER_AUDIENCE go together" in problems[0]


def test_caller_policy_is_parsed_into_lower_case_sets() -> None:
    settings = load_settings(
        {
            **BASE,
            "CALLER_POLICY": '{"AppA": ["*"], "appb": ["33333333-3333-3333-3333-33333333333A"]}',
        }
    )
    assert settings.caller_policy == {
        "appa": frozenset({"*"}),
        "appb": frozenset({"33333333-3333-3333-3333-33333333333a"}),
    }


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ("not json", "must be a JSON object"),
        ('["a"]', "must be a JSON object"),
        ('{"a": "x"}', "must be a list"),
        ('{"a": ["contoso.com"]}', "not a GUID"),
    ],
)
def test_a_malformed_caller_policy_is_refused_at_start_up(policy: str, fragment: str) -> None:
    problems = _problems({**BASE, "CALLER_POLICY": policy})
    assert problems[0].startswith("CALLER_POLICY")
    assert fragment in problems[0]


def test_protected_role_ids_replace_the_default_list_but_keep_the_core_roles() -> None:
    settings = load_settings(
        {**BASE, "PROTECTED_ROLE_IDS": "FE930BE7-5E62-47DB-91AF-98C3A49A38B1, "}
    )
    assert settings.protected_role_ids == ALWAYS_PROTECTED_ROLES | {
        "fe930be7-5e62-47db-91af-98c3a49a38b1"
    }


def test_a_bad_secret_name_is_named() -> None:
    problems = _problems({**BASE, "SECRET_NAME_APP_SECRET": "bad_name"})
    assert problems[0].startswith("SECRET_NAME_APP_SECRET")


@pytest.mark.parametrize("blank", ["", " ", ",", " , ,"])
def test_a_blank_protected_role_list_means_the_default_list(blank: str) -> None:
    settings = load_settings({**BASE, "PROTECTED_ROLE_IDS": blank})
    assert settings.protected_role_ids == frozenset(PRIVILEGED_ROLES)


def test_the_core_roles_are_always_protected() -> None:
    assert {
        "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
        "e8611ab8-c189-46e8-94e1-60213ab1f814",  # Privileged Role Administrator
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",  # Privileged Authentication Administrator
    } == ALWAYS_PROTECTED_ROLES


@pytest.mark.parametrize("name", URL_SETTINGS)
@pytest.mark.parametrize(
    "url", ["http://login.example.com", "http://10.0.0.5", "ftp://127.0.0.1", "http://127.0.0.2"]
)
def test_upstream_urls_must_be_https_off_loopback(name: str, url: str) -> None:
    problems = _problems({**BASE, name: url})
    assert problems and problems[0].startswith(name)


@pytest.mark.parametrize("host", ["127.0.0.1:8443", "[::1]:8443", "localhost:8443"])
@pytest.mark.parametrize("name", URL_SETTINGS)
def test_plain_http_is_allowed_on_a_loopback_host(name: str, host: str) -> None:
    load_settings({**BASE, name: f"http://{host}"})


@pytest.mark.parametrize(
    "policy",
    [
        '{"caller-app": "cust-secret-1"}',
        '{"caller-app": ["cust-secret-1"]}',
        '["cust-secret-1"]',
    ],
)
def test_a_malformed_policy_is_named_without_its_values(policy: str) -> None:
    problems = _problems({**BASE, "CALLER_POLICY": policy})
    assert problems[0].startswith("CALLER_POLICY")
    assert "cust-secret-1" not in " ".join(problems)
    assert "caller-app" not in " ".join(problems)


def test_a_malformed_role_id_list_is_named_without_its_values() -> None:
    problems = _problems({**BASE, "PROTECTED_ROLE_IDS": "role-secret-1"})
    assert problems[0].startswith("PROTECTED_ROLE_IDS")
    assert "role-secret-1" not in problems[0]


def test_lookup_misses_are_remembered_for_a_minute_by_default() -> None:
    assert load_settings(BASE).lookup_miss_cache_seconds == 60


def test_the_partner_center_resource_is_the_global_clouds_by_default() -> None:
    settings = load_credential_settings(BASE)
    assert settings.partner_center_resource == "https://api.partnercenter.microsoft.com"


def test_a_sovereign_partner_center_resource_is_a_credential_setting() -> None:
    china = "https://partner.partnercenterapi.microsoftonline.cn/"
    settings = load_credential_settings({**BASE, "PARTNER_CENTER_RESOURCE": china})
    assert settings.partner_center_resource == china.rstrip("/")


def test_health_thresholds_default_to_60_80_days_and_30_7_days() -> None:
    thresholds = load_health_settings({})
    assert (thresholds.refresh_token_warning_days, thresholds.refresh_token_critical_days) == (
        60,
        80,
    )
    assert (thresholds.app_secret_warning_days, thresholds.app_secret_critical_days) == (30, 7)


def test_a_refresh_token_warning_not_before_its_critical_names_both_settings() -> None:
    with pytest.raises(SettingsError) as caught:
        load_health_settings(
            {"HEALTH_REFRESH_TOKEN_WARNING_DAYS": "80", "HEALTH_REFRESH_TOKEN_CRITICAL_DAYS": "70"}
        )
    [problem] = caught.value.problems
    assert "HEALTH_REFRESH_TOKEN_WARNING_DAYS" in problem
    assert "HEALTH_REFRESH_TOKEN_CRITICAL_DAYS" in problem


def test_an_app_secret_warning_not_above_its_critical_names_both_settings() -> None:
    with pytest.raises(SettingsError) as caught:
        load_health_settings(
            {"HEALTH_APP_SECRET_WARNING_DAYS": "7", "HEALTH_APP_SECRET_CRITICAL_DAYS": "7"}
        )
    [problem] = caught.value.problems
    assert "HEALTH_APP_SECRET_WARNING_DAYS" in problem
    assert "HEALTH_APP_SECRET_CRITICAL_DAYS" in problem


@pytest.mark.parametrize("value", ["soon", "-1", "90", "1.5"])
def test_a_malformed_refresh_token_threshold_names_the_setting(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_health_settings({"HEALTH_REFRESH_TOKEN_CRITICAL_DAYS": value})
    assert caught.value.problems[0].startswith("HEALTH_REFRESH_TOKEN_CRITICAL_DAYS")


def test_a_bad_health_threshold_does_not_break_the_reset_settings() -> None:
    load_settings({**BASE, "HEALTH_APP_SECRET_WARNING_DAYS": "never"})


# --- the credentials health route's own settings: who may ask, how often a probe exchanges


CALLER_TOKENS = {
    "CALLER_TENANT_ID": "22222222-2222-2222-2222-222222222222",
    "CALLER_AUDIENCE": "api://partner-password-reset",
}


def _route_problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_health_route_settings(env)
    return caught.value.problems


def test_the_probe_floor_is_five_minutes_and_the_operator_role_password_reset_operate() -> None:
    settings = load_health_route_settings({})
    assert settings.health_probe_min_seconds == 300
    assert settings.caller_operator_role == "PasswordReset.Operate"
    assert settings.caller_tokens_required is False


def test_the_health_route_takes_the_caller_token_settings() -> None:
    settings = load_health_route_settings({**CALLER_TOKENS, "CALLER_OPERATOR_ROLE": "Ops.Probe"})
    assert settings.caller_tokens_required is True
    assert settings.caller_audience == "api://partner-password-reset"
    assert settings.caller_required_role == "PasswordReset.Invoke"
    assert settings.caller_operator_role == "Ops.Probe"


@pytest.mark.parametrize("seconds", ["0", "1", "300", "3600", " 60 "])
def test_a_probe_floor_from_0_to_3600_seconds_is_taken(seconds: str) -> None:
    settings = load_health_route_settings({"HEALTH_PROBE_MIN_SECONDS": seconds})
    assert settings.health_probe_min_seconds == int(seconds)


@pytest.mark.parametrize(
    "value", ["", " ", "-1", "3601", "1.5", "300s", "1e3", "0x10", "nan", "inf", "\u0663\u0660"]
)
def test_a_blank_or_odd_probe_floor_is_named(value: str) -> None:
    problems = _route_problems({"HEALTH_PROBE_MIN_SECONDS": value})
    assert len(problems) == 1
    assert problems[0].startswith("HEALTH_PROBE_MIN_SECONDS")


@given(st.text(max_size=8))
def test_only_whole_seconds_from_0_to_3600_pass_as_the_floor(value: str) -> None:
    whole = value.strip()
    valid = whole.isascii() and whole.isdigit() and int(whole) <= 3600
    try:
        settings = load_health_route_settings({"HEALTH_PROBE_MIN_SECONDS": value})
    except SettingsError as exc:
        assert not valid
        assert exc.problems[0].startswith("HEALTH_PROBE_MIN_SECONDS")
    else:
        assert valid
        assert settings.health_probe_min_seconds == int(whole)


@pytest.mark.parametrize("role", ["", " ", "Password Reset.Operate", "\tOps"])
def test_a_blank_or_spaced_operator_role_is_named(role: str) -> None:
    problems = _route_problems({"CALLER_OPERATOR_ROLE": role})
    assert len(problems) == 1
    assert problems[0].startswith("CALLER_OPERATOR_ROLE")


def test_half_set_caller_token_settings_break_the_health_route_too() -> None:
    problems = _route_problems({"CALLER_TENANT_ID": CALLER_TOKENS["CALLER_TENANT_ID"]})
    assert "CALLER_TENANT_ID and CALLER_AUDIENCE go together" in problems[0]


def test_reset_route_settings_play_no_part_in_the_health_route() -> None:
    load_health_route_settings({"CALLER_POLICY": "{not json", "PROTECTED_ROLE_IDS": "x"})


def test_the_health_routes_settings_play_no_part_in_the_reset() -> None:
    settings = load_settings(
        {**BASE, "HEALTH_PROBE_MIN_SECONDS": "soon", "CALLER_OPERATOR_ROLE": " "}
    )
    assert settings.reset_deadline_seconds == 25


def test_the_probe_floor_and_the_operator_role_are_known_setting_names() -> None:
    assert {"HEALTH_PROBE_MIN_SECONDS", "CALLER_OPERATOR_ROLE"} <= set(SETTING_NAMES)
