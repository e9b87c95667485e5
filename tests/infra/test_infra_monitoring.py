"""Operations in the templates: the workspace keeps logs for LOG_RETENTION_DAYS (90 by
default); an action group e-mails ALERT_EMAIL, and is left out without one (the
preprovision hook then says the alerts reach nobody); one log search alert rule per
condition, on the workspace, its query a file of infra/queries loaded as it is, with
exactly the parameters the file declares put in front as `let` statements; thresholds are
azd parameters; a workbook deployed with the app, built from the query files; and every
alert, threshold, page and the cost of retention documented in infra/README.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from infra_bicep import (
    INFRA,
    MAIN,
    ROOT,
    azd_variable,
    bicep_files,
    condition,
    decorator,
    function,
    load_hook,
    module_file,
    module_params,
    only_resource,
    operator,
    parameters_file,
    parse,
    resource_body,
    resources_of_type,
)

preprovision = load_hook("preprovision")

QUERIES = INFRA / "queries"
README = INFRA / "README.md"
RULE = "Microsoft.Insights/scheduledQueryRules"
ACTION_GROUP = "Microsoft.Insights/actionGroups"
WORKBOOK = "Microsoft.Insights/workbooks"
_LOADED = re.compile(r"loadTextContent\('\.\./queries/([\w.-]+)\.kql'\)")
_LET = re.compile(r"let (\w+) = \$\{(\w+)\}(\w*);\\n")
_DECLARED = re.compile(r"^//\s*parameters:\s*(.*)$", re.MULTILINE)
# Each alert: its query file, the main.bicep parameter of its threshold (None: any row
# fires), and whether it resolves itself (stateful).
ALERTS = {
    "alert-credentials-health": (None, False),
    "alert-partner-credentials-invalid": (None, True),
    "alert-server-errors": ("alertServerErrorPercent", True),
    "alert-refusals-per-caller": ("alertRefusalsPerCallerPerHour", True),
    "alert-resets-per-hour": ("alertResetsPerHour", True),
    "alert-batch-failures": (None, True),
}
THRESHOLD_VARIABLES = {
    "alertResetsPerHour": ("ALERT_RESETS_PER_HOUR", 30),
    "alertRefusalsPerCallerPerHour": ("ALERT_REFUSALS_PER_CALLER_PER_HOUR", 10),
    "alertServerErrorPercent": ("ALERT_SERVER_ERROR_PERCENT", 25),
    "alertServerErrorMinAttempts": ("ALERT_SERVER_ERROR_MIN_ATTEMPTS", 5),
}


def alerts_file() -> Path:
    return module_file("alerts")


def loaded_query(value: Any) -> tuple[str, str]:
    """A rule's query as (the `let` statements before the file, the file's name): either
    `loadTextContent(file)` alone or an interpolated string ending in it."""
    loaded = function(value, "load_text_content")
    if loaded is not None:
        return "", Path(loaded["file_path"]).stem
    assert isinstance(value, str), value
    [name] = _LOADED.findall(value)
    prefix, _, rest = value.partition("${loadTextContent(")
    assert rest.endswith(")}"), "the file is not the whole rest of the query"
    return prefix, name


def rules() -> dict[str, dict[str, Any]]:
    """Query file name -> the rule's properties."""
    found: dict[str, dict[str, Any]] = {}
    for _, _, rule in resources_of_type(RULE):
        properties: dict[str, Any] = resource_body(rule)["properties"]
        [criterion] = properties["criteria"]["allOf"]
        _, name = loaded_query(criterion["query"])
        assert name not in found, f"two rules load {name}"
        found[name] = properties
    return found


def criterion(name: str) -> dict[str, Any]:
    [found] = rules()[name]["criteria"]["allOf"]
    value: dict[str, Any] = found
    return value


def declared_parameters(name: str) -> set[str]:
    text = (QUERIES / f"{name}.kql").read_text()
    return {p.split(":")[0].strip() for line in _DECLARED.findall(text) for p in line.split(",")}


def alerts_variable(name: str) -> Any:
    return parse(alerts_file())["variables"][name]["value"]


# --- retention ------------------------------------------------------------------------------


def test_the_workspace_keeps_logs_for_the_retention_parameter_90_days_by_default() -> None:
    parameter = parse(MAIN)["parameters"]["logRetentionDays"]
    assert parameter["default"] == 90
    assert (decorator(parameter, "min_value"), decorator(parameter, "max_value")) == (30, 730)
    assert azd_variable(parameters_file()["logRetentionDays"]) == "LOG_RETENTION_DAYS"
    assert module_params("monitoring")["retentionInDays"] == "logRetentionDays"
    _, _, workspace = only_resource("Microsoft.OperationalInsights/workspaces")
    assert resource_body(workspace)["properties"]["retentionInDays"] == "retentionInDays"


