"""A reset stores its seal on the link's row as it made or attached it: no read before
the store (a batch link user costs one table call fewer), and no rule loosened for it.
A row changed since (another attempt stored) is read again and the last store wins; a
link revealed, withdrawn or expired since is gone, and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure.data.tables import TableClient

from dev.link_client import open_sealed
from secret_links.crypto import LinkKey, new_link, seal
from secret_links.errors import SecretGone
from secret_links.store import LinkVersion, SecretLinkStore
from tests.secret_links.conftest import CUSTOMER, TTL, USER, ManualClock

PASSWORD = "Version-Spec-Pw-42!"
OTHER_PASSWORD = "Other-Attempt-Pw-7!"


class Reads:
    """Counts the link rows the store reads (point reads)."""

    def __init__(self, table: TableClient, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original: Callable[..., Any] = table.get_entity

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(table, "get_entity", counted)


@pytest.fixture
def reads(table: TableClient, monkeypatch: pytest.MonkeyPatch) -> Reads:
    return Reads(table, monkeypatch)


def made(store: SecretLinkStore) -> tuple[LinkKey, LinkVersion]:
    link = new_link()
    pending = store.create_pending(
        link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER
    )
    assert pending.version is not None
    return link, pending.version


def store_password(
    store: SecretLinkStore, link: LinkKey, password: str, version: LinkVersion | None
) -> None:
    sealed = seal(password, link_id=link.link_id, public_point=link.public_point)
    store.store_sealed(link.link_id, sealed, version=version)


def opened(store: SecretLinkStore, link: LinkKey) -> str:
    return open_sealed(
        store.reveal(link.link_id).sealed, link_id=link.link_id, key_text=link.key_text
    )


def test_a_seal_stored_on_the_version_its_reset_made_reads_no_row(
    store: SecretLinkStore, reads: Reads
) -> None:
    link, version = made(store)

    store_password(store, link, PASSWORD, version)

    assert reads.count == 0
    assert opened(store, link) == PASSWORD


def test_a_seal_stored_on_the_version_attach_answered_reads_no_row(
    store: SecretLinkStore, reads: Reads
) -> None:
    link, _ = made(store)
    attached = store.attach(link.link_id, customer_id=CUSTOMER, user_id=USER)
    reads.count = 0

    store_password(store, link, PASSWORD, attached.version)

    assert reads.count == 0
    assert opened(store, link) == PASSWORD


def test_a_link_stored_since_its_version_is_read_again_and_the_last_store_wins(
    store: SecretLinkStore,
) -> None:
    link, version = made(store)
    store_password(store, link, OTHER_PASSWORD, None)

    store_password(store, link, PASSWORD, version)

    assert opened(store, link) == PASSWORD


def test_a_link_revealed_since_its_version_is_gone(store: SecretLinkStore) -> None:
    link, version = made(store)
    store_password(store, link, OTHER_PASSWORD, None)
    store.reveal(link.link_id)

    with pytest.raises(SecretGone):
        store_password(store, link, PASSWORD, version)


def test_a_link_withdrawn_since_its_version_is_gone(store: SecretLinkStore) -> None:
    link, version = made(store)
    assert store.delete_pending(link.link_id)

    with pytest.raises(SecretGone):
        store_password(store, link, PASSWORD, version)


def test_a_link_expired_since_its_version_is_gone_and_stays_unsealed(
    store: SecretLinkStore, clock: ManualClock, table: TableClient
) -> None:
    link, version = made(store)
    clock.advance(TTL.total_seconds())

    with pytest.raises(SecretGone):
        store_password(store, link, PASSWORD, version)

    assert "Ciphertext" not in table.get_entity(link.link_id, "link")
