"""Where batches keep their queue and table (contract 1d, section 3): the host's storage,
a connection string locally, identity-based in Azure; anything else fails closed."""

from __future__ import annotations

import pytest

from shared.settings import SettingsError, load_batch_settings

ACCOUNT = "stapi123"


def test_identity_based_storage_names_both_endpoints_from_the_account() -> None:
    settings = load_batch_settings(
        {
            "AzureWebJobsStorage__accountName": ACCOUNT,
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "6e6e6e6e-0000-4000-8000-000000000006",
        }
    )
    assert settings.queue_endpoint == f"https://{ACCOUNT}.queue.core.windows.net"
    assert settings.table_endpoint == f"https://{ACCOUNT}.table.core.windows.net"
    assert settings.storage_uses_managed_identity


def test_service_uris_win_over_the_account_name() -> None:
    settings = load_batch_settings(
        {
            "AzureWebJobsStorage__accountName": ACCOUNT,
            "AzureWebJobsStorage__queueServiceUri": "https://q.example.net/",
        }
    )
    assert settings.queue_endpoint == "https://q.example.net"
    assert settings.table_endpoint == f"https://{ACCOUNT}.table.core.windows.net"


def test_a_connection_string_is_enough_and_never_shown() -> None:
    settings = load_batch_settings({"AzureWebJobsStorage": "AccountKey=secret-value;"})
    assert "secret-value" not in repr(settings)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"AzureWebJobsStorage": "   "},
        {"AzureWebJobsStorage__queueServiceUri": "https://q.example.net"},
        {"AzureWebJobsStorage__accountName": "Not_An_Account"},
        {
            "AzureWebJobsStorage__accountName": ACCOUNT,
            "AzureWebJobsStorage__queueServiceUri": "http://q.example.net",
        },
    ],
)
def test_storage_that_cannot_be_reached_safely_is_a_settings_error(
    environ: dict[str, str],
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_batch_settings(environ)
    assert all("AzureWebJobsStorage" in problem for problem in raised.value.problems)