# --- the action group -----------------------------------------------------------------------


def test_alert_email_is_an_azd_parameter_empty_by_default() -> None:
    assert parse(MAIN)["parameters"]["alertEmail"]["default"] == ""
    assert azd_variable(parameters_file()["alertEmail"]) == "ALERT_EMAIL"
    assert module_params("alerts")["alertEmail"] == "alertEmail"


def test_an_action_group_mails_alert_email_only_when_it_is_set() -> None:
    _, _, group = only_resource(ACTION_GROUP)
    negation = operator(condition(group), "not")
    assert negation is not None
    assert function(negation["bool_value"], "empty") == {"item_to_test": "alertEmail"}
    [receiver] = resource_body(group)["properties"]["emailReceivers"]
    assert receiver["emailAddress"] == "alertEmail"
    assert receiver["useCommonAlertSchema"] is True


def test_every_rule_sends_to_the_action_group_when_there_is_one() -> None:
    chosen = operator(alerts_variable("actionGroups"), "conditional")
    assert chosen is not None
    assert function(chosen["condition"], "empty") == {"item_to_test": "alertEmail"}
    assert chosen["true_value"] == []
    for name, properties in rules().items():
        assert properties["actions"]["actionGroups"] == "actionGroups", name


def test_every_rule_waits_for_the_action_group() -> None:
    for _, rule_name, rule in resources_of_type(RULE):
        assert resource_body(rule).get("dependsOn") == ["actionGroup"], rule_name


# --- the rules ------------------------------------------------------------------------------


def test_there_is_one_rule_per_alert_query() -> None:
    files = {path.stem for path in QUERIES.glob("alert-*.kql")}
    assert set(rules()) == files == set(ALERTS)


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_a_rule_puts_exactly_its_querys_parameters_in_front_of_it(name: str) -> None:
    prefix, _ = loaded_query(criterion(name)["query"])
    lets = _LET.findall(prefix)
    assert prefix == "".join(f"let {n} = ${{{v}}}{unit};\\n" for n, v, unit in lets)
    assert {n for n, _, _ in lets} == declared_parameters(name)


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_a_rule_queries_the_workspace(name: str) -> None:
    properties = rules()[name]
    assert properties["scopes"] == ["workspaceId"]
    assert properties["enabled"] is True
    assert module_params("alerts")["workspaceId"] == (
        {
            "operator": {
                "type": "property_accessor",
                "operands": {
                    "operand_1": "monitoring",
                    "operand_2": {
                        "operator": {
                            "type": "property_accessor",
                            "operands": {
                                "operand_1": "outputs",
                                "operand_2": "logAnalyticsWorkspaceId",
                            },
                        }
                    },
                },
            }
        }
    )


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_a_rule_fires_on_its_threshold(name: str) -> None:
    threshold, _ = ALERTS[name]
    found = criterion(name)
    if threshold is None:
        assert (found["operator"], found["threshold"]) == ("GreaterThan", 0)
        return
    assert found["operator"] in ("GreaterThan", "GreaterThanOrEqual")
    module_parameter = found["threshold"]
    assert module_params("alerts")[module_parameter] == threshold


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_a_rule_resolves_itself_unless_it_reports_changes(name: str) -> None:
    _, stateful = ALERTS[name]
    assert rules()[name]["autoMitigate"] is stateful


def test_the_thresholds_are_azd_parameters_with_defaults() -> None:
    declared = parse(MAIN)["parameters"]
    for parameter, (variable, default) in THRESHOLD_VARIABLES.items():
        assert declared[parameter]["default"] == default, parameter
        assert azd_variable(parameters_file()[parameter]) == variable
        assert decorator(declared[parameter], "min_value") == 1, parameter


def test_the_credentials_rule_looks_back_two_days_and_counts_each_record_once() -> None:
    # A log alert looks back two days at most; the query counts a record in the evaluation
    # during which it arrived, so it must be told the rule's own period.
    properties = rules()["alert-credentials-health"]
    assert properties["overrideQueryTimeRange"] == "credentialsLookBack"
    assert alerts_variable("credentialsLookBack") == "P2D"
    minutes = "${credentialsEvaluationMinutes}"
    assert properties["evaluationFrequency"] == f"PT{minutes}M"
    assert properties["windowSize"] == f"PT{minutes}M"
    assert str(criterion("alert-credentials-health")["query"]).startswith(
        f"let evaluationPeriod = {minutes}m;"
    )
    dimensions = {d["name"] for d in criterion("alert-credentials-health")["dimensions"]}
    assert dimensions == {"check", "status"}


