"""`GET /api/batches/{batchId}`: counts, and the items a page at a time.

A page holds at most 200 items; `nextLink` names the next one while there is one. The
page number it carries is checked against the batch like any input: anything but a page
this batch has is a 400, never quietly the first page.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from reset_batches.store import BatchCounts, BatchRecord, ItemRecord
from shared.errors import InvalidRequest

PAGE_SIZE = 200
PAGE_PARAMETER = "page"
KNOWN_QUERY_PARAMETERS = frozenset({PAGE_PARAMETER})
_PAGE = re.compile(r"^[1-9][0-9]{0,3}$")


def batch_path(batch_id: str) -> str:
    return f"/api/batches/{batch_id}"


def parse_batch_id(value: str | None) -> str | None:
    """The batch ID in its one form (a lower-case GUID with dashes), else None."""
    if value is None or len(value) != 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def last_page(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def page_number(query: Mapping[str, str], total: int) -> int:
    text = query.get(PAGE_PARAMETER)
    if text is None:
        return 1
    if not _PAGE.fullmatch(text) or int(text) > last_page(total):
        message = "is not a page of this batch: follow nextLink"
        raise InvalidRequest(
            f"The query parameter {PAGE_PARAMETER} {message}.",
            errors=[{"field": PAGE_PARAMETER, "message": message}],
        )
    return int(text)


def render_status(
    record: BatchRecord,
    counts: BatchCounts,
    items: Sequence[ItemRecord],
    page: int,
    base_url: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "batchId": record.batch_id,
        "status": "completed" if counts.pending == 0 else "running",
        "total": record.total,
        "succeeded": counts.succeeded,
        "failed": counts.failed,
        "pending": counts.pending,
        "items": [
            {
                "index": item.index,
                "user": item.user,
                "userId": item.user_id,
                "status": item.status,
                "code": item.code,
                "sessionsRevoked": item.sessions_revoked,
            }
            for item in items
        ],
    }
    if page < last_page(record.total):
        body["nextLink"] = f"{base_url}{batch_path(record.batch_id)}?{PAGE_PARAMETER}={page + 1}"
    return body
