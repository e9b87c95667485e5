"""The security settings, read from the parsed templates: Key Vault RBAC, purge protection and
soft delete; keyless storage; storage and vault closed to the internet whenever the virtual
network is on; a hardened Flex Consumption app; no basic publishing credentials; Entra-only
Application Insights; least-privilege roles, with no role on the whole vault for the app."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from infra_bicep import (
    INFRA,
    MAIN,
    accessor_path,
    azd_variable,
    bicep_files,
    condition,
    decorator,
    function,
    module_file,
    module_params,
    only_resource,
    operator,
    parameters_file,
    parse,
    resource_body,
    resources_of_type,
    unquote,
)

KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"

# Broad built-in roles nothing here should hand out.
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
STORAGE_ACCOUNT_CONTRIBUTOR = "17d1049b-9a84-46fb-8f53-869881c3d3ab"

ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"


def _properties(resource_type: str) -> dict[str, Any]:
    _, _, resource = only_resource(resource_type)
    properties: dict[str, Any] = resource_body(resource)["properties"]
    return properties


# --- Key Vault -------------------------------------------------------------------------


def test_key_vault_uses_rbac_purge_protection_and_soft_delete() -> None:
    properties = _properties("Microsoft.KeyVault/vaults")
    assert properties["enableRbacAuthorization"] is True
    assert properties["enablePurgeProtection"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["softDeleteRetentionInDays"] == 90
    assert "accessPolicies" not in properties
    for flag in (
        "enabledForDeployment",
        "enabledForDiskEncryption",
        "enabledForTemplateDeployment",
    ):
        assert properties[flag] is False, flag


@pytest.mark.parametrize(
    ("module", "resource_type"),
    [
        ("keyVault", "Microsoft.KeyVault/vaults"),
        ("storage", "Microsoft.Storage/storageAccounts"),
    ],
)
def test_public_network_access_is_off_exactly_when_the_vnet_is_on(
    module: str, resource_type: str
) -> None:
    path, _, _ = only_resource(resource_type)
    assert path == module_file(module)
    parameter = parse(path)["parameters"]["publicNetworkAccess"]
    assert set(decorator(parameter, "allowed")) == {"Enabled", "Disabled"}
    assert parameter.get("default") is None, "main.bicep must decide, the module must not"
    # main.bicep ties it to the virtual network: no private endpoint, no closed door.
    assert operator(module_params(module)["publicNetworkAccess"], "conditional") == {
        "condition": "vnetEnabled",
        "true_value": "Disabled",
        "false_value": "Enabled",
    }
    properties = _properties(resource_type)
    assert properties["publicNetworkAccess"] == "publicNetworkAccess"
    assert properties["networkAcls"]["defaultAction"] == "firewallDefaultAction"
    action = parse(path)["variables"]["firewallDefaultAction"]["value"]
    assert operator(action, "conditional") == {
        "condition": {
            "operator": {
                "type": "equals",
                "operands": {"operand_1": "publicNetworkAccess", "operand_2": "Disabled"},
            }
        },
        "true_value": "Deny",
        "false_value": "Allow",
    }


def test_no_template_turns_public_access_off_without_the_vnet() -> None:
    # The old keyVaultPublicNetworkAccess=Disabled with no private endpoint cut the app off.
    assert "keyVaultPublicNetworkAccess" not in parse(MAIN)["parameters"]
    for path in bicep_files():
        assert "keyVaultPublicNetworkAccess" not in path.read_text(), path.name


def test_key_vault_audit_log_goes_to_log_analytics() -> None:
    _, _, setting = only_resource("Microsoft.Insights/diagnosticSettings")
    body = resource_body(setting)
    assert body["scope"] == "vault"
    assert {"categoryGroup": "audit", "enabled": True} in body["properties"]["logs"]


# --- Storage ---------------------------------------------------------------------------


def test_storage_is_keyless_tls12_https_only_and_private() -> None:
    properties = _properties("Microsoft.Storage/storageAccounts")
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True
    assert properties["defaultToOAuthAuthentication"] is True
    assert properties["allowCrossTenantReplication"] is False


def test_deployment_container_is_private() -> None:
    container = _properties("Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container["publicAccess"] == "None"


# --- Plan and function app --------------------------------------------------------------


def test_plan_is_flex_consumption_fc1_on_linux() -> None:
    _, _, plan = only_resource("Microsoft.Web/serverfarms")
    body = resource_body(plan)
    assert body["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert body["properties"]["reserved"] is True
    assert body["kind"] == "functionapp"


def test_function_app_is_https_only_tls12_and_ftp_off() -> None:
    _, _, site = only_resource("Microsoft.Web/sites")
    body = resource_body(site)
    assert body["kind"] == "functionapp,linux"
    properties = body["properties"]
    assert properties["httpsOnly"] is True
    assert properties["serverFarmId"] == accessor_path_text("plan.id")
    site_config = properties["siteConfig"]
    assert site_config["minTlsVersion"] == "1.2"
    assert site_config["scmMinTlsVersion"] == "1.2"
    assert site_config["ftpsState"] == "Disabled"
    assert "cors" not in site_config


def accessor_path_text(text: str) -> dict[str, Any]:
    """pycep's form of a two-part property access such as `plan.id`."""
    left, right = text.split(".")
    return {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": left, "operand_2": right},
        }
    }


