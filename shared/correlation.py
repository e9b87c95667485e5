"""Correlation IDs: taken from the caller when it sends a GUID, made up otherwise."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

CORRELATION_HEADERS = ("x-correlation-id", "ms-correlationid")


def parse_guid(value: str | None) -> uuid.UUID | None:
    """A GUID in its usual textual forms (with or without braces or dashes), else None."""
    if value is None:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def correlation_id_from(headers: Mapping[str, str]) -> uuid.UUID:
    """The first header that holds a GUID wins; x-correlation-id is looked at first."""
    for name in CORRELATION_HEADERS:
        found = parse_guid(headers.get(name))
        if found is not None:
            return found
    return uuid.uuid4()
