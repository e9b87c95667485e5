"""`python3 -m ops secrets`: the app ID and secret into Key Vault, names and versions out."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import CredentialUnavailableError

from dev.emulators import EmulatorStack
from dev.emulators import samples as s

from .conftest import CANARY_TYPED_SECRET, Operator

APP_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"
ID_NAME = s.SECRET_NAME_APP_ID
SECRET_NAME = s.SECRET_NAME_APP_SECRET


def _puts(stack: EmulatorStack, name: str) -> list[dict[str, Any]]:
    # The SDK's first request to a vault in a process is a bodyless probe for the 401
    # challenge; which test sends it depends on how the tests are spread over the workers.
    puts = stack.key_vault.requests_to("PUT", f"/secrets/{name}$")
    return [r.json() for r in puts if r.body]


def _nothing_written(stack: EmulatorStack) -> bool:
    return stack.key_vault.requests_to("PUT", "/secrets/") == []


def test_prompted_secret_and_flagged_app_id_are_stored(operator: Operator) -> None:
    stack = operator.stack
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets", "--app-id", APP_ID)

    assert outcome.code == 0, outcome.err
    assert stack.key_vault.secret_value(ID_NAME) == APP_ID
    assert stack.key_vault.secret_value(SECRET_NAME) == CANARY_TYPED_SECRET


def test_only_names_and_versions_are_printed(operator: Operator) -> None:
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets", "--app-id", APP_ID)

    lines = outcome.out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"stored {ID_NAME} version ")
    assert lines[1].startswith(f"stored {SECRET_NAME} version ")
    assert lines[2].startswith("grant: skipped, no azd environment")
    assert APP_ID not in outcome.out, "not secret, but not printed either: names and versions"


def test_the_app_id_is_asked_for_when_not_given(operator: Operator) -> None:
    operator.text_answers.append(f"  {APP_ID.upper()}  ")
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets")

    assert outcome.code == 0, outcome.err
    assert operator.stack.key_vault.secret_value(ID_NAME) == APP_ID


def test_an_app_id_that_is_not_a_guid_is_refused_so_a_pasted_secret_is_never_stored(
    operator: Operator,
) -> None:
    operator.text_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets")

    assert outcome.code == 1
    assert "must be a GUID" in outcome.err
    assert _nothing_written(operator.stack)


def test_the_secret_can_come_from_a_file(operator: Operator, tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(CANARY_TYPED_SECRET + "\n", encoding="utf-8")

    outcome = operator.run("secrets", "--app-id", APP_ID, "--app-secret-file", str(path))

    assert outcome.code == 0, outcome.err
    assert operator.stack.key_vault.secret_value(SECRET_NAME) == CANARY_TYPED_SECRET


def test_the_secret_can_come_from_standard_input(
    operator: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(CANARY_TYPED_SECRET + "\r\n"))

    outcome = operator.run("secrets", "--app-id", APP_ID, "--app-secret-file", "-")

    assert outcome.code == 0, outcome.err
    assert operator.stack.key_vault.secret_value(SECRET_NAME) == CANARY_TYPED_SECRET


def test_an_unreadable_file_is_named_and_nothing_written(
    operator: Operator, tmp_path: Path
) -> None:
    missing = tmp_path / "absent.txt"

    outcome = operator.run("secrets", "--app-id", APP_ID, "--app-secret-file", str(missing))

    assert outcome.code == 1
    assert f"Could not read the app secret file {missing}" in outcome.err
    assert _nothing_written(operator.stack)


@pytest.mark.parametrize(
    ("content", "message"),
    [("\n", "is empty"), (f"{CANARY_TYPED_SECRET}\nsecond line\n", "spans several lines")],
)
def test_an_empty_or_multi_line_secret_is_refused(
    operator: Operator, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(content, encoding="utf-8")

    outcome = operator.run("secrets", "--app-id", APP_ID, "--app-secret-file", str(path))

    assert outcome.code == 1
    assert message in outcome.err
    assert _nothing_written(operator.stack)


def test_expiry_is_set_on_the_secret_for_the_health_check(operator: Operator) -> None:
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets", "--app-id", APP_ID, "--app-secret-expires", "2027-05-31")

    assert outcome.code == 0, outcome.err
    [put] = _puts(operator.stack, SECRET_NAME)
    expected = int(datetime(2027, 5, 31, tzinfo=UTC).timestamp())
    assert put["attributes"]["exp"] == expected
    assert outcome.out.splitlines()[1].endswith("(expires 2027-05-31)")
    [id_put] = _puts(operator.stack, ID_NAME)
    assert "exp" not in id_put.get("attributes", {})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/05/2027", "must be a date as YYYY-MM-DD"),
        ("2026-11-21", "is not in the future"),
        ("2020-01-01", "is not in the future"),
    ],
)
def test_a_bad_or_past_expiry_is_refused_before_anything_is_asked_or_written(
    operator: Operator, value: str, message: str
) -> None:
    outcome = operator.run("secrets", "--app-id", APP_ID, "--app-secret-expires", value)

    assert outcome.code == 1
    assert message in outcome.err
    assert _nothing_written(operator.stack)


def test_no_terminal_for_the_prompt_points_at_the_file_option(operator: Operator) -> None:
    outcome = operator.run("secrets", "--app-id", APP_ID)

    assert outcome.code == 1
    assert "--app-secret-file" in outcome.err
    assert _nothing_written(operator.stack)


def test_custom_secret_names_from_flags_and_environment(operator: Operator) -> None:
    operator.environ["SECRET_NAME_APP_SECRET"] = "pc-secret-from-env"
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets", "--app-id", APP_ID, "--app-id-name", "pc-id-from-flag")

    assert outcome.code == 0, outcome.err
    vault = operator.stack.key_vault
    assert vault.secret_value("pc-id-from-flag") == APP_ID
    assert vault.secret_value("pc-secret-from-env") == CANARY_TYPED_SECRET


def test_the_vault_url_flag_wins_over_the_environment_and_azd(operator: Operator) -> None:
    vault_url = operator.environ["KEY_VAULT_URL"]
    operator.environ["KEY_VAULT_URL"] = "https://127.0.0.1:9/"
    operator.azd["AZURE_KEY_VAULT_ENDPOINT"] = "https://127.0.0.1:9/"
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets", "--app-id", APP_ID, "--vault-url", vault_url)

    assert outcome.code == 0, outcome.err
    assert operator.stack.key_vault.secret_value(SECRET_NAME) == CANARY_TYPED_SECRET


def test_the_vault_url_comes_from_azd_when_not_set(operator: Operator) -> None:
    operator.provisioned()
    del operator.environ["KEY_VAULT_URL"]
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets", "--app-id", APP_ID)

    assert outcome.code == 0, outcome.err
    assert operator.stack.key_vault.secret_value(SECRET_NAME) == CANARY_TYPED_SECRET


def test_no_vault_url_anywhere_names_every_way_to_give_it(operator: Operator) -> None:
    del operator.environ["KEY_VAULT_URL"]

    outcome = operator.run("secrets", "--app-id", APP_ID)

    assert outcome.code == 1
    assert "KEY_VAULT_URL is not set: pass --vault-url" in outcome.err


def test_a_refused_write_names_the_role_to_grant(operator: Operator) -> None:
    operator.stack.key_vault.read_only = True
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets", "--app-id", APP_ID)

    assert outcome.code == 1
    assert f"Could not write secret '{ID_NAME}'" in outcome.err
    assert "'Key Vault Secrets Officer'" in outcome.err
    assert operator.stack.key_vault.secret_value(SECRET_NAME) != CANARY_TYPED_SECRET


def test_without_a_vault_role_the_refusal_names_the_just_in_time_grant(
    operator: Operator,
) -> None:
    # GRANT_DEPLOYER_SECRETS_OFFICER=false: nobody holds the role until granted for the task.
    operator.stack.key_vault.no_role = True
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets", "--app-id", APP_ID)

    assert outcome.code == 1
    assert "Key Vault refused (HTTP 403, Forbidden)" in outcome.err
    assert "'Key Vault Secrets Officer' role on the vault" in outcome.err
    assert "just in time" in outcome.err
    assert 'az role assignment create --role "Key Vault Secrets Officer"' in outcome.err
    assert "infra/README.md" in outcome.err


class _SignedOut:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise CredentialUnavailableError(message="Please run 'az login' to set up an account")


def test_no_operator_sign_in_says_to_run_az_login(operator: Operator) -> None:
    operator.credential = _SignedOut
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.run("secrets", "--app-id", APP_ID)

    assert outcome.code == 1
    assert "no token for Key Vault from your sign-in (CredentialUnavailableError)" in outcome.err
    assert "az login" in outcome.err
