"""The Power Automate connector files hold no key: the OAuth variant takes the function key
from a securestring connection parameter, so editing the connector does not reveal it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from infra_bicep import INFRA

CONNECTOR = INFRA / "connector"
PROPERTIES = sorted(CONNECTOR.rglob("apiProperties.json"))
# What a committed connector file may hold where a credential would go.
PLACEHOLDER = re.compile(r"__[A-Z_]+__")


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_oauth_variant_sends_the_key_from_the_connection() -> None:
    properties = load(CONNECTOR / "oauth" / "apiProperties.json")["properties"]
    parameters = properties["connectionParameters"]
    (policy,) = properties["policyTemplateInstances"]
    assert policy["templateId"] == "setheader"
    settings = policy["parameters"]
    assert settings["x-ms-apimTemplateParameter.name"] == "x-functions-key"
    assert settings["x-ms-apimTemplate-policySection"] == "Request"
    assert settings["x-ms-apimTemplateParameter.existsAction"] == "override"
    reference = re.fullmatch(
        r"@connectionParameters\('(\w+)'\)", settings["x-ms-apimTemplateParameter.value"]
    )
    assert reference, "the key must come from the connection, not the policy"
    key = parameters[reference.group(1)]
    assert key["type"] == "securestring"
    assert key["uiDefinition"]["constraints"]["clearText"] is False
    assert key["uiDefinition"]["constraints"]["required"] == "true"
    # Still an Entra ID sign-in connector.
    assert parameters["token"]["type"] == "oauthSetting"


@pytest.mark.parametrize("path", PROPERTIES, ids=lambda p: str(p.relative_to(CONNECTOR)))
def test_no_connector_file_holds_a_key(path: Path) -> None:
    text = path.read_text()
    assert "__FUNCTION_KEY__" not in text
    for policy in load(path)["properties"].get("policyTemplateInstances", []):
        for name, value in policy["parameters"].items():
            if name.endswith(".value"):
                assert value.startswith("@connectionParameters("), f"{path.name}: {value}"


def test_the_connector_readme_documents_the_trade() -> None:
    readme = (CONNECTOR / "README.md").read_text()
    assert "@connectionParameters('function_key')" in readme
    assert "__FUNCTION_KEY__" not in readme
    assert "securestring" in readme
