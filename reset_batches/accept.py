"""Accepting a validated batch: its links, its rows, then one message per user.

In that order, so that nothing runs for a batch that cannot be read: a link's pending row
exists before its item can run, and every row before any message is sent. A storage
failure before the first message is the caller's 503 with nothing queued (the links made
are withdrawn). A message that cannot be sent once others were fails its item
(`dependency_unavailable`, link withdrawn) and the batch is answered with the rest: the
caller reads which in the batch's status; a 503 then would invite a second batch that
resets the same users again.

Links, rows and messages are written a few at a time side by side: a thousand users
take a few seconds, not a thousand round trips in a row.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from reset_batches.links import BatchLinks
from reset_batches.messages import encode_item
from reset_batches.queue import BatchQueue
from reset_batches.records import BatchItem, BatchOrder
from reset_batches.store import BatchRecord, BatchStore
from reset_password.records import IssuedLink
from shared.caller_auth import Caller
from shared.context import in_current_context
from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable, DomainError

logger = logging.getLogger("reset_batches.accept")

# Storage calls in flight at once for one batch.
PARALLEL_CALLS = 8
NOT_QUEUED_CODE = "dependency_unavailable"

_In = TypeVar("_In")
_Out = TypeVar("_Out")


@dataclass(frozen=True)
class AcceptedItem:
    index: int
    user: str
    link: IssuedLink | None
    queued: bool


@dataclass(frozen=True)
class AcceptedBatch:
    batch_id: str
    accepted_at: datetime
    items: tuple[AcceptedItem, ...]

    @property
    def queued(self) -> int:
        return sum(1 for item in self.items if item.queued)


class BatchAcceptance:
    def __init__(
        self,
        store: BatchStore,
        queue: BatchQueue,
        links: BatchLinks,
        *,
        clock: Callable[[], float],
        parallel_calls: int = PARALLEL_CALLS,
    ) -> None:
        self._store = store
        self._queue = queue
        self._links = links
        self._clock = clock
        self._parallel = parallel_calls

    def close(self) -> None:
        self._queue.close()

    def accept(self, order: BatchOrder, caller: Caller, correlation_id: uuid.UUID) -> AcceptedBatch:
        batch_id = str(uuid.uuid4())
        accepted_at = datetime.fromtimestamp(self._clock(), UTC).replace(microsecond=0)
        links = self._issue_links(order)
        record = BatchRecord(
            batch_id=batch_id,
            caller_key=caller.key,
            customer=order.customer_sent,
            total=len(order.users),
            accepted_at=accepted_at,
            delivery=order.delivery,
        )
        try:
            self._store.create(record, [user.sent for user in order.users])
        except DomainError:
            self._withdraw(links)
            raise
        items = [
            BatchItem(
                batch_id=batch_id,
                index=index,
                customer=order.customer,
                user=user,
                delivery=order.delivery,
                link_id=None if link is None else link.link_id,
                revoke_sessions=order.revoke_sessions,
                ticket_id=order.ticket_id,
                requested_by=order.requested_by,
                caller=caller,
                correlation_id=correlation_id,
            )
            for index, (user, link) in enumerate(zip(order.users, links, strict=True))
        ]
        sent = self._map(self._send, items)
        if not any(sent):
            self._withdraw(links)
            raise DependencyUnavailable(
                "Queue storage could not be reached: no user of the batch was queued.",
                retry_after=DEPENDENCY_RETRY_AFTER,
            )
        self._fail_unsent(batch_id, links, sent)
        return AcceptedBatch(
            batch_id,
            accepted_at,
            tuple(
                AcceptedItem(index, user.sent, link if queued else None, queued)
                for index, (user, link, queued) in enumerate(
                    zip(order.users, links, sent, strict=True)
                )
            ),
        )

    def _issue_links(self, order: BatchOrder) -> list[IssuedLink | None]:
        if order.delivery != "link":
            return [None] * len(order.users)
        made = self._map(
            lambda user: _attempt(lambda: self._links.issue(order.customer, user.ref)),
            order.users,
        )
        failed = next((link for link in made if isinstance(link, DomainError)), None)
        if failed is not None:
            self._withdraw([link for link in made if isinstance(link, IssuedLink)])
            if not isinstance(failed, DependencyUnavailable):
                raise failed
            raise DependencyUnavailable(
                "Table storage (table secretlinks) could not be reached: no link was made.",
                retry_after=DEPENDENCY_RETRY_AFTER,
            )
        return [link if isinstance(link, IssuedLink) else None for link in made]

    def _send(self, item: BatchItem) -> bool:
        try:
            self._queue.send(encode_item(item))
        except DomainError:
            return False
        return True

    def _fail_unsent(
        self, batch_id: str, links: Sequence[IssuedLink | None], sent: Sequence[bool]
    ) -> None:
        for index, (link, queued) in enumerate(zip(links, sent, strict=True)):
            if queued:
                continue
            if link is not None:
                self._links.withdraw(link.link_id)
            try:
                self._store.mark_failed(batch_id, index, NOT_QUEUED_CODE)
            except DomainError:
                logger.error("batch %s item %d was not queued and stays pending", batch_id, index)

    def _withdraw(self, links: Sequence[IssuedLink | None]) -> None:
        made = [link.link_id for link in links if link is not None]
        self._map(self._links.withdraw, made)

    def _map(self, function: Callable[[_In], _Out], values: Sequence[_In]) -> list[_Out]:
        """`function` over `values`, a few at a time, in this request's context (its log
        lines carry the correlation ID); results in the order of `values`."""
        if len(values) <= 1:
            return [function(value) for value in values]
        workers = min(self._parallel, len(values))
        with ThreadPoolExecutor(workers, thread_name_prefix="batch-accept") as pool:
            # A copy of the context per call: one context cannot be entered by two
            # threads at once.
            futures = [pool.submit(in_current_context(function), value) for value in values]
            return [future.result() for future in futures]


def _attempt(make: Callable[[], IssuedLink]) -> IssuedLink | DomainError:
    try:
        return make()
    except DomainError as error:
        return error
