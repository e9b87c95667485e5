"""The queue `reset-batch` in the app's storage account, through azure-storage-queue: the
queue the Functions host's queue trigger reads (host.json `messageEncoding`: base64).

It sends text it is handed (reset_batches/messages.py writes it) and knows nothing of
what the text means. Storage that cannot be reached is `DependencyUnavailable`; logs name
the failure's type, never the service's text. Every attempt the SDK makes is bounded by
the deadline of the request under way (shared/storage.py), so a queue that hangs cannot
hold a batch's acceptance past its deadline.
"""

from __future__ import annotations

import logging
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable
from shared.storage import SDK_RETRY_BACKOFF, CreatedOnce, client_options

logger = logging.getLogger("reset_batches.queue")

QUEUE_NAME = "reset-batch"
# Where the host moves a message after its last failed attempt (`<queue>-poison`).
POISON_QUEUE_NAME = f"{QUEUE_NAME}-poison"
# The host's connection setting prefix: AzureWebJobsStorage, or its __accountName form.
CONNECTION = "AzureWebJobsStorage"


def open_queue(
    *,
    connection_string: str | None = None,
    endpoint: str | None = None,
    credential: TokenCredential | None = None,
    timeouts: tuple[float, float],
    queue_name: str = QUEUE_NAME,
    retry_backoff: float = SDK_RETRY_BACKOFF,
) -> QueueClient:
    """The queue client, from a connection string (Azurite) or an account endpoint and a
    credential (the managed identity), encoding as the host's trigger decodes (base64);
    `timeouts` (connect, read) bound each attempt, the request's deadline all of them.
    Raises ValueError for a malformed connection string, without quoting it."""
    options: dict[str, Any] = {
        "message_encode_policy": TextBase64EncodePolicy(),
        "message_decode_policy": TextBase64DecodePolicy(),
        **client_options(timeouts, retry_backoff),
    }
    if connection_string is not None:
        try:
            return QueueClient.from_connection_string(
                connection_string, queue_name=queue_name, **options
            )
        except (ValueError, TypeError, KeyError):
            raise ValueError("not a storage connection string") from None
    if endpoint is None or credential is None:
        raise ValueError("a queue needs a connection string, or an endpoint and a credential")
    return QueueClient(endpoint, queue_name, credential=credential, **options)


class BatchQueue:
    """Sends one message; the queue is created on first use where the infra has not made
    it (Azurite)."""

    def __init__(self, queue: QueueClient) -> None:
        self._queue = queue
        self._created = CreatedOnce(queue.create_queue)

    def close(self) -> None:
        self._queue.close()

    def send(self, text: str) -> None:
        try:
            self._created.ensure()
            self._queue.send_message(text)
        except AzureError as exc:
            logger.warning("queue %s: sending failed (%s)", QUEUE_NAME, type(exc).__name__)
            raise DependencyUnavailable(
                f"Queue storage (queue {QUEUE_NAME}) could not be reached.",
                retry_after=DEPENDENCY_RETRY_AFTER,
            ) from None
