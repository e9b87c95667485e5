"""KQL text for a query kept in a file: its parameters as let statements put before it.

The Log Analytics query API takes no query parameters, so the values go in as literals.
A string is written so that no value can end it early: it must be printable (no control,
format or line-separator character, which could not be typed into a literal anyway), and
inside the double quotes only the backslash and the double quote mean anything, so both
are escaped. Whatever an operator types as a filter, the query around it stays the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

QUERIES = Path(__file__).resolve().parent.parent / "infra" / "queries"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Value = str | int | datetime


class UnprintableValue(ValueError):
    """A string holding a character a KQL literal cannot carry as it is."""


def load_query(name: str) -> str:
    """The query in infra/queries/{name}.kql, as kept there (one copy in the repository)."""
    return (QUERIES / f"{name}.kql").read_text(encoding="utf-8")


def string_literal(value: str) -> str:
    if not value.isprintable():
        raise UnprintableValue("the value holds a control or format character")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def datetime_literal(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("a datetime literal needs a time zone")
    return f"datetime({moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')})"


def literal(value: Value) -> str:
    if isinstance(value, datetime):
        return datetime_literal(value)
    if isinstance(value, bool):
        # bool is an int: a flag must never become 1 or 0 silently.
        raise TypeError("no boolean parameters")
    if isinstance(value, int):
        return str(value)
    return string_literal(value)


def with_parameters(query: str, parameters: Mapping[str, Value]) -> str:
    """`query` preceded by one `let name = literal;` line per parameter."""
    lines = []
    for name, value in parameters.items():
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a KQL name: {name!r}")
        lines.append(f"let {name} = {literal(value)};")
    return "\n".join([*lines, query])
