"""What an emulator sees (a recorded request) and what it answers (a response)."""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it reached the emulator, before any fault or handler saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    # The query string as sent (still percent-encoded) and every header line in order,
    # for servers that must see repeated names: `query` and `headers` keep the first.
    raw_query: str = ""
    header_lines: tuple[tuple[str, str], ...] = ()

    def json(self) -> Any:
        return _json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {name: values[0] for name, values in parsed.items()}

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def bearer_token(self) -> str | None:
        scheme, _, token = self.header("authorization").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


def json_response(
    status: int,
    payload: object,
    headers: Mapping[str, str] | None = None,
    *,
    content_type: str = JSON_CONTENT_TYPE,
) -> Response:
    merged = {"Content-Type": content_type, **(headers or {})}
    return Response(status, _json.dumps(payload).encode("utf-8"), merged)
