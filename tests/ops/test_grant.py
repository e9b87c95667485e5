"""After storing, `ops consent` and `ops secrets` grant the app identity its per-secret Key Vault
roles with the postprovision hook's own code, in an azd environment whose vault they wrote to.
The Azure CLI is a fake in front of the Key Vault emulator: the tests see every role the hook
creates, and when."""

from __future__ import annotations

from dev.emulators import samples as s
from ops.grant import EXIT_GRANT_FAILED
from ops.postprovision import load_hook

from .conftest import (
    CANARY_APP_SECRET,
    CANARY_TYPED_SECRET,
    SECRETS_OFFICER,
    SECRETS_USER,
    Operator,
)

APP_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"
ID, SECRET, RT = s.SECRET_NAME_APP_ID, s.SECRET_NAME_APP_SECRET, s.SECRET_NAME_REFRESH_TOKEN
ALL_THREE = {(ID, SECRETS_USER), (SECRET, SECRETS_USER), (RT, SECRETS_OFFICER)}
RETRY = "azd hooks run postprovision"


def _store_secrets(operator: Operator, *extra: str) -> int:
    operator.secret_answers.append(CANARY_TYPED_SECRET)
    return operator.run("secrets", "--app-id", APP_ID, *extra).code


def _az_login_expired() -> Exception:
    error: Exception = load_hook().CommandError(
        "'az rest --method ...' failed: Please run 'az login' to setup account."
    )
    return error


# -- consent --------------------------------------------------------------------------


def test_consent_grants_the_three_per_secret_roles_the_plan_calls_for(operator: Operator) -> None:
    operator.provisioned()

    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    assert operator.az.grants() == ALL_THREE


def test_consent_grants_only_after_the_new_refresh_token_is_stored(operator: Operator) -> None:
    operator.provisioned()

    assert operator.consent().code == 0
    # The emulator was seeded with one version; consent adds the second.
    assert [versions for _, _, versions in operator.az.created] == [2, 2, 2]


def test_consent_prints_the_stored_version_before_the_grant(operator: Operator) -> None:
    operator.provisioned()

    outcome = operator.consent()

    lines = outcome.out.splitlines()
    stored = next(i for i, line in enumerate(lines) if line.startswith(f"stored {RT} version "))
    granted = [i for i, line in enumerate(lines) if "grant the app identity" in line]
    assert granted, outcome.out
    assert min(granted) > stored


def test_with_rotation_off_consent_grants_read_only_on_the_refresh_token(
    operator: Operator,
) -> None:
    operator.provisioned(ROTATE_REFRESH_TOKEN="false")

    assert operator.consent().code == 0
    assert (RT, SECRETS_USER) in operator.az.grants()
    assert all(role == SECRETS_USER for _, role in operator.az.grants())


def test_no_grant_stores_and_leaves_the_roles_alone(operator: Operator) -> None:
    operator.provisioned()

    outcome = operator.consent("--no-grant")

    assert outcome.code == 0, outcome.err
    assert operator.stack.key_vault.writes(RT) == 1
    assert operator.az.calls == []
    assert (
        outcome.out.splitlines()[-1]
        == f"grant: skipped (--no-grant); to grant the app's roles: {RETRY}"
    )


def test_without_an_azd_environment_the_grant_is_skipped_with_one_note(operator: Operator) -> None:
    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    assert operator.az.calls == []
    notes = [line for line in outcome.out.splitlines() if line.startswith("grant:")]
    assert notes == [
        "grant: skipped, no azd environment; in a deployed project the app's roles are"
        f" granted by: {RETRY}"
    ]


def test_a_vault_other_than_the_azd_environments_gets_no_roles(operator: Operator) -> None:
    operator.provisioned(AZURE_KEY_VAULT_ENDPOINT="https://kv-test.vault.azure.net/")

    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    assert operator.az.calls == []
    assert "is not the azd environment's vault" in outcome.out.splitlines()[-1]


def test_a_failed_grant_keeps_the_stored_version_and_prints_the_retry_command(
    operator: Operator,
) -> None:
    operator.provisioned()
    operator.az.fail_with = _az_login_expired()

    outcome = operator.consent()

    assert outcome.code == EXIT_GRANT_FAILED
    assert operator.stack.key_vault.versions(RT)[-1] == operator.stack.identity.latest_refresh_token
    assert any(line.startswith(f"stored {RT} version ") for line in outcome.out.splitlines())
    assert "az login" in outcome.out
    assert outcome.err.splitlines()[-1].endswith(f"then run: {RETRY}")


def test_an_unexpected_grant_error_is_named_by_its_type_only(operator: Operator) -> None:
    operator.provisioned()
    operator.az.fail_with = RuntimeError(f"az printed {CANARY_APP_SECRET}")

    outcome = operator.consent()

    assert outcome.code == EXIT_GRANT_FAILED
    assert "grant: unexpected RuntimeError" in outcome.err
    assert RETRY in outcome.err


def test_an_azd_environment_missing_the_hooks_values_fails_the_grant_naming_them(
    operator: Operator,
) -> None:
    operator.provisioned()
    del operator.azd["AZURE_KEY_VAULT_ID"]

    outcome = operator.consent()

    assert outcome.code == EXIT_GRANT_FAILED
    assert operator.stack.key_vault.writes(RT) == 1
    assert "missing azd environment values: AZURE_KEY_VAULT_ID" in outcome.out
    assert RETRY in outcome.err


# -- secrets --------------------------------------------------------------------------


def test_secrets_grants_read_on_what_it_stored_and_names_the_missing_refresh_token(
    operator: Operator,
) -> None:
    operator.stack.key_vault.delete_secret(RT)
    operator.provisioned()

    code = _store_secrets(operator)

    assert code == 0
    assert operator.az.grants() == {(ID, SECRETS_USER), (SECRET, SECRETS_USER)}
    assert f"not in the vault yet: {RT}" in operator.outputs[-1].out


def test_secrets_then_consent_converge_on_the_three_roles(operator: Operator) -> None:
    operator.stack.key_vault.delete_secret(RT)
    operator.provisioned()
    assert _store_secrets(operator) == 0
    # consent reads the app ID and secret it needs from the vault; keep the registered ones.
    operator.stack.key_vault.set_secret(ID, s.SAMPLE_APP_ID)
    operator.stack.key_vault.set_secret(SECRET, CANARY_APP_SECRET)

    assert operator.consent().code == 0

    assert operator.az.grants() == ALL_THREE
    assert len(operator.az.created) == 3, "the second run adds only the missing role"


def test_running_secrets_again_changes_no_role(operator: Operator) -> None:
    operator.provisioned()
    assert _store_secrets(operator) == 0

    assert _store_secrets(operator) == 0

    assert len(operator.az.created) == 3
    assert "already holds" in operator.outputs[-1].out


def test_secrets_no_grant_leaves_the_roles_alone(operator: Operator) -> None:
    operator.provisioned()

    assert _store_secrets(operator, "--no-grant") == 0

    assert operator.az.calls == []


def test_a_failed_grant_after_secrets_keeps_both_stored_versions_printed(
    operator: Operator,
) -> None:
    operator.provisioned()
    operator.az.fail_with = _az_login_expired()

    code = _store_secrets(operator)

    outcome = operator.outputs[-1]
    assert code == EXIT_GRANT_FAILED
    assert operator.stack.key_vault.secret_value(SECRET) == CANARY_TYPED_SECRET
    stored = [line for line in outcome.out.splitlines() if line.startswith("stored ")]
    assert [line.split()[1] for line in stored] == [ID, SECRET]
    assert RETRY in outcome.err
