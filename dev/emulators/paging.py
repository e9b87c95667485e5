"""Partner Center's seek-based paging: an opaque MS-ContinuationToken per next page."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cursor:
    """Where a listing stands: which collection, which filter, how far along."""

    collection: str
    size: int
    offset: int
    filter_field: str | None = None
    filter_value: str | None = None


class ContinuationTokens:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: dict[str, Cursor] = {}

    def mint(self, cursor: Cursor) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._cursors[token] = cursor
        return token

    def resolve(self, token: str) -> Cursor | None:
        with self._lock:
            return self._cursors.get(token)

    def clear(self) -> None:
        with self._lock:
            self._cursors.clear()


def collection_page(
    items: Sequence[Any],
    cursor: Cursor,
    *,
    base_uri: str,
    tokens: ContinuationTokens,
) -> dict[str, Any]:
    """One page of `items` from `cursor`, linking to the next page when there is one.

    The links are relative to /v1, like the real service's, so a client must add the
    version prefix itself. totalCount counts this page only, which is what the real API
    reports for seek-based collections.
    """
    page = items[cursor.offset : cursor.offset + cursor.size]
    links: dict[str, Any] = {
        "self": {"uri": f"{base_uri}?size={cursor.size}", "method": "GET", "headers": []}
    }
    next_offset = cursor.offset + len(page)
    if next_offset < len(items):
        token = tokens.mint(
            Cursor(
                cursor.collection,
                cursor.size,
                next_offset,
                cursor.filter_field,
                cursor.filter_value,
            )
        )
        links["next"] = {
            "uri": f"{base_uri}?size={cursor.size}&seekOperation=next",
            "method": "GET",
            "headers": [{"key": "MS-ContinuationToken", "value": token}],
        }
    return {
        "totalCount": len(page),
        "items": page,
        "links": links,
        "attributes": {"objectType": "Collection"},
    }
