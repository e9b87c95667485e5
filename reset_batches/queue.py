"""The queue `reset-batch` in the app's storage account, through azure-storage-queue: the
queue the Functions host's queue trigger reads (host.json `messageEncoding`: base64).

It sends text it is handed (reset_batches/messages.py writes it) and knows nothing of
what the text means. Storage that cannot be reached is `DependencyUnavailable`; logs name
the failure's type, never the service's text.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable

logger = logging.getLogger("reset_batches.queue")

QUEUE_NAME = "reset-batch"
# Where the host moves a message after its last failed attempt (`<queue>-poison`).
POISON_QUEUE_NAME = f"{QUEUE_NAME}-poison"
# The host's connection setting prefix: AzureWebJobsStorage, or its __accountName form.
CONNECTION = "AzureWebJobsStorage"
SDK_RETRY_TOTAL = 2
SDK_RETRY_BACKOFF = 0.8


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
    `timeouts` (connect, read) bound each attempt. Raises ValueError for a malformed
    connection string, without quoting it."""
    connect, read = timeouts
    options: dict[str, Any] = {
        "message_encode_policy": TextBase64EncodePolicy(),
        "message_decode_policy": TextBase64DecodePolicy(),
        "retry_total": SDK_RETRY_TOTAL,
        "retry_backoff_factor": retry_backoff,
        "retry_backoff_max": 2,
        "connection_timeout": connect,
        "read_timeout": read,
        # A redirect would carry the request's authorization elsewhere.
        "permit_redirects": False,
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
        self._ready = False
        self._lock = threading.Lock()

    def close(self) -> None:
        self._queue.close()

    def send(self, text: str) -> None:
        try:
            self._ensure_queue()
            self._queue.send_message(text)
        except AzureError as exc:
            logger.warning("queue %s: sending failed (%s)", QUEUE_NAME, type(exc).__name__)
            raise DependencyUnavailable(
                f"Queue storage (queue {QUEUE_NAME}) could not be reached.",
                retry_after=DEPENDENCY_RETRY_AFTER,
            ) from None

    def _ensure_queue(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                with suppress(ResourceExistsError):
                    self._queue.create_queue()
                self._ready = True
