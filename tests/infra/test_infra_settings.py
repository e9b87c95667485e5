"""App settings follow the contract's settings table, every one an operator may change comes from
the azd environment through a parameter, and none holds a secret; outputs are named the azd
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
    ROOT,
    accessor_path,
    app_settings,
    azd_variable,
    bicep_files,
    conditional_app_settings,
    function,
    is_literal,
    module_file,
    module_params,
    only_resource,
    operator,
    parameters_file,
    parse,
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
    "AZURE_KEY_VAULT_ID",
    "AZURE_KEY_VAULT_ENDPOINT",
    "AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID",
    "AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
}

REQUIRED = object()  # a parameter without a default: azd asks for it
# The contract's settings, one by one: the main.bicep parameter an operator changes it with
# (through the azd environment variable of the same name) and the contract's default.
OPERATOR_SETTINGS: dict[str, tuple[str, object]] = {
    "PARTNER_TENANT_ID": ("partnerTenantId", REQUIRED),
    "SECRET_NAME_APP_ID": ("secretNameAppId", "partner-center-app-id"),
    "SECRET_NAME_APP_SECRET": ("secretNameAppSecret", "partner-center-app-secret"),
    "SECRET_NAME_REFRESH_TOKEN": ("secretNameRefreshToken", "partner-center-refresh-token"),
    "PARTNER_CENTER_BASE_URL": ("partnerCenterBaseUrl", "https://api.partnercenter.microsoft.com"),
    "AUTHORITY_HOST": ("authorityHost", "https://login.microsoftonline.com"),
    "RESET_DEADLINE_SECONDS": ("resetDeadlineSeconds", 25),
    "SECRET_CACHE_SECONDS": ("secretCacheSeconds", 300),
    "ROTATE_REFRESH_TOKEN": ("rotateRefreshToken", True),
    "CALLER_TENANT_ID": ("callerTenantId", ""),
    "CALLER_AUDIENCE": ("callerAudience", ""),
    "CALLER_REQUIRED_ROLE": ("callerRequiredRole", "PasswordReset.Invoke"),
    "CALLER_OPERATOR_ROLE": ("callerOperatorRole", "PasswordReset.Operate"),
    "CALLER_POLICY": ("callerPolicy", {}),
    "PROTECTED_ROLE_GUARD": ("protectedRoleGuard", True),
    "PROTECTED_ROLE_IDS": ("protectedRoleIds", ""),
    "LOOKUP_CACHE_SECONDS": ("lookupCacheSeconds", 3600),
    "LOOKUP_MISS_CACHE_SECONDS": ("lookupMissCacheSeconds", 60),
    "PARTNER_CENTER_RESOURCE": ("partnerCenterResource", "https://api.partnercenter.microsoft.com"),
    "PARTNER_CENTER_RESET_CALL": ("partnerCenterResetCall", "resetpassword"),
    "GRAPH_BASE_URL": ("graphBaseUrl", "https://graph.microsoft.com"),
    # Thresholds of the credentials health check (GET /api/health/credentials, the timer).
    "HEALTH_REFRESH_TOKEN_WARNING_DAYS": ("healthRefreshTokenWarningDays", 60),
    "HEALTH_REFRESH_TOKEN_CRITICAL_DAYS": ("healthRefreshTokenCriticalDays", 80),
    "HEALTH_APP_SECRET_WARNING_DAYS": ("healthAppSecretWarningDays", 30),
    "HEALTH_APP_SECRET_CRITICAL_DAYS": ("healthAppSecretCriticalDays", 7),
    # How often a ?probe=true may really exchange the refresh token, per instance.
    "HEALTH_PROBE_MIN_SECONDS": ("healthProbeMinSeconds", 300),
    # Not in the contract's table, but read by the app (credentials/rotation.py).
    "REFRESH_TOKEN_ROTATION_SCHEDULE": ("refreshTokenRotationSchedule", "0 0 3 * * 1"),
    # Not in the contract's table either: the daily credentials checks' timer.
    "CREDENTIALS_CHECK_SCHEDULE": ("credentialsCheckSchedule", "0 30 3 * * *"),
    # The Python worker's own setting.
    "PYTHON_THREADPOOL_THREAD_COUNT": ("pythonThreadpoolThreadCount", 16),
    # One-time password links (contract section 1c).
    "SECRET_LINK_TTL_MINUTES": ("secretLinkTtlMinutes", 1440),
    "GENERATED_PASSWORD_LENGTH": ("generatedPasswordLength", 16),
    "PUBLIC_BASE_URL": ("publicBaseUrl", ""),
}
# Contract settings an operator does not set: the templates derive them from what they deploy.
DERIVED_SETTINGS = {"KEY_VAULT_URL": "keyVaultUri", "AZURE_CLIENT_ID": "identityClientId"}
# Only for a local Key Vault emulator; in Azure the app's default (true) must stand.
LOCAL_ONLY_SETTINGS = {"KEY_VAULT_VERIFY_CHALLENGE_RESOURCE"}
# Set by the platform itself (the managed identity endpoint, the app's host name), never by the
# templates.
PLATFORM_SETTINGS = {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "WEBSITE_HOSTNAME"}
# Read by the host and by the app (its own log export): derived from the monitoring resources.
TELEMETRY_SETTINGS = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
# Read by the Azure Monitor exporter itself: what it does besides sending the app's records, off
# (statistics to Microsoft, remote configuration from Microsoft, usage metrics about itself).
EXPORTER_EXTRAS_OFF = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED",
}
# The settings table of the contract as written (its first column).
CONTRACT_SETTINGS = {
    "KEY_VAULT_URL",
    "PARTNER_TENANT_ID",
    "SECRET_NAME_APP_ID",
    "SECRET_NAME_APP_SECRET",
    "SECRET_NAME_REFRESH_TOKEN",
    "PARTNER_CENTER_BASE_URL",
    "AUTHORITY_HOST",
    "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE",
    "RESET_DEADLINE_SECONDS",
    "AZURE_CLIENT_ID",
    "SECRET_CACHE_SECONDS",
    "ROTATE_REFRESH_TOKEN",
    "CALLER_TENANT_ID",
    "CALLER_AUDIENCE",
    "CALLER_REQUIRED_ROLE",
    "CALLER_POLICY",
    "PROTECTED_ROLE_GUARD",
    "PROTECTED_ROLE_IDS",
    "LOOKUP_CACHE_SECONDS",
    "LOOKUP_MISS_CACHE_SECONDS",
    "PARTNER_CENTER_RESOURCE",
    "PARTNER_CENTER_RESET_CALL",
    "GRAPH_BASE_URL",
    "CALLER_OPERATOR_ROLE",
    "HEALTH_PROBE_MIN_SECONDS",
}
# Optional settings left out of the app entirely while their parameter is empty.
OPTIONAL_SETTINGS = {
    "CALLER_TENANT_ID",
    "CALLER_AUDIENCE",
    "CALLER_POLICY",
    "PROTECTED_ROLE_IDS",
    "PUBLIC_BASE_URL",
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


def _resolved_parameters() -> dict[str, Any]:
    """function.bicep's parameters, each replaced by the main.bicep parameter feeding it.

    The module's app-setting parameters have no defaults of their own: main.bicep holds them.
    """
    module = parse(_function_file())["parameters"]
    main = parse(MAIN)["parameters"]
    passed = module_params("api")
    return {
        name: main[passed[name]]
        if isinstance(passed.get(name), str) and passed[name] in main
        else definition
        for name, definition in module.items()
    }


def test_no_app_setting_carries_a_secret_value() -> None:
    path = _function_file()
    settings = app_settings()
    assert not leaked_settings(settings, lambda v: is_literal(path, v), _resolved_parameters())


# --- Every operator setting comes from the azd environment ----------------------------------


def test_every_contract_setting_is_provisioned_or_deliberately_left_out() -> None:
    covered = set(OPERATOR_SETTINGS) | set(DERIVED_SETTINGS) | LOCAL_ONLY_SETTINGS
    assert covered >= CONTRACT_SETTINGS, sorted(CONTRACT_SETTINGS - covered)
    assert not LOCAL_ONLY_SETTINGS & set(app_settings()), "emulator-only setting deployed"


def test_every_setting_the_app_reads_is_provisioned_or_deliberately_left_out() -> None:
    # The settings model names each setting by its environment variable (alias="..."); one the
    # templates do not know would only ever be set in the portal, and lost on the next provision.
    source = (ROOT / "shared" / "settings.py").read_text()
    read = set(re.findall(r'alias="([A-Z][A-Z0-9_]*)"', source))
    assert read, "no settings found in shared/settings.py"
    covered = (
        set(OPERATOR_SETTINGS)
        | set(DERIVED_SETTINGS)
        | LOCAL_ONLY_SETTINGS
        | PLATFORM_SETTINGS
        | TELEMETRY_SETTINGS
    )
    assert read <= covered, f"settings the templates do not provision: {sorted(read - covered)}"


@pytest.mark.parametrize("setting", sorted(OPERATOR_SETTINGS))
def test_operator_setting_flows_from_the_azd_environment_to_the_app(setting: str) -> None:
    parameter, default = OPERATOR_SETTINGS[setting]
    declared = parse(MAIN)["parameters"][parameter]
    if default is REQUIRED:
        assert declared.get("default") is None, f"{parameter} should have no default"
    else:
        assert declared["default"] == default, f"{parameter}: not the contract's default"
    # main.parameters.json: the azd variable is the app setting's own name.
    assert azd_variable(parameters_file()[parameter]) == setting
    # main.bicep hands it to the app module under the same name...
    assert module_params("api")[parameter] == parameter
    # ...and the module turns it into the app setting.
    value = app_settings()[setting]
    if declared["type"] == "bool":
        assert operator(value, "conditional") == {
            "condition": parameter,
            "true_value": "true",
            "false_value": "false",
        }, "string(true) would be 'True'; the app expects 'true' / 'false'"
    elif declared["type"] in ("int", "object"):
        # string() of an object is its JSON text.
        assert function(value, "string") == {"value_to_convert": parameter}
    else:
        assert value == parameter


def test_optional_settings_appear_only_when_given() -> None:
    conditional = conditional_app_settings()
    assert set(conditional) == OPTIONAL_SETTINGS
    for setting, condition in conditional.items():
        parameter, _ = OPERATOR_SETTINGS[setting]
        assert condition == {
            "function": {"type": "empty", "parameters": {"item_to_test": parameter}}
        }
    variables = parse(_function_file())["variables"]
    for name, variable in variables.items():
        branches = operator(variable["value"], "conditional")
        if name.endswith("AppSettings") and branches is not None:
            # empty(...) true: no setting at all, rather than one with an empty value.
            assert branches["true_value"] == [], name
            assert branches["false_value"], name


def test_derived_settings_come_from_the_deployed_resources() -> None:
    settings = app_settings()
    for setting, parameter in DERIVED_SETTINGS.items():
        assert settings[setting] == parameter
    api = module_params("api")
    assert accessor_path(api["keyVaultUri"]) == ["keyVault", "outputs", "uri"]
    assert accessor_path(api["identityClientId"]) == ["identity", "outputs", "clientId"]
    keyvault_outputs = parse(module_file("keyVault"))["outputs"]
    assert accessor_path(keyvault_outputs["uri"]["value"]) == ["vault", "properties", "vaultUri"]


def test_host_and_telemetry_settings() -> None:
    settings = app_settings()
    assert settings["AzureWebJobsStorage__accountName"] == "storageAccountName"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert (
        settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == "applicationInsightsConnectionString"
    )
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )
    api = module_params("api")
    assert accessor_path(api["applicationInsightsConnectionString"]) == [
        "monitoring",
        "outputs",
        "connectionString",
    ]
    assert accessor_path(api["storageAccountName"]) == ["storage", "outputs", "name"]


def test_the_log_exporters_side_traffic_is_off() -> None:
    settings = app_settings()
    assert {name: settings.get(name) for name in EXPORTER_EXTRAS_OFF} == dict.fromkeys(
        EXPORTER_EXTRAS_OFF, "true"
    )


def test_the_workers_own_opentelemetry_switches_stay_off() -> None:
    # The app exports its log records itself. PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY would
    # have the worker configure a second exporter (default instrumentations, no credential), and
    # PYTHON_ENABLE_OPENTELEMETRY alone fails every invocation on Python workers that never set up
    # the trace-context propagator it then uses.
    settings = app_settings()
    assert "PYTHON_ENABLE_OPENTELEMETRY" not in settings
    assert "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY" not in settings


def test_every_app_setting_is_accounted_for() -> None:
    host = {
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    }
    expected = host | EXPORTER_EXTRAS_OFF | set(OPERATOR_SETTINGS) | set(DERIVED_SETTINGS)
    assert set(app_settings()) == expected, sorted(set(app_settings()) ^ expected)


def test_the_caller_policy_is_taken_as_a_json_object() -> None:
    # azd parses an object parameter's variable as JSON (azd env set CALLER_POLICY '{...}'), where
    # a string parameter would break on the quotes inside the value.
    assert parse(MAIN)["parameters"]["callerPolicy"]["type"] == "object"


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
    # What the postprovision hook reads back from the azd environment.
    assert outputs["ROTATE_REFRESH_TOKEN"]["value"] == "rotateRefreshToken"
    assert outputs["VNET_ENABLED"]["value"] == "vnetEnabled"
    assert outputs["GRANT_DEPLOYER_SECRETS_OFFICER"]["value"] == "grantDeployerSecretsOfficer"
    assert outputs["DEPLOYER_PRINCIPAL_ID"]["value"] == "principalId"
    for setting in ("SECRET_NAME_APP_ID", "SECRET_NAME_APP_SECRET", "SECRET_NAME_REFRESH_TOKEN"):
        assert outputs[setting]["value"] == OPERATOR_SETTINGS[setting][0]
    assert accessor_path(outputs["AZURE_KEY_VAULT_ID"]["value"]) == ["keyVault", "outputs", "id"]
    assert accessor_path(outputs["AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID"]["value"]) == [
        "identity",
        "outputs",
        "principalId",
    ]
    for name in outputs:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"output {name} is not an azd-style name"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_no_output_carries_a_secret(path: Path) -> None:
    for name, output in parse(path).get("outputs", {}).items():
        kinds = {d["type"] for d in output["decorators"]}
        assert "secure" not in kinds, name
        if HOLDS_A_SECRET_NAME.fullmatch(name):
            # The name of a secret, straight from the non-secure parameter that sets it.
            value = output["value"]
            assert isinstance(value, str) and value in parse(path)["parameters"], name
            continue
        sounds_secret = SECRET_LIKE.search(re.sub(r"KEY_?VAULT", "", name, flags=re.IGNORECASE))
        if sounds_secret and name.lower() not in {
            "applicationinsights_connection_string",
            "connectionstring",
            "rotate_refresh_token",
            "grant_deployer_secrets_officer",  # a switch, named after the role
        }:
            pytest.fail(f"{path.name}: output {name} sounds like a secret")
