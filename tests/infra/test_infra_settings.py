"""App settings follow the contract (section 3) and hold no secret; outputs are named the azd
way and leak nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from infra_bicep import (
    INFRA,
    MAIN,
    accessor_path,
    app_settings,
    bicep_files,
    conditional_app_settings,
    function,
    is_literal,
    module_file,
    only_resource,
    operator,
    parse,
    resource_body,
)

SECRET_LIKE = re.compile(
    r"SECRET|PASSWORD|PASSWD|PWD|TOKEN|KEY|CONNECTION_?STRING|SAS", re.IGNORECASE
)
# Settings whose names sound secret but whose values are names of secrets, not secrets.
HOLDS_A_SECRET_NAME = re.compile(r"SECRET_NAME_[A-Z_]+")
SECRET_NAME_FORM = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # a Key Vault secret name, kebab-case
# Literal fragments that only a credential would contain.
CREDENTIAL_FRAGMENTS = (
    "AccountKey=",
    "SharedAccessSignature",
    "InstrumentationKey=",
    "sig=",
    "SharedAccessKey",
)

REQUIRED_AZD_OUTPUTS = {
    "AZURE_LOCATION",
    "AZURE_TENANT_ID",
    "AZURE_RESOURCE_GROUP",
    "AZURE_FUNCTION_NAME",
    "SERVICE_API_NAME",
    "AZURE_KEY_VAULT_NAME",
    "AZURE_KEY_VAULT_ENDPOINT",
    "AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
}


def _function_file() -> Path:
    path, _, _ = only_resource("Microsoft.Web/sites")
    return path


def leaked_settings(
    settings: dict[str, Any], is_constant: Callable[[object], bool], parameters: dict[str, Any]
) -> list[str]:
    """Names of settings that look like they carry a secret value.

    A setting whose name sounds secret (SECRET, PASSWORD, TOKEN, KEY, ...) must get its value
    from somewhere else (a resource property, a parameter, an expression), never a constant;
    SECRET_NAME_* settings hold a secret's name and must come from a non-secure parameter with
    a kebab-case default. No setting, whatever its name, may contain a credential fragment.
    """
    leaks: list[str] = []
    for name, value in settings.items():
        if isinstance(value, str) and any(f.lower() in value.lower() for f in CREDENTIAL_FRAGMENTS):
            leaks.append(name)
        elif HOLDS_A_SECRET_NAME.fullmatch(name):
            parameter = parameters.get(value) if isinstance(value, str) else None
            default = parameter.get("default") if parameter else value
            secure = (
                any(d["type"] == "secure" for d in parameter["decorators"]) if parameter else False
            )
            if secure or not isinstance(default, str) or not SECRET_NAME_FORM.fullmatch(default):
                leaks.append(name)
        elif SECRET_LIKE.search(name) and is_constant(value):
            leaks.append(name)
    return leaks


def test_the_leak_check_catches_a_planted_secret() -> None:
    planted = {
        "PARTNER_CENTER_APP_SECRET": "s3cr3t-value",
        "SOME_TOKEN": 12345,
        "HARMLESS": "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc==",
        "SECRET_NAME_APP_SECRET": "Not A Name!",
        "SECRET_NAME_APP_ID": "appIdName",
        "KEY_VAULT_URL": "vaultUri",
    }
    parameters = {
        "appIdName": {"decorators": [{"type": "secure"}], "default": "partner-center-app-id"},
        "vaultUri": {"decorators": [], "type": "string"},
    }
    leaks = leaked_settings(
        planted, lambda v: not (isinstance(v, str) and v in parameters), parameters
    )
    assert sorted(leaks) == [
        "HARMLESS",
        "PARTNER_CENTER_APP_SECRET",
        "SECRET_NAME_APP_ID",
        "SECRET_NAME_APP_SECRET",
        "SOME_TOKEN",
    ]


def test_no_app_setting_carries_a_secret_value() -> None:
    path = _function_file()
    settings = app_settings()
    parameters = parse(path)["parameters"]
    assert not leaked_settings(settings, lambda v: is_literal(path, v), parameters)


def test_no_template_takes_or_reads_a_secret() -> None:
    for path in bicep_files():
        text = path.read_text()
        for call in (
            "listKeys(",
            "listSecrets(",
            "listConnectionStrings(",
            "getSecret(",
            "listCredentials(",
        ):
            assert call not in text, f"{path.name} calls {call}"
        for name, parameter in parse(path).get("parameters", {}).items():
            kinds = {d["type"] for d in parameter["decorators"]}
            assert "secure" not in kinds, f"{path.name}: @secure() param {name}: secrets stay out"


def test_app_settings_follow_the_contract() -> None:
    settings = app_settings()
    assert settings["AzureWebJobsStorage__accountName"] == "storageAccountName"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert settings["KEY_VAULT_URL"] == "keyVaultUri"
    assert settings["PARTNER_TENANT_ID"] == "partnerTenantId"
    assert settings["SECRET_NAME_APP_ID"] == "secretNameAppId"
    assert settings["SECRET_NAME_APP_SECRET"] == "secretNameAppSecret"
    assert settings["SECRET_NAME_REFRESH_TOKEN"] == "secretNameRefreshToken"
    assert (
        settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == "applicationInsightsConnectionString"
    )
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )
    assert function(settings["PYTHON_THREADPOOL_THREAD_COUNT"], "string") == {
        "value_to_convert": "pythonThreadpoolThreadCount"
    }


def test_rotation_setting_is_lower_case_true_or_false() -> None:
    # string(true) would give 'True'; the app expects 'true' / 'false'.
    branches = operator(app_settings()["ROTATE_REFRESH_TOKEN"], "conditional")
    assert branches == {
        "condition": "rotateRefreshToken",
        "true_value": "true",
        "false_value": "false",
    }


def test_settings_come_from_the_right_places_in_main() -> None:
    api = resource_body(parse(MAIN)["modules"]["api"])["params"]
    assert accessor_path(api["keyVaultUri"]) == ["keyVault", "outputs", "uri"]
    assert accessor_path(api["applicationInsightsConnectionString"]) == [
        "monitoring",
        "outputs",
        "connectionString",
    ]
    assert accessor_path(api["storageAccountName"]) == ["storage", "outputs", "name"]
    assert api["partnerTenantId"] == "partnerTenantId"
    keyvault_outputs = parse(module_file("keyVault"))["outputs"]
    assert accessor_path(keyvault_outputs["uri"]["value"]) == ["vault", "properties", "vaultUri"]


def test_caller_token_settings_appear_only_when_given() -> None:
    conditional = conditional_app_settings()
    assert conditional == {
        "CALLER_TENANT_ID": {
            "function": {"type": "empty", "parameters": {"item_to_test": "callerTenantId"}}
        },
        "CALLER_AUDIENCE": {
            "function": {"type": "empty", "parameters": {"item_to_test": "callerAudience"}}
        },
    }
    variables = parse(_function_file())["variables"]
    for variable in variables.values():
        branches = operator(variable["value"], "conditional")
        if branches is not None:
            assert branches["true_value"] == [], (
                "the setting must be absent when the value is empty"
            )


def test_no_setting_that_flex_consumption_manages_itself() -> None:
    # On Flex Consumption the runtime comes from functionAppConfig and the package from its
    # deployment storage; these legacy settings are not used there.
    legacy = {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "ENABLE_ORYX_BUILD",
    }
    assert not legacy & set(app_settings())


def test_host_storage_is_identity_based_not_a_connection_string() -> None:
    settings = app_settings()
    assert "AzureWebJobsStorage" not in settings
    assert {n for n in settings if n.startswith("AzureWebJobsStorage__")} == {
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
    }


def test_outputs_carry_the_azd_names() -> None:
    outputs = parse(MAIN)["outputs"]
    assert set(outputs) >= REQUIRED_AZD_OUTPUTS
    for name in outputs:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"output {name} is not an azd-style name"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_no_output_carries_a_secret(path: Path) -> None:
    for name, output in parse(path).get("outputs", {}).items():
        kinds = {d["type"] for d in output["decorators"]}
        assert "secure" not in kinds, name
        sounds_secret = SECRET_LIKE.search(re.sub(r"KEY_?VAULT", "", name, flags=re.IGNORECASE))
        if sounds_secret and name.lower() not in {
            "applicationinsights_connection_string",
            "connectionstring",
        }:
            pytest.fail(f"{path.name}: output {name} sounds like a secret")
