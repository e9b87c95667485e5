"""The Log Analytics query API emulator: what it takes, what it refuses, how it answers."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from dev.emulators import EmulatorStack
from dev.emulators.log_analytics import (
    AUDIT_QUERY_PATH,
    TraceRow,
    parse_timespan,
    trace_from_record,
)
from ops.kql import with_parameters

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
NO_FILTERS = {
    "customerFilter": "",
    "userFilter": "",
    "callerFilter": "",
    "ticketFilter": "",
    "rowLimit": 100,
}


def audit_query(**changes: Any) -> str:
    parameters = {"fromTime": NOW - timedelta(days=7), **NO_FILTERS, **changes}
    return with_parameters(AUDIT_QUERY_PATH.read_text(encoding="utf-8"), parameters)


def audit_row(at: datetime, **fields: Any) -> TraceRow:
    payload = {"event": "password_reset.audit", "outcome": "succeeded", **fields}
    properties = {"logger": "audit.password_reset", "event": "password_reset.audit"}
    return TraceRow(at, "password_reset.audit " + json.dumps(payload), 1, properties)


def post(
    stack: EmulatorStack, query: str, *, token: str | None = None, workspace: str | None = None
) -> requests.Response:
    la = stack.log_analytics
    token = token if token is not None else stack.ledger.issue(la.url, 60)
    return requests.post(
        f"{la.url}/v1/workspaces/{workspace or la.workspace_id}/query",
        json={"query": query, "timespan": None},
        headers={"Authorization": f"Bearer {token}"},
        verify=stack.ca.ca_bundle_path,
        timeout=5,
    )


def test_the_audit_query_answers_a_table_of_the_matching_rows(emulators: EmulatorStack) -> None:
    emulators.log_analytics.clock = lambda: NOW
    emulators.log_analytics.add_trace(audit_row(NOW - timedelta(hours=1), ticketId="INC-1"))
    emulators.log_analytics.add_trace(audit_row(NOW - timedelta(hours=2), ticketId="INC-2"))

    answer = post(emulators, audit_query(ticketFilter="INC-2"))

    assert answer.status_code == 200
    [table] = answer.json()["tables"]
    assert table["name"] == "PrimaryResult"
    columns = [c["name"] for c in table["columns"]]
    assert columns[0] == "TimeGenerated"
    assert table["columns"][0]["type"] == "datetime"
    [row] = table["rows"]
    assert row[columns.index("ticketId")] == "INC-2"
    assert row[0].startswith("2026-11-21T08:00:00")


def test_a_request_without_a_token_for_its_url_is_refused(emulators: EmulatorStack) -> None:
    wrong_audience = emulators.ledger.issue("https://api.loganalytics.io", 60)

    for token in ("", wrong_audience):
        answer = post(emulators, audit_query(), token=token)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "AuthorizationRequiredError"


def test_an_unknown_workspace_is_404(emulators: EmulatorStack) -> None:
    answer = post(emulators, audit_query(), workspace="00000000-0000-4000-8000-000000000000")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "WorkspaceNotFoundError"


def test_any_query_but_the_audit_file_is_refused(emulators: EmulatorStack) -> None:
    changed = audit_query().replace("| top rowLimit", "| take 5\n| top rowLimit")

    for query in ("AppTraces | take 10", changed):
        answer = post(emulators, query)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "BadArgumentError"


def test_a_missing_parameter_is_refused_as_the_service_would(emulators: EmulatorStack) -> None:
    query = with_parameters(AUDIT_QUERY_PATH.read_text(encoding="utf-8"), {"rowLimit": 1})

    answer = post(emulators, query)

    assert answer.status_code == 400
    assert "fromTime" in answer.json()["error"]["message"]


def test_a_record_becomes_a_trace_as_the_export_writes_it() -> None:
    record = logging.LogRecord("audit.password_reset", logging.WARNING, "x", 1, "m", (), None)
    fields = {
        "event": "password_reset.audit",
        "ticketId": "INC-1",
        "httpStatus": 403,
        "dryRun": False,
        "caller": {"kind": "function-key", "appId": None},
        "requestId": None,
        "odd.name": "left out",
    }
    # What shared.log.log_event puts on the record.
    record.__dict__.update(
        logger="audit.password_reset", event="password_reset.audit", custom_dimensions=fields
    )

    row = trace_from_record(record)

    assert row.severity_level == 2
    assert row.message == "m"
    assert row.properties == {
        "logger": "audit.password_reset",
        "event": "password_reset.audit",
        "ticketId": "INC-1",
        "httpStatus": "403",
        "dryRun": "false",
        "caller": '{"kind":"function-key","appId":null}',
    }


def test_timespans_read_as_the_service_reads_them() -> None:
    start = datetime(2026, 11, 14, 10, 0, tzinfo=UTC)

    assert parse_timespan(None, NOW) is None
    assert parse_timespan("PT3600.0S", NOW) == (NOW - timedelta(hours=1), NOW)
    assert parse_timespan("2026-11-14T10:00:00.000Z/2026-11-21T10:00:00.000Z", NOW) == (
        start,
        NOW,
    )
    assert parse_timespan("2026-11-14T10:00:00Z/P7D", NOW) == (start, NOW)
