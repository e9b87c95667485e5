"""The templates hang together: they parse, every name they read exists, modules are wired
to what the module files declare, and azd finds what it expects (azure.yaml and its hooks,
every parameter mapped from the azd environment, Flex Consumption regions, resource group,
tags).

There is no Bicep compiler offline, so these stand in for the part of `bicep build` that
catches typos and miswiring.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from infra_bicep import (
    INFRA,
    MAIN,
    ROOT,
    azd_variable,
    bicep_files,
    decorator,
    function,
    identifiers_used,
    module_file,
    parameters_file,
    parse,
    resource_body,
    symbols,
    unquote,
)

EXPECTED_MODULES = {
    "identity",
    "keyvault",
    "storage",
    "monitoring",
    "function",
    "rbac",
    "network",
    "private-endpoint",
}
LOOP_AND_BUILTIN_NAMES: set[str] = set()  # the templates use no loops or lambdas


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_expected_template_files_exist() -> None:
    assert MAIN.is_file()
    assert {p.stem for p in (INFRA / "app").glob("*.bicep")} >= EXPECTED_MODULES


@pytest.mark.parametrize("path", bicep_files(), ids=_relative)
def test_every_bicep_file_parses(path: Path) -> None:
    template = parse(path)
    assert template.get("resources") or template.get("modules"), "declares nothing"


@pytest.mark.parametrize("path", bicep_files(), ids=_relative)
def test_every_name_read_is_declared(path: Path) -> None:
    undeclared = sorted(set(identifiers_used(path)) - symbols(path) - LOOP_AND_BUILTIN_NAMES)
    assert not undeclared, f"{_relative(path)} reads undeclared names: {undeclared}"


def test_the_name_check_catches_a_typo(tmp_path: Path) -> None:
    path = tmp_path / "typo.bicep"
    path.write_text(
        "param location string\n"
        "resource thing 'Microsoft.Example/things@2024-01-01' = {\n"
        "  name: 'thing-${locaton}'\n"
        "  location: locaton\n"
        "  properties: {\n"
        "    other: thing.properties.value\n"
        "  }\n"
        "}\n"
    )
    assert set(identifiers_used(path)) - symbols(path) == {"locaton"}


@pytest.mark.parametrize("path", bicep_files(), ids=_relative)
def test_every_parameter_and_variable_is_used(path: Path) -> None:
    template = parse(path)
    declared = set(template.get("parameters", {})) | set(template.get("variables", {}))
    unused = sorted(declared - set(identifiers_used(path)))
    assert not unused, f"{_relative(path)} declares but never reads: {unused}"


def test_main_is_subscription_scoped_and_creates_the_azd_resource_group() -> None:
    template = parse(MAIN)
    assert template["globals"]["scope"]["value"] == "subscription"
    groups = [
        r
        for r in template["resources"].values()
        if r["type"] == "Microsoft.Resources/resourceGroups"
    ]
    assert len(groups) == 1
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
    assert resource_body(groups[0])["name"] == "${abbrs.resourcesResourceGroups}${environmentName}"
    assert abbreviations["resourcesResourceGroups"] == "rg-"
    for name, module in template["modules"].items():
        assert resource_body(module)["scope"] == "rg", f"module {name} is not in the resource group"


def test_resource_token_is_the_azd_one() -> None:
    token = parse(MAIN)["variables"]["resourceToken"]["value"]
    unique = function(token, "to_lower")
    assert unique is not None
    arguments = function(unique["string_to_change"], "unique_string")
    assert arguments is not None
    subscription_id = arguments["base_string"]
    assert subscription_id["function"]["type"] == "subscription"
    assert subscription_id["function"]["property_name"] == "id"
    assert subscription_id["function"]["parameters"] == {"subscription_id": None}
    assert [arguments["extra_string_1"], arguments["extra_string_2"]] == [
        "environmentName",
        "location",
    ]


def test_abbreviations_used_exist() -> None:
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
    used = set(re.findall(r"abbrs\.(\w+)", MAIN.read_text()))
    assert used, "main.bicep uses no abbreviation"
    assert used <= set(abbreviations), sorted(used - set(abbreviations))


def test_every_resource_group_resource_carries_the_azd_env_tag() -> None:
    tags = parse(MAIN)["variables"]["tags"]["value"]
    assert {unquote(k): v for k, v in tags.items()} == {"azd-env-name": "environmentName"}
    for name, module in parse(MAIN)["modules"].items():
        declares_tags = "tags" in parse(module_file(name))["parameters"]
        passes_tags = resource_body(module)["params"].get("tags") == "tags"
        assert declares_tags == passes_tags, f"module {name} does not pass the tags"
    for path in bicep_files()[1:]:
        for name, resource in parse(path)["resources"].items():
            body = resource_body(resource)
            if "location" in body and not resource["existing"]:
                assert body.get("tags") in ("tags", "appTags"), f"{path.name}: {name} has no tags"


def test_function_app_carries_the_azd_service_tag() -> None:
    app_tags = resource_body(parse(MAIN)["modules"]["api"])["params"]["appTags"]
    arguments = function(app_tags, "union")
    assert arguments is not None
    assert arguments["arg_1"] == "tags"
    assert {unquote(k): v for k, v in arguments["arg_2"].items()} == {"azd-service-name": "api"}
    site = parse(module_file("api"))["resources"]["functionApp"]
    assert resource_body(site)["tags"] == "appTags"


@pytest.mark.parametrize("module", sorted(parse(MAIN)["modules"]))
def test_module_is_called_with_exactly_what_it_declares(module: str) -> None:
    path = module_file(module)
    assert path.is_file(), path
    declared = parse(path).get("parameters", {})
    required = {name for name, p in declared.items() if p.get("default") is None}
    passed = set(resource_body(parse(MAIN)["modules"][module])["params"])
    assert passed <= set(declared), f"{module}: unknown params {sorted(passed - set(declared))}"
    assert required <= passed, f"{module}: missing params {sorted(required - passed)}"


def test_module_outputs_read_in_main_exist() -> None:
    modules = parse(MAIN)["modules"]
    reads = re.findall(r"\b(\w+)\.outputs\.(\w+)", MAIN.read_text())
    assert reads
    for module, output in reads:
        assert module in modules, module
        assert output in parse(module_file(module))["outputs"], f"{module}.outputs.{output}"


def test_rbac_and_the_private_endpoints_come_before_the_function_app() -> None:
    depends = resource_body(parse(MAIN)["modules"]["api"]).get("dependsOn", [])
    assert set(depends) == {
        "rbac",
        "blobEndpoint",
        "queueEndpoint",
        "tableEndpoint",
        "vaultEndpoint",
    }


def test_parameters_file_maps_every_parameter_to_an_azd_variable() -> None:
    # Every parameter comes from the azd environment, so `azd env set NAME value` persists a
    # change and the next `azd provision` applies it; nothing is set only in the portal.
    values = parameters_file()
    declared = parse(MAIN)["parameters"]
    assert set(values) == set(declared), sorted(set(values) ^ set(declared))
    variables = {name: azd_variable(value) for name, value in values.items()}
    assert variables["environmentName"] == "AZURE_ENV_NAME"
    assert variables["location"] == "AZURE_LOCATION"
    assert variables["principalId"] == "AZURE_PRINCIPAL_ID"
    assert variables["principalType"] == "AZURE_PRINCIPAL_TYPE"
    assert len(set(variables.values())) == len(variables), "two parameters share a variable"


def test_unset_variables_fall_back_to_the_template_defaults() -> None:
    # azd leaves a parameter out when its variable is unset, so the Bicep default applies; a
    # `${NAME=default}` in the file would be a second default that could drift from it.
    assert all("=" not in value for value in parameters_file().values())
    declared = parse(MAIN)["parameters"]
    required = {name for name, p in declared.items() if p.get("default") is None}
    assert required == {"environmentName", "location", "partnerTenantId"}


def test_location_is_limited_to_flex_consumption_regions_with_azd_metadata() -> None:
    location = parse(MAIN)["parameters"]["location"]
    allowed = decorator(location, "allowed")
    assert allowed, "location takes any region"
    assert len(allowed) == len(set(allowed))
    assert all(re.fullmatch(r"[a-z]+[a-z0-9]*", region) for region in allowed)
    # Regions the Flex Consumption quickstarts list; the plan is not offered everywhere.
    assert {"eastus", "eastus2", "westeurope", "northeurope", "uksouth", "australiaeast"} <= set(
        allowed
    )
    assert not {"westindia", "jioindiacentral", "germanynorth", "brazilsoutheast"} & set(allowed)
    assert decorator(location, "metadata") == {"azd": {"type": "location"}}


def test_azure_yaml_declares_the_api_function_service_and_its_hooks() -> None:
    config = yaml.safe_load((ROOT / "azure.yaml").read_text())
    assert config["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    hooks = config["hooks"]
    assert set(hooks) == {"preprovision", "postprovision"}
    for event, hook in hooks.items():
        script = f"infra/hooks/{event}.py"
        assert (ROOT / script).is_file()
        assert hook["posix"] == {
            "shell": "sh",
            "run": f"python3 {script}",
            **({"continueOnError": True} if event == "postprovision" else {}),
        }
        assert hook["windows"]["run"] == f"python {script}"
        assert hook["windows"]["shell"] == "pwsh"
    # A grant that fails is reported, but the code is still deployed; a failed salt check
    # stops the provision only through the hook's own exit code.
    assert hooks["postprovision"]["windows"]["continueOnError"] is True
    assert "continueOnError" not in hooks["preprovision"]["posix"]


def test_hooks_and_templates_stay_out_of_the_deployed_package() -> None:
    ignored = (ROOT / ".funcignore").read_text().split()
    assert "infra/" in ignored
    assert "azure.yaml" in ignored
