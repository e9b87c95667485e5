"""The resolver's cache: reuse within the TTL, expiry after it, one search per name."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from reset_password.lookups import NameResolver, Resolved
from reset_password.names import CustomerRef
from reset_password.partner_center import CallContext, PartnerCenterClient
from shared.context import Deadline, request_scope
from shared.errors import DomainError

TENANT_ID = "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CONTOSO = CustomerRef(domain="contoso.com")


class OneCustomer(PartnerCenterClient):
    """contoso.com is verified by one tenant, a customer; counts the lookups."""

    def __init__(self, *, release: threading.Event | None = None) -> None:
        self.searches = 0
        self.confirmations = 0
        self._release = release

    def tenant_of(self, domain: str) -> str:
        self.searches += 1
        if self._release is not None:
            self._release.wait(5)
        assert domain == "contoso.com"
        return TENANT_ID

    def get_customer(self, customer_id: str, *, context: CallContext) -> dict[str, Any]:
        self.confirmations += 1
        return {"id": customer_id}


def resolver_for(upstream: OneCustomer, **kwargs: Any) -> NameResolver:
    return NameResolver(upstream, upstream, **kwargs)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def resolve(resolver: NameResolver) -> Resolved:
    with request_scope(uuid.uuid4(), Deadline(5)):
        return resolver.confirm_customer(CONTOSO, resolver.tenant(CONTOSO))


def test_a_name_is_searched_once_and_then_served_from_the_cache() -> None:
    upstream = OneCustomer()
    resolver = resolver_for(upstream, ttl_seconds=60)

    assert resolve(resolver) == Resolved(TENANT_ID, cached=False)
    assert resolve(resolver) == Resolved(TENANT_ID, cached=True)
    assert upstream.searches == 1


def test_finding_a_domains_tenant_asks_partner_center_nothing() -> None:
    """The caller's list is checked between the two steps: the first is public."""
    upstream = OneCustomer()
    resolver = resolver_for(upstream, ttl_seconds=60)

    with request_scope(uuid.uuid4(), Deadline(5)):
        assert resolver.tenant(CONTOSO) == Resolved(TENANT_ID, cached=False)
    assert (upstream.searches, upstream.confirmations) == (1, 0)


def test_a_tenant_named_by_id_is_neither_searched_nor_confirmed() -> None:
    upstream = OneCustomer()
    resolver = resolver_for(upstream, ttl_seconds=60)
    by_id = CustomerRef(tenant_id=TENANT_ID)

    with request_scope(uuid.uuid4(), Deadline(5)):
        found = resolver.confirm_customer(by_id, resolver.tenant(by_id))
    assert found == Resolved(TENANT_ID, cached=False)
    assert (upstream.searches, upstream.confirmations) == (0, 0)


def test_a_confirmed_customer_is_served_from_the_cache() -> None:
    upstream = OneCustomer()
    resolver = resolver_for(upstream, ttl_seconds=60)
    resolve(resolver)

    assert resolve(resolver).cached is True
    assert upstream.confirmations == 1


def test_a_cached_name_is_searched_again_once_its_time_is_up() -> None:
    upstream, clock = OneCustomer(), Clock()
    resolver = resolver_for(upstream, ttl_seconds=60, clock=clock)
    resolve(resolver)

    clock.now += 60
    assert resolve(resolver).cached is False
    assert upstream.searches == 2


def test_a_forgotten_name_is_searched_again() -> None:
    upstream = OneCustomer()
    resolver = resolver_for(upstream, ttl_seconds=60)
    resolve(resolver)

    resolver.forget_customer(CONTOSO, TENANT_ID)
    assert resolve(resolver).cached is False


class CountingClock:
    """Real time, and an event set once it has been read `expected` times."""

    def __init__(self, expected: int) -> None:
        self._lock = threading.Lock()
        self._reads = 0
        self._expected = expected
        self.reached = threading.Event()

    def __call__(self) -> float:
        with self._lock:
            self._reads += 1
            if self._reads >= self._expected:
                self.reached.set()
        return time.monotonic()


def test_concurrent_requests_for_one_name_share_one_search() -> None:
    release = threading.Event()
    upstream = OneCustomer(release=release)
    # Each lookup reads the cache's clock once on its way in, and no more until the
    # search held upstream is let go: eight reads, eight requests waiting on one search.
    clock = CountingClock(expected=8)
    resolver = resolver_for(upstream, ttl_seconds=60, clock=clock)
    results: list[Resolved | DomainError] = []

    def run() -> None:
        results.append(resolve(resolver))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert clock.reached.wait(5), "not every request reached the lookup"
    release.set()
    for thread in threads:
        thread.join(5)

    assert upstream.searches == 1
    assert {r.id for r in results if isinstance(r, Resolved)} == {TENANT_ID}
    assert len(results) == 8
