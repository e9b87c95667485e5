"""Local mode: against `python3 dev/run.py`'s emulators the operator commands take the
emulators' managed identity, as the function does locally, and can never reach Azure by
accident: a loopback service never gets the operator's own sign-in, and a command in local
mode refuses before its first request when anything it would call, or the identity
endpoint itself, is not on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from dev.emulators import EmulatorStack, Status
from dev.emulators import samples as s
from dev.emulators.managed_identity import MANAGED_IDENTITY_CLIENT_ID
from ops.credentials import sign_in_for

from .conftest import CANARY_APP_SECRET, Operator

APP_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"
RUN_HINT = "python3 dev/run.py"


@pytest.fixture
def local(operator: Operator, monkeypatch: pytest.MonkeyPatch) -> Operator:
    """An operator shell with dev/run.py's exports: the emulators' managed identity and
    the test CA, in the process environment too (azure-identity reads it there)."""
    stack = operator.stack
    identity = {
        "IDENTITY_ENDPOINT": stack.managed_identity.endpoint,
        "IDENTITY_HEADER": stack.managed_identity.identity_header,
        "AZURE_CLIENT_ID": MANAGED_IDENTITY_CLIENT_ID,
        "REQUESTS_CA_BUNDLE": stack.ca.ca_bundle_path,
    }
    for name, value in identity.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("IDENTITY_SERVER_THUMBPRINT", raising=False)
    operator.environ.update(identity)
    operator.local_mode = True
    return operator


def _secret_file(tmp_path: Path) -> str:
    path = tmp_path / "secret.txt"
    path.write_text(CANARY_APP_SECRET + "\n", encoding="utf-8")
    return str(path)


def _forget_requests(stack: EmulatorStack) -> None:
    for server in stack.servers:
        server.clear_requests()


def _untouched(stack: EmulatorStack) -> bool:
    servers = (stack.key_vault, stack.managed_identity, stack.identity, stack.partner_center)
    return all(server.requests == [] for server in servers)


def test_secrets_are_stored_in_the_emulated_vault_with_the_emulators_identity(
    local: Operator, tmp_path: Path
) -> None:
    stack = local.stack
    stack.key_vault.reset()

    outcome = local.run("secrets", "--app-id", APP_ID, "--app-secret-file", _secret_file(tmp_path))

    assert outcome.code == 0, outcome.err
    assert stack.key_vault.secret_value(s.SECRET_NAME_APP_ID) == APP_ID
    assert stack.key_vault.secret_value(s.SECRET_NAME_APP_SECRET) == CANARY_APP_SECRET
    assert stack.managed_identity.tokens_issued >= 1


def test_consent_stores_the_refresh_token_with_the_emulators_identity(local: Operator) -> None:
    stack = local.stack

    outcome = local.consent()

    assert outcome.code == 0, outcome.err
    assert stack.key_vault.versions(s.SECRET_NAME_REFRESH_TOKEN)[-1] == (
        stack.identity.latest_refresh_token
    )
    assert stack.managed_identity.tokens_issued >= 1


def test_without_an_identity_endpoint_nothing_is_asked_of_anyone(
    local: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without one, azure-identity would ask the instance metadata service (169.254.169.254).
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
        del local.environ[name]
        monkeypatch.delenv(name)
    _forget_requests(local.stack)

    outcome = local.run("secrets", "--app-id", APP_ID, "--app-secret-file", "/dev/null")

    assert outcome.code == 1
    assert "Local mode" in outcome.err
    assert "IDENTITY_ENDPOINT and IDENTITY_HEADER are not both set" in outcome.err
    assert RUN_HINT in outcome.err
    assert _untouched(local.stack)


def test_an_identity_endpoint_off_this_machine_is_refused(
    local: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = "http://169.254.169.254/metadata/identity/oauth2/token"
    local.environ["IDENTITY_ENDPOINT"] = elsewhere
    monkeypatch.setenv("IDENTITY_ENDPOINT", elsewhere)
    _forget_requests(local.stack)

    outcome = local.consent()

    assert outcome.code == 1
    assert "IDENTITY_ENDPOINT must be on 127.0.0.1, ::1 or localhost" in outcome.err
    assert _untouched(local.stack)


def test_consent_refuses_a_local_vault_with_a_sign_in_off_this_machine(local: Operator) -> None:
    local.environ["AUTHORITY_HOST"] = "https://login.microsoftonline.com"
    _forget_requests(local.stack)

    outcome = local.consent()

    assert outcome.code == 1
    assert "Local mode" in outcome.err
    assert "AUTHORITY_HOST must be on 127.0.0.1, ::1 or localhost as well" in outcome.err
    assert local.browser.opened == []
    assert _untouched(local.stack)


def test_a_local_vault_over_https_needs_the_test_ca(
    local: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    del local.environ["REQUESTS_CA_BUNDLE"]
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    _forget_requests(local.stack)

    outcome = local.run("secrets", "--app-id", APP_ID, "--app-secret-file", "/dev/null")

    assert outcome.code == 1
    assert "REQUESTS_CA_BUNDLE does not name its file" in outcome.err
    assert _untouched(local.stack)


def test_a_failing_identity_emulator_gets_local_advice(local: Operator, tmp_path: Path) -> None:
    # Refused (400): not retried, so the spec does not wait out a backoff.
    local.stack.managed_identity.inject(Status(400, {"message": "refused"}), times=None)

    outcome = local.run("secrets", "--app-id", APP_ID, "--app-secret-file", _secret_file(tmp_path))

    assert outcome.code == 1
    assert "no token from the emulators' managed identity" in outcome.err
    assert RUN_HINT in outcome.err
    assert "az login" not in outcome.err


def test_a_service_off_this_machine_gets_the_operators_sign_in_never_a_managed_identity(
    local: Operator,
) -> None:
    sign_in = sign_in_for("https://kv-test.vault.azure.net", local.environ)

    assert sign_in.local is False
    assert isinstance(sign_in.credential, DefaultAzureCredential)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_a_loopback_service_gets_the_managed_identity(local: Operator, host: str) -> None:
    sign_in = sign_in_for(f"http://{host}:1234", local.environ)

    assert sign_in.local is True
    assert isinstance(sign_in.credential, ManagedIdentityCredential)
