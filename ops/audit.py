"""`python3 -m ops audit`: who reset whom, when, for which ticket and requester, and how it
ended, read from the Log Analytics workspace the function's logs go to.

The query is infra/queries/audit.kql, kept once in the repository; the filters go in front
of it as let statements (ops/kql.py), never spliced into its text, so a value with quotes
cannot change what runs. The service also gets the time window (`timespan`), so it reads
no older data than asked for. Output: a table, CSV or JSON, written to stdout.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.monitor.query import LogsQueryClient, LogsQueryPartialResult, LogsTable

from ops import audit_output
from ops.credentials import RUN_HINT, SignIn
from ops.deps import Deps
from ops.errors import OpsError
from ops.kql import UnprintableValue, load_query, string_literal, with_parameters
from ops.settings import SettingSource, service_url, workspace_id

HELP = "read the password-reset audit from Log Analytics (who reset whom, when, why, outcome)"
QUERY_NAME = "audit"
DEFAULT_SINCE = "7d"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
MAX_FILTER_LENGTH = 256
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 120
SERVER_TIMEOUT_S = 100
RETRIES = 3
_RELATIVE = re.compile(r"([0-9]{1,5})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_CODE = re.compile(r"[A-Za-z0-9_.]{1,64}")
FILTERS = (
    (
        "customer",
        "customerFilter",
        "the customer's tenant ID, or the customer as the caller named it",
    ),
    ("user", "userFilter", "the user's object ID or userPrincipalName, or the user as named"),
    ("caller", "callerFilter", "the caller's app ID, object ID or name, or function-key"),
    ("ticket", "ticketFilter", "the ticket ID, exactly"),
)


@dataclass(frozen=True)
class AuditQuery:
    since: datetime
    until: datetime
    filters: dict[str, str]
    limit: int

    def text(self) -> str:
        parameters: dict[str, str | int | datetime] = {"fromTime": self.since}
        parameters.update(self.filters)
        parameters["rowLimit"] = self.limit
        return with_parameters(load_query(QUERY_NAME), parameters)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        default=DEFAULT_SINCE,
        metavar="WHEN",
        help="how far back: 30m, 24h, 7d, or a date or time (2026-11-01, 2026-11-01T08:00:00Z;"
        f" UTC unless it says otherwise); default {DEFAULT_SINCE}",
    )
    for flag, _, meaning in FILTERS:
        parser.add_argument(f"--{flag}", metavar="VALUE", help=f"only rows for {meaning}")
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N rows, the newest (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="CSV with every column")
    output.add_argument("--json", action="store_true", help="a JSON array with every column")
    parser.add_argument(
        "--workspace-id",
        help="Log Analytics workspace ID, a GUID (default: LOG_ANALYTICS_WORKSPACE_ID, else"
        " the azd environment's AZURE_LOG_ANALYTICS_WORKSPACE_ID)",
    )
    parser.add_argument(
        "--endpoint",
        help="Log Analytics query endpoint (default: LOG_ANALYTICS_ENDPOINT, else"
        " https://api.loganalytics.io)",
    )


def run(args: argparse.Namespace, deps: Deps) -> int:
    now = deps.now()
    query = AuditQuery(
        since=parse_since(args.since, now),
        until=now,
        filters=_filters(args),
        limit=_limit(args.limit),
    )
    source = SettingSource(deps.environ, deps.azd_environment)
    endpoint = service_url(
        "LOG_ANALYTICS_ENDPOINT",
        source.require("LOG_ANALYTICS_ENDPOINT", args.endpoint, "--endpoint"),
    )
    workspace = workspace_id(
        source.require("LOG_ANALYTICS_WORKSPACE_ID", args.workspace_id, "--workspace-id")
    )
    sign_in = deps.credential(endpoint)
    table, partial = read_audit(endpoint, workspace, sign_in, query)
    columns, rows = audit_output.rows_of(table)
    console = deps.console
    if args.json:
        console.say(audit_output.as_json(rows))
    elif args.csv:
        console.out.write(audit_output.as_csv(columns, rows))
        console.out.flush()
    else:
        console.say(audit_output.as_table(rows, query.since))
    if partial is not None:
        console.warn(
            f"warning: Log Analytics answered part of the data only ({partial}): the rows"
            " above may be incomplete."
        )
    if len(rows) >= query.limit:
        console.warn(
            f"note: these are the newest {query.limit} rows; narrow the filters or raise --limit"
            " for more."
        )
    return 0


def parse_since(value: str, now: datetime) -> datetime:
    text = value.strip()
    relative = _RELATIVE.fullmatch(text.lower())
    if relative is not None:
        amount = int(relative.group(1))
        since = now - timedelta(**{_UNITS[relative.group(2)]: amount})
    else:
        try:
            since = datetime.fromisoformat(text)
        except ValueError:
            raise OpsError(
                "--since must be an age (30m, 24h, 7d) or a date or time in ISO 8601"
                " (2026-11-01, 2026-11-01T08:00:00Z)."
            ) from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    if since >= now:
        raise OpsError("--since must be in the past.")
    return since.astimezone(UTC)


def _filters(args: argparse.Namespace) -> dict[str, str]:
    filters: dict[str, str] = {}
    for flag, parameter, _ in FILTERS:
        value = (getattr(args, flag) or "").strip()
        if len(value) > MAX_FILTER_LENGTH:
            raise OpsError(f"--{flag} is longer than {MAX_FILTER_LENGTH} characters.")
        try:
            string_literal(value)
        except UnprintableValue:
            raise OpsError(
                f"--{flag} holds a control or format character; give the value as printed."
            ) from None
        filters[parameter] = value
    return filters


def _limit(value: int) -> int:
    if not 1 <= value <= MAX_LIMIT:
        raise OpsError(f"--limit must be between 1 and {MAX_LIMIT}.")
    return value


def read_audit(
    endpoint: str, workspace: str, sign_in: SignIn, query: AuditQuery
) -> tuple[LogsTable | None, str | None]:
    """The result table (None when the service sent none) and, for a partial answer, the
    error code the service gave for the part it could not read."""
    client = LogsQueryClient(
        sign_in.credential,
        endpoint=endpoint,
        retry_total=RETRIES,
        connection_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
    )
    try:
        with client:
            result = client.query_workspace(
                workspace,
                query.text(),
                timespan=(query.since, query.until),
                server_timeout=SERVER_TIMEOUT_S,
            )
    except Exception as exc:  # noqa: BLE001 - every SDK failure becomes advice
        raise _failure(exc, endpoint, workspace, sign_in.local) from None
    if isinstance(result, LogsQueryPartialResult):
        tables = result.partial_data or []
        return (tables[0] if tables else None), _error_code(result.partial_error) or "no code"
    return (result.tables[0] if result.tables else None), None


def _failure(exc: Exception, endpoint: str, workspace: str, local: bool) -> OpsError:
    what = f"Could not read the audit from workspace {workspace} at {endpoint}"
    if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
        return _no_token(what, exc, local)
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        code = _error_code(getattr(exc, "error", None)) or _error_code(getattr(exc, "model", None))
        return _refused(what, exc.status_code, f", {code}" if code else "")
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        hint = f"; {RUN_HINT}" if local else ""
        return OpsError(f"{what}: Log Analytics is unreachable ({type(exc).__name__}){hint}.")
    return OpsError(f"{what} ({type(exc).__name__}).")


def _no_token(what: str, exc: Exception, local: bool) -> OpsError:
    if local:
        return OpsError(
            f"{what}: no token from the emulators' managed identity ({type(exc).__name__})."
            f" Is `python3 dev/run.py` still running? Otherwise {RUN_HINT}."
        )
    return OpsError(
        f"{what}: no token for Log Analytics from your sign-in ({type(exc).__name__}). Sign"
        " in with `az login` (or `azd auth login`) as a user who may read the workspace,"
        " then run this again."
    )


def _refused(what: str, status: int, detail: str) -> OpsError:
    if status in (401, 403):
        return OpsError(
            f"{what}: Log Analytics refused (HTTP {status}{detail}). Your account needs the"
            " 'Log Analytics Reader' role on the workspace (or Reader on its resource group);"
            " infra/README.md has the command. Role assignments can take a few minutes to"
            " apply."
        )
    if status == 404:
        return OpsError(
            f"{what}: no such workspace (HTTP 404{detail}). Check the workspace ID (azd output"
            " AZURE_LOG_ANALYTICS_WORKSPACE_ID)."
        )
    return OpsError(f"{what}: Log Analytics answered HTTP {status}{detail}.")


def _error_code(error: Any) -> str | None:
    # The service's error codes help; its free-text message may quote the query.
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and _CODE.fullmatch(code) else None
