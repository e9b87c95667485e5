"""A batch's queue message is input too: the worker reads only what this function wrote,
and a link delivery always names the link answered for its user."""

from __future__ import annotations

import json
import uuid

import pytest

from reset_batches.messages import MalformedMessage, decode_item, encode_item
from reset_batches.records import BatchItem, RequestedUser
from reset_password.names import CustomerRef, UserRef
from secret_links.crypto import new_link
from shared.caller_auth import Caller

CUSTOMER = "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
USER = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def item(delivery: str = "link", link_id: str | None = "") -> BatchItem:
    return BatchItem(
        batch_id=str(uuid.uuid4()),
        index=3,
        customer=CustomerRef(tenant_id=CUSTOMER),
        user=RequestedUser(USER, UserRef(object_id=USER)),
        delivery="link" if delivery == "link" else "none",
        link_id=new_link().link_id if link_id == "" else link_id,
        revoke_sessions=True,
        ticket_id="INC1",
        requested_by="Ada",
        caller=Caller(),
        correlation_id=uuid.uuid4(),
    )


def test_an_item_reads_back_as_it_was_written() -> None:
    written = item()
    assert decode_item(encode_item(written)) == written


@pytest.mark.parametrize(
    ("delivery", "link_id"),
    [("link", None), ("none", "A" * 22), ("link", "not-a-link-id")],
    ids=["link-without-link", "scramble-with-link", "malformed-link"],
)
def test_a_delivery_and_a_link_that_disagree_are_refused(delivery: str, link_id: str) -> None:
    body = json.loads(encode_item(item()))
    body.update(delivery=delivery, linkId=link_id)
    with pytest.raises(MalformedMessage):
        decode_item(json.dumps(body))


def test_a_message_with_a_password_is_refused_without_quoting_it() -> None:
    body = json.loads(encode_item(item()))
    body["password"] = "Never-Shown-42!"
    with pytest.raises(MalformedMessage) as caught:
        decode_item(json.dumps(body))
    assert "Never-Shown-42!" not in str(caught.value)