def test_the_per_caller_and_per_batch_rules_split_by_their_dimension() -> None:
    for name, dimension in (
        ("alert-refusals-per-caller", "caller"),
        ("alert-batch-failures", "batchId"),
    ):
        [split] = criterion(name)["dimensions"]
        assert (split["name"], split["operator"], split["values"]) == (dimension, "Include", ["*"])


# --- the workbook ---------------------------------------------------------------------------


def test_the_workbook_is_deployed_with_the_app_over_the_workspace() -> None:
    path, _, workbook = only_resource(WORKBOOK)
    body = resource_body(workbook)
    assert body["kind"] == "shared"
    assert body["properties"]["category"] == "workbook"
    assert body["properties"]["sourceId"] == "workspaceId"
    assert function(body["properties"]["serializedData"], "string") is not None
    assert path == module_file("workbook")
    assert condition(workbook) is None


def test_the_workbook_shows_every_workbook_query_file_once() -> None:
    loaded = _LOADED.findall(module_file("workbook").read_text())
    assert sorted(loaded) == sorted(path.stem for path in QUERIES.glob("workbook-*.kql"))


def test_the_workbook_has_its_pages() -> None:
    text = module_file("workbook").read_text()
    pages = re.findall(r"linkLabel: '([^']+)'", text)
    assert pages == ["Resets", "Latency", "Refusals", "Credentials", "Batches"]


# --- every query is used --------------------------------------------------------------------


def test_every_query_file_is_run_or_shown_somewhere() -> None:
    bicep = "\n".join(path.read_text() for path in bicep_files())
    readmes = "\n".join(p.read_text() for p in (ROOT / "README.md", README))
    ops = "\n".join(path.read_text() for path in (ROOT / "ops").glob("*.py"))
    for path in QUERIES.glob("*.kql"):
        used = (
            f"'../queries/{path.name}'" in bicep
            or f"<!-- infra/queries/{path.name} -->" in readmes
            or f'"{path.stem}"' in ops
        )
        assert used, f"{path.name} is neither deployed, shown nor run"


# --- azd up says when the alerts reach nobody -----------------------------------------------


def test_provisioning_without_alert_email_says_the_alerts_reach_nobody(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert preprovision.main([], {}, lambda argv: "") == 0
    out = capsys.readouterr().out
    assert "ALERT_EMAIL" in out and "nobody" in out
    assert "azd env set ALERT_EMAIL" in out


def test_provisioning_with_alert_email_names_where_they_go(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert preprovision.main([], {"ALERT_EMAIL": "helpdesk-lead@contoso.com"}, lambda a: "") == 0
    out = capsys.readouterr().out
    assert "nobody" not in out
    assert "helpdesk-lead@contoso.com" in out


@pytest.mark.parametrize(
    "address", ["not-an-address", "a@b", "two@contoso.com,x@y.com", "a b@c.de"]
)
def test_a_malformed_alert_email_stops_the_provision(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preprovision.main([], {"ALERT_EMAIL": address}, lambda argv: "") == 1
    assert "ALERT_EMAIL" in capsys.readouterr().out


# --- documented -----------------------------------------------------------------------------


def _section(heading: str) -> str:
    text = README.read_text()
    start = text.index(heading)
    following = re.search(r"^#{1,3} ", text[start + len(heading) :], re.MULTILINE)
    return text[start : start + len(heading) + following.start()] if following else text[start:]


def test_the_readme_lists_each_alert_what_it_means_and_what_to_do() -> None:
    alerts = " ".join(_section("## Alerts").split())
    for name, properties in rules().items():
        display = str(properties["displayName"]).removeprefix("Password reset: ")
        assert f"**{display}**" in alerts, display
        assert f"`{name}.kql`" in alerts, name
    assert alerts.count("What to do:") >= len(ALERTS)


def test_the_readme_lists_the_workbook_pages() -> None:
    workbook = _section("## Workbook")
    for page in ("Resets", "Latency", "Refusals", "Credentials", "Batches"):
        assert f"**{page}**" in workbook, page


def test_the_readme_says_what_retention_costs_without_inventing_a_price() -> None:
    retention = " ".join(_section("## Log retention").split())
    assert "LOG_RETENTION_DAYS" in retention
    assert "31 days" in retention and "per GB" in retention
    assert "pricing" in retention
    assert not re.search(r"[$€£]\s*\d|\d\s*(?:USD|EUR)", retention), "a price is stated"
