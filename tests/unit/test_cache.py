"""The process cache: time to live, single flight, stale while revalidate, remembered
misses, pinned values, a refresh floor. Time is a fake clock; nothing waits for real."""

from __future__ import annotations

import contextlib
import gc
import threading
import tracemalloc

import pytest

from shared.cache import Cache, CacheWaitTimeout, Held, Lifetime, Misses, Stale
from tests.reachable import frames_and_text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Missing(Exception):
    pass


class Down(Exception):
    pass


class Loader:
    def __init__(self, *values: object) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        value = self.values.pop(0) if len(self.values) > 1 else self.values[0]
        if isinstance(value, BaseException):
            raise value
        return str(value)


def test_a_value_is_loaded_once_then_served_until_its_time_is_up() -> None:
    clock, load = Clock(), Loader("a", "b")
    cache: Cache[str, str] = Cache(ttl=60, clock=clock)
    assert cache.get("k", load, wait=1).value == "a"
    assert cache.get("k", load, wait=1).cached
    clock.now += 61
    assert cache.get("k", load, wait=1).value == "b"
    assert load.calls == 2


def test_a_stale_value_is_served_when_its_reload_fails() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(ttl=60, stale=Stale(grace=600), clock=clock)
    cache.get("k", Loader("a"), wait=1)
    clock.now += 61
    found = cache.get("k", Loader(Down()), wait=1)
    assert (found.value, isinstance(found.load_failure, Down)) == ("a", True)


def test_past_its_grace_a_value_is_not_served_and_the_failure_shows() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(ttl=60, stale=Stale(grace=10), clock=clock)
    cache.get("k", Loader("a"), wait=1)
    clock.now += 71
    with pytest.raises(Down):
        cache.get("k", Loader(Down()), wait=1)


def test_only_the_listed_failures_fall_back_to_the_stale_value() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(ttl=60, stale=Stale(grace=600, on=(Down,)), clock=clock)
    cache.get("k", Loader("a"), wait=1)
    clock.now += 61
    with pytest.raises(Missing):
        cache.get("k", Loader(Missing()), wait=1)


def test_a_miss_is_remembered_for_its_time_then_looked_up_again() -> None:
    clock, load = Clock(), Loader(Missing(), "found")
    cache: Cache[str, str] = Cache(ttl=60, misses=Misses(30, (Missing,)), clock=clock)
    for _ in range(3):
        with pytest.raises(Missing):
            cache.get("k", load, wait=1)
    assert load.calls == 1
    clock.now += 31
    assert cache.get("k", load, wait=1).value == "found"


def test_other_failures_are_not_remembered() -> None:
    load = Loader(Down(), "ok")
    cache: Cache[str, str] = Cache(ttl=60, misses=Misses(30, (Missing,)), clock=Clock())
    with pytest.raises(Down):
        cache.get("k", load, wait=1)
    assert cache.get("k", load, wait=1).value == "ok"


def test_concurrent_callers_share_one_load() -> None:
    release, load_calls = threading.Event(), []

    def slow() -> str:
        load_calls.append(1)
        release.wait(5)
        return "v"

    cache: Cache[str, str] = Cache(ttl=60)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", slow, wait=5).value))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == ["v"] * 8 and len(load_calls) == 1


def test_a_follower_waits_at_most_its_wait() -> None:
    release = threading.Event()
    cache: Cache[str, str] = Cache(ttl=60)
    leader = threading.Thread(target=lambda: cache.get("k", lambda: str(release.wait(5)), wait=5))
    leader.start()
    while not cache._flights:  # the leader's load is under way
        pass
    with pytest.raises(CacheWaitTimeout):
        cache.get("k", Loader("x"), wait=0.01)
    release.set()
    leader.join(5)


def test_while_one_caller_refreshes_the_others_go_on_with_the_stale_value() -> None:
    clock, release = Clock(), threading.Event()
    cache: Cache[str, str] = Cache(ttl=60, stale=Stale(grace=600), clock=clock)
    cache.get("k", Loader("old"), wait=1)
    clock.now += 61
    leader = threading.Thread(
        target=lambda: cache.get("k", lambda: "new" if release.wait(5) else "", wait=5)
    )
    leader.start()
    while not cache._flights:
        pass
    assert cache.get("k", Loader("unused"), wait=0).value == "old"
    release.set()
    leader.join(5)
    assert cache.get("k", Loader("unused"), wait=0).value == "new"


