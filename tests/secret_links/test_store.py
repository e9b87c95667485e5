"""The secretlinks table on Azurite: a link from its pending row to its one reveal."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.data.tables import TableClient

from composition import TIMINGS
from secret_links.crypto import SealedPassword, new_link, seal
from secret_links.errors import SecretGone, SecretNotReady
from secret_links.store import TABLE_NAME, LinkState, RevealedLink, SecretLinkStore
from shared.errors import DependencyUnavailable
from shared.storage import open_table
from tests.secret_links.conftest import CUSTOMER, OTHER_USER, TTL, USER, ManualClock

PASSWORD = "Store-Spec-Pw-42!"


def _ready(store: SecretLinkStore, user: str = USER) -> tuple[str, SealedPassword]:
    link = new_link()
    store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=user)
    sealed = seal(PASSWORD, link_id=link.link_id, public_point=link.public_point)
    store.store_sealed(link.link_id, sealed)
    return link.link_id, sealed


def _rows(table: TableClient) -> list[dict[str, Any]]:
    return [dict(entity) for entity in table.list_entities()]


def test_a_new_link_is_pending_until_its_password_is_stored(store: SecretLinkStore) -> None:
    link = new_link()
    pending = store.create_pending(
        link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER
    )
    assert pending.link_id == link.link_id
    assert store.status(link.link_id) is LinkState.PENDING
    assert store.public_point(link.link_id) == link.public_point


def test_the_expiry_is_the_ttl_from_now(store: SecretLinkStore, clock: ManualClock) -> None:
    link = new_link()
    pending = store.create_pending(
        link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER
    )
    assert pending.expires_at == datetime.fromtimestamp(clock.now(), UTC) + TTL


def test_a_pending_link_is_not_ready_and_stays_usable(store: SecretLinkStore) -> None:
    link = new_link()
    store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER)
    with pytest.raises(SecretNotReady) as caught:
        store.reveal(link.link_id)
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    sealed = seal(PASSWORD, link_id=link.link_id, public_point=link.public_point)
    store.store_sealed(link.link_id, sealed)
    assert store.reveal(link.link_id).sealed == sealed


def test_a_ready_link_reveals_its_password_and_owner_once(store: SecretLinkStore) -> None:
    link_id, sealed = _ready(store)
    assert store.reveal(link_id) == RevealedLink(link_id, CUSTOMER, USER, sealed)
    with pytest.raises(SecretGone):
        store.reveal(link_id)
    assert store.status(link_id) is None


def test_an_unknown_link_is_gone(store: SecretLinkStore) -> None:
    with pytest.raises(SecretGone):
        store.reveal(new_link().link_id)
    assert store.status(new_link().link_id) is None


def test_a_link_without_a_table_yet_is_gone(store: SecretLinkStore) -> None:
    # The table is made on the first link: before it, every link is simply unknown.
    with pytest.raises(SecretGone):
        store.reveal(new_link().link_id)
    assert store.purge_expired() == 0


def test_an_expired_link_is_gone_and_takes_no_password(
    store: SecretLinkStore, clock: ManualClock
) -> None:
    link_id, _ = _ready(store)
    pending = new_link()
    store.create_pending(
        pending.link_id, pending.public_point, customer_id=CUSTOMER, user_id=OTHER_USER
    )
    clock.advance(TTL.total_seconds())
    with pytest.raises(SecretGone):
        store.reveal(link_id)
    assert store.status(link_id) is None
    with pytest.raises(SecretGone):
        store.store_sealed(
            pending.link_id,
            seal(PASSWORD, link_id=pending.link_id, public_point=pending.public_point),
        )


def test_one_second_before_expiry_the_link_still_reveals(
    store: SecretLinkStore, clock: ManualClock
) -> None:
    link_id, sealed = _ready(store)
    clock.advance(TTL.total_seconds() - 1)
    assert store.reveal(link_id).sealed == sealed


def test_two_racing_reveals_give_the_password_to_exactly_one(table: TableClient) -> None:
    # Both read the row before either deletes: only the ETag condition and the delete's
    # own answer can tell them apart.
    both_read = threading.Barrier(2, timeout=10)
    racer = threading.local()

    class Racing(SecretLinkStore):
        def _read_link(self, link_id: str) -> Any:
            entity = super()._read_link(link_id)
            if getattr(racer, "first_read", False):
                racer.first_read = False
                both_read.wait()
            return entity

    store = Racing(table, ttl=TTL, clock=ManualClock().now)
    for _ in range(3):
        link_id, sealed = _ready(store)
        outcomes: list[object] = []

        def reveal(link_id: str = link_id, outcomes: list[object] = outcomes) -> None:
            racer.first_read = True
            try:
                outcomes.append(store.reveal(link_id))
            except SecretGone as gone:
                outcomes.append(gone)

        threads = [threading.Thread(target=reveal) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        winners = [o for o in outcomes if isinstance(o, RevealedLink)]
        assert len(outcomes) == 2
        assert [w.sealed for w in winners] == [sealed]


def test_storing_again_keeps_the_last_password(store: SecretLinkStore) -> None:
    # A retried batch message resets again: the link must open the password now set.
    link = new_link()
    store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER)
    first = seal("First-Pw-111!", link_id=link.link_id, public_point=link.public_point)
    last = seal("Last-Pw-2222!", link_id=link.link_id, public_point=link.public_point)
    store.store_sealed(link.link_id, first)
    store.store_sealed(link.link_id, last)
    assert store.reveal(link.link_id).sealed == last


def test_storing_for_a_spent_or_unknown_link_fails(store: SecretLinkStore) -> None:
    link_id, sealed = _ready(store)
    store.reveal(link_id)
    with pytest.raises(SecretGone):
        store.store_sealed(link_id, sealed)
    with pytest.raises(SecretGone):
        store.store_sealed(new_link().link_id, sealed)


def test_a_failed_reset_deletes_its_pending_link(
    store: SecretLinkStore, table: TableClient
) -> None:
    link = new_link()
    store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER)
    assert store.delete_pending(link.link_id) is True
    assert store.status(link.link_id) is None
    with pytest.raises(SecretGone):
        store.reveal(link.link_id)
    assert _rows(table) == []


def test_deleting_a_pending_link_spares_one_that_is_ready(store: SecretLinkStore) -> None:
    link_id, sealed = _ready(store)
    assert store.delete_pending(link_id) is False
    assert store.reveal(link_id).sealed == sealed


def test_a_users_new_link_deletes_only_that_users_older_links(
    store: SecretLinkStore, clock: ManualClock
) -> None:
    oldest, _ = _ready(store)
    clock.advance(1)
    older, _ = _ready(store)
    clock.advance(1)
    other_users, other_sealed = _ready(store, user=OTHER_USER)
    clock.advance(1)
    newest, newest_sealed = _ready(store)
    assert store.delete_older_links(customer_id=CUSTOMER, user_id=USER, link_id=newest) == 2
    for link_id in (oldest, older):
        with pytest.raises(SecretGone):
            store.reveal(link_id)
    assert store.reveal(newest).sealed == newest_sealed
    assert store.reveal(other_users).sealed == other_sealed


def test_a_link_made_after_this_one_survives_its_cleanup(
    store: SecretLinkStore, clock: ManualClock
) -> None:
    first, _ = _ready(store)
    clock.advance(1)
    later, later_sealed = _ready(store)
    assert store.delete_older_links(customer_id=CUSTOMER, user_id=USER, link_id=first) == 0
    assert store.reveal(later).sealed == later_sealed


def test_the_purge_removes_expired_rows_and_only_those(
    store: SecretLinkStore, table: TableClient, clock: ManualClock
) -> None:
    _ready(store)
    expired_pending = new_link()
    store.create_pending(
        expired_pending.link_id, expired_pending.public_point, customer_id=CUSTOMER, user_id=USER
    )
    clock.advance(TTL.total_seconds() / 2)
    alive, alive_sealed = _ready(store, user=OTHER_USER)
    clock.advance(TTL.total_seconds() / 2 + 1)
    assert store.purge_expired() == 4  # two links, each with its row in the user's index
    keys = {(row["PartitionKey"], row["RowKey"]) for row in _rows(table)}
    assert keys == {(alive, "link"), (f"user_{CUSTOMER}_{OTHER_USER}", alive)}
    assert store.reveal(alive).sealed == alive_sealed


def test_a_reveal_leaves_no_row_behind(store: SecretLinkStore, table: TableClient) -> None:
    link_id, _ = _ready(store)
    store.reveal(link_id)
    assert _rows(table) == []


def test_rows_hold_no_key_and_the_sealed_password_only_in_its_columns(
    store: SecretLinkStore, table: TableClient
) -> None:
    link = new_link()
    store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER)
    sealed = seal(PASSWORD, link_id=link.link_id, public_point=link.public_point)
    store.store_sealed(link.link_id, sealed)
    rows = _rows(table)
    link_row = next(row for row in rows if row["RowKey"] == "link")
    assert set(link_row) == {
        "PartitionKey",
        "RowKey",
        "State",
        "PublicKey",
        "CustomerId",
        "UserId",
        "ExpiresAt",
        "EphemeralPublicKey",
        "Nonce",
        "Ciphertext",
    }
    index_row = next(row for row in rows if row["RowKey"] != "link")
    assert set(index_row) == {"PartitionKey", "RowKey", "CreatedAt", "ExpiresAt"}
    text = repr(rows)
    private = link.key_text
    assert private not in text
    assert private[:43] not in text  # not even the scalar d alone
    assert text.count(sealed.to_json()["ciphertext"]) == 1
    assert link_row["Ciphertext"] == sealed.to_json()["ciphertext"]


def test_a_link_is_refused_for_ids_that_are_not_guids(store: SecretLinkStore) -> None:
    link = new_link()
    with pytest.raises(ValueError, match="GUID"):
        store.create_pending(link.link_id, link.public_point, customer_id="x'y", user_id=USER)


def test_storage_out_of_reach_is_a_dependency_failure(clock: ManualClock) -> None:
    closed = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    )
    table = open_table(
        table_name=TABLE_NAME,
        connection_string=closed,
        timeouts=TIMINGS.table_timeouts,
        retry_backoff=0.01,
    )
    store = SecretLinkStore(table, ttl=TTL, clock=clock.now)
    link = new_link()
    with pytest.raises(DependencyUnavailable) as caught:
        store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER)
    assert caught.value.retry_after
    assert "a2V5" not in caught.value.detail
    with pytest.raises(DependencyUnavailable):
        store.reveal(link.link_id)
