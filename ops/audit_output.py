"""How `ops audit` shows its rows: a table for people, CSV and JSON for tools.

Some columns hold what a caller sent (the customer and user as named, the ticket, the
requester), so nothing is shown as it came: in the table and the CSV every character
Python would not print is escaped (no terminal escape sequence reaches the screen, no
cell spans lines), a CSV cell that a spreadsheet would run as a formula starts with an
apostrophe, and JSON is ASCII.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from azure.monitor.query import LogsTable

from shared.log import printable

Row = dict[str, Any]
# Cells a spreadsheet would evaluate (OWASP's list for CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def rows_of(table: LogsTable | None) -> tuple[list[str], list[Row]]:
    """The table's column names, and each row by column name."""
    if table is None:
        return [], []
    columns = list(table.columns)
    return columns, [dict(zip(columns, list(row), strict=True)) for row in table.rows]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _first(row: Row, *names: str) -> str:
    return next((_text(row.get(n)) for n in names if _text(row.get(n))), "")


def _outcome(row: Row) -> str:
    outcome = _text(row.get("outcome"))
    return f"{outcome} (dry run)" if row.get("dryRun") is True else outcome


def _time(row: Row) -> str:
    value = row.get("TimeGenerated")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return _text(value)


# The table's columns: heading, and how a row gives it.
TABLE: tuple[tuple[str, Callable[[Row], str]], ...] = (
    ("time (UTC)", _time),
    ("outcome", _outcome),
    ("HTTP", lambda row: _text(row.get("httpStatus"))),
    ("customer", lambda row: _first(row, "customerTenantId", "customerRequested")),
    ("user", lambda row: _first(row, "userPrincipalName", "userId", "userRequested")),
    ("ticket", lambda row: _text(row.get("ticketId"))),
    ("requested by", lambda row: _text(row.get("requestedBy"))),
    ("caller", lambda row: _first(row, "callerName", "callerAppId", "callerKind")),
    ("correlation ID", lambda row: _text(row.get("correlationId"))),
)
# Shown only when some row has a value (older records and callers that do not send it).
_OPTIONAL = frozenset({"requested by"})


def as_table(rows: Sequence[Row], since: datetime) -> str:
    if not rows:
        return f"No audit records since {since.strftime('%Y-%m-%d %H:%M:%S')} UTC match."
    cells = [[printable(show(row)) for _, show in TABLE] for row in rows]
    keep = [
        index
        for index, (heading, _) in enumerate(TABLE)
        if heading not in _OPTIONAL or any(line[index] for line in cells)
    ]
    headings = [TABLE[i][0] for i in keep]
    body = [[line[i] for i in keep] for line in cells]
    widths = [max(len(h), *(len(line[n]) for line in body)) for n, h in enumerate(headings)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in body
    ]
    lines.append(f"{len(rows)} record{'s' if len(rows) != 1 else ''}, newest first.")
    return "\n".join(lines)


def _csv_cell(value: Any) -> str:
    text = printable(_text(value))
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def as_csv(columns: Sequence[str], rows: Sequence[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in columns])
    return out.getvalue()


def as_json(rows: Sequence[Row]) -> str:
    def plain(value: Any) -> Any:
        return _text(value) if isinstance(value, datetime) else value

    return json.dumps([{k: plain(v) for k, v in row.items()} for row in rows], indent=2)
