"""The one cache of the process: time to live, single flight, stale while revalidate,
remembered misses, pinned values.

Secrets, the access token, the caller signing keys and the name lookups all keep their
values here, each in its own `Cache` with its own rules:

- a value is *fresh* for its time to live, then *usable* (stale) for a grace period;
- one caller loads a missing or stale key while the others wait for that load (a missing
  key) or go on with the stale value (single flight, stale while revalidate);
- a load that fails leaves a usable stale value in place and serves it;
- a failure of a `miss_types` type is remembered for `miss_ttl` and raised again without
  a load (a name that does not exist, an endpoint that is down);
- a *pinned* value (one this process produced and could not store yet) is never
  replaced by a load.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 50_000


class CacheWaitTimeout(Exception):
    """Another caller's load of the key did not finish within the wait allowed."""


@dataclass(frozen=True)
class Found(Generic[V]):
    value: V
    # True when the value came from the cache (and so may be stale by now).
    cached: bool
    # Set when a stale value is served because loading a fresh one failed (now or
    # within the remembered-miss period).
    load_failure: BaseException | None = None


@dataclass
class _Entry(Generic[V]):
    value: V
    fresh_until: float
    usable_until: float
    pinned: bool = False


@dataclass
class _Flight(Generic[V]):
    done: threading.Event = field(default_factory=threading.Event)
    value: V | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class Lifetime:
    """How long a loaded value stays fresh, then usable."""

    fresh: float
    usable: float


class Cache(Generic[K, V]):
    def __init__(
        self,
        *,
        ttl: float,
        stale_grace: float = 0.0,
        lifetime: Callable[[V], Lifetime] | None = None,
        miss_ttl: float = 0.0,
        miss_types: tuple[type[BaseException], ...] = (),
        stale_on: tuple[type[BaseException], ...] = (Exception,),
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lifetime = lifetime or (lambda _value: Lifetime(ttl, ttl + stale_grace))
        self._miss_ttl = miss_ttl
        self._miss_types = miss_types
        self._stale_on = stale_on
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[K, _Entry[V]] = {}
        self._misses: dict[K, tuple[BaseException, float]] = {}
        self._attempted: dict[K, float] = {}
        self._flights: dict[K, _Flight[V]] = {}

    def get(
        self,
        key: K,
        load: Callable[[], V],
        *,
        wait: float,
        refresh_if_attempted_before: float | None = None,
    ) -> Found[V]:
        """The value of `key`, loaded when missing or stale.

        `refresh_if_attempted_before`: load even a fresh value, unless a load was tried
        within that many seconds (a floor for forced refreshes, failed ones included).
        """
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            forced = refresh_if_attempted_before is not None and (
                now - self._attempted.get(key, float("-inf")) >= refresh_if_attempted_before
            )
            if entry is not None and (entry.pinned or (now < entry.fresh_until and not forced)):
                return Found(entry.value, cached=True)
            usable = entry if entry is not None and now < entry.usable_until else None
            miss = self._misses.get(key)
            if miss is not None and now >= miss[1]:
                miss = None
            if refresh_if_attempted_before is not None and not forced and usable is not None:
                return Found(usable.value, cached=True)  # inside the floor: what we have
            if miss is not None:
                if usable is not None:
                    return Found(usable.value, cached=True, load_failure=miss[0])
                raise copy.copy(miss[0])
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
                self._attempted[key] = now
        if not leader:
            if usable is not None:
                return Found(usable.value, cached=True)
            return self._follow(flight, wait)
        return self._lead(key, load, flight, usable)

    def put(self, key: K, value: V, *, pinned: bool = False) -> None:
        """Store a value this process produced; a pinned one outlives every load."""
        lifetime = self._lifetime(value)
        now = self._clock()
        with self._lock:
            self._store(key, _Entry(value, now + lifetime.fresh, now + lifetime.usable, pinned))

    def peek(self, key: K) -> tuple[V, bool] | None:
        """The value held for `key` and whether it is pinned, without loading."""
        with self._lock:
            entry = self._entries.get(key)
            return None if entry is None else (entry.value, entry.pinned)

    def unpin(self, key: K, value: V) -> bool:
        """`value` has been stored elsewhere: it may now expire. False if superseded."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry.pinned or entry.value != value:
                return False
            entry.pinned = False
            return True

    def drop(self, key: K, *, only_if: Callable[[V], bool] | None = None) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (only_if is None or only_if(entry.value)):
                del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _lead(
        self, key: K, load: Callable[[], V], flight: _Flight[V], usable: _Entry[V] | None
    ) -> Found[V]:
        try:
            value = load()
        except BaseException as error:
            flight.error = error
            with self._lock:
                if isinstance(error, self._miss_types) and self._miss_ttl > 0:
                    self._misses[key] = (error, self._clock() + self._miss_ttl)
            if usable is not None and isinstance(error, self._stale_on):
                return Found(usable.value, cached=True, load_failure=error)
            raise
        else:
            flight.value = value
            self._put_loaded(key, value)
            return Found(value, cached=False)
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _put_loaded(self, key: K, value: V) -> None:
        lifetime = self._lifetime(value)
        now = self._clock()
        with self._lock:
            self._misses.pop(key, None)
            current = self._entries.get(key)
            if current is not None and current.pinned:
                return  # a value we produced outranks whatever the source still holds
            self._store(key, _Entry(value, now + lifetime.fresh, now + lifetime.usable))

    def _follow(self, flight: _Flight[V], wait: float) -> Found[V]:
        if not flight.done.wait(max(0.0, wait)):
            raise CacheWaitTimeout
        if flight.error is not None:
            raise copy.copy(flight.error)
        return Found(flight.value, cached=True)  # type: ignore[arg-type]

    def _store(self, key: K, entry: _Entry[V]) -> None:
        """Under the lock: store, evicting expired entries, then the oldest, when full."""
        self._entries.pop(key, None)
        if len(self._entries) >= self._max_entries:
            now = self._clock()
            for old in [k for k, e in self._entries.items() if e.usable_until <= now]:
                del self._entries[old]
            while len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]
        self._entries[key] = entry
