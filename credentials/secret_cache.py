"""The Partner Center credentials' secrets, cached in process over Key Vault.

`SecretCache` adds the time-to-live, the grace period for a Key Vault outage, single
flight and pinned values (shared.cache) to a `SecretStore` (credentials/key_vault.py).
Every blocking vault call runs on one small pool, so a hanging vault cannot hold a
request past its deadline; it is the only pool the credentials use.

A cold process pays the vault's authentication challenge and the identity token once:
the first read elicits both, and the other secrets are read, concurrently, as soon as the
token is there (`SecretStore.authorized` tells when).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pydantic import SecretStr

from credentials.key_vault import FetchedSecret, SecretState, SecretStore
from shared.cache import Cache, CacheWaitTimeout, Stale
from shared.context import current_deadline, in_current_context
from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable

logger = logging.getLogger(__name__)

# The vault may be down for a while; the values it gave us stay right meanwhile.
STALE_GRACE_SECONDS = 24 * 3600.0
# A refused write-back is tried again after these waits (seconds), then left to the
# next exchange; the produced token stays in use meanwhile.
WRITE_RETRY_DELAYS = (1.0, 5.0, 30.0)
POOL_THREADS = 8


class SecretCache:
    """Secrets reused for `ttl` seconds, and for `grace` more while Key Vault is down;
    one read per secret however many requests wait; produced values pinned until stored.
    """

    def __init__(
        self,
        store: SecretStore,
        *,
        ttl: float,
        grace: float = STALE_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        write_retry_delays: tuple[float, ...] = WRITE_RETRY_DELAYS,
    ) -> None:
        self._store = store
        self._cache: Cache[str, FetchedSecret] = Cache(
            ttl=ttl, stale=Stale(grace=grace, on=(DependencyUnavailable,)), clock=clock
        )
        self._write_retry_delays = write_retry_delays
        # Set by close(): a write-back waiting to retry gives up instead of holding
        # the worker's shutdown.
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._write_locks: dict[str, threading.Lock] = {}
        # A task on it waits for another only as a follower of a read already under way
        # (get_many's lookups: three at a time, as exchanges run one at a time), so
        # waiters cannot fill it; every other task is one vault call.
        self._pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="key-vault")

    def get(self, name: str) -> FetchedSecret:
        """The secret, read again once older than the cache TTL."""
        return self._get(name, lambda: self._read(name))

    def get_many(self, names: tuple[str, ...]) -> list[FetchedSecret]:
        """Several secrets read at the same time: a cold start waits for one round trip,
        not one per secret.

        The others start once the first read has its token (or is done): started
        together, each would elicit the vault's challenge and ask for a token itself.
        Each is looked up and, when due, read on a pool thread (one thread per read); this
        one waits for them within its deadline. A read that hangs past it holds its
        secret's single flight until the SDK gives up (the store's own bound).
        """

        def read(name: str) -> Future[FetchedSecret]:
            def load() -> FetchedSecret:
                return self._store.read(name)

            return self._pool.submit(in_current_context(self._get), name, load)

        futures = [read(name) for name in names[:1]]
        if futures and not self._store.authorized.done():
            first_done: list[Future[Any]] = [futures[0], self._store.authorized]
            wait(first_done, timeout=current_deadline().remaining(), return_when=FIRST_COMPLETED)
        futures += [read(name) for name in names[1:]]
        try:
            return [future.result(timeout=current_deadline().remaining()) for future in futures]
        except FutureTimeout:
            raise _late(", ".join(names)) from None

    def read_latest(self, name: str) -> FetchedSecret:
        """What Key Vault holds now (an operator may have stored a new value), bypassing
        the cache; it never replaces a value waiting to be stored."""
        return self._read(name)

    def inspect(self, names: tuple[str, ...]) -> list[SecretState]:
        """Each secret as Key Vault holds it now (read past the cache, side by side), its
        value dropped at once: for the credentials health check."""
        futures = [self._submit_read(name) for name in names]
        states = []
        for name, future in zip(names, futures, strict=True):
            try:
                fetched = future.result(timeout=current_deadline().remaining())
            except FutureTimeout:
                states.append(SecretState(name, problem=_late(name).detail))
            except DependencyUnavailable as exc:
                states.append(SecretState(name, problem=exc.detail))
            else:
                states.append(
                    SecretState(name, fetched.version, fetched.created_on, fetched.expires_on)
                )
        return states

    def keep(self, name: str, value: SecretStr) -> None:
        """Use a value we produced (a rotated refresh token) from now on, whatever the
        vault says, until it is stored there."""
        self._cache.put(name, FetchedSecret(value, None), pinned=True)

    def write_in_background(self, name: str, value: SecretStr) -> Future[str | None]:
        """Keep the value and store it as a new version without holding up the request."""
        self.keep(name, value)
        return self._pool.submit(in_current_context(self._write_with_retries), name, value)

    def close(self) -> None:
        """Finish pending reads and write-back attempts (no further retries), then stop."""
        self._closed.set()
        self._pool.shutdown(wait=True)

    def _get(self, name: str, load: Callable[[], FetchedSecret]) -> FetchedSecret:
        try:
            found = self._cache.get(name, load, wait=current_deadline().remaining())
        except CacheWaitTimeout:
            raise _late(name) from None
        if found.load_failure is not None:
            logger.warning(
                "Serving cached Key Vault secret '%s' after a failed refresh: %s",
                name,
                getattr(found.load_failure, "detail", type(found.load_failure).__name__),
            )
        return found.value

    def _submit_read(self, name: str) -> Future[FetchedSecret]:
        return self._pool.submit(in_current_context(self._store.read), name)

    def _read(self, name: str) -> FetchedSecret:
        """A read on the pool, waited for no longer than the deadline."""
        try:
            return self._submit_read(name).result(timeout=current_deadline().remaining())
        except FutureTimeout:
            raise _late(name) from None

    def _write_with_retries(self, name: str, value: SecretStr) -> str | None:
        """Write with retries; the value stays in use (pinned) until a write lands."""
        kept = FetchedSecret(value, None)
        attempts = len(self._write_retry_delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                # One write per secret at a time, and only of the current value: an older
                # value's write can never land after a newer one's.
                with self._write_lock(name):
                    if self._cache.peek(name) != (kept, True):
                        return None  # superseded; the newer value's own write stores it
                    version = self._store.write(name, value)
                    self._cache.unpin(name, kept)
            except DependencyUnavailable as exc:
                if attempt == attempts:
                    _alert_unstored(name, attempts, exc)
                    raise
                delay = self._write_retry_delays[attempt - 1]
                logger.warning(
                    "Could not store the new refresh token in Key Vault secret '%s' (attempt "
                    "%d of %d: %s). It stays in use in memory; trying again in %.0f s.",
                    name,
                    attempt,
                    attempts,
                    exc.detail,
                    delay,
                )
                if self._closed.wait(delay):
                    raise
                continue
            logger.info("Stored the new refresh token as a new version of '%s'.", name)
            return version
        return None  # pragma: no cover - the loop returns or raises

    def _write_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._write_locks.setdefault(name, threading.Lock())


def _alert_unstored(name: str, attempts: int, exc: DependencyUnavailable) -> None:
    logger.error(
        "ALERT: could not store the new refresh token in Key Vault secret '%s' after %d "
        "attempts (%s). It stays in use in memory and the next token exchange stores its "
        "successor; if every instance restarts first, the vault's older token may already "
        "be revoked and a partner admin must consent again.",
        name,
        attempts,
        exc.detail,
    )


def _late(names: str) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"Key Vault did not return secret '{names}' in time.", retry_after=DEPENDENCY_RETRY_AFTER
    )
