"""A `reset-batch` queue message: one per user, its JSON (reset_batches/queue.py sends
it).

A message names the batch and the item, whom to reset, how to deliver, the link's ID
(never its key), and who asked: the worker holds the caller to CALLER_POLICY as it stands
then and names it in the audit. No password, no key, no token: nothing in a message opens
anything, so the queue, its poison queue and the host's logs of them hold no secret.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reset_batches.records import BatchItem, RequestedUser
from reset_password.names import parse_customer, parse_user
from secret_links.crypto import is_link_id
from shared.caller_auth import Caller

MESSAGE_VERSION = 1


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
    # A link delivery names the link answered for the user, and only it names one.
    if (message.delivery == "link") != (message.link_id is not None) or not (
        message.link_id is None or is_link_id(message.link_id)
    ):
        raise MalformedMessage("the message's delivery and link do not agree")
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
