"""Log Analytics query API emulator over HTTPS, holding an `AppTraces` table.

`POST /v1/workspaces/{workspaceId}/query` with `{"query", "timespan"}` answers
`{"tables": [{"name", "columns": [{"name", "type"}], "rows"}]}`, as the service does for
azure-monitor-query's LogsQueryClient. A bearer token is required (azure-core sends one
only over TLS, hence the test CA): one the managed-identity emulator issued for this
emulator's URL, the audience LogsQueryClient asks for by default (`{endpoint}/.default`).

It runs no KQL engine. It knows one query, infra/queries/audit.kql, and evaluates it over
its rows: the request must be that file's text, preceded by let statements giving its
parameters (ops/audit.py writes them); the let values are read with Kusto's literal rules,
so a value's quotes and backslashes are data, never query. The rows it is given are
traces as the worker's OpenTelemetry export writes them: see `trace_from_record`.
Anything else is refused the way the service refuses a query it cannot run (400
BadArgumentError), so a query edited without the emulator fails its specs.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dev.emulators.base import EmulatorServer
from dev.emulators.ledger import TokenLedger
from dev.emulators.messages import RecordedRequest, Response, json_response
from dev.emulators.tls import TestCertificateAuthority

AUDIT_QUERY_PATH = Path(__file__).resolve().parents[2] / "infra" / "queries" / "audit.kql"
SAMPLE_WORKSPACE_ID = "1a0b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
# The parameters the audit query reads, and the kind of literal each takes.
AUDIT_PARAMETERS = {
    "fromTime": "datetime",
    "customerFilter": "string",
    "userFilter": "string",
    "callerFilter": "string",
    "ticketFilter": "string",
    "rowLimit": "long",
}
# A long-running dev host keeps the newest traces only.
MAX_ROWS = 10_000
# Structured-event fields become their own Properties entry only under a plain name
# (a dotted one could pose as an attribute the exporter reads for itself).
_DIMENSION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_RECORD_ATTRIBUTES = ("logger", "event", "correlation_id")
_SEVERITY = ((logging.CRITICAL, 4), (logging.ERROR, 3), (logging.WARNING, 2), (logging.INFO, 1))
_COLUMN_TYPES = {"TimeGenerated": "datetime", "httpStatus": "int", "dryRun": "bool"}
_FIELD_COLUMNS = (
    "outcome",
    "httpStatus",
    "customerTenantId",
    "customerRequested",
    "userId",
    "userPrincipalName",
    "userRequested",
    "ticketId",
    "requestedBy",
    "dryRun",
    "correlationId",
    "requestId",
)
_CALLER_COLUMNS = {
    "callerKind": "kind",
    "callerAppId": "appId",
    "callerObjectId": "objectId",
    "callerName": "name",
}


@dataclass(frozen=True)
class TraceRow:
    """One row of `AppTraces`: the columns the audit query reads."""

    time_generated: datetime
    message: str
    severity_level: int = 1
    properties: dict[str, Any] = field(default_factory=dict)


def trace_from_record(record: logging.LogRecord) -> TraceRow:
    """The row a log record becomes, as the worker's export writes it: each field of a
    structured event (`custom_dimensions`) one Properties entry (text as it is, anything
    else as compact JSON, nulls left out), and the record's own `logger`, `event` and
    `correlation_id` attributes, which win over a field of the same name."""
    properties: dict[str, Any] = {}
    fields = getattr(record, "custom_dimensions", None)
    if isinstance(fields, Mapping):
        for name, value in fields.items():
            if value is None or not isinstance(name, str) or not _DIMENSION_NAME.match(name):
                continue
            properties[name] = value if isinstance(value, str) else _compact_json(value)
    for name in _RECORD_ATTRIBUTES:
        value = getattr(record, name, None)
        if value is not None:
            properties[name] = str(value)
    severity = next((level for floor, level in _SEVERITY if record.levelno >= floor), 0)
    return TraceRow(
        time_generated=datetime.fromtimestamp(record.created, UTC),
        message=record.getMessage(),
        severity_level=severity,
        properties=properties,
    )


class TraceForwarder(logging.Handler):
    """A log handler that puts every structured event (a record with an `event`
    attribute) into the emulator's `AppTraces`, as the export would in Azure."""

    def __init__(self, emulator: LogAnalyticsEmulator) -> None:
        super().__init__(level=logging.INFO)
        self._emulator = emulator

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "event", None) is None:
            return
        try:
            self._emulator.add_trace(trace_from_record(record))
        except Exception:  # noqa: BLE001 - logging must never break the caller
            self.handleError(record)


class QueryRefused(Exception):
    """What the service answers 400 BadArgumentError for."""


@dataclass(frozen=True)
class ReceivedQuery:
    workspace_id: str
    parameters: dict[str, Any]
    body: str
    timespan: str | None


