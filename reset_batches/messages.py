"""The queue `reset-batch`: one message per user, as the Functions host's queue trigger
reads it (base64 text, host.json `messageEncoding`), and its JSON.

A message names the batch and the item, whom to reset, how to deliver, the link's ID
(never its key), and who asked: the worker holds the caller to CALLER_POLICY as it stands
then and names it in the audit. No password, no key, no token: nothing in a message opens
anything, so the queue, its poison queue and the host's logs of them hold no secret.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from contextlib import suppress
from typing import Any, Literal

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reset_batches.records import BatchItem, RequestedUser
from reset_password.names import parse_customer, parse_user
from shared.caller_auth import Caller
from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable

logger = logging.getLogger("reset_batches.queue")

QUEUE_NAME = "reset-batch"
# Where the host moves a message after its last failed attempt (`<queue>-poison`).
POISON_QUEUE_NAME = f"{QUEUE_NAME}-poison"
# The host's connection setting prefix: AzureWebJobsStorage, or its __accountName form.
CONNECTION = "AzureWebJobsStorage"
MESSAGE_VERSION = 1
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 10
SDK_RETRY_TOTAL = 2
SDK_RETRY_BACKOFF = 0.8


class MalformedMessage(Exception):
    """A message this worker cannot read (it names what, never the content)."""


class _Caller(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    kind: str
    app_id: str | None = Field(alias="appId")
    object_id: str | None = Field(alias="objectId")
    name: str | None


class ItemMessage(BaseModel):
    """The message's JSON: field names as the audit spells them."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    version: Literal[1] = Field(alias="v")
    batch_id: str = Field(alias="batchId")
    index: int = Field(ge=0)
    customer: str
    user: str
    delivery: Literal["none", "link"]
    link_id: str | None = Field(alias="linkId")
    revoke_sessions: bool = Field(alias="revokeSessions")
    ticket_id: str | None = Field(alias="ticketId")
    requested_by: str | None = Field(alias="requestedBy")
    caller: _Caller
    correlation_id: uuid.UUID = Field(alias="correlationId")


def encode_item(item: BatchItem) -> str:
    """The message text (the queue client base64-encodes it, as the host expects)."""
    caller = item.caller
    body: dict[str, Any] = {
        "v": MESSAGE_VERSION,
        "batchId": item.batch_id,
        "index": item.index,
        "customer": item.customer.requested,
        "user": item.user.sent,
        "delivery": item.delivery,
        "linkId": item.link_id,
        "revokeSessions": item.revoke_sessions,
        "ticketId": item.ticket_id,
        "requestedBy": item.requested_by,
        "caller": {
            "kind": caller.kind,
            "appId": caller.app_id,
            "objectId": caller.object_id,
            "name": caller.name,
        },
        "correlationId": str(item.correlation_id),
    }
    return json.dumps(body, separators=(",", ":"))


def decode_item(text: str | bytes) -> BatchItem:
    """The item a message names; MalformedMessage for anything this code never wrote. The
    names are parsed again with the single reset's rules: a message is input too."""
    try:
        message = ItemMessage.model_validate_json(text)
    except ValidationError:
        raise MalformedMessage("the message is not a batch item this function wrote") from None
    customer = parse_customer(message.customer)
    user = parse_user(message.user)
    if customer is None or user is None:
        raise MalformedMessage("the message names a customer or user the rules refuse")
    sent = message.caller
    return BatchItem(
        batch_id=message.batch_id,
        index=message.index,
        customer=customer,
        user=RequestedUser(message.user, user),
        delivery=message.delivery,
        link_id=message.link_id,
        revoke_sessions=message.revoke_sessions,
        ticket_id=message.ticket_id,
        requested_by=message.requested_by,
        caller=Caller(kind=sent.kind, app_id=sent.app_id, object_id=sent.object_id, name=sent.name),
        correlation_id=message.correlation_id,
    )


def open_queue(
    *,
    connection_string: str | None = None,
    endpoint: str | None = None,
    credential: TokenCredential | None = None,
    queue_name: str = QUEUE_NAME,
    retry_backoff: float = SDK_RETRY_BACKOFF,
) -> QueueClient:
    """The queue client, from a connection string (Azurite) or an account endpoint and a
    credential (the managed identity), encoding as the host's trigger decodes (base64).
    Raises ValueError for a malformed connection string, without quoting it."""
    options: dict[str, Any] = {
        "message_encode_policy": TextBase64EncodePolicy(),
        "message_decode_policy": TextBase64DecodePolicy(),
        "retry_total": SDK_RETRY_TOTAL,
        "retry_backoff_factor": retry_backoff,
        "retry_backoff_max": 2,
        "connection_timeout": CONNECT_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
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
    """Sends one message per item; the queue is created on first use where the infra has
    not made it (Azurite)."""

    def __init__(self, queue: QueueClient) -> None:
        self._queue = queue
        self._ready = False
        self._lock = threading.Lock()

    def close(self) -> None:
        self._queue.close()

    def send(self, item: BatchItem) -> None:
        try:
            self._ensure_queue()
            self._queue.send_message(encode_item(item))
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
