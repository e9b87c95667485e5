"""The queue-triggered worker: one message, one user (contract 1d).

The Functions host runs it as the Storage queue extension does (host.json
`extensions.queues`): a message whose function returns is deleted; one whose function
raises is made visible again after `visibilityTimeout`, and after its `maxDequeueCount`th
failed attempt it is moved to `reset-batch-poison` instead. So the worker:

- finds the item's row; one already final (`succeeded`, or `failed`) is done: a message
  delivered again makes no second reset (which would set a password no link opens, or
  reset a user the batch gave up on);
- runs the reset step (the reset service of a single reset: reset_batches/step.py),
  which resets, stores the sealed password (the last confirmed reset's, over any an
  earlier attempt stored) and retires the user's older links;
- success: marks the row `succeeded` (with the code of a caveat, if any), returns. A
  worker that dies before this leaves the row pending: the message comes back and its
  next attempt is a whole new reset, sealed to the same link;
- a refusal (4xx: `protected_user`, `user_not_found`, `forbidden`, `secret_gone`...):
  marks the row `failed` with its code, withdraws the user's link (it reads as gone, not
  as not ready) and returns: trying again cannot change the answer;
- throttling or a server-side failure (429, 5xx): before the last attempt, keeps the row
  `pending` with the code (the caller sees `throttled`) and raises `RetryLater`, so the
  host tries again after its visibility timeout; on the last attempt
  (`dequeue_count >= maxDequeueCount`) marks the row `failed` with that code, withdraws
  the link, then raises `GaveUp`, so the host moves the message to the poison queue: the
  row is final and the message is kept for an operator.

The step's own retries (Partner Center's Retry-After inside the reset's deadline) come
first; the queue's visibility timeout is the longer wait between whole attempts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import azure.functions as func

from reset_batches.errors import batch_problem
from reset_batches.links import BatchLinks
from reset_batches.messages import MalformedMessage, decode_item
from reset_batches.records import BatchItem, ItemOutcome
from reset_batches.store import BatchStore
from shared.context import Deadline, request_scope
from shared.errors import DomainError
from shared.unexpected import unexpected_error

logger = logging.getLogger("reset_batches.worker")

# host.json extensions.queues.maxDequeueCount (a spec holds the two together).
MAX_DEQUEUE_COUNT = 5


class ResetStep(Protocol):
    """Resets one item's user and delivers its password (the link, for `link`)."""

    def reset_one(self, item: BatchItem) -> ItemOutcome: ...


class RetryLater(Exception):
    """Raised so the host makes the message visible again after its visibility timeout."""


class GaveUp(Exception):
    """Raised on the last attempt so the host moves the message to the poison queue."""


def outcome_of(error: DomainError) -> ItemOutcome:
    """A domain error as an item's outcome: its code and status from the one table."""
    problem = batch_problem(error)
    return ItemOutcome.failed(problem.code, problem.status, retry_after=error.retry_after)


def dequeue_count(message: func.QueueMessage) -> int:
    """The host's count of deliveries, this one included (1 when a caller gives none)."""
    count = getattr(message, "dequeue_count", None)
    return count if isinstance(count, int) and count >= 1 else 1


class BatchWorker:
    def __init__(
        self,
        store: BatchStore,
        step: ResetStep,
        links: BatchLinks,
        *,
        deadline_seconds: float,
        deadline_clock: Callable[[], float],
        max_dequeue_count: int = MAX_DEQUEUE_COUNT,
    ) -> None:
        self._store = store
        self._step = step
        self._links = links
        self._deadline_seconds = deadline_seconds
        self._deadline_clock = deadline_clock
        self._max_dequeue_count = max_dequeue_count

    def handle(self, message: func.QueueMessage) -> None:
        try:
            item = decode_item(message.get_body())
        except MalformedMessage as malformed:
            # Never right on another try either, but the poison queue is where an
            # operator looks: raise, and the host puts it there after its last attempt.
            logger.error("batch message %s refused: %s", message.id, malformed)
            raise
        deadline = Deadline(self._deadline_seconds, clock=self._deadline_clock)
        with request_scope(item.correlation_id, deadline):
            self._run(item, dequeue_count(message))

    def _run(self, item: BatchItem, attempt: int) -> None:
        row = self._store.item(item.batch_id, item.index)
        if row is None:
            logger.error(
                "batch %s item %d: no such row; the message is dropped", item.batch_id, item.index
            )
            return
        if row.status != "pending":
            logger.info(
                "batch %s item %d is %s already: not reset again",
                item.batch_id,
                item.index,
                row.status,
            )
            return
        outcome = self._attempt(item)
        if outcome.status == "succeeded":
            assert outcome.user_id is not None, "a reset that succeeded names its user"
            self._store.mark_succeeded(
                item.batch_id,
                item.index,
                outcome.user_id,
                outcome.sessions_revoked,
                outcome.code,
                etag=row.etag,
            )
            logger.info("batch %s item %d succeeded", item.batch_id, item.index)
            return
        code = outcome.code or "internal_error"
        last = attempt >= self._max_dequeue_count
        if outcome.retryable and not last:
            self._store.mark_retrying(item.batch_id, item.index, code, etag=row.etag)
            logger.warning(
                "batch %s item %d: %s on attempt %d of %d, to be tried again",
                item.batch_id,
                item.index,
                code,
                attempt,
                self._max_dequeue_count,
            )
            raise RetryLater(f"{code} on attempt {attempt}")
        self._give_up(item, code, outcome.user_id, row.etag)
        if outcome.retryable:
            raise GaveUp(f"{code} on the last attempt ({attempt})")

    def _give_up(self, item: BatchItem, code: str, user_id: str | None, etag: str | None) -> None:
        """The row is final, `failed` with its code; the user's link, never to be sealed
        now, goes (one an earlier attempt sealed holds a confirmed password and stays)."""
        self._store.mark_failed(item.batch_id, item.index, code, user_id, etag=etag)
        if item.link_id is not None:
            self._links.withdraw(item.link_id)
        logger.warning("batch %s item %d failed: %s", item.batch_id, item.index, code)

    def _attempt(self, item: BatchItem) -> ItemOutcome:
        try:
            return self._step.reset_one(item)
        except DomainError as error:
            return outcome_of(error)
        except Exception as error:  # noqa: BLE001 - a bug is one item's internal_error
            return outcome_of(unexpected_error(error, logger=logger, during="batch item"))
