"""`python3 -m ops audit` finds the workspace in the azd environment: main.bicep outputs the
workspace ID the Log Analytics query API takes (its GUID, `customerId`), not its resource ID."""

from __future__ import annotations

from infra_bicep import MAIN, accessor_path, module_file, parse


def test_main_outputs_the_log_analytics_workspace_guid_for_the_audit_command() -> None:
    outputs = parse(MAIN)["outputs"]
    value = outputs["AZURE_LOG_ANALYTICS_WORKSPACE_ID"]["value"]
    assert accessor_path(value) == ["monitoring", "outputs", "logAnalyticsCustomerId"]
    monitoring = parse(module_file("monitoring"))["outputs"]
    customer_id = monitoring["logAnalyticsCustomerId"]["value"]
    assert accessor_path(customer_id) == ["workspace", "properties", "customerId"]
