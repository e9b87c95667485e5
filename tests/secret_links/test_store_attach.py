"""A link made before its user's IDs were known (a batch's) is filed under them once the
lookups named them: the user's index holds it, so links retire one another as for a
single reset, and its reveal names the real IDs."""

from __future__ import annotations

from typing import Any

import pytest
from azure.data.tables import TableClient

from secret_links.crypto import LinkKey, new_link, seal
from secret_links.errors import SecretGone
from secret_links.store import SecretLinkStore
from tests.secret_links.conftest import CUSTOMER, TTL, USER, ManualClock

NIL = "00000000-0000-0000-0000-000000000000"
PASSWORD = "Attach-Spec-Pw-42!"


def made_unfiled(store: SecretLinkStore) -> LinkKey:
    link = new_link()
    store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=NIL)
    return link


def index_rows(table: TableClient) -> list[tuple[str, str]]:
    rows: list[dict[str, Any]] = [dict(e) for e in table.list_entities()]
    return sorted((r["PartitionKey"], r["RowKey"]) for r in rows if r["RowKey"] != "link")


def test_attach_files_the_link_under_the_users_ids_and_answers_its_public_key(
    store: SecretLinkStore, table: TableClient
) -> None:
    link = made_unfiled(store)

    attached = store.attach(link.link_id, customer_id=CUSTOMER, user_id=USER)
    assert attached.public_point == link.public_point

    assert index_rows(table) == [(f"user_{CUSTOMER}_{USER}", link.link_id)]
    sealed = seal(PASSWORD, link_id=link.link_id, public_point=link.public_point)
    store.store_sealed(link.link_id, sealed)
    revealed = store.reveal(link.link_id)
    assert (revealed.customer_id, revealed.user_id) == (CUSTOMER, USER)


def test_an_attached_link_retires_the_users_older_links(
    store: SecretLinkStore, clock: ManualClock
) -> None:
    older = made_unfiled(store)
    store.attach(older.link_id, customer_id=CUSTOMER, user_id=USER)
    clock.advance(1)
    newer = made_unfiled(store)
    store.attach(newer.link_id, customer_id=CUSTOMER, user_id=USER)

    deleted = store.delete_older_links(customer_id=CUSTOMER, user_id=USER, link_id=newer.link_id)

    assert deleted == 1 and store.status(older.link_id) is None


def test_a_link_is_dated_when_it_is_attached_not_when_it_was_made(
    store: SecretLinkStore, clock: ManualClock
) -> None:
    # Made first, reset last (a batch's user whose turn came after a single reset): it
    # opens the password set last, so it is the one that stays.
    batch_link = made_unfiled(store)
    clock.advance(1)
    single = new_link()
    store.create_pending(single.link_id, single.public_point, customer_id=CUSTOMER, user_id=USER)
    clock.advance(1)
    store.attach(batch_link.link_id, customer_id=CUSTOMER, user_id=USER)

    store.delete_older_links(customer_id=CUSTOMER, user_id=USER, link_id=batch_link.link_id)

    assert store.status(single.link_id) is None
    assert store.status(batch_link.link_id) is not None


def test_attaching_again_keeps_one_index_row(store: SecretLinkStore, table: TableClient) -> None:
    link = made_unfiled(store)
    store.attach(link.link_id, customer_id=CUSTOMER, user_id=USER)
    store.attach(link.link_id, customer_id=CUSTOMER, user_id=USER)
    assert index_rows(table) == [(f"user_{CUSTOMER}_{USER}", link.link_id)]


def test_an_expired_link_cannot_be_attached(store: SecretLinkStore, clock: ManualClock) -> None:
    link = made_unfiled(store)
    clock.advance(TTL.total_seconds())
    with pytest.raises(SecretGone):
        store.attach(link.link_id, customer_id=CUSTOMER, user_id=USER)


def test_a_withdrawn_link_cannot_be_attached(store: SecretLinkStore) -> None:
    link = made_unfiled(store)
    store.delete_pending(link.link_id)
    with pytest.raises(SecretGone):
        store.attach(link.link_id, customer_id=CUSTOMER, user_id=USER)
