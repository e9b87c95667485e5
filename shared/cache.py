"""The one cache of the process: time to live, single flight, stale while revalidate,
remembered misses, pinned values.

Secrets, the access token, the caller signing keys and the name lookups all keep their
values here, each in its own `Cache` with its own rules:

- a value is *fresh* for its time to live, then *usable* (stale) for a grace period
  (`Stale`);
- one caller loads a missing or stale key while the others wait for that load (a missing
  key) or go on with the stale value (single flight, stale while revalidate);
- a load that fails leaves a usable stale value in place and serves it;
- a failure of a type `Misses` names is remembered for its time and raised again without
  a load (a name that does not exist, an endpoint that is down);
- a *pinned* value (one this process produced and could not store yet) is never
  replaced by a load.

What it holds is bounded: values, remembered misses and load attempts each number at
most `max_entries` (expired ones go first, then the oldest), and expired ones are swept
out at most `SWEEP_SECONDS` after they expire, however few keys there are. A failure it
keeps (a remembered miss, the failure handed to the callers waiting on a load) is a copy
with no traceback, cause or context: the original's traceback holds every frame up to
the request that raised it (its body, a page of users) and would keep them all alive.
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
# Expired values and misses are swept out at most this long after they expire.
SWEEP_SECONDS = 60.0


class CacheWaitTimeout(Exception):
    """Another caller's load of the key did not finish within the wait allowed."""


@dataclass(frozen=True)
class Found(Generic[V]):
    value: V
    # True when the value came from the cache (and so may be stale by now).
    cached: bool
    # Set when a stale value is served because loading a fresh one failed (now or
    # within the remembered-miss period): a frameless copy of that failure.
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
    # Frameless (see `_frameless`): the waiting callers each raise a copy of it.
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class _Miss:
    error: BaseException  # frameless
    until: float


@dataclass(frozen=True)
class Held:
    """How many keys the cache holds something for, by kind."""

    entries: int
    misses: int
    attempts: int
    flights: int


@dataclass(frozen=True)
class Lifetime:
    """How long a loaded value stays fresh, then usable."""

    fresh: float
    usable: float


@dataclass(frozen=True)
class Stale:
    """How long past its time to live a value stays usable (`grace`), and which failures
    of its reload (`on`) leave it served."""

    grace: float = 0.0
    on: tuple[type[BaseException], ...] = (Exception,)


@dataclass(frozen=True)
class Misses:
    """Load failures of these types (`of`) are remembered for `ttl` seconds and raised
    again without a load."""

    ttl: float
    of: tuple[type[BaseException], ...]


NO_MISSES = Misses(0.0, ())


