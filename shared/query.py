"""Query parameters as the Functions host hands them over, for routes that refuse
anything they do not know (a misspelt switch must never fall back to a default)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from shared.field_names import shown_field

# The host's function key. The host finds it in any letter case (ASP.NET Core's query
# collection ignores case), so `?Code=` opens the function and reaches it as well.
HOST_KEY_PARAMETER = "code"


def unknown_parameters(query: Mapping[str, str], known: frozenset[str]) -> list[str]:
    """Names that are neither a known parameter (exact case) nor the host's key."""
    return [name for name in query if name not in known and name.lower() != HOST_KEY_PARAMETER]


def query_parameters(req: func.HttpRequest) -> Mapping[str, str]:
    if req.params:
        return dict(req.params)
    # As the host does: blank values kept, repeated values joined with a comma.
    joined: dict[str, str] = {}
    for name, value in parse_qsl(urlsplit(req.url).query, keep_blank_values=True):
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def shown_name(name: str) -> str:
    """The parameter's name when it is plainly a name, else `(unknown field)`: the same
    rule as for a body's field names."""
    return shown_field(name)
