"""The operator documentation matches the templates: infra/README.md walks from `azd up` to a
working reset (secrets, scoped roles, a redeploy, `azd down --purge`), documents every
parameter, sends setting changes through the azd environment rather than the portal, and no
README passes a secret on a command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from infra_bicep import INFRA, MAIN, ROOT, azd_variable, parameters_file, parse

INFRA_README = INFRA / "README.md"
READMES = [ROOT / "README.md", INFRA_README, INFRA / "connector" / "README.md"]


def _readme() -> str:
    return INFRA_README.read_text()


def test_the_walkthrough_goes_from_azd_up_to_azd_down_in_order() -> None:
    text = _readme()
    steps = [
        "azd up",
        "python3 -m ops secrets",
        "python3 -m ops consent",
        "azd hooks run postprovision",
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