def test_function_app_runs_python_311_with_identity_based_deployment_storage() -> None:
    config = _properties("Microsoft.Web/sites")["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["value"] == "${storageBlobEndpoint}${deploymentContainerName}"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }


def test_one_user_assigned_identity_is_used_for_everything() -> None:
    identities = list(resources_of_type("Microsoft.ManagedIdentity/userAssignedIdentities"))
    assert len(identities) == 1
    _, _, site = only_resource("Microsoft.Web/sites")
    identity = resource_body(site)["identity"]
    assert identity["type"] == "UserAssigned"
    assert [unquote(k) for k in identity["userAssignedIdentities"]] == ["${identityId}"]
    api = module_params("api")
    assert accessor_path(api["identityId"]) == ["identity", "outputs", "id"]
    assert accessor_path(api["identityClientId"]) == ["identity", "outputs", "clientId"]
    rbac = module_params("rbac")
    assert accessor_path(rbac["identityPrincipalId"]) == ["identity", "outputs", "principalId"]


def test_basic_publishing_credentials_are_off_for_ftp_and_scm() -> None:
    policies = list(resources_of_type("Microsoft.Web/sites/basicPublishingCredentialsPolicies"))
    by_name = {resource_body(r)["name"]: resource_body(r) for _, _, r in policies}
    assert set(by_name) == {"ftp", "scm"}
    for name, body in by_name.items():
        assert body["parent"] == "functionApp", name
        assert body["properties"] == {"allow": False}, name


# --- Monitoring --------------------------------------------------------------------------


def test_application_insights_accepts_only_entra_authenticated_telemetry() -> None:
    properties = _properties("Microsoft.Insights/components")
    assert properties["DisableLocalAuth"] is True
    assert properties["WorkspaceResourceId"] == accessor_path_text("workspace.id")


# --- Roles -------------------------------------------------------------------------------


def _role_id(path_rbac: Path, value: object) -> str:
    """The role GUID a roleDefinitionId expression names."""
    arguments = function(value, "subscription_resource_id")
    assert arguments is not None, value
    assert arguments["resource_type"] == "Microsoft.Authorization/roleDefinitions"
    roles = parse(path_rbac)["variables"]["roles"]["value"]
    role = accessor_path(arguments["resource_name_1"])
    assert role is not None and len(role) == 2 and role[0] == "roles", value
    guid: str = roles[role[1]]
    return guid


def test_role_definition_ids_are_the_built_in_guids() -> None:
    path = module_file("rbac")
    roles = parse(path)["variables"]["roles"]["value"]
    assert roles == {
        "keyVaultSecretsOfficer": KEY_VAULT_SECRETS_OFFICER,
        "storageBlobDataOwner": STORAGE_BLOB_DATA_OWNER,
        "storageQueueDataContributor": STORAGE_QUEUE_DATA_CONTRIBUTOR,
        "storageTableDataContributor": STORAGE_TABLE_DATA_CONTRIBUTOR,
        "monitoringMetricsPublisher": MONITORING_METRICS_PUBLISHER,
    }


def test_role_assignments_grant_exactly_the_intended_roles_on_the_intended_scopes() -> None:
    path = module_file("rbac")
    grants: dict[str, tuple[str, str, str]] = {}
    for file, name, assignment in resources_of_type(ROLE_ASSIGNMENT):
        assert file == path, f"role assignment {name} outside rbac.bicep"
        body = resource_body(assignment)
        properties = body["properties"]
        grants[name] = (
            body["scope"],
            properties["principalId"],
            _role_id(path, properties["roleDefinitionId"]),
        )
        if properties["principalId"] == "identityPrincipalId":
            assert properties["principalType"] == "ServicePrincipal", name
            assert condition(assignment) is None, f"{name}: the app's grants are unconditional"
    assert grants == {
        "blobDataOwner": ("storage", "identityPrincipalId", STORAGE_BLOB_DATA_OWNER),
        "queueDataContributor": ("storage", "identityPrincipalId", STORAGE_QUEUE_DATA_CONTRIBUTOR),
        "tableDataContributor": ("storage", "identityPrincipalId", STORAGE_TABLE_DATA_CONTRIBUTOR),
        # The person or pipeline running azd loads the secrets.
        "operatorSecretsOfficer": ("vault", "operatorPrincipalId", KEY_VAULT_SECRETS_OFFICER),
        "metricsPublisher": (
            "applicationInsights",
            "identityPrincipalId",
            MONITORING_METRICS_PUBLISHER,
        ),
    }


def test_the_app_identity_holds_no_role_on_the_whole_vault() -> None:
    # Its Key Vault roles are per secret and come from the postprovision hook
    # (test_infra_hooks.py): a vault-wide Secrets Officer could overwrite the app secret.
    for _, name, assignment in resources_of_type(ROLE_ASSIGNMENT):
        body = resource_body(assignment)
        if body["properties"]["principalId"] == "identityPrincipalId":
            assert body["scope"] != "vault", name
    assert "rotateRefreshToken" not in parse(module_file("rbac"))["parameters"]
    assert "rotateRefreshToken" not in module_params("rbac")


def _operator_grant_condition() -> Any:
    _, _, assignment = next(
        r for r in resources_of_type(ROLE_ASSIGNMENT) if r[1] == "operatorSecretsOfficer"
    )
    both = operator(condition(assignment), "and")
    assert both is not None, "the operator's grant needs the switch and a principal"
    return both


def test_operator_grant_is_skipped_without_a_principal() -> None:
    negation = operator(_operator_grant_condition()["operand_2"], "not")
    assert negation is not None
    assert function(negation["bool_value"], "empty") == {"item_to_test": "operatorPrincipalId"}


def test_the_deployers_vault_wide_secrets_officer_is_an_azd_parameter_on_by_default() -> None:
    # It can read the App+User refresh token: on for the first deploy, to load the secrets,
    # then off (infra/README.md), with the role granted just in time when needed.
    parameter = parse(MAIN)["parameters"]["grantDeployerSecretsOfficer"]
    assert parameter["type"] == "bool"
    assert parameter["default"] is True
    assert azd_variable(parameters_file()["grantDeployerSecretsOfficer"]) == (
        "GRANT_DEPLOYER_SECRETS_OFFICER"
    )


def test_the_deployers_grant_is_conditional_on_that_parameter() -> None:
    assert _operator_grant_condition()["operand_1"] == "grantOperatorSecretsOfficer"
    rbac = parse(module_file("rbac"))["parameters"]["grantOperatorSecretsOfficer"]
    assert (rbac["type"], rbac["default"]) == ("bool", True)
    assert module_params("rbac")["grantOperatorSecretsOfficer"] == "grantDeployerSecretsOfficer"


def test_role_scopes_are_the_deployed_resources() -> None:
    rbac = parse(module_file("rbac"))
    existing = {n: r for n, r in rbac["resources"].items() if r["existing"]}
    assert {n: (r["type"], resource_body(r)["name"]) for n, r in existing.items()} == {
        "storage": ("Microsoft.Storage/storageAccounts", "storageAccountName"),
        "vault": ("Microsoft.KeyVault/vaults", "keyVaultName"),
        "applicationInsights": ("Microsoft.Insights/components", "applicationInsightsName"),
    }
    passed = module_params("rbac")
    assert accessor_path(passed["storageAccountName"]) == ["storage", "outputs", "name"]
    assert accessor_path(passed["keyVaultName"]) == ["keyVault", "outputs", "name"]
    assert accessor_path(passed["applicationInsightsName"]) == [
        "monitoring",
        "outputs",
        "applicationInsightsName",
    ]


@pytest.mark.parametrize(
    "guid",
    [
        OWNER,
        CONTRIBUTOR,
        USER_ACCESS_ADMINISTRATOR,
        KEY_VAULT_ADMINISTRATOR,
        STORAGE_ACCOUNT_CONTRIBUTOR,
    ],
)
def test_no_broad_role_is_granted_anywhere(guid: str) -> None:
    for path in [*bicep_files(), *INFRA.rglob("*.json")]:
        assert guid not in path.read_text().lower(), f"{path.name} mentions broad role {guid}"


# --- checkov skips -----------------------------------------------------------------------

_SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def test_every_checkov_skip_has_a_reason_and_is_listed_in_the_readme() -> None:
    readme = (INFRA / "README.md").read_text()
    skips = [
        (path.name, match.group(1), (match.group(2) or "").strip())
        for path in bicep_files()
        for match in _SKIP.finditer(path.read_text())
    ]
    for file, check, reason in skips:
        assert len(reason) >= 30, f"{file}: {check} is skipped without a real reason"
        assert check in readme, f"{file}: {check} is skipped but infra/README.md does not say why"
    # The skip table's rows: | `CKV_AZURE_35` | resource | reason |
    listed = set(re.findall(r"^\| `(CKV2?_AZURE_\d+)` \|", readme, flags=re.MULTILINE))
    assert listed == {check for _, check, _ in skips}, "README lists skips the templates lack"
