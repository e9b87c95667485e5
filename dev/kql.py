"""The project's KQL queries (infra/queries/*.kql), checked with Microsoft's Kusto language
service: `dev/node/kql-check.js`, run once with Node for all of them.

Every query reads the Log Analytics workspace's `AppTraces` table, where the worker's
own log export puts each field of a structured record in `Properties` (one entry per
field, plus `logger` and `event`). The alert rules, the workbook and `ops audit` all
query the workspace, so one table and one schema serve them all.

A query that takes parameters names them in a comment line of its own,

    // parameters: evaluationPeriod:timespan, minimumAttempts:long

and whoever runs it puts one `let name = value;` per parameter in front of it (the Bicep
templates, `ops audit`); the language service is given them as declared parameters.

    python -m dev.kql          # check every query; prints each diagnostic, exits 1 on any
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dev.node_tools import NODE_DIR, NODE_MODULES, ensure_installed, node

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "infra" / "queries"
CHECKER = NODE_DIR / "kql-check.js"
SERVICE = NODE_MODULES / "@kusto" / "language-service-next" / "package.json"
TABLE = "AppTraces"
# The workspace table the Application Insights component writes traces to (Azure Monitor
# Logs reference, AppTraces), column by column.
APP_TRACES_COLUMNS = {
    "TenantId": "string",
    "TimeGenerated": "datetime",
    "Message": "string",
    "SeverityLevel": "int",
    "Properties": "dynamic",
    "Measurements": "dynamic",
    "OperationName": "string",
    "OperationId": "string",
    "ParentId": "string",
    "SyntheticSource": "string",
    "SessionId": "string",
    "UserId": "string",
    "UserAuthenticatedId": "string",
    "UserAccountId": "string",
    "AppVersion": "string",
    "AppRoleName": "string",
    "AppRoleInstance": "string",
    "ClientType": "string",
    "ClientModel": "string",
    "ClientOS": "string",
    "ClientIP": "string",
    "ClientCity": "string",
    "ClientStateOrProvince": "string",
    "ClientCountryOrRegion": "string",
    "ClientBrowser": "string",
    "ResourceGUID": "string",
    "IKey": "string",
    "SDKVersion": "string",
    "ItemCount": "int",
    "ReferencedItemId": "string",
    "ReferencedType": "string",
    "SourceSystem": "string",
    "Type": "string",
    "_ResourceId": "string",
}
_PARAMETERS = re.compile(r"^//\s*parameters:\s*(.*)$", re.MULTILINE)
_PARAMETER = re.compile(r"([A-Za-z_]\w*)\s*:\s*([a-z]+)")


class QueryCheckFailed(RuntimeError):
    """The checker itself could not run (not a diagnostic of a query)."""


@dataclass(frozen=True)
class Query:
    name: str
    path: Path
    text: str
    parameters: dict[str, str]

    @property
    def body(self) -> str:
        """The query without its leading comment lines: what the README shows."""
        lines = self.text.splitlines()
        while lines and (not lines[0].strip() or lines[0].lstrip().startswith("//")):
            lines.pop(0)
        return "\n".join(lines).strip()


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    code: str
    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.severity} {self.code}: {self.message}"


@dataclass(frozen=True)
class Selector:
    field: str
    value: str


@dataclass(frozen=True)
class QueryCheck:
    """What the language service found in one query."""

    query: Query
    diagnostics: tuple[Diagnostic, ...]
    tables: frozenset[str]
    # Names read off `Properties` (the record's fields), and off any other dynamic value.
    properties: frozenset[str]
    members: frozenset[str]
    selectors: tuple[Selector, ...]
    message_in_filters: int

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "Error"]

    def selected(self, field: str) -> set[str]:
        """The values the query compares a selector field (`logger`, `event`) with."""
        return {s.value for s in self.selectors if s.field == field}


def parse_parameters(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in _PARAMETERS.findall(text):
        for name, kind in _PARAMETER.findall(line):
            found[name] = kind
    return found


def load(path: Path) -> Query:
    text = path.read_text(encoding="utf-8")
    return Query(path.stem, path, text, parse_parameters(text))


def queries() -> list[Query]:
    """Every query file, by name."""
    return [load(path) for path in sorted(QUERIES.glob("*.kql"))]


def schema() -> str:
    return "(" + ", ".join(f"{name}:{kind}" for name, kind in APP_TRACES_COLUMNS.items()) + ")"


def check(items: list[Query]) -> list[QueryCheck]:
    """All of them through the language service, in one Node process."""
    ensure_installed(SERVICE)
    request = {
        "tables": {TABLE: schema()},
        "queries": [{"name": q.name, "text": q.text, "parameters": q.parameters} for q in items],
    }
    done = subprocess.run(  # noqa: S603 - fixed argv, our own script
        [node(), str(CHECKER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise QueryCheckFailed(f"{CHECKER.name} failed: {done.stderr.strip()[-2000:]}")
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return [_result(query, answer) for query, answer in zip(items, answers, strict=True)]


def _result(query: Query, answer: dict[str, Any]) -> QueryCheck:
    return QueryCheck(
        query=query,
        diagnostics=tuple(Diagnostic(**d) for d in answer["diagnostics"]),
        tables=frozenset(answer["tables"]),
        properties=frozenset(answer["properties"]),
        members=frozenset(answer["members"]),
        selectors=tuple(Selector(**s) for s in answer["selectors"]),
        message_in_filters=int(answer["messageInFilters"]),
    )


def main() -> int:
    failed = False
    for result in check(queries()):
        print(f"{result.query.path.relative_to(ROOT)}: {len(result.errors)} error(s)")
        for diagnostic in result.diagnostics:
            print(f"  {diagnostic}")
        failed = failed or bool(result.errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
