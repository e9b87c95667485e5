"""Customer domains no tenant verified, through the reset route: each is remembered as
missing for a while, and what is remembered is bounded and holds nothing of the request
that asked (the caller's password least of all)."""

from __future__ import annotations

import composition
from shared.cache import Cache
from tests.integration.conftest import CANARY_PASSWORD, Harness
from tests.integration.helpers import assert_problem
from tests.reachable import frames_and_text

DISCOVERY = r"/v2\.0/\.well-known/openid-configuration$"


def unknown(number: int) -> str:
    return f"nosuch-{number:04d}.example.com"


def lookup_cache() -> Cache[object, str]:
    """The name resolver's cache, reached through the process's reset graph."""
    cache: Cache[object, str] = composition.reset_dependencies().reset_service._names._cache
    return cache


def test_an_unknown_domain_is_remembered_and_answered_the_same_without_a_lookup(
    harness: Harness,
) -> None:
    first = assert_problem(harness.reset(customer=unknown(1)), 404, "customer_not_found")
    harness.stack.identity.clear_requests()

    again = assert_problem(harness.reset(customer=unknown(1)), 404, "customer_not_found")

    assert again["detail"] == first["detail"]
    assert harness.stack.identity.requests_to("GET", DISCOVERY) == []


def test_unknown_domains_leave_nothing_of_their_requests_in_the_process(
    harness: Harness,
) -> None:
    for number in range(30):
        assert_problem(harness.reset(customer=unknown(number)), 404, "customer_not_found")

    assert lookup_cache().held().misses == 30
    assert frames_and_text(composition.reset_dependencies(), CANARY_PASSWORD) == []


def test_remembered_unknown_domains_never_outnumber_the_lookup_cache_limit(
    harness: Harness,
) -> None:
    harness.monkeypatch.setattr("reset_password.lookups.MAX_CACHE_ENTRIES", 10)
    composition.rebuild()

    for number in range(40):
        assert_problem(harness.reset(customer=unknown(number)), 404, "customer_not_found")

    held = lookup_cache().held()
    assert held.misses == 10 and held.attempts == 0
