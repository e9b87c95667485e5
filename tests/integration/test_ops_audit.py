"""`python3 -m ops audit` reads what the function really wrote: resets go through the
registered function, their audit records are captured as the worker's export would put
them in the workspace (dev/emulators/log_analytics.py), and the command reads them back
with the real LogsQueryClient, in local mode (the emulators' managed identity), from the
Log Analytics emulator, which evaluates infra/queries/audit.kql over those records."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dev.emulators.identity import CALLER_APP_ID
from dev.emulators.log_analytics import LogAnalyticsEmulator, TraceForwarder, trace_from_record
from dev.emulators.samples import (
    SAMPLE_CUSTOM_DOMAIN_USER_ID,
    SAMPLE_CUSTOM_DOMAIN_USER_UPN,
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
)
from ops.cli import main
from ops.console import Console
from ops.credentials import sign_in_for
from ops.deps import default_deps
from reset_password.audit import AUDIT_EVENT, audit_logger
from tests.integration.conftest import CANARY_PASSWORD, Harness

QUERY = Path(__file__).resolve().parents[2] / "infra" / "queries" / "audit.kql"
# Fields the query reads that the function does not write yet (issue: requestedBy comes
# with the request body field of the same name).
PENDING_FIELDS = {"requestedBy"}


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def workspace(harness: Harness) -> Iterator[LogAnalyticsEmulator]:
    """The Log Analytics emulator, fed every structured event the function logs."""
    forwarder = TraceForwarder(harness.stack.log_analytics)
    logging.getLogger().addHandler(forwarder)
    yield harness.stack.log_analytics
    logging.getLogger().removeHandler(forwarder)


def ops_audit(harness: Harness, *argv: str, environ: dict[str, str] | None = None) -> Outcome:
    """`python3 -m ops audit ...` in-process, as an operator's shell with dev/run.py's
    exports would run it: the real sign-in choice (local mode) and the real client."""
    out, err = io.StringIO(), io.StringIO()
    settings = environ or {
        "LOG_ANALYTICS_ENDPOINT": harness.stack.log_analytics.url,
        "LOG_ANALYTICS_WORKSPACE_ID": harness.stack.log_analytics.workspace_id,
    }
    for name, value in settings.items():
        harness.monkeypatch.setenv(name, value)
    deps = replace(
        default_deps(),
        console=Console(out, err),
        environ=os.environ,
        azd_environment=dict,
        credential=lambda url: sign_in_for(url, os.environ),
    )
    code = main(["audit", *argv], deps)
    return Outcome(code, out.getvalue(), err.getvalue())


def as_json(harness: Harness, *argv: str) -> list[dict[str, Any]]:
    outcome = ops_audit(harness, "--json", *argv)
    assert outcome.code == 0, outcome.err
    rows = json.loads(outcome.out)
    assert isinstance(rows, list)
    return rows


def captured_audit(harness: Harness) -> list[logging.LogRecord]:
    return [r for r in harness.caplog.records if r.name == audit_logger.name]


def test_the_table_shows_who_reset_whom_when_for_which_ticket_and_how_it_ended(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    answer = harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC0012345"})
    assert answer.status == 200

    outcome = ops_audit(harness, "--since", "1h")

    assert outcome.code == 0, outcome.err
    header, rule, row, footer = outcome.out.strip().splitlines()
    assert header.split() == [
        "time", "(UTC)", "outcome", "HTTP", "customer", "user", "ticket", "caller",
        "correlation", "ID",
    ]  # fmt: skip
    assert set(rule) == {"-", " "}
    assert row.split()[2:] == [
        "succeeded",
        "200",
        SAMPLE_CUSTOMER_ID,
        SAMPLE_USER_UPN,
        "INC0012345",
        "function-key",
        answer.json["correlationId"],
    ]
    assert footer == "1 record, newest first."


def test_json_gives_every_column_of_the_record_the_function_wrote(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    answer = harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC0012345"})

    [row] = as_json(harness)

    [record] = captured_audit(harness)
    written: dict[str, Any] = record.custom_dimensions  # type: ignore[attr-defined]
    assert row["outcome"] == written["outcome"] == "succeeded"
    assert row["httpStatus"] == 200
    assert row["customerTenantId"] == row["customerRequested"] == SAMPLE_CUSTOMER_ID
    assert row["userId"] == row["userRequested"] == SAMPLE_USER_ID
    assert row["userPrincipalName"] == SAMPLE_USER_UPN
    assert row["ticketId"] == "INC0012345"
    assert row["callerKind"] == "function-key"
    assert row["dryRun"] is False
    assert row["correlationId"] == answer.json["correlationId"]
    assert row["requestId"] == written["requestId"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["TimeGenerated"])


def test_every_field_the_query_reads_is_one_the_function_writes(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC0012345"})
    [record] = captured_audit(harness)
    row = trace_from_record(record)

    read = set(re.findall(r"Properties\.(\w+)", QUERY.read_text(encoding="utf-8")))

    assert read - PENDING_FIELDS <= set(row.properties)
    assert row.properties["logger"] == audit_logger.name
    assert row.properties["event"] == AUDIT_EVENT


def test_csv_has_a_header_of_the_columns_and_a_line_per_record(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC-1"})
    harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC-2"})

    outcome = ops_audit(harness, "--csv")

    assert outcome.code == 0, outcome.err
    lines = list(csv.DictReader(io.StringIO(outcome.out)))
    assert [line["ticketId"] for line in lines] == ["INC-2", "INC-1"]  # newest first
    assert {line["outcome"] for line in lines} == {"succeeded"}


def test_filters_select_by_ticket_user_customer_and_caller(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC-ADA"})
    harness.reset(
        {"password": CANARY_PASSWORD, "ticketId": "INC-MARGARET"},
        customer=SAMPLE_CUSTOMER_DOMAIN,
        user=SAMPLE_CUSTOM_DOMAIN_USER_UPN,
    )
    harness.configure(**harness.stack.settings(caller_auth=True))
    token = harness.stack.identity.mint_caller_token()
    harness.extra_secrets.append(token)
    harness.reset(
        {"password": CANARY_PASSWORD, "ticketId": "INC-APP"},
        headers={"Authorization": f"Bearer {token}"},
    )

    def tickets(*argv: str) -> list[str]:
        return [row["ticketId"] for row in as_json(harness, *argv)]

    assert tickets() == ["INC-APP", "INC-MARGARET", "INC-ADA"]
    assert tickets("--ticket", "INC-ADA") == ["INC-ADA"]
    assert tickets("--user", SAMPLE_CUSTOM_DOMAIN_USER_UPN.upper()) == ["INC-MARGARET"]
    assert tickets("--user", SAMPLE_CUSTOM_DOMAIN_USER_ID) == ["INC-MARGARET"]
    assert tickets("--customer", SAMPLE_CUSTOMER_DOMAIN) == ["INC-MARGARET"]
    assert tickets("--customer", SAMPLE_CUSTOMER_ID) == ["INC-APP", "INC-MARGARET", "INC-ADA"]
    assert tickets("--caller", CALLER_APP_ID) == ["INC-APP"]
    assert tickets("--caller", "function-key") == ["INC-MARGARET", "INC-ADA"]
    assert tickets("--ticket", "INC-ADA", "--user", SAMPLE_CUSTOM_DOMAIN_USER_ID) == []


def test_since_leaves_out_older_records_and_limit_keeps_the_newest(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC-NEW"})
    [record] = captured_audit(harness)
    old = trace_from_record(record)
    for days, ticket in ((3, "INC-3D"), (10, "INC-10D")):
        properties = {**old.properties, "ticketId": ticket}
        moved = old.time_generated - timedelta(days=days)
        workspace.add_trace(replace(old, time_generated=moved, properties=properties))

    def tickets(*argv: str) -> list[str]:
        return [row["ticketId"] for row in as_json(harness, *argv)]

    assert tickets() == ["INC-NEW", "INC-3D"]  # the default is 7 days
    assert tickets("--since", "1d") == ["INC-NEW"]
    assert tickets("--since", "30d") == ["INC-NEW", "INC-3D", "INC-10D"]
    since = (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m-%d")
    assert tickets("--since", since) == ["INC-NEW", "INC-3D"]
    assert tickets("--since", "30d", "--limit", "2") == ["INC-NEW", "INC-3D"]
    outcome = ops_audit(harness, "--since", "30d", "--limit", "2")
    assert "newest 2 rows" in outcome.err


def test_a_filter_with_quotes_is_data_and_never_changes_the_query(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC-1"})
    hostile = 'INC-1" or 1==1 //\\'

    rows = as_json(harness, "--ticket", hostile)

    assert rows == []
    [received] = workspace.received
    assert received.parameters["ticketFilter"] == hostile
    assert received.body.strip() == QUERY.read_text(encoding="utf-8").strip()


def test_requested_by_shows_when_a_record_carries_it(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC-1"})
    before = ops_audit(harness)
    [record] = captured_audit(harness)
    row = trace_from_record(record)
    earlier = row.time_generated - timedelta(seconds=1)
    properties = {**row.properties, "requestedBy": "Grace H."}
    workspace.add_trace(replace(row, time_generated=earlier, properties=properties))

    after = ops_audit(harness)

    assert "requested by" not in before.out
    header, _, newest, older, _ = after.out.splitlines()
    assert "requested by" in header
    assert "Grace H." not in newest
    assert "Grace H." in older


def test_a_field_missing_from_properties_is_read_from_the_message(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC-FROM-MESSAGE"})
    [record] = captured_audit(harness)
    row = trace_from_record(record)
    workspace.reset()
    selectors = {name: row.properties[name] for name in ("logger", "event")}
    workspace.add_trace(replace(row, properties=selectors))

    [found] = as_json(harness)

    assert found["ticketId"] == "INC-FROM-MESSAGE"
    assert found["userPrincipalName"] == SAMPLE_USER_UPN
    assert found["callerKind"] == "function-key"
    assert found["httpStatus"] == 200


def test_the_audit_is_selected_on_logger_and_event_never_on_message_text(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC-REAL"})
    [record] = captured_audit(harness)
    row = trace_from_record(record)
    # A line of another logger whose text quotes an audit record, as a caller's words can.
    forged = {**row.properties, "logger": "reset_password.routes", "ticketId": "INC-FORGED"}
    workspace.add_trace(replace(row, properties=forged))
    workspace.add_trace(replace(row, properties={"ticketId": "INC-NO-FIELDS"}))

    assert [r["ticketId"] for r in as_json(harness)] == ["INC-REAL"]


def test_refused_resets_are_audited_with_their_outcome(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    assert harness.reset({"password": "short", "ticketId": "INC-BAD"}).status == 400

    [row] = as_json(harness)

    assert row["outcome"] == "invalid_request"
    assert row["httpStatus"] == 400
    assert row["ticketId"] == ""  # the body was refused, so no field of it is trusted
    assert row["userRequested"] == SAMPLE_USER_ID


def test_without_a_workspace_the_error_names_the_flag_the_variable_and_azd(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    harness.monkeypatch.delenv("LOG_ANALYTICS_WORKSPACE_ID", raising=False)

    outcome = ops_audit(harness, environ={"LOG_ANALYTICS_ENDPOINT": workspace.url})

    assert outcome.code == 1
    assert "--workspace-id" in outcome.err
    assert "LOG_ANALYTICS_WORKSPACE_ID" in outcome.err
    assert "azd env set" in outcome.err
    assert workspace.received == []


def test_an_unknown_workspace_is_named_with_where_to_find_the_right_one(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    other = "00000000-0000-4000-8000-000000000000"

    outcome = ops_audit(harness, "--workspace-id", other)

    assert outcome.code == 1
    assert f"workspace {other}" in outcome.err
    assert "no such workspace (HTTP 404, WorkspaceNotFoundError)" in outcome.err
    assert "AZURE_LOG_ANALYTICS_WORKSPACE_ID" in outcome.err


def test_a_refusal_names_the_role_to_ask_for(
    harness: Harness, workspace: LogAnalyticsEmulator
) -> None:
    # The emulator takes tokens for its own URL; one for another audience is refused.
    outcome = ops_audit(harness, "--endpoint", workspace.url.replace("127.0.0.1", "localhost"))

    assert outcome.code == 1
    assert "Log Analytics refused (HTTP 401, AuthorizationRequiredError)" in outcome.err
    assert "'Log Analytics Reader'" in outcome.err
