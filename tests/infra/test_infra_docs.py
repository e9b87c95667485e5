"""The operator documentation matches the templates: the root README goes from an empty vault
to a working reset in four commands (`azd up`, `ops secrets`, `ops consent`, one curl), with
the postprovision hook as the retry of the role grant; infra/README.md walks from `azd up` to
a working reset (secrets and their scoped roles, a redeploy, `azd down --purge`), documents
every parameter, sends setting changes through the azd environment rather than the portal,
and no README passes a secret on a command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from infra_bicep import INFRA, MAIN, ROOT, azd_variable, parameters_file, parse

INFRA_README = INFRA / "README.md"
READMES = [ROOT / "README.md", INFRA_README, INFRA / "connector" / "README.md"]


HOOK_RETRY = "azd hooks run postprovision"


def _readme() -> str:
    return INFRA_README.read_text()


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = re.search(r"^#{1,3} ", text[start + len(heading) :], re.MULTILINE)
    return text[start : start + len(heading) + following.start()] if following else text[start:]


def _commands(block: str) -> list[str]:
    """A shell block's commands, without comments and continuation lines."""
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line]


def _deploying() -> str:
    return _section((ROOT / "README.md").read_text(), "## Deploying to Azure")


def test_the_readme_goes_from_an_empty_vault_to_a_reset_in_four_commands() -> None:
    block = re.search(r"```sh\n(.*?)```", _deploying(), re.DOTALL)
    assert block is not None, "Deploying to Azure has no sh block"
    commands = _commands(block.group(1))
    assert commands[0].startswith("azd env set PARTNER_TENANT_ID "), "the one preliminary"
    steps = ["azd up", "python3 -m ops secrets", "python3 -m ops consent", "curl "]
    assert len(commands[1:]) == len(steps), commands
    for command, step in zip(commands[1:], steps, strict=True):
        assert command.startswith(step), (command, step)


def test_the_readme_says_consent_grants_the_roles_and_the_hook_is_the_retry() -> None:
    text = " ".join(_deploying().split())
    assert "`ops consent` at the end grants the role" in text
    assert f"retry: `{HOOK_RETRY}`" in text


def test_the_walkthrough_loads_the_secrets_without_a_separate_hook_step() -> None:
    step = _section(_readme(), "### 2. Load the secrets")
    loading = re.search(r"```sh\n(.*?)```", step, re.DOTALL)
    assert loading is not None
    assert [c.split()[:4] for c in _commands(loading.group(1))] == [
        ["python3", "-m", "ops", "secrets"],
        ["python3", "-m", "ops", "consent"],
    ]
    assert "runs the postprovision hook" in " ".join(step.split())


def test_the_walkthrough_names_the_hook_as_the_retry_of_the_grant() -> None:
    step = " ".join(_section(_readme(), "### 2. Load the secrets").split())
    assert "A failed grant keeps what was stored" in step
    assert f"the grant alone is: ```sh {HOOK_RETRY} ```" in step


def test_the_walkthrough_goes_from_azd_up_to_azd_down_in_order() -> None:
    text = _readme()
    steps = [
        "azd up",
        "python3 -m ops secrets",
        "python3 -m ops consent",
        HOOK_RETRY,
        "dryRun=true",
        "azd provision",
        "azd down --purge",
    ]
    positions = [text.find(step) for step in steps]
    assert all(p >= 0 for p in positions), dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions), "the walkthrough's steps are out of order"


def test_the_readmes_say_role_assignments_take_time() -> None:
    for path in (INFRA_README, ROOT / "README.md"):
        assert "up to 10 minutes" in " ".join(path.read_text().split()), path.name


@pytest.mark.parametrize("path", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_readme_puts_a_secret_on_the_command_line(path: Path) -> None:
    text = path.read_text()
    assert not re.search(r"az keyvault secret set[^\n`]*--value", text), path.name
    assert "secret set --vault-name" not in text


def test_settings_are_changed_through_the_azd_environment_not_the_portal() -> None:
    text = _readme()
    assert "azd env set CALLER_POLICY" in text
    assert "add them in the portal" not in text
    assert "Do not change app settings in the portal" in text


def test_every_parameter_and_its_azd_value_is_documented() -> None:
    text = _readme()
    for name, value in parameters_file().items():
        assert f"`{name}`" in text, f"parameter {name} is not in infra/README.md"
        assert f"`{azd_variable(value)}`" in text, f"{azd_variable(value)} is not documented"
    assert set(parameters_file()) == set(parse(MAIN)["parameters"])


def _operator_access() -> str:
    return _section(_readme(), "## Operator access to the vault")


def test_the_readme_says_how_to_turn_the_deployers_standing_role_off() -> None:
    text = _operator_access()
    assert "azd env set GRANT_DEPLOYER_SECRETS_OFFICER false" in text
    assert "azd provision" in text
    # A condition turned false in Bicep deletes nothing: the assignment stays until removed.
    assert "az role assignment delete" in text
    assert "does not remove" in text


def test_the_readme_says_how_to_grant_the_role_just_in_time() -> None:
    text = _operator_access()
    assert "just in time" in text
    assert "Privileged Identity Management" in text and "eligible" in text
    assert 'az role assignment create --role "Key Vault Secrets Officer"' in text
    assert '--scope "$(azd env get-value AZURE_KEY_VAULT_ID)"' in text