class LogAnalyticsEmulator(EmulatorServer):
    def __init__(
        self,
        ledger: TokenLedger,
        ca: TestCertificateAuthority,
        *,
        query_path: Path = AUDIT_QUERY_PATH,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(ssl_context=ca.server_context())
        self.ledger = ledger
        self.workspace_id = SAMPLE_WORKSPACE_ID
        self.clock = clock
        self._default_clock = clock
        self._query_path = query_path
        self._state = threading.Lock()
        self._rows: deque[TraceRow] = deque(maxlen=MAX_ROWS)
        self._received: list[ReceivedQuery] = []

    def reset(self) -> None:
        with self._state:
            self._rows.clear()
            self._received.clear()
        self.workspace_id = SAMPLE_WORKSPACE_ID
        self.clock = self._default_clock
        self.latency = 0.0

    @property
    def audience(self) -> str:
        return self.url

    # -- state -----------------------------------------------------------------

    def add_trace(self, row: TraceRow) -> None:
        with self._state:
            self._rows.append(row)

    def add_records(self, records: Iterable[logging.LogRecord]) -> None:
        for record in records:
            self.add_trace(trace_from_record(record))

    @property
    def rows(self) -> list[TraceRow]:
        with self._state:
            return list(self._rows)

    @property
    def received(self) -> list[ReceivedQuery]:
        """The queries answered or refused, each split into its parameters and body."""
        with self._state:
            return list(self._received)

    # -- HTTP ------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        if not self.ledger.is_valid(request.bearer_token(), self.audience):
            return _error(
                401,
                "AuthorizationRequiredError",
                "Valid authentication was not provided",
                {"WWW-Authenticate": f'Bearer authorization_uri="{self.audience}"'},
            )
        match = re.fullmatch(r"/v1/workspaces/([^/]+)/query", request.path)
        if request.method != "POST" or match is None:
            return _error(
                404, "PathNotFoundError", f"The requested path does not exist: {request.path}"
            )
        if match.group(1).lower() != self.workspace_id.lower():
            return _error(404, "WorkspaceNotFoundError", f"Workspace {match.group(1)} not found")
        try:
            body = request.json()
            query, timespan = body["query"], body.get("timespan")
            if not isinstance(query, str) or not (timespan is None or isinstance(timespan, str)):
                raise QueryRefused("query must be a string and timespan a string or null")
            parameters, text = split_parameters(query)
            with self._state:
                self._received.append(ReceivedQuery(match.group(1), parameters, text, timespan))
            known = AuditQuery.load(self._query_path)
            if text.strip() != known.text.strip():
                raise QueryRefused(f"this emulator runs {self._query_path.name} alone")
            window = parse_timespan(timespan, self.clock())
            table = known.run(self.rows, parameters, window)
        except (QueryRefused, ValueError, KeyError, TypeError) as refused:
            return _error(
                400, "BadArgumentError", f"The request had some invalid properties: {refused}"
            )
        return json_response(200, {"tables": [table]})


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    payload = {"error": {"code": code, "message": message, "correlationId": str(uuid.uuid4())}}
    return json_response(status, payload, headers)


# -- the let statements ---------------------------------------------------------

_LET = re.compile(r"\s*let\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")
_DATETIME = re.compile(r"datetime\(([^)]*)\)")
_LONG = re.compile(r"-?[0-9]+")
# Kusto's escapes inside a plain string literal.
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}


def split_parameters(query: str) -> tuple[dict[str, Any], str]:
    """The leading `let name = literal;` statements as values, and the query after them
    (from its first line: the line breaks that ended the lets are theirs)."""
    parameters: dict[str, Any] = {}
    position = 0
    while (match := _LET.match(query, position)) is not None:
        value, position = _literal(query, match.end())
        end = re.compile(r"\s*;").match(query, position)
        if end is None:
            raise QueryRefused(f"let {match.group(1)}: expected ';' after the value")
        parameters[match.group(1)] = value
        position = end.end()
    return parameters, query[position:].lstrip("\n")


def _literal(text: str, start: int) -> tuple[Any, int]:
    if text.startswith('"', start):
        return _string(text, start + 1)
    if found := _DATETIME.match(text, start):
        return datetime.fromisoformat(found.group(1).strip()), found.end()
    if found := _LONG.match(text, start):
        return int(found.group(0)), found.end()
    raise QueryRefused("a let value must be a string, a datetime(...) or a long")


def _string(text: str, position: int) -> tuple[str, int]:
    out: list[str] = []
    while position < len(text):
        char = text[position]
        if char == '"':
            return "".join(out), position + 1
        if char in "\r\n":
            raise QueryRefused("a string literal cannot span lines")
        if char == "\\":
            escaped = text[position + 1 : position + 2]
            if escaped not in _ESCAPES:
                raise QueryRefused("unknown escape in a string literal")
            out.append(_ESCAPES[escaped])
            position += 2
            continue
        out.append(char)
        position += 1
    raise QueryRefused("a string literal is not closed")


