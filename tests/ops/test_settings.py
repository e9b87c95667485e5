"""Where settings come from (flag, environment, azd, default) and the URL rule they obey."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ops.azd_env import parse_env_values
from ops.errors import OpsError
from ops.settings import (
    SettingSource,
    application_id,
    flag_bool,
    secret_name,
    service_url,
    tenant_id,
)
from shared.settings import SettingsError, load_credential_settings


def _source(environ: dict[str, str], azd: dict[str, str]) -> tuple[SettingSource, list[int]]:
    calls: list[int] = []

    def azd_environment() -> dict[str, str]:
        calls.append(1)
        return azd

    return SettingSource(environ, azd_environment), calls


def test_a_flag_wins_over_the_environment_which_wins_over_azd() -> None:
    source, _ = _source({"AUTHORITY_HOST": "https://env"}, {"AUTHORITY_HOST": "https://azd"})

    assert source.get("AUTHORITY_HOST", "https://flag") == "https://flag"
    assert source.get("AUTHORITY_HOST") == "https://env"


def test_azd_wins_over_the_default_and_is_read_once() -> None:
    source, calls = _source({}, {"AUTHORITY_HOST": "https://login.microsoftonline.us"})

    assert source.get("AUTHORITY_HOST") == "https://login.microsoftonline.us"
    assert source.get("PARTNER_CENTER_BASE_URL") == "https://api.partnercenter.microsoft.com"
    assert len(calls) == 1


def test_the_vault_url_falls_back_to_azds_own_output_name() -> None:
    source, _ = _source({}, {"AZURE_KEY_VAULT_ENDPOINT": "https://kv.vault.azure.net/"})
    assert source.get("KEY_VAULT_URL") == "https://kv.vault.azure.net/"


def test_blank_values_count_as_unset() -> None:
    source, _ = _source({"PARTNER_TENANT_ID": "  "}, {})
    with pytest.raises(OpsError, match="PARTNER_TENANT_ID is not set"):
        source.require("PARTNER_TENANT_ID", "", "--tenant")


@pytest.mark.parametrize(
    "url",
    [
        "https://login.microsoftonline.com",
        "https://kv.vault.azure.net/",
        "http://127.0.0.1:8080",
        "http://localhost:1234",
        "http://[::1]:9",
    ],
)
def test_https_anywhere_or_http_on_loopback_is_accepted(url: str) -> None:
    assert service_url("AUTHORITY_HOST", url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://login.microsoftonline.com",
        "http://127.0.0.2",
        "ftp://127.0.0.1",
        "login.microsoftonline.com",
        "https://host/?x=1",
        "https://host/#f",
    ],
)
def test_other_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(OpsError, match=r"^AUTHORITY_HOST must"):
        service_url("AUTHORITY_HOST", url)


def test_application_ids_are_guids() -> None:
    assert application_id(" B7C1D2E3-4F5A-4B6C-8D7E-9F0A1B2C3D4E ") == (
        "b7c1d2e3-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    )
    with pytest.raises(OpsError, match="must be a GUID"):
        application_id("abc~secret.value")


def test_azd_values_are_unquoted_and_unescaped() -> None:
    text = (
        'AZURE_KEY_VAULT_ENDPOINT="https://kv.vault.azure.net/"\n'
        "PARTNER_TENANT_ID=8d2c1a4e-6f0b-4c3a-9e57-2b1f0c9d7a11\n"
        'QUOTED="say \\"hi\\" \\\\ there"\n'
        "SINGLE='as is'\n"
        "# a comment\n"
        "\n"
        "not a setting\n"
    )

    assert parse_env_values(text) == {
        "AZURE_KEY_VAULT_ENDPOINT": "https://kv.vault.azure.net/",
        "PARTNER_TENANT_ID": "8d2c1a4e-6f0b-4c3a-9e57-2b1f0c9d7a11",
        "QUOTED": 'say "hi" \\ there',
        "SINGLE": "as is",
    }


def app_value(setting: str, value: str) -> object:
    """What the function makes of `value` as `setting`, or None when it refuses it."""
    environ = {"KEY_VAULT_URL": "https://kv.vault.azure.net", "PARTNER_TENANT_ID": "t.example"}
    try:
        settings = load_credential_settings({**environ, setting: value})
    except SettingsError:
        return None
    return getattr(settings, setting.lower())


def command_value(check: Callable[[str], object], value: str) -> object:
    try:
        return check(value)
    except OpsError:
        return None


SETTING_TEXT = st.text(alphabet=st.sampled_from(list("htps:/.-_x1Z ?#@[]\t")), max_size=24) | (
    st.sampled_from(["https://kv.vault.azure.net/", " https://login.microsoftonline.com", "Yes"])
)


@given(SETTING_TEXT)
def test_the_commands_check_a_setting_exactly_as_the_function_does(value: str) -> None:
    assert command_value(lambda v: service_url("AUTHORITY_HOST", v), value) == app_value(
        "AUTHORITY_HOST", value
    )
    assert command_value(tenant_id, value) == app_value("PARTNER_TENANT_ID", value)
    assert command_value(lambda v: secret_name("SECRET_NAME_APP_ID", v), value) == app_value(
        "SECRET_NAME_APP_ID", value
    )
    verify = "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE"
    assert command_value(lambda v: flag_bool(verify, v), value) == app_value(verify, value)
