"""The process cache: time to live, single flight, stale while revalidate, remembered
misses, pinned values, a refresh floor. Time is a fake clock; nothing waits for real."""

from __future__ import annotations

import threading

import pytest

from shared.cache import Cache, CacheWaitTimeout, Lifetime


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
    cache: Cache[str, str] = Cache(ttl=60, stale_grace=600, clock=clock)
    cache.get("k", Loader("a"), wait=1)
    clock.now += 61
    found = cache.get("k", Loader(Down()), wait=1)
    assert (found.value, isinstance(found.load_failure, Down)) == ("a", True)


def test_past_its_grace_a_value_is_not_served_and_the_failure_shows() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(ttl=60, stale_grace=10, clock=clock)
    cache.get("k", Loader("a"), wait=1)
    clock.now += 71
    with pytest.raises(Down):
        cache.get("k", Loader(Down()), wait=1)


def test_only_the_listed_failures_fall_back_to_the_stale_value() -> None:
    clock = Clock()
    cache: Cache[str, str] = Cache(ttl=60, stale_grace=600, stale_on=(Down,), clock=clock)
    cache.get("k", Loader("a"), wait=1)
    clock.now += 61
    with pytest.raises(Missing):
        cache.get("k", Loader(Missing()), wait=1)


def test_a_miss_is_remembered_for_its_time_then_looked_up_again() -> None:
    clock, load = Clock(), Loader(Missing(), "found")
    cache: Cache[str, str] = Cache(ttl=60, miss_ttl=30, miss_types=(Missing,), clock=clock)
    for _ in range(3):
        with pytest.raises(Missing):
            cache.get("k", load, wait=1)
    assert load.calls == 1
    clock.now += 31
    assert cache.get("k", load, wait=1).value == "found"


def test_other_failures_are_not_remembered() -> None:
    load = Loader(Down(), "ok")
    cache: Cache[str, str] = Cache(ttl=60, miss_ttl=30, miss_types=(Missing,), clock=Clock())
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
    cache: Cache[str, str] = Cache(ttl=60, stale_grace=600, clock=clock)
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
        ttl=86400, stale_grace=float("inf"), miss_ttl=10, miss_types=(Down,), clock=clock
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
