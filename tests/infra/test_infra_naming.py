"""The vault can be created again: `azd up`, `azd down --purge`, `azd up` with the same
environment name. Purge protection keeps a deleted vault's name for 90 days (azd cannot purge
it), so the vault name carries a salt from the azd environment, and the preprovision hook sets
a new salt when the environment's previous vault is soft-deleted."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from infra_bicep import (
    INFRA,
    MAIN,
    azd_variable,
    decorator,
    function,
    load_hook,
    module_params,
    operator,
    parameters_file,
    parse,
)

preprovision = load_hook("preprovision")

# Azure's rule for vault names: 3-24 characters, letters, digits and dashes, starting with a
# letter, ending with a letter or digit, no two dashes in a row; unique in the cloud.
VAULT_NAME = re.compile(r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]")
TOKEN_LENGTH = 13  # uniqueString() always returns 13 characters


def render(template: str, values: dict[str, str]) -> str:
    """Fill a Bicep interpolated string whose `${...}` are plain names or `abbrs.x`."""

    def value(match: re.Match[str]) -> str:
        return values[match.group(1)]

    rendered = re.sub(r"\$\{([A-Za-z_][\w.]*)\}", value, template)
    assert "${" not in rendered, rendered
    return rendered


def vault_name(salt: str, token: str = "a" * TOKEN_LENGTH) -> str:
    """main.bicep's vault name for a salt, evaluated from the parsed template."""
    rule = operator(parse(MAIN)["variables"]["keyVaultName"]["value"], "conditional")
    assert rule is not None
    assert function(rule["condition"], "empty") == {"item_to_test": "keyVaultNameSalt"}
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
    values = {
        "abbrs.keyVaultVaults": abbreviations["keyVaultVaults"],
        "resourceToken": token,
        "keyVaultNameSalt": salt,
    }
    return render(rule["true_value"] if not salt else rule["false_value"], values)


def test_the_vault_is_named_by_the_salted_rule() -> None:
    assert module_params("keyVault")["name"] == "keyVaultName"
    assert vault_name("") == "kv-" + "a" * TOKEN_LENGTH  # the name earlier deployments have
    assert vault_name("r2x9") == "kv-" + "a" * TOKEN_LENGTH + "-r2x9"


def test_every_salt_the_template_accepts_gives_a_valid_vault_name() -> None:
    salt = parse(MAIN)["parameters"]["keyVaultNameSalt"]
    assert salt["default"] == ""
    longest = decorator(salt, "max_length")
    assert longest == preprovision.SALT_MAX_LENGTH
    for candidate in ("", "0", "z" * longest, preprovision.new_salt()):
        name = vault_name(candidate)
        assert len(name) <= 24, name
        assert VAULT_NAME.fullmatch(name), name


def test_the_salt_comes_from_the_azd_environment() -> None:
    assert azd_variable(parameters_file()["keyVaultNameSalt"]) == preprovision.SALT_VARIABLE


def test_new_salts_are_short_lower_case_and_different() -> None:
    salts = {preprovision.new_salt() for _ in range(50)}
    assert len(salts) > 45
    assert all(preprovision.SALT_FORM.fullmatch(s) for s in salts)


@pytest.mark.parametrize(
    ("previous", "deleted", "expected_new"),
    [
        ("", False, False),  # first provision of the environment
        ("kv-abc", False, False),  # the vault exists: keep its name on every provision
        ("kv-abc", True, True),  # after azd down: a new name for a new vault
    ],
)
def test_the_salt_changes_only_when_the_previous_vault_is_deleted(
    previous: str, deleted: bool, expected_new: bool
) -> None:
    decision = preprovision.decide_salt(
        previous_vault=previous,
        current_salt="old1",
        previous_vault_deleted=deleted,
        make_salt=iter(["old1", "new2"]).__next__,
    )
    assert (decision.new_salt == "new2") is expected_new
    assert (decision.new_salt is None) is not expected_new


def test_a_malformed_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="lower-case letters or digits"):
        preprovision.decide_salt(
            previous_vault="kv-abc", current_salt="Bad_Salt!", previous_vault_deleted=False
        )


class FakeCli:
    """Stands in for az and azd: answers by command, records every call."""

    def __init__(self, deleted: Sequence[str] = (), fail: str | None = None) -> None:
        self.deleted = list(deleted)
        self.fail = fail
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> str:
        self.calls.append(list(argv))
        if self.fail and argv[0] == self.fail:
            raise preprovision.CommandError(f"{self.fail} is not signed in")
        if argv[:3] == ["az", "keyvault", "list-deleted"]:
            query = argv[argv.index("--query") + 1]
            name = re.search(r"name=='([^']+)'", query)
            assert name is not None
            return json.dumps([name.group(1)] if name.group(1) in self.deleted else [])
        if argv[:3] == ["azd", "env", "set"]:
            return ""
        raise AssertionError(f"unexpected command {argv}")


ENV = {
    "AZURE_ENV_NAME": "prod",
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
    "AZURE_KEY_VAULT_NAME": "kv-abcdefghijklm",
}


def azd_sets(cli: FakeCli) -> list[list[str]]:
    return [c for c in cli.calls if c[:3] == ["azd", "env", "set"]]


def test_hook_stores_a_new_salt_after_azd_down(capsys: pytest.CaptureFixture[str]) -> None:
    cli = FakeCli(deleted=["kv-abcdefghijklm"])
    assert preprovision.main([], ENV, cli) == 0
    (command,) = azd_sets(cli)
    assert command[3] == "KEY_VAULT_NAME_SALT"
    assert preprovision.SALT_FORM.fullmatch(command[4])
    assert command[5:] == ["--environment", "prod"]
    listing = cli.calls[0]
    assert listing[listing.index("--subscription") + 1] == ENV["AZURE_SUBSCRIPTION_ID"]
    out = capsys.readouterr().out
    assert "soft-deleted" in out and "python3 -m ops secrets" in out


def test_hook_keeps_the_name_while_the_vault_exists() -> None:
    cli = FakeCli(deleted=["kv-someone-else"])
    assert preprovision.main([], ENV, cli) == 0
    assert not azd_sets(cli)


def test_hook_checks_nothing_on_a_first_provision() -> None:
    cli = FakeCli()
    env = {k: v for k, v in ENV.items() if k != "AZURE_KEY_VAULT_NAME"}
    assert preprovision.main([], env, cli) == 0
    assert cli.calls == []


def test_hook_dry_run_changes_nothing() -> None:
    cli = FakeCli(deleted=["kv-abcdefghijklm"])
    assert preprovision.main(["--dry-run"], ENV, cli) == 0
    assert not azd_sets(cli)


def test_hook_without_the_azure_cli_warns_and_lets_the_provision_go_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli = FakeCli(fail="az")
    assert preprovision.main([], ENV, cli) == 0
    assert not azd_sets(cli)
    assert "azd env set KEY_VAULT_NAME_SALT" in capsys.readouterr().out


def test_hook_fails_when_the_new_salt_cannot_be_stored() -> None:
    cli = FakeCli(deleted=["kv-abcdefghijklm"], fail="azd")
    assert preprovision.main([], ENV, cli) == 1


def test_the_salt_survives_redeploys_through_the_vault_name_output() -> None:
    # The hook compares against the vault the environment last deployed, an output of main.
    outputs: dict[str, Any] = parse(MAIN)["outputs"]
    assert "AZURE_KEY_VAULT_NAME" in outputs
