"""Batches in Azure (contract 1d): the queue, its poison queue and the status table exist
in the app's own storage account, the app's identity holds the data roles on that account
alone, and the most instances the app scales out to is an azd parameter."""

from __future__ import annotations

import json

from infra_bicep import (
    MAIN,
    ROOT,
    accessor_path,
    app_settings,
    azd_variable,
    module_file,
    module_params,
    only_resource,
    parameters_file,
    parse,
    resource_body,
    resources_of_type,
)

QUEUES = "Microsoft.Storage/storageAccounts/queueServices/queues"
TABLES = "Microsoft.Storage/storageAccounts/tableServices/tables"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"


def _children(resource_type: str) -> dict[str, str]:
    """name -> parent of each resource of the type, all in storage.bicep."""
    found = {}
    for path, _, resource in resources_of_type(resource_type):
        assert path == module_file("storage"), path
        body = resource_body(resource)
        found[body["name"]] = body["parent"]
    return found


def test_the_batch_queue_and_its_poison_queue_are_made_in_the_apps_storage() -> None:
    assert _children(QUEUES) == {
        "reset-batch": "queueService",
        "reset-batch-poison": "queueService",
    }
    assert _children("Microsoft.Storage/storageAccounts/queueServices") == {"default": "storage"}


def test_the_batches_table_is_made_in_the_apps_storage() -> None:
    assert _children(TABLES)["batches"] == "tableService"
    assert _children("Microsoft.Storage/storageAccounts/tableServices") == {"default": "storage"}


def test_the_credentials_checks_table_is_made_in_the_apps_storage() -> None:
    # The weekly rotation keeps its checks there for the daily checks timer.
    assert _children(TABLES)["credentialchecks"] == "tableService"
    source = (ROOT / "credentials" / "outcome_table.py").read_text()
    assert 'TABLE_NAME = "credentialchecks"' in source


def test_the_names_are_the_ones_the_app_and_host_json_use() -> None:
    source = (ROOT / "reset_batches" / "queue.py").read_text()
    assert 'QUEUE_NAME = "reset-batch"' in source
    assert 'POISON_QUEUE_NAME = f"{QUEUE_NAME}-poison"' in source
    assert 'TABLE_NAME = "batches"' in (ROOT / "reset_batches" / "store.py").read_text()
    queues = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]
    assert queues["maxDequeueCount"] == 5
    assert queues["messageEncoding"] == "base64"


def test_the_apps_identity_may_use_queues_and_tables_of_its_own_account_only() -> None:
    rbac = module_file("rbac")
    grants = {}
    for _, name, assignment in resources_of_type(ROLE_ASSIGNMENT):
        body = resource_body(assignment)
        if body["properties"]["principalId"] == "identityPrincipalId":
            grants[name] = body["scope"]
    assert grants["queueDataContributor"] == "storage"
    assert grants["tableDataContributor"] == "storage"
    roles = parse(rbac)["variables"]["roles"]["value"]
    assert roles["storageQueueDataContributor"] == STORAGE_QUEUE_DATA_CONTRIBUTOR
    assert roles["storageTableDataContributor"] == STORAGE_TABLE_DATA_CONTRIBUTOR
    # `storage` in rbac.bicep is the app's account, the one storage.bicep made.
    storage = parse(rbac)["resources"]["storage"]
    assert storage["existing"] is True
    assert resource_body(storage)["name"] == "storageAccountName"
    assert accessor_path(module_params("rbac")["storageAccountName"]) == [
        "storage",
        "outputs",
        "name",
    ]


def test_the_most_instances_the_app_scales_out_to_is_an_azd_parameter() -> None:
    assert azd_variable(parameters_file()["maximumInstanceCount"]) == "MAXIMUM_INSTANCE_COUNT"
    assert "maximumInstanceCount" in parse(MAIN)["parameters"]
    assert module_params("api")["maximumInstanceCount"] == "maximumInstanceCount"
    _, _, site = only_resource("Microsoft.Web/sites")
    scale = resource_body(site)["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["maximumInstanceCount"] == "maximumInstanceCount"


def test_the_host_reaches_the_queue_by_its_identity_based_connection() -> None:
    # The trigger's connection "AzureWebJobsStorage" resolves to these settings in Azure.
    settings = app_settings()
    assert settings["AzureWebJobsStorage__accountName"] == "storageAccountName"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert "AzureWebJobsStorage" not in settings