class Cache(Generic[K, V]):
    def __init__(
        self,
        *,
        ttl: float,
        lifetime: Callable[[V], Lifetime] | None = None,
        stale: Stale = Stale(),
        misses: Misses = NO_MISSES,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lifetime = lifetime or (lambda _value: Lifetime(ttl, ttl + stale.grace))
        self._miss_ttl = misses.ttl
        self._miss_types = misses.of
        self._stale_on = stale.on
        self._max_entries = max(1, max_entries)
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[K, _Entry[V]] = {}
        self._misses: dict[K, _Miss] = {}
        # When a load of a key was last started: kept only while the key has a value
        # (or a load under way), the only time a refresh floor can apply to it.
        self._attempted: dict[K, float] = {}
        self._flights: dict[K, _Flight[V]] = {}
        self._next_sweep = clock() + SWEEP_SECONDS

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
            self._sweep_if_due(now)
            entry = self._entries.get(key)
            forced = refresh_if_attempted_before is not None and (
                now - self._attempted.get(key, float("-inf")) >= refresh_if_attempted_before
            )
            if entry is not None and (entry.pinned or (now < entry.fresh_until and not forced)):
                return Found(entry.value, cached=True)
            usable = entry if entry is not None and now < entry.usable_until else None
            miss = self._misses.get(key)
            if miss is not None and now >= miss.until:
                del self._misses[key]
                miss = None
            if refresh_if_attempted_before is not None and not forced and usable is not None:
                return Found(usable.value, cached=True)  # inside the floor: what we have
            if miss is not None:
                # A copy each time: raising the kept one would give it a traceback.
                if usable is not None:
                    return Found(usable.value, cached=True, load_failure=_copy(miss.error))
                raise _copy(miss.error)
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
            self._sweep_if_due(now)
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
                self._forget(key)

    def held(self) -> Held:
        with self._lock:
            return Held(
                len(self._entries), len(self._misses), len(self._attempted), len(self._flights)
            )

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _lead(
        self, key: K, load: Callable[[], V], flight: _Flight[V], usable: _Entry[V] | None
    ) -> Found[V]:
        try:
            value = load()
        except BaseException as error:
            kept = _frameless(error)
            flight.error = kept if kept is not None else _Unrepeatable(type(error).__name__)
            if kept is not None and isinstance(error, self._miss_types) and self._miss_ttl > 0:
                with self._lock:
                    self._remember_miss(key, kept)
            if usable is not None and isinstance(error, self._stale_on):
                return Found(
                    usable.value, cached=True, load_failure=kept if kept is not None else error
                )
            raise
        else:
            flight.value = value
            self._put_loaded(key, value)
            return Found(value, cached=False)
        finally:
            with self._lock:
                self._flights.pop(key, None)
                if key not in self._entries:
                    self._attempted.pop(key, None)  # no value for a floor to apply to
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
            raise _copy(flight.error)
        return Found(flight.value, cached=True)  # type: ignore[arg-type]

    # --- bounds, under the lock ------------------------------------------------------

    def _store(self, key: K, entry: _Entry[V]) -> None:
        """Store, evicting expired entries, then the oldest, when full."""
        self._entries.pop(key, None)
        if len(self._entries) >= self._max_entries:
            self._sweep_entries(self._clock())
            while len(self._entries) >= self._max_entries:
                self._forget(next(iter(self._entries)))
        self._entries[key] = entry

    def _remember_miss(self, key: K, error: BaseException) -> None:
        """Remember a miss, evicting expired misses, then the oldest, when full."""
        now = self._clock()
        self._misses.pop(key, None)
        if len(self._misses) >= self._max_entries:
            self._sweep_misses(now)
            while len(self._misses) >= self._max_entries:
                del self._misses[next(iter(self._misses))]
        self._misses[key] = _Miss(error, now + self._miss_ttl)

    def _forget(self, key: K) -> None:
        del self._entries[key]
        if key not in self._flights:
            self._attempted.pop(key, None)

    def _sweep_if_due(self, now: float) -> None:
        """Expired values and misses go, even in a cache far from full: a burst of
        unknown names must not stay in memory after its misses expired."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_SECONDS
        self._sweep_entries(now)
        self._sweep_misses(now)

    def _sweep_entries(self, now: float) -> None:
        # A pinned value is kept whatever its age: it exists nowhere else yet.
        for old in [k for k, e in self._entries.items() if e.usable_until <= now and not e.pinned]:
            self._forget(old)

    def _sweep_misses(self, now: float) -> None:
        for old in [k for k, miss in self._misses.items() if miss.until <= now]:
            del self._misses[old]


class _Unrepeatable(Exception):
    """Raised to the callers that waited on a load whose failure could not be copied."""


def _frameless(error: BaseException) -> BaseException | None:
    """A copy of `error` safe to keep: the same type, arguments and attributes, but no
    traceback, cause or context (each holds frames, and every local of each frame).
    None when the type cannot be rebuilt from its arguments."""
    try:
        return _copy(error)
    except Exception:  # noqa: BLE001 - any type may fail to rebuild; then keep nothing
        return None


def _copy(error: BaseException) -> BaseException:
    # copy.copy rebuilds the exception from its type, args and __dict__: the traceback,
    # cause and context stay behind. Cleared as well, should a type carry them over.
    clone = copy.copy(error)
    clone.__traceback__ = None
    clone.__cause__ = None
    clone.__context__ = None
    return clone
