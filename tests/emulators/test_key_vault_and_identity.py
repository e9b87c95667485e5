"""Key Vault and managed identity emulators, by hand and through the real Azure SDK."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from dev.emulators import EmulatorStack
from dev.emulators import samples as s
from dev.emulators.key_vault import KEY_VAULT_AUDIENCE
from dev.emulators.managed_identity import MANAGED_IDENTITY_CLIENT_ID

API = {"api-version": "7.5"}


def _vault_get(stack: EmulatorStack, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        f"{stack.key_vault.url}{path}",
        params=API,
        headers=headers,
        verify=stack.ca.ca_bundle_path,
        timeout=5,
    )


def test_ca_bundle_holds_only_the_test_ca(emulators: EmulatorStack) -> None:
    with open(emulators.ca.ca_bundle_path, encoding="ascii") as bundle:
        assert bundle.read().count("BEGIN CERTIFICATE") == 1


def test_vault_speaks_tls_trusted_only_through_the_test_ca(emulators: EmulatorStack) -> None:
    assert emulators.key_vault.url.startswith("https://127.0.0.1:")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emulators.key_vault.url, verify=True, timeout=5)


def test_challenge_without_token(emulators: EmulatorStack) -> None:
    answer = _vault_get(emulators, f"/secrets/{s.SECRET_NAME_APP_ID}")

    assert answer.status_code == 401
    identity = emulators.identity
    assert answer.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{identity.url}/{identity.partner_tenant_id}",'
        ' resource="https://vault.azure.net"'
    )
    assert answer.json() == {
        "error": {
            "code": "Unauthorized",
            "message": "AKV10000: Request is missing a Bearer or PoP token.",
        }
    }


def test_token_for_another_audience_gets_the_challenge(emulators: EmulatorStack) -> None:
    token = emulators.ledger.issue("https://api.partnercenter.microsoft.com", 60)
    answer = _vault_get(emulators, f"/secrets/{s.SECRET_NAME_APP_ID}", token)
    assert answer.status_code == 401
    assert "WWW-Authenticate" in answer.headers


def test_get_put_and_versions_by_hand(emulators: EmulatorStack) -> None:
    vault = emulators.key_vault
    token = emulators.ledger.issue(KEY_VAULT_AUDIENCE, 60)
    put = requests.put(
        f"{vault.url}/secrets/demo",
        params=API,
        json={"value": "v2", "contentType": "text/plain", "tags": {"k": "v"}},
        headers={"Authorization": f"Bearer {token}"},
        verify=emulators.ca.ca_bundle_path,
        timeout=5,
    )
    assert put.status_code == 200
    version = put.json()["id"].rsplit("/", 1)[1]

    latest = _vault_get(emulators, "/secrets/demo", token).json()
    pinned = _vault_get(emulators, f"/secrets/demo/{version}", token).json()

    assert latest["value"] == pinned["value"] == "v2"
    assert latest["id"] == f"{vault.url}/secrets/demo/{version}"
    assert latest["contentType"] == "text/plain"
    assert latest["tags"] == {"k": "v"}
    assert latest["attributes"]["enabled"] is True
    assert latest["attributes"]["recoveryLevel"] == "Recoverable+Purgeable"
    assert vault.versions("demo") == ["v2"]
    assert (vault.reads("demo"), vault.writes("demo")) == (2, 1)


def test_missing_secret_and_missing_version(emulators: EmulatorStack) -> None:
    token = emulators.ledger.issue(KEY_VAULT_AUDIENCE, 60)
    for path in ("/secrets/nope", f"/secrets/{s.SECRET_NAME_APP_ID}/0000"):
        answer = _vault_get(emulators, path, token)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "SecretNotFound"


def test_deleted_secret_is_gone(emulators: EmulatorStack) -> None:
    emulators.key_vault.delete_secret(s.SECRET_NAME_APP_SECRET)
    assert emulators.key_vault.secret_value(s.SECRET_NAME_APP_SECRET) is None


@pytest.fixture
def sdk_env(emulators: EmulatorStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorStack]:
    settings = emulators.settings()
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, settings[name])
    yield emulators


def _client(stack: EmulatorStack) -> SecretClient:
    credential = ManagedIdentityCredential(client_id=MANAGED_IDENTITY_CLIENT_ID)
    return SecretClient(
        stack.key_vault.url,
        credential=credential,
        verify_challenge_resource=False,
        retry_total=0,
    )


def test_sdk_reads_and_writes_secrets_through_managed_identity(sdk_env: EmulatorStack) -> None:
    with _client(sdk_env) as client:
        app_id = client.get_secret(s.SECRET_NAME_APP_ID).value
        written = client.set_secret(s.SECRET_NAME_REFRESH_TOKEN, "rotated")
        again = client.get_secret(s.SECRET_NAME_REFRESH_TOKEN).value

    assert app_id == s.SAMPLE_APP_ID
    assert again == "rotated"
    assert written.properties.version
    vault = sdk_env.key_vault
    assert vault.versions(s.SECRET_NAME_REFRESH_TOKEN) == [s.SAMPLE_REFRESH_TOKEN, "rotated"]
    assert vault.writes(s.SECRET_NAME_REFRESH_TOKEN) == 1
    mi_calls = sdk_env.managed_identity.requests
    assert len(mi_calls) == 1, "the SDK should reuse its managed identity token"
    assert mi_calls[0].query == {
        "api-version": "2019-08-01",
        "resource": "https://vault.azure.net",
        "client_id": MANAGED_IDENTITY_CLIENT_ID,
    }


def test_sdk_sees_missing_secret_and_read_only_vault(sdk_env: EmulatorStack) -> None:
    sdk_env.key_vault.read_only = True
    with _client(sdk_env) as client:
        with pytest.raises(ResourceNotFoundError):
            client.get_secret("absent")
        with pytest.raises(HttpResponseError) as refused:
            client.set_secret(s.SECRET_NAME_REFRESH_TOKEN, "x")
    assert refused.value.status_code == 403
    assert sdk_env.key_vault.versions(s.SECRET_NAME_REFRESH_TOKEN) == [s.SAMPLE_REFRESH_TOKEN]


def _mi_get(stack: EmulatorStack, **overrides: str | None) -> requests.Response:
    mi = stack.managed_identity
    params: dict[str, str | None] = {
        "api-version": "2019-08-01",
        "resource": "https://vault.azure.net/.default",
        "client_id": MANAGED_IDENTITY_CLIENT_ID,
    }
    headers = {"X-IDENTITY-HEADER": mi.identity_header}
    header = overrides.pop("header", mi.identity_header)
    if header is None:
        headers.pop("X-IDENTITY-HEADER")
    else:
        headers["X-IDENTITY-HEADER"] = header
    params.update(overrides)
    return requests.get(mi.endpoint, params=params, headers=headers, timeout=5)


def test_managed_identity_token_shape(emulators: EmulatorStack) -> None:
    answer = _mi_get(emulators)

    assert answer.status_code == 200
    body = answer.json()
    assert body["resource"] == "https://vault.azure.net"
    assert body["token_type"] == "Bearer"
    assert body["client_id"] == MANAGED_IDENTITY_CLIENT_ID
    assert isinstance(body["expires_on"], str)
    assert int(body["expires_on"]) > time.time() + 3600
    assert emulators.ledger.is_valid(body["access_token"], KEY_VAULT_AUDIENCE)
    assert emulators.managed_identity.tokens_issued == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"header": None},
        {"header": "wrong"},
        {"client_id": "someone-else"},
        {"api-version": "2017-09-01"},
    ],
)
def test_managed_identity_refusals(
    emulators: EmulatorStack, overrides: dict[str, str | None]
) -> None:
    answer = _mi_get(emulators, **overrides)
    assert answer.status_code == 400
    assert answer.json()["statusCode"] == 400
    assert answer.json()["message"]


def test_a_secret_answers_its_created_updated_and_expiry_dates(emulators: EmulatorStack) -> None:
    vault = emulators.key_vault
    vault.set_secret("dated", "v", created=1_700_000_000, expires=1_900_000_000)
    token = emulators.ledger.issue(KEY_VAULT_AUDIENCE, 60)
    attributes = _vault_get(emulators, "/secrets/dated", token).json()["attributes"]
    assert (attributes["created"], attributes["updated"]) == (1_700_000_000, 1_700_000_000)
    assert attributes["exp"] == 1_900_000_000


def test_a_secret_without_an_expiry_answers_no_exp(emulators: EmulatorStack) -> None:
    token = emulators.ledger.issue(KEY_VAULT_AUDIENCE, 60)
    attributes = _vault_get(emulators, f"/secrets/{s.SECRET_NAME_APP_ID}", token).json()
    assert "exp" not in attributes["attributes"]


def test_a_tests_dates_replace_the_current_versions(emulators: EmulatorStack) -> None:
    vault = emulators.key_vault
    vault.set_attributes(s.SECRET_NAME_REFRESH_TOKEN, created=1_600_000_000)
    vault.set_attributes(s.SECRET_NAME_REFRESH_TOKEN, expires=1_950_000_000)
    attributes = vault.attributes(s.SECRET_NAME_REFRESH_TOKEN)
    assert (attributes["created"], attributes["exp"]) == (1_600_000_000, 1_950_000_000)


def test_the_sdk_reads_the_dates_a_put_set(sdk_env: EmulatorStack) -> None:
    expires = datetime.datetime(2030, 1, 2, tzinfo=datetime.UTC)
    with _client(sdk_env) as client:
        client.set_secret("expiring", "v", expires_on=expires)
        properties = client.get_secret("expiring").properties
    assert properties.expires_on == expires
    assert properties.created_on is not None
    assert abs(properties.created_on.timestamp() - time.time()) < 60
