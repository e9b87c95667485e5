"""The private-networking option (VNET_ENABLED): a virtual network with a subnet delegated to
Flex Consumption, private endpoints and DNS zones for blob, queue, table and the vault, all of
it only when the option is on; the app joins the subnet and waits for the endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from infra_bicep import (
    MAIN,
    accessor_path,
    azd_variable,
    condition,
    module_file,
    module_params,
    only_resource,
    operator,
    parameters_file,
    parse,
    resource_body,
)

ENDPOINTS = {
    # module in main.bicep: (group ID, private DNS zone, the resource it reaches)
    "blobEndpoint": ("blob", "privatelink.blob.${environment().suffixes.storage}", "storage"),
    "queueEndpoint": ("queue", "privatelink.queue.${environment().suffixes.storage}", "storage"),
    "tableEndpoint": ("table", "privatelink.table.${environment().suffixes.storage}", "storage"),
    "vaultEndpoint": (
        "vault",
        "privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}",
        "keyVault",
    ),
}
NETWORK = "Microsoft.Network/"


def _when_enabled(value: object) -> Any:
    """The `vnetEnabled ? X : ''` guard main.bicep puts on a network module's output; X."""
    branches = operator(value, "conditional")
    assert branches is not None and branches["condition"] == "vnetEnabled", value
    assert branches["false_value"] == "", value
    return branches["true_value"]


def test_the_option_is_vnet_enabled_off_by_default() -> None:
    parameter = parse(MAIN)["parameters"]["vnetEnabled"]
    assert parameter["type"] == "bool"
    assert parameter["default"] is False
    assert azd_variable(parameters_file()["vnetEnabled"]) == "VNET_ENABLED"


def test_network_resources_exist_only_when_the_vnet_is_enabled() -> None:
    modules = parse(MAIN)["modules"]
    networked = {
        name
        for name in modules
        if any(
            r["type"].startswith(NETWORK) for r in parse(module_file(name))["resources"].values()
        )
    }
    assert networked == {"network", *ENDPOINTS}
    for name in networked:
        assert condition(modules[name]) == "vnetEnabled", f"{name} is deployed without the VNet"
    assert not any(r["type"].startswith(NETWORK) for r in parse(MAIN)["resources"].values())


def test_the_app_subnet_is_delegated_to_flex_consumption() -> None:
    path, _, vnet = only_resource("Microsoft.Network/virtualNetworks")
    assert path == module_file("network")
    subnets = {s["name"]: s["properties"] for s in resource_body(vnet)["properties"]["subnets"]}
    variables = parse(path)["variables"]
    names = {variables[key]["value"]: key for key in ("appSubnetName", "privateEndpointSubnetName")}
    assert set(subnets) == {"appSubnetName", "privateEndpointSubnetName"}, names
    app = subnets["appSubnetName"]
    assert [d["properties"]["serviceName"] for d in app["delegations"]] == [
        "Microsoft.App/environments"
    ]
    assert subnets["privateEndpointSubnetName"]["privateEndpointNetworkPolicies"] == "Disabled"
    assert "delegations" not in subnets["privateEndpointSubnetName"]
    outputs = parse(path)["outputs"]
    assert outputs["appSubnetId"]["value"] == "${vnet.id}/subnets/${appSubnetName}"
    assert (
        outputs["privateEndpointSubnetId"]["value"]
        == "${vnet.id}/subnets/${privateEndpointSubnetName}"
    )


@pytest.mark.parametrize("module", sorted(ENDPOINTS))
def test_each_private_endpoint_reaches_its_service_through_its_zone(module: str) -> None:
    group, zone, target = ENDPOINTS[module]
    assert module_file(module) == module_file("blobEndpoint")  # one module, four calls
    params = module_params(module)
    assert params["groupId"] == group
    assert params["privateDnsZoneName"] == zone
    assert accessor_path(params["targetResourceId"]) == [target, "outputs", "id"]
    assert accessor_path(_when_enabled(params["subnetId"])) == [
        "network",
        "outputs",
        "privateEndpointSubnetId",
    ]
    assert accessor_path(_when_enabled(params["virtualNetworkId"])) == ["network", "outputs", "id"]


def test_the_private_endpoint_module_wires_endpoint_zone_and_link() -> None:
    path = module_file("blobEndpoint")
    resources = parse(path)["resources"]
    by_type = {r["type"]: resource_body(r) for r in resources.values()}
    zone = by_type["Microsoft.Network/privateDnsZones"]
    assert zone["name"] == "privateDnsZoneName"
    assert zone["location"] == "global"
    link = by_type["Microsoft.Network/privateDnsZones/virtualNetworkLinks"]
    assert link["parent"] == "zone"
    assert link["properties"] == {
        "registrationEnabled": False,
        "virtualNetwork": {"id": "virtualNetworkId"},
    }
    endpoint = by_type["Microsoft.Network/privateEndpoints"]["properties"]
    assert endpoint["subnet"] == {"id": "subnetId"}
    (connection,) = endpoint["privateLinkServiceConnections"]
    assert connection["properties"] == {
        "privateLinkServiceId": "targetResourceId",
        "groupIds": ["groupId"],
    }
    group = by_type["Microsoft.Network/privateEndpoints/privateDnsZoneGroups"]
    assert group["parent"] == "endpoint"
    (config,) = group["properties"]["privateDnsZoneConfigs"]
    assert accessor_path(config["properties"]["privateDnsZoneId"]) == ["zone", "id"]
    allowed = parse(path)["parameters"]["groupId"]["decorators"]
    assert {"type": "allowed", "argument": ["blob", "queue", "table", "vault"]} in allowed


def test_the_app_joins_the_delegated_subnet_only_with_the_vnet() -> None:
    passed = module_params("api")["appSubnetId"]
    assert accessor_path(_when_enabled(passed)) == ["network", "outputs", "appSubnetId"]
    _, _, site = only_resource("Microsoft.Web/sites")
    subnet = resource_body(site)["properties"]["virtualNetworkSubnetId"]
    assert operator(subnet, "conditional") == {
        "condition": {"function": {"type": "empty", "parameters": {"item_to_test": "appSubnetId"}}},
        "true_value": None,
        "false_value": "appSubnetId",
    }
