"""`ops audit`'s options and output, apart from the workspace: the time window, the
filters' rules, and output that shows a caller's text without letting it act."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from ops.audit import parse_since
from ops.audit_output import as_csv, as_json, as_table
from ops.errors import OpsError

from .conftest import NOW, Operator

SINCE = NOW - timedelta(days=7)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("7D", NOW - timedelta(days=7)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T08:00:00Z", datetime(2026, 11, 1, 8, tzinfo=UTC)),
        ("2026-11-01T08:00:00+02:00", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ],
)
def test_since_takes_an_age_or_a_moment_in_utc(value: str, expected: datetime) -> None:
    assert parse_since(value, NOW) == expected


@pytest.mark.parametrize("value", ["7", "7w", "-1d", "yesterday", "2026-13-01", "2030-01-01"])
def test_since_refuses_anything_else_or_the_future(value: str) -> None:
    with pytest.raises(OpsError, match="--since"):
        parse_since(value, NOW)


@pytest.mark.parametrize("flag", ["--customer", "--user", "--caller", "--ticket"])
def test_a_filter_with_a_control_character_is_refused_before_any_request(
    operator: Operator, flag: str
) -> None:
    outcome = operator.run(
        "audit", flag, "INC\x1b[2J1", "--workspace-id", "0" * 8 + "-0000-4000-8000-" + "0" * 12
    )

    assert outcome.code == 1
    assert f"{flag} holds a control or format character" in outcome.err
    assert operator.stack.log_analytics.requests == []


def test_limit_and_format_flags_are_checked(operator: Operator) -> None:
    assert operator.run("audit", "--limit", "0").code == 1
    with pytest.raises(SystemExit):
        operator.run("audit", "--csv", "--json")


ROW = {
    "TimeGenerated": datetime(2026, 11, 21, 9, 59, 1, tzinfo=UTC),
    "outcome": "forbidden",
    "httpStatus": 403,
    "customerTenantId": "",
    "customerRequested": "evil\x1b]0;pwned\x07.com",
    "userId": "",
    "userPrincipalName": "",
    "userRequested": "ada\u202egnp.exe",
    "ticketId": '=HYPERLINK("x")',
    "requestedBy": "",
    "callerKind": "function-key",
    "dryRun": True,
    "correlationId": "0f8fad5b-d9cb-469f-a165-70867728950e",
}


def test_the_table_escapes_what_a_terminal_would_act_on() -> None:
    table = as_table([ROW], SINCE)

    assert "\x1b" not in table and "\u202e" not in table and "\x07" not in table
    assert "evil\\x1b]0;pwned\\x07.com" in table
    assert "ada\\u202egnp.exe" in table
    assert "forbidden (dry run)" in table
    assert "2026-11-21 09:59:01" in table


def test_no_rows_says_so_with_the_window() -> None:
    assert as_table([], SINCE) == "No audit records since 2026-11-14 10:00:00 UTC match."


def test_csv_cells_never_start_a_formula() -> None:
    [line] = list(csv.DictReader(io.StringIO(as_csv(list(ROW), [ROW]))))

    assert line["ticketId"] == '\'=HYPERLINK("x")'
    assert line["customerRequested"] == "evil\\x1b]0;pwned\\x07.com"
    assert line["httpStatus"] == "403"
    assert line["TimeGenerated"] == "2026-11-21T09:59:01Z"


def test_json_is_ascii_with_times_in_utc() -> None:
    text = as_json([ROW])

    assert text.isascii()
    [row] = json.loads(text)
    assert row["userRequested"] == "ada\u202egnp.exe"
    assert row["TimeGenerated"] == "2026-11-21T09:59:01Z"
    assert row["dryRun"] is True
