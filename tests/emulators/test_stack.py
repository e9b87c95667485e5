"""The wired stack: settings, reseeding, and the function's whole upstream path end to end."""

from __future__ import annotations

import uuid

import pytest
import requests
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from dev.emulators import EmulatorStack, Status
from dev.emulators import samples as s
from dev.emulators.ledger import TokenLedger

from .helpers import PC_RESOURCE, pc_headers, reset_body, reset_url


def test_settings_name_everything_the_function_reads(emulators: EmulatorStack) -> None:
    settings = emulators.settings()

    assert settings["KEY_VAULT_URL"] == emulators.key_vault.url
    assert settings["PARTNER_CENTER_BASE_URL"] == emulators.partner_center.url
    assert settings["AUTHORITY_HOST"] == emulators.identity.url
    assert settings["PARTNER_TENANT_ID"] == emulators.identity.partner_tenant_id
    assert settings["KEY_VAULT_VERIFY_CHALLENGE_RESOURCE"] == "false"
    assert settings["IDENTITY_ENDPOINT"].endswith("/msi/token")
    assert settings["REQUESTS_CA_BUNDLE"] == emulators.ca.ca_bundle_path
    assert settings["SECRET_NAME_REFRESH_TOKEN"] == s.SECRET_NAME_REFRESH_TOKEN
    assert "CALLER_TENANT_ID" not in settings
    assert emulators.settings(caller_auth=True)["CALLER_TENANT_ID"] == (
        emulators.identity.caller_tenant_id
    )
    for url in (settings["KEY_VAULT_URL"], settings["AUTHORITY_HOST"]):
        assert "//127.0.0.1:" in url


def test_reset_state_reseeds_without_restarting(emulators: EmulatorStack) -> None:
    ports = [server.port for server in emulators.servers]
    emulators.key_vault.set_secret(s.SECRET_NAME_REFRESH_TOKEN, "changed")
    emulators.partner_center.inject(Status(500), times=None)
    emulators.identity.revoke_refresh_tokens()

    emulators.reset_state()

    assert [server.port for server in emulators.servers] == ports
    assert emulators.key_vault.versions(s.SECRET_NAME_REFRESH_TOKEN) == [s.SAMPLE_REFRESH_TOKEN]
    assert emulators.identity.current_refresh_tokens == [s.SAMPLE_REFRESH_TOKEN]
    assert emulators.partner_center.customer(s.SAMPLE_CUSTOMER_ID).company_name == "Contoso"
    assert emulators.partner_center.requests == []
    token = emulators.ledger.issue(PC_RESOURCE, 60)
    answer = requests.get(
        f"{emulators.partner_center.url}/v1/customers/{s.SAMPLE_CUSTOMER_ID}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 200


def test_reset_state_can_revoke_access_tokens(emulators: EmulatorStack) -> None:
    token = emulators.ledger.issue(PC_RESOURCE, 60)
    emulators.reset_state(revoke_tokens=True)
    assert not emulators.ledger.is_valid(token, PC_RESOURCE)


def test_ledger_expiry_and_audience() -> None:
    ledger = TokenLedger()
    token = ledger.issue("https://vault.azure.net/", 60)
    expired = ledger.issue("https://vault.azure.net", -1)

    assert ledger.is_valid(token, "https://vault.azure.net")
    assert not ledger.is_valid(token, PC_RESOURCE)
    assert not ledger.is_valid(expired, "https://vault.azure.net")
    assert not ledger.is_valid(None, "https://vault.azure.net")
    ledger.revoke_all()
    assert not ledger.is_valid(token, "https://vault.azure.net")


@pytest.mark.parametrize("token_path", ["oauth2/token", "oauth2/v2.0/token"])
def test_whole_upstream_path(
    emulators: EmulatorStack, monkeypatch: pytest.MonkeyPatch, token_path: str
) -> None:
    """Secrets from Key Vault via managed identity, a refresh-token grant, then the reset."""
    settings = emulators.settings()
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, settings[name])
    credential = ManagedIdentityCredential(client_id=settings["AZURE_CLIENT_ID"])
    with SecretClient(
        settings["KEY_VAULT_URL"], credential=credential, verify_challenge_resource=False
    ) as vault:
        app_id = vault.get_secret(settings["SECRET_NAME_APP_ID"]).value
        app_secret = vault.get_secret(settings["SECRET_NAME_APP_SECRET"]).value
        refresh_token = vault.get_secret(settings["SECRET_NAME_REFRESH_TOKEN"]).value
        assert app_id and app_secret and refresh_token

        form = {
            "grant_type": "refresh_token",
            "client_id": app_id,
            "client_secret": app_secret,
            "refresh_token": refresh_token,
        }
        if token_path == "oauth2/token":
            form["resource"] = PC_RESOURCE
        else:
            form["scope"] = f"{PC_RESOURCE}/.default offline_access"
        grant = requests.post(
            f"{settings['AUTHORITY_HOST']}/{settings['PARTNER_TENANT_ID']}/{token_path}",
            data=form,
            timeout=5,
        ).json()
        vault.set_secret(settings["SECRET_NAME_REFRESH_TOKEN"], grant["refresh_token"])

    answer = requests.patch(
        reset_url(emulators, s.SAMPLE_CUSTOMER_ID, s.SAMPLE_USER_ID),
        headers=pc_headers(grant["access_token"], **{"MS-RequestId": str(uuid.uuid4())}),
        json=reset_body("Fresh-Password-7"),
        timeout=5,
    )

    assert answer.status_code == 200
    assert (
        emulators.partner_center.current_password(s.SAMPLE_CUSTOMER_ID, s.SAMPLE_USER_ID)
        == "Fresh-Password-7"
    )
    assert emulators.identity.exchanges == 1
    assert emulators.key_vault.secret_value(s.SECRET_NAME_REFRESH_TOKEN) == grant["refresh_token"]
