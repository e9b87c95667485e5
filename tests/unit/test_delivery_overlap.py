"""A link's storage calls side by side with the reset's other calls where nothing
depends on their order: a batch's link is read while the guard reads the user (nothing is
written before the guard has spoken), and after Partner Center confirmed, the seal is
stored while the user's older links are read (those are deleted only once the seal is
stored)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from pydantic import SecretStr

from reset_password.delivery import LinkStorage, Parcel, PasswordDelivery
from reset_password.records import GeneratedPassword
from secret_links.crypto import new_link
from secret_links.store import AttachedLink, LinkSnapshot, LinkVersion, SecretLinkStore
from shared.errors import DependencyUnavailable, SecretLinkNotStored

CUSTOMER = "c0a1b2c3-d4e5-4f60-8a71-b2c3d4e5f601"
USER = "a11ce000-0000-4000-8000-00000000ada1"
# Only waited out when the two calls run one after the other (the spec then fails).
OVERLAP_WAIT_SECONDS = 5.0


class LinkTableStandIn:
    """Records what the delivery asks of the links' table. Storing the seal waits for the
    older links to be read: it returns at once only when the two run side by side."""

    def __init__(self, *, store_fails: bool = False, read_fails: bool = False) -> None:
        self.older_read = threading.Event()
        self.read_while_storing: bool | None = None
        self.deleted: list[list[str]] = []
        self._store_fails = store_fails
        self._read_fails = read_fails

    def store_sealed(self, link_id: str, sealed: object, *, version: object = None) -> None:
        self.read_while_storing = self.older_read.wait(OVERLAP_WAIT_SECONDS)
        if self._store_fails:
            raise DependencyUnavailable("the table is out of reach")

    def older_links(self, *, customer_id: str, user_id: str, link_id: str) -> list[str]:
        self.older_read.set()
        if self._read_fails:
            raise DependencyUnavailable("the table is out of reach")
        return ["older-link"]

    def delete_links(self, *, customer_id: str, user_id: str, link_ids: list[str]) -> int:
        self.deleted.append(link_ids)
        return len(link_ids)


@pytest.fixture
def beside() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


def _deliver(table: LinkTableStandIn, beside: ThreadPoolExecutor) -> tuple[Any, ...]:
    storage = LinkStorage(cast(SecretLinkStore, table), "http://localhost:7071", 16)
    key = new_link()
    parcel = Parcel(
        SecretStr("Generated#Pw-1"),
        generated=True,
        customer_id=CUSTOMER,
        user_id=USER,
        link_id=key.link_id,
        public_point=key.public_point,
    )
    return PasswordDelivery(lambda: storage, beside).deliver(parcel)


def test_the_older_links_are_read_while_the_seal_is_stored(beside: ThreadPoolExecutor) -> None:
    table = LinkTableStandIn()
    assert _deliver(table, beside) == ()
    assert table.read_while_storing is True
    assert table.deleted == [["older-link"]]


def test_a_seal_not_stored_deletes_no_older_link(beside: ThreadPoolExecutor) -> None:
    table = LinkTableStandIn(store_fails=True)
    with pytest.raises(SecretLinkNotStored):
        _deliver(table, beside)
    assert table.deleted == []


def test_older_links_not_read_leave_the_stored_seal_with_a_caveat(
    beside: ThreadPoolExecutor,
) -> None:
    table = LinkTableStandIn(read_fails=True)
    caveats = _deliver(table, beside)
    assert [caveat.code for caveat in caveats] == ["older_links_not_deleted"]
    assert table.deleted == []


class PreMadeLinkStandIn:
    """A batch's link, as the delivery reads and files it; which calls came, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.read = threading.Event()

    def look_up(self, link_id: str) -> LinkSnapshot:
        self.calls.append("look_up")
        self.read.set()
        return LinkSnapshot(None)

    def attach(self, link_id: str, **ids: Any) -> AttachedLink:
        self.calls.append(f"attach with snapshot={ids['snapshot'] is not None}")
        key = new_link()
        return AttachedLink(key.public_point, LinkVersion("etag", datetime.now(UTC)))

    def create_pending(self, link_id: str, point: bytes, **ids: Any) -> Any:
        self.calls.append("create_pending")
        raise AssertionError("not in these specs")


def _delivery(table: PreMadeLinkStandIn, beside: ThreadPoolExecutor) -> PasswordDelivery:
    storage = LinkStorage(cast(SecretLinkStore, table), "http://localhost:7071", 16)
    return PasswordDelivery(lambda: storage, beside)


def test_a_batch_link_is_read_as_soon_as_the_reset_begins_and_written_only_after(
    beside: ThreadPoolExecutor,
) -> None:
    table = PreMadeLinkStandIn()
    source = GeneratedPassword("link", link_id="pre-made-link")

    preparing = _delivery(table, beside).begin(source, customer_id=CUSTOMER, user_id=USER)

    assert table.read.wait(OVERLAP_WAIT_SECONDS)
    assert table.calls == ["look_up"]
    parcel = preparing.parcel()
    assert table.calls == ["look_up", "attach with snapshot=True"]
    assert parcel.link_id == "pre-made-link"


def test_a_reset_refused_first_waits_for_the_read_and_writes_nothing(
    beside: ThreadPoolExecutor,
) -> None:
    table = PreMadeLinkStandIn()
    source = GeneratedPassword("link", link_id="pre-made-link")

    _delivery(table, beside).begin(source, customer_id=CUSTOMER, user_id=USER).settle()

    assert table.calls == ["look_up"]


def test_a_link_of_the_reset_s_own_is_made_only_when_the_parcel_is_asked_for(
    beside: ThreadPoolExecutor,
) -> None:
    table = PreMadeLinkStandIn()

    preparing = _delivery(table, beside).begin(
        GeneratedPassword("link"), customer_id=CUSTOMER, user_id=USER
    )
    preparing.settle()

    assert table.calls == []