def parse_timespan(value: str | None, now: datetime) -> tuple[datetime, datetime] | None:
    """The service's ISO 8601 interval (`start/end`, `start/duration`, `duration`)."""
    if not value:
        return None
    if "/" not in value:
        return now - _duration(value), now
    start_text, end_text = value.split("/", 1)
    start = datetime.fromisoformat(start_text)
    end = (
        start + _duration(end_text)
        if end_text.startswith("P")
        else datetime.fromisoformat(end_text)
    )
    return start, end


def _duration(value: str) -> timedelta:
    found = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", value)
    if found is None or value in ("P", "PT"):
        raise QueryRefused(f"not an ISO 8601 duration: {value}")
    days, hours, minutes, seconds = (float(part or 0) for part in found.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


# -- the audit query's meaning ----------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    """What infra/queries/audit.kql computes, with the selectors and columns its text names."""

    text: str
    logger: str
    event: str
    columns: tuple[str, ...]

    @classmethod
    def load(cls, path: Path = AUDIT_QUERY_PATH) -> AuditQuery:
        text = path.read_text(encoding="utf-8")
        logger = re.search(r'tostring\(Properties\.logger\) == "([^"]+)"', text)
        event = re.search(r'tostring\(Properties\.event\) == "([^"]+)"', text)
        project = re.search(r"^\| project (.+)$", text, re.MULTILINE)
        if logger is None or event is None or project is None:
            raise QueryRefused("the audit query no longer selects on logger and event")
        columns = tuple(name.strip() for name in project.group(1).split(","))
        unknown = set(columns) - {"TimeGenerated", *_FIELD_COLUMNS, *_CALLER_COLUMNS}
        if unknown:
            raise QueryRefused(f"the emulator does not know the columns {sorted(unknown)}")
        return cls(text, logger.group(1), event.group(1), columns)

    def run(
        self,
        rows: Iterable[TraceRow],
        parameters: Mapping[str, Any],
        window: tuple[datetime, datetime] | None,
    ) -> dict[str, Any]:
        missing = set(AUDIT_PARAMETERS) - set(parameters)
        if missing:
            raise QueryRefused(f"failed to resolve scalar expressions {sorted(missing)}")
        selected = []
        for row in rows:
            if window is not None and not window[0] <= row.time_generated <= window[1]:
                continue
            if row.time_generated < parameters["fromTime"]:
                continue
            values = self._values(row)
            if values is not None and _matches(values, parameters):
                selected.append(values)
        selected.sort(key=lambda values: values["TimeGenerated"], reverse=True)
        selected = selected[: max(0, int(parameters["rowLimit"]))]
        return {
            "name": "PrimaryResult",
            "columns": [{"name": c, "type": _COLUMN_TYPES.get(c, "string")} for c in self.columns],
            "rows": [[_cell(values[c]) for c in self.columns] for values in selected],
        }

    def _values(self, row: TraceRow) -> dict[str, Any] | None:
        properties = row.properties
        if _text(properties.get("logger")) != self.logger:
            return None
        if _text(properties.get("event")) != self.event:
            return None
        audit = _message_json(row.message, self.event)

        def read(name: str) -> str:
            return _text(properties.get(name)) or _text(audit.get(name))

        values: dict[str, Any] = {"TimeGenerated": row.time_generated}
        values.update({name: read(name) for name in _FIELD_COLUMNS})
        values["httpStatus"] = int(values["httpStatus"]) if values["httpStatus"] else None
        values["dryRun"] = {"true": True, "false": False}.get(values["dryRun"])
        caller = _parse_json(read("caller"))
        caller = caller if isinstance(caller, dict) else {}
        values.update({c: _text(caller.get(f)) for c, f in _CALLER_COLUMNS.items()})
        return values


def _matches(values: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    def any_is(wanted: str, *columns: str) -> bool:
        return not wanted or any(str(values[c]).lower() == wanted.lower() for c in columns)

    ticket = parameters["ticketFilter"]
    return (
        any_is(parameters["customerFilter"], "customerTenantId", "customerRequested")
        and any_is(parameters["userFilter"], "userId", "userPrincipalName", "userRequested")
        and any_is(parameters["callerFilter"], *_CALLER_COLUMNS)
        and (not ticket or values["ticketId"] == ticket)
    )


def _message_json(message: str, event: str) -> dict[str, Any]:
    found = re.search(re.escape(event) + r" (\{.*\})$", message)
    parsed = _parse_json(found.group(1)) if found else None
    return parsed if isinstance(parsed, dict) else {}


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _text(value: Any) -> str:
    """Kusto's tostring() of a dynamic value: null is empty, text is itself, the rest JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else _compact_json(value)


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=str)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value