def test_a_pinned_value_is_never_replaced_by_a_load() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(ttl=1, clock=clock)
    cache.put("k", "produced", pinned=True)
    clock.now += 3600
    assert cache.get("k", Loader("older"), wait=1).value == "produced"
    assert cache.unpin("k", "produced")
    clock.now += 2
    assert cache.get("k", Loader("newer"), wait=1).value == "newer"


def test_unpin_refuses_a_superseded_value() -> None:
    cache: Cache[str, str] = Cache(ttl=60)
    cache.put("k", "first", pinned=True)
    cache.put("k", "second", pinned=True)
    assert not cache.unpin("k", "first")
    assert cache.peek("k") == ("second", True)


def test_a_forced_refresh_respects_its_floor_failed_attempts_included() -> None:
    clock, load = Clock(), Loader("v1", Down(), "v2")
    cache: Cache[str, str] = Cache(
        ttl=86400, misses=Misses(10, (Down,)), stale=Stale(grace=float("inf")), clock=clock
    )
    cache.get("k", load, wait=1)
    clock.now += 11
    assert cache.get("k", load, wait=1, refresh_if_attempted_before=10).value == "v1"  # failed
    assert cache.get("k", load, wait=1, refresh_if_attempted_before=10).value == "v1"
    assert load.calls == 2
    clock.now += 11
    assert cache.get("k", load, wait=1, refresh_if_attempted_before=10).value == "v2"


def test_each_value_may_carry_its_own_lifetime() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(
        ttl=0, lifetime=lambda value: Lifetime(fresh=float(value), usable=float(value)), clock=clock
    )
    cache.get("k", Loader("5"), wait=1)
    clock.now += 4
    assert cache.get("k", Loader("9"), wait=1).value == "5"
    clock.now += 2
    assert cache.get("k", Loader("9"), wait=1).value == "9"


def test_the_cache_holds_at_most_its_limit_dropping_the_oldest() -> None:
    cache: Cache[str, str] = Cache(ttl=60, max_entries=2)
    for key in ("a", "b", "c"):
        cache.put(key, key.upper())
    assert (cache.peek("a"), cache.peek("b"), cache.peek("c")) == (
        None,
        ("B", False),
        ("C", False),
    )


def test_drop_only_if_the_value_matches() -> None:
    cache: Cache[str, str] = Cache(ttl=60)
    cache.put("k", "v")
    cache.drop("k", only_if=lambda value: value == "other")
    assert cache.peek("k") == ("v", False)
    cache.drop("k", only_if=lambda value: value == "v")
    assert cache.peek("k") is None


# --- what remembered misses cost: bounded, pruned, no frames -----------------------

CANARY = "Canary#Pw-cache-5d1e"


class NotKnown(Exception):
    """A miss with a detail, as the domain errors have."""

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


def route(cache: Cache[str, str], name: str, body: dict[str, str]) -> None:
    """A request's frames above the lookup: the body (with the password) is a local."""
    password = body["password"]
    with contextlib.suppress(NotKnown):
        cache.get(name, lambda: search(name, password), wait=1)


def search(name: str, password: str) -> str:
    page = [{"userPrincipalName": f"user{n}@{name}", "password": password} for n in range(10)]
    try:
        raise LookupError(f"nothing in {len(page)} entries")
    except LookupError:
        # Raised while handling another failure: that one becomes its __context__.
        raise NotKnown(f"No tenant verified {name}.", retry_after=7) from None


def misses_of(count: int, cache: Cache[str, str], *, first: int = 0) -> None:
    for number in range(first, first + count):
        route(cache, f"unknown-{number}.example", {"password": CANARY})


def test_remembered_misses_never_outnumber_the_limit() -> None:
    cache: Cache[str, str] = Cache(
        ttl=60, misses=Misses(30, (NotKnown,)), max_entries=10, clock=Clock()
    )
    misses_of(1000, cache)
    held = cache.held()
    assert held.misses <= 10 and held.attempts <= 10


def test_a_failed_first_load_leaves_no_attempt_behind() -> None:
    cache: Cache[str, str] = Cache(ttl=60, misses=Misses(30, (NotKnown,)), clock=Clock())
    misses_of(100, cache)
    with pytest.raises(Down):
        cache.get("down", Loader(Down()), wait=1)
    assert cache.held().attempts == 0


