"""The `batches` table: what became of each batch, for its caller to read.

One partition per batch (PartitionKey = the batch ID):

- the batch row, RowKey `batch`: `CallerKey` (who may read it), `Customer` (as sent),
  `Total`, `AcceptedAt`, `Delivery`. Written last when a batch is accepted, so a batch
  that can be read has every item row.
- an item row per user, RowKey `item0000`..`item0999` (the index, zero-padded so the keys
  sort as the indexes do): `Index`, `User` (as sent), `UserId` once known, `Status`
  (pending, succeeded, failed), `Code` (the contract's code of the last failure; kept
  while a pending item is retried), `SessionsRevoked`.

No row holds a password, a key or a link: the worker seals the password to the link in
the `secretlinks` table. Storage that cannot be reached is `DependencyUnavailable`;
messages and logs name the failure's type, never the service's text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable
from shared.storage import CreatedOnce

logger = logging.getLogger("reset_batches.store")

Delivery = Literal["none", "link"]
ItemStatus = Literal["pending", "succeeded", "failed"]

TABLE_NAME = "batches"
BATCH_ROW = "batch"
_ITEM_PREFIX = "item"
# Table storage takes at most 100 operations in one transaction.
TRANSACTION_SIZE = 100
# A row changed under an update this often in a row is left to the message's next try.
UPDATE_ATTEMPTS = 5


def item_key(index: int) -> str:
    return f"{_ITEM_PREFIX}{index:04d}"


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    caller_key: str
    customer: str
    total: int
    accepted_at: datetime
    delivery: Delivery


@dataclass(frozen=True)
class ItemRecord:
    index: int
    user: str
    user_id: str | None
    status: ItemStatus
    code: str | None
    sessions_revoked: bool | None
    # The row's version when read: an update conditional on it needs no second read.
    etag: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class BatchCounts:
    succeeded: int
    failed: int
    pending: int


@contextmanager
def _reaching_storage(action: str) -> Iterator[None]:
    try:
        yield
    except AzureError as exc:
        logger.warning("batches table: %s failed (%s)", action, type(exc).__name__)
        raise DependencyUnavailable(
            f"Table storage (table {TABLE_NAME}) could not be reached.",
            retry_after=DEPENDENCY_RETRY_AFTER,
        ) from None


class BatchStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._created = CreatedOnce(table.create_table)

    def close(self) -> None:
        self._table.close()

    # -- the route's side ---------------------------------------------------------------

    def create(self, batch: BatchRecord, users: Sequence[str]) -> None:
        """The item rows, all pending, then the batch row that makes them readable."""
        items = [
            {
                "PartitionKey": batch.batch_id,
                "RowKey": item_key(index),
                "Index": index,
                "User": user,
                "Status": "pending",
            }
            for index, user in enumerate(users)
        ]
        with _reaching_storage("creating a batch"):
            self._created.ensure()
            for start in range(0, len(items), TRANSACTION_SIZE):
                chunk = items[start : start + TRANSACTION_SIZE]
                self._table.submit_transaction([("create", entity) for entity in chunk])
            self._table.create_entity(
                {
                    "PartitionKey": batch.batch_id,
                    "RowKey": BATCH_ROW,
                    "CallerKey": batch.caller_key,
                    "Customer": batch.customer,
                    "Total": batch.total,
                    "AcceptedAt": batch.accepted_at,
                    "Delivery": batch.delivery,
                }
            )

    def batch(self, batch_id: str) -> BatchRecord | None:
        entity = self._read(batch_id, BATCH_ROW)
        if entity is None:
            return None
        return BatchRecord(
            batch_id=batch_id,
            caller_key=str(entity["CallerKey"]),
            customer=str(entity["Customer"]),
            total=int(entity["Total"]),
            accepted_at=cast(datetime, entity["AcceptedAt"]),
            delivery=cast(Delivery, str(entity["Delivery"])),
        )

    def items(self, batch_id: str, start: int, count: int) -> list[ItemRecord]:
        """Items `start` to `start + count - 1`, in index order."""
        with _reaching_storage("reading a batch"):
            rows = self._table.query_entities(
                "PartitionKey eq @batch and RowKey ge @first and RowKey lt @after",
                parameters={
                    "batch": batch_id,
                    "first": item_key(start),
                    "after": item_key(start + count),
                },
            )
            return sorted((_item(row) for row in rows), key=lambda item: item.index)

    def counts(self, batch_id: str) -> BatchCounts:
        """How many items are where (one partition read of the status alone)."""
        tally = {"succeeded": 0, "failed": 0, "pending": 0}
        with _reaching_storage("counting a batch"):
            for row in self._table.query_entities(
                "PartitionKey eq @batch and RowKey gt @prefix",
                parameters={"batch": batch_id, "prefix": _ITEM_PREFIX},
                select=["Status"],
            ):
                status = str(row.get("Status"))
                tally[status if status in tally else "pending"] += 1
        return BatchCounts(**tally)

    # -- the worker's side --------------------------------------------------------------

    def item(self, batch_id: str, index: int) -> ItemRecord | None:
        entity = self._read(batch_id, item_key(index))
        return None if entity is None else _item(entity)

    def mark_succeeded(
        self,
        batch_id: str,
        index: int,
        user_id: str,
        sessions_revoked: bool | None,
        code: str | None = None,
        *,
        etag: str | None = None,
    ) -> None:
        """The reset was confirmed: always recorded, whatever an earlier try wrote.
        `code`: what did not work after it (`sessions_not_revoked`), if anything. `etag`:
        the row's version as the worker read it (each mark takes one)."""
        fields: dict[str, Any] = {"Status": "succeeded", "Code": code or "", "UserId": user_id}
        if sessions_revoked is not None:
            fields["SessionsRevoked"] = sessions_revoked
        self._update(batch_id, index, fields, keep_succeeded=False, etag=etag)

    def mark_failed(
        self,
        batch_id: str,
        index: int,
        code: str,
        user_id: str | None = None,
        *,
        etag: str | None = None,
    ) -> bool:
        """Given up on, with its code; False (nothing written) when it had succeeded."""
        fields: dict[str, Any] = {"Status": "failed", "Code": code}
        if user_id is not None:
            fields["UserId"] = user_id
        return self._update(batch_id, index, fields, keep_succeeded=True, etag=etag)

    def mark_retrying(
        self, batch_id: str, index: int, code: str, *, etag: str | None = None
    ) -> bool:
        """Still pending, to be tried again: the caller sees why (`throttled`, say)."""
        fields = {"Status": "pending", "Code": code}
        return self._update(batch_id, index, fields, keep_succeeded=True, etag=etag)

    # -- inside -------------------------------------------------------------------------

    def _update(
        self,
        batch_id: str,
        index: int,
        fields: dict[str, Any],
        *,
        keep_succeeded: bool,
        etag: str | None,
    ) -> bool:
        """Merge `fields` into the item's row, conditional on the row read: a failure
        never overwrites a success that another delivery of the message recorded. With
        `etag` (a pending row's, as the worker read it) the first try is made on it: a
        row changed since is read again."""
        for _ in range(UPDATE_ATTEMPTS):
            if etag is None:
                entity = self._read(batch_id, item_key(index))
                if entity is None:
                    raise ValueError(f"batch item {index} has no row")
                if keep_succeeded and entity.get("Status") == "succeeded":
                    return False
                etag = str(entity.metadata["etag"])
            with _reaching_storage("updating a batch item"):
                try:
                    self._table.update_entity(
                        {"PartitionKey": batch_id, "RowKey": item_key(index), **fields},
                        mode=UpdateMode.MERGE,
                        etag=etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                except ResourceModifiedError:
                    etag = None
                    continue
            return True
        raise DependencyUnavailable(
            f"Table storage (table {TABLE_NAME}): a batch item kept changing.",
            retry_after=DEPENDENCY_RETRY_AFTER,
        )

    def _read(self, batch_id: str, row: str) -> TableEntity | None:
        with _reaching_storage("reading a batch"):
            try:
                return self._table.get_entity(batch_id, row)
            except ResourceNotFoundError:
                # The row, or the whole table before the first batch.
                return None


def _item(entity: TableEntity) -> ItemRecord:
    status = str(entity.get("Status", "pending"))
    revoked = entity.get("SessionsRevoked")
    user_id = entity.get("UserId")
    return ItemRecord(
        index=int(entity["Index"]),
        user=str(entity["User"]),
        user_id=str(user_id) if user_id else None,
        status=cast(ItemStatus, status if status in {"succeeded", "failed"} else "pending"),
        code=str(entity.get("Code") or "") or None,
        sessions_revoked=revoked if isinstance(revoked, bool) else None,
        etag=str(entity.metadata["etag"]),
    )
