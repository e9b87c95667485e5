"""Scale settings follow the current Flex Consumption documentation: the lowest maximum
instance count, the Python worker's thread limit, and zone redundancy with at least two
always-ready instances per scale group and zone-redundant host storage."""

from __future__ import annotations

import re

import pytest
from infra_bicep import (
    MAIN,
    ROOT,
    azd_variable,
    decorator,
    function,
    module_file,
    module_params,
    only_resource,
    operator,
    parameters_file,
    parse,
    resource_body,
)

SCALE = {
    # parameter: (azd variable, default, lowest, highest)
    "maximumInstanceCount": ("MAXIMUM_INSTANCE_COUNT", 40, 40, 1000),
    "httpPerInstanceConcurrency": ("HTTP_PER_INSTANCE_CONCURRENCY", 16, 1, 1000),
    "pythonThreadpoolThreadCount": ("PYTHON_THREADPOOL_THREAD_COUNT", 16, 1, 32),
    "alwaysReadyHttpInstances": ("ALWAYS_READY_HTTP_INSTANCES", 0, 0, 1000),
}
# The timers, each a scale group of its own: module in credentials/ -> (its always-ready group,
# the variable naming its function).
TIMER_GROUPS = {
    "rotation.py": ("rotationAlwaysReadyGroup", "rotationFunctionName"),
    "daily_checks.py": ("checksAlwaysReadyGroup", "checksFunctionName"),
}


def _scale() -> dict[str, object]:
    _, _, site = only_resource("Microsoft.Web/sites")
    scale: dict[str, object] = resource_body(site)["properties"]["functionAppConfig"][
        "scaleAndConcurrency"
    ]
    return scale


def test_scale_parameters_follow_the_flex_consumption_limits() -> None:
    declared = parse(MAIN)["parameters"]
    for name, (variable, default, lowest, highest) in SCALE.items():
        parameter = declared[name]
        assert parameter["default"] == default, name
        assert decorator(parameter, "min_value") == lowest, name
        assert decorator(parameter, "max_value") == highest, name
        assert azd_variable(parameters_file()[name]) == variable
        assert module_params("api")[name] == name
    assert decorator(declared["instanceMemoryMB"], "allowed") == [512, 2048, 4096]
    assert azd_variable(parameters_file()["instanceMemoryMB"]) == "INSTANCE_MEMORY_MB"
    assert azd_variable(parameters_file()["zoneRedundant"]) == "ZONE_REDUNDANT"


def test_concurrency_fits_the_worker_threads_by_default() -> None:
    declared = parse(MAIN)["parameters"]
    assert (
        declared["httpPerInstanceConcurrency"]["default"]
        <= declared["pythonThreadpoolThreadCount"]["default"]
    )


def test_scale_and_concurrency_come_from_parameters() -> None:
    scale = _scale()
    assert scale["maximumInstanceCount"] == "maximumInstanceCount"
    assert scale["instanceMemoryMB"] == "instanceMemoryMB"
    assert scale["triggers"] == {"http": {"perInstanceConcurrency": "httpPerInstanceConcurrency"}}
    assert function(scale["alwaysReady"], "concat") == {
        "arg_1": "httpAlwaysReadyGroup",
        "arg_2": "rotationAlwaysReadyGroup",
        "arg_3": "checksAlwaysReadyGroup",
    }


def test_zone_redundancy_keeps_two_always_ready_instances_per_group() -> None:
    path = module_file("api")
    variables = {name: v["value"] for name, v in parse(path)["variables"].items()}
    assert variables["zoneRedundantMinimum"] == 2
    assert operator(variables["httpAlwaysReady"], "conditional") == {
        "condition": "zoneRedundant",
        "true_value": {
            "function": {
                "type": "max",
                "parameters": {
                    "arg_1": "zoneRedundantMinimum",
                    "arg_2": "alwaysReadyHttpInstances",
                },
            }
        },
        "false_value": "alwaysReadyHttpInstances",
    }
    http = operator(variables["httpAlwaysReadyGroup"], "conditional")
    assert http is not None
    assert http["true_value"] == [{"name": "http", "instanceCount": "httpAlwaysReady"}]
    assert http["false_value"] == []
    for group, name in TIMER_GROUPS.values():
        timer = operator(variables[group], "conditional")
        assert timer is not None and timer["condition"] == "zoneRedundant"
        assert timer["true_value"] == [
            {"name": f"function:${{{name}}}", "instanceCount": "zoneRedundantMinimum"}
        ]
        assert timer["false_value"] == []


@pytest.mark.parametrize("module", sorted(TIMER_GROUPS))
def test_each_timer_group_is_the_function_the_app_registers(module: str) -> None:
    # Outside the HTTP group a function scales (and is kept ready) on its own, by its name.
    source = (ROOT / "credentials" / module).read_text()
    registered = re.findall(r'function_name\("(\w+)"\)', source)
    variables = parse(module_file("api"))["variables"]
    assert registered == [variables[TIMER_GROUPS[module][1]]["value"]]


def test_zone_redundancy_reaches_the_plan_and_host_storage() -> None:
    _, _, plan = only_resource("Microsoft.Web/serverfarms")
    assert resource_body(plan)["properties"]["zoneRedundant"] == "zoneRedundant"
    assert module_params("api")["zoneRedundant"] == "zoneRedundant"
    assert operator(module_params("storage")["skuName"], "conditional") == {
        "condition": "zoneRedundant",
        "true_value": "Standard_ZRS",
        "false_value": "Standard_LRS",
    }
    assert parse(MAIN)["parameters"]["zoneRedundant"]["default"] is False
