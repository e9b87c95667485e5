"""Settings of one-time links: defaults, ranges, the link origin and the table's storage,
each problem named by its app setting and never by its value."""

from __future__ import annotations

import pytest

from shared.settings import SecretLinkSettings, SettingsError, load_secret_link_settings

AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=c2VjcmV0LWtleS1ub3QtZm9yLWxvZ3M=;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
HOSTED = {
    "WEBSITE_HOSTNAME": "func-reset.azurewebsites.net",
    "AzureWebJobsStorage__accountName": "streset01",
}


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_secret_link_settings(env)
    return caught.value.problems


def test_in_azure_the_defaults_follow_the_host() -> None:
    settings = load_secret_link_settings(HOSTED)
    assert settings.secret_link_ttl_minutes == 1440
    assert settings.generated_password_length == 16
    assert settings.link_base_url == "https://func-reset.azurewebsites.net"
    assert settings.storage_connection_string is None
    assert settings.table_endpoint == "https://streset01.table.core.windows.net"


def test_a_public_base_url_replaces_the_hosts_name() -> None:
    settings = load_secret_link_settings(
        {**HOSTED, "PUBLIC_BASE_URL": "https://reset.contoso.com/"}
    )
    assert settings.link_base_url == "https://reset.contoso.com"


def test_plain_http_is_allowed_on_loopback_only() -> None:
    local = load_secret_link_settings(
        {"PUBLIC_BASE_URL": "http://localhost:7071", "AzureWebJobsStorage": AZURITE}
    )
    assert local.link_base_url == "http://localhost:7071"
    problems = _problems({**HOSTED, "PUBLIC_BASE_URL": "http://reset.contoso.com"})
    assert problems and problems[0].startswith("PUBLIC_BASE_URL must use https")


@pytest.mark.parametrize(
    "value",
    [
        "https://reset.contoso.com/?x=1",
        "https://reset.contoso.com/#k",
        "https://u:p@reset.contoso.com",
        "reset.contoso.com",
        "ftp://reset.contoso.com",
    ],
)
def test_a_public_base_url_that_is_no_plain_origin_is_refused(value: str) -> None:
    problems = _problems({**HOSTED, "PUBLIC_BASE_URL": value})
    assert len(problems) == 1 and problems[0].startswith("PUBLIC_BASE_URL ")
    assert "u:p" not in problems[0]


def test_without_a_public_base_url_or_host_name_the_link_origin_is_missing() -> None:
    problems = _problems({"AzureWebJobsStorage": AZURITE})
    assert problems == [
        "PUBLIC_BASE_URL is required when WEBSITE_HOSTNAME is not set (the origin one-time "
        "links point to)"
    ]


@pytest.mark.parametrize("value", ["func.example.net/evil", "func example.net", "@evil.net"])
def test_a_malformed_host_name_is_refused(value: str) -> None:
    problems = _problems({"WEBSITE_HOSTNAME": value, "AzureWebJobsStorage": AZURITE})
    assert len(problems) == 1 and problems[0].startswith("WEBSITE_HOSTNAME ")


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("SECRET_LINK_TTL_MINUTES", 5, 10080), ("GENERATED_PASSWORD_LENGTH", 12, 256)],
)
def test_numbers_take_their_range_and_nothing_outside(name: str, low: int, high: int) -> None:
    for edge in (low, high):
        assert load_secret_link_settings({**HOSTED, name: str(edge)})
    for wrong in (str(low - 1), str(high + 1), "", "ten", "1.5"):
        problems = _problems({**HOSTED, name: wrong})
        assert len(problems) == 1 and problems[0].startswith(f"{name} "), wrong


def test_a_connection_string_wins_and_never_shows() -> None:
    settings = load_secret_link_settings({**HOSTED, "AzureWebJobsStorage": AZURITE})
    assert settings.storage_connection_string == AZURITE
    assert "c2VjcmV0" not in repr(settings)


def test_a_table_service_uri_replaces_the_account_name() -> None:
    settings = load_secret_link_settings(
        {
            **HOSTED,
            "AzureWebJobsStorage__tableServiceUri": "https://streset01.table.core.chinacloudapi.cn/",
        }
    )
    assert settings.table_endpoint == "https://streset01.table.core.chinacloudapi.cn"


def test_a_table_service_uri_must_be_https() -> None:
    problems = _problems(
        {
            "WEBSITE_HOSTNAME": "f.azurewebsites.net",
            "AzureWebJobsStorage__tableServiceUri": "http://streset01.table.core.windows.net",
        }
    )
    assert len(problems) == 1 and problems[0].startswith("AzureWebJobsStorage__tableServiceUri ")


@pytest.mark.parametrize("value", ["ab", "Upper01", "has-dash", "x" * 25])
def test_an_account_name_must_be_a_storage_account_name(value: str) -> None:
    problems = _problems(
        {"WEBSITE_HOSTNAME": "f.azurewebsites.net", "AzureWebJobsStorage__accountName": value}
    )
    assert len(problems) == 1 and problems[0].startswith("AzureWebJobsStorage__accountName ")


def test_without_any_storage_setting_the_table_is_missing() -> None:
    problems = _problems({"WEBSITE_HOSTNAME": "f.azurewebsites.net"})
    assert problems == [
        "AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName "
        "(identity-based) is required for the secretlinks table"
    ]


def test_blank_storage_settings_count_as_unset() -> None:
    problems = _problems(
        {
            "WEBSITE_HOSTNAME": "f.azurewebsites.net",
            "AzureWebJobsStorage": "  ",
            "AzureWebJobsStorage__accountName": "",
        }
    )
    assert len(problems) == 1 and problems[0].startswith("AzureWebJobsStorage ")


def test_the_managed_identity_is_the_hosts_storage_credential() -> None:
    settings = load_secret_link_settings(
        {
            **HOSTED,
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "0b0b0b0b-0000-4000-8000-000000000001",
        }
    )
    assert settings.storage_uses_managed_identity
    assert settings.storage_client_id == "0b0b0b0b-0000-4000-8000-000000000001"
    assert not load_secret_link_settings(HOSTED).storage_uses_managed_identity


def test_the_settings_are_read_from_the_environment_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBSITE_HOSTNAME", "f.azurewebsites.net")
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "streset01")
    monkeypatch.setenv("SECRET_LINK_TTL_MINUTES", "60")
    settings = load_secret_link_settings()
    assert isinstance(settings, SecretLinkSettings)
    assert settings.secret_link_ttl_minutes == 60
