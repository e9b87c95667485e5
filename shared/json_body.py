"""JSON answer bodies, read from their bytes.

`requests.Response.json()` decodes with the declared charset first: a body that starts
with a UTF-8 byte order mark under `charset=utf-8` (as .NET services may send) then
fails to parse. RFC 8259 lets a parser ignore the mark, and `json.loads` on bytes does
(it detects UTF-8, -16 and -32 itself), so every upstream answer is read this way.
"""

from __future__ import annotations

import json
from typing import Any

import requests


def json_body(response: requests.Response) -> Any:
    """The answer's JSON value; ValueError when it is none."""
    return json.loads(response.content)


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json`, any parameters and letter case allowed (Graph adds OData's)."""
    if content_type is None:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"