def test_expired_misses_are_dropped_though_the_cache_is_far_from_full() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(ttl=60, misses=Misses(60, (NotKnown,)), clock=clock)
    misses_of(500, cache)
    assert cache.held().misses == 500
    clock.now += 120
    misses_of(1, cache, first=500)
    assert cache.held().misses == 1


def test_expired_values_are_dropped_with_the_expired_misses() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(ttl=60, misses=Misses(60, (NotKnown,)), clock=clock)
    for key in ("a", "b", "c"):
        cache.get(key, Loader(key), wait=1)
    cache.put("pinned", "produced", pinned=True)
    clock.now += 120
    misses_of(1, cache)
    assert cache.held() == Held(entries=1, misses=1, attempts=0, flights=0)
    assert cache.peek("pinned") == ("produced", True)


def test_a_remembered_miss_keeps_no_frame_and_nothing_of_the_request() -> None:
    cache: Cache[str, str] = Cache(ttl=60, misses=Misses(30, (NotKnown,)), clock=Clock())
    misses_of(20, cache)
    assert frames_and_text(cache, CANARY) == []


def test_a_remembered_miss_is_raised_again_with_its_type_and_detail() -> None:
    cache: Cache[str, str] = Cache(ttl=60, misses=Misses(30, (NotKnown,)), clock=Clock())
    route(cache, "gone.example", {"password": CANARY})
    with pytest.raises(NotKnown) as raised:
        cache.get("gone.example", Loader("unused"), wait=1)
    assert (raised.value.detail, raised.value.retry_after) == (
        "No tenant verified gone.example.",
        7,
    )
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_a_remembered_miss_served_beside_a_stale_value_holds_no_frame() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(
        ttl=60, misses=Misses(30, (NotKnown,)), stale=Stale(grace=600), clock=clock
    )
    cache.get("k", Loader("old"), wait=1)
    clock.now += 61
    route(cache, "k", {"password": CANARY})
    found = cache.get("k", Loader("unused"), wait=1)
    assert found.value == "old" and isinstance(found.load_failure, NotKnown)
    assert frames_and_text(found.load_failure, CANARY) == []
    assert frames_and_text(cache, CANARY) == []


def test_the_failure_a_load_hands_its_followers_holds_no_frame() -> None:
    release = threading.Event()
    cache: Cache[str, str] = Cache(ttl=60)

    def slow_search() -> str:
        release.wait(5)
        return search("slow.example", CANARY)

    def request() -> None:
        password = CANARY  # noqa: F841 - a local of the request's frame, as in a route
        with contextlib.suppress(NotKnown):
            cache.get("slow.example", slow_search, wait=5)

    leader = threading.Thread(target=request)
    leader.start()
    while not cache._flights:  # the leader's load is under way
        pass
    [flight] = cache._flights.values()
    followed: list[NotKnown] = []

    def follow() -> None:
        try:
            cache.get("slow.example", slow_search, wait=5)
        except NotKnown as error:
            followed.append(error)

    follower = threading.Thread(target=follow)
    follower.start()
    release.set()
    for thread in (leader, follower):
        thread.join(5)
    assert isinstance(flight.error, NotKnown)
    assert frames_and_text(flight, CANARY) == []
    assert [error.detail for error in followed] == ["No tenant verified slow.example."]


def test_memory_stays_flat_over_thousands_of_distinct_unknown_names() -> None:
    cache: Cache[str, str] = Cache(
        ttl=60, misses=Misses(3600, (NotKnown,)), max_entries=200, clock=Clock()
    )
    tracemalloc.start()
    try:
        misses_of(500, cache)
        gc.collect()
        after_first, _peak = tracemalloc.get_traced_memory()
        misses_of(2000, cache, first=500)
        gc.collect()
        after_all, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Each miss once pinned its frames and a page of users (KiB each): 2,000 more would
    # be megabytes. A full cache only swaps old misses for new ones.
    assert after_all - after_first < 256 * 1024


class Odd(Exception):
    """A failure that cannot be rebuilt from its args (so not copied)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")


def test_a_failure_that_cannot_be_copied_is_not_remembered_but_still_raised() -> None:
    load = Loader(Odd(7, "odd"), "found")
    cache: Cache[str, str] = Cache(ttl=60, misses=Misses(30, (Odd,)), clock=Clock())
    with pytest.raises(Odd):
        cache.get("k", load, wait=1)
    assert cache.get("k", load, wait=1).value == "found"
