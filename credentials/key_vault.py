"""Partner Center credentials from Key Vault, cached in process.

`KeyVaultSecrets` is the thin wrapper over the SDK that turns its exceptions into
`DependencyUnavailable` naming the secret; `SecretCache` adds the time-to-live, the
grace period for a Key Vault outage and single flight. Reads run on a small executor so
that a hanging vault or identity endpoint cannot hold a request past its deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Protocol

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.keyvault.secrets import SecretClient
from pydantic import SecretStr

from shared.context import in_current_context
from shared.deadline import Deadline
from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable

logger = logging.getLogger(__name__)

# The vault may be down for a while; the values it gave us stay right meanwhile.
STALE_GRACE_SECONDS = 24 * 3600.0
# Upper bounds for one SDK call; the reset's deadline usually cuts them shorter.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
# A refused write-back is tried again after these waits (seconds), then left to the
# next exchange; the produced token stays in use meanwhile.
WRITE_RETRY_DELAYS = (1.0, 5.0, 30.0)


@dataclass(frozen=True)
class FetchedSecret:
    value: SecretStr
    version: str | None


class SecretReader(Protocol):
    def read(self, name: str, timeout: float) -> FetchedSecret: ...

    def write(self, name: str, value: SecretStr) -> str | None: ...


class KeyVaultSecrets:
    """Reads and writes secrets with the Azure SDK; errors name the secret, never its value."""

    def __init__(self, client: SecretClient) -> None:
        self._client = client

    def read(self, name: str, timeout: float) -> FetchedSecret:
        try:
            secret = self._client.get_secret(
                name,
                timeout=timeout,
                connection_timeout=min(CONNECT_TIMEOUT, timeout),
                read_timeout=min(READ_TIMEOUT, timeout),
            )
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes one domain error
            raise _unavailable(name, "read", exc) from None
        if secret.value is None or not secret.value.strip():
            raise DependencyUnavailable(
                f"Key Vault secret '{name}' is empty.", retry_after=DEPENDENCY_RETRY_AFTER
            )
        return FetchedSecret(SecretStr(secret.value.strip()), secret.properties.version)

    def write(self, name: str, value: SecretStr) -> str | None:
        try:
            stored = self._client.set_secret(
                name,
                value.get_secret_value(),
                content_type="refresh-token",
                timeout=READ_TIMEOUT * 2,
                connection_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
            )
        except Exception as exc:  # noqa: BLE001
            raise _unavailable(name, "write", exc) from None
        return stored.properties.version


def _unavailable(name: str, action: str, exc: Exception) -> DependencyUnavailable:
    if isinstance(exc, ResourceNotFoundError):
        reason = f"Key Vault secret '{name}' does not exist: add it to the vault."
    elif isinstance(exc, ClientAuthenticationError):
        reason = (
            f"Could not {action} Key Vault secret '{name}': the managed identity could "
            f"not authenticate ({type(exc).__name__})."
        )
    elif isinstance(exc, HttpResponseError) and exc.status_code == 403:
        role = "Key Vault Secrets Officer" if action == "write" else "Key Vault Secrets User"
        reason = (
            f"Could not {action} Key Vault secret '{name}': the identity lacks the "
            f"'{role}' role on the vault."
        )
    elif isinstance(exc, ServiceRequestError | ServiceResponseError):
        reason = f"Could not {action} Key Vault secret '{name}': Key Vault is unreachable."
    elif isinstance(exc, HttpResponseError):
        reason = (
            f"Could not {action} Key Vault secret '{name}': Key Vault answered "
            f"HTTP {exc.status_code}."
        )
    else:
        reason = f"Could not {action} Key Vault secret '{name}' ({type(exc).__name__})."
    return DependencyUnavailable(reason, retry_after=DEPENDENCY_RETRY_AFTER)


@dataclass(frozen=True)
class _Entry:
    secret: FetchedSecret
    fetched_at: float
    # A value this process produced and Key Vault does not hold yet: it is the only
    # current one, so no read from the vault (an older value) may replace it.
    unstored: bool = False


class SecretCache:
    """Secrets reused for `ttl` seconds; one read per secret however many requests wait."""

    def __init__(
        self,
        reader: SecretReader,
        *,
        ttl: float,
        grace: float = STALE_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        write_retry_delays: tuple[float, ...] | None = None,
    ) -> None:
        self._reader = reader
        self._ttl = ttl
        self._grace = grace
        self._clock = clock
        self._write_retry_delays = (
            WRITE_RETRY_DELAYS if write_retry_delays is None else write_retry_delays
        )
        # Set by close(): a write-back waiting to retry gives up instead of holding
        # the worker's shutdown.
        self._closed = threading.Event()
        self._write_locks: dict[str, threading.Lock] = {}
        self._entries: dict[str, _Entry] = {}
        self._inflight: dict[str, Future[FetchedSecret]] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="key-vault")

    def get(self, name: str, deadline: Deadline) -> FetchedSecret:
        """The secret, read again once older than the cache TTL."""
        return self.get_many((name,), deadline)[0]

    def get_many(self, names: tuple[str, ...], deadline: Deadline) -> list[FetchedSecret]:
        """Several secrets, the missing ones read from Key Vault at the same time: a cold
        start waits for one round trip, not one per secret."""
        due = {}
        for name in names:
            entry = self._entries.get(name)
            if entry is None or not (
                entry.unstored or self._clock() - entry.fetched_at < self._ttl
            ):
                due[name] = (entry, self._start_read(name))
        return [
            self._await(name, *due[name], deadline) if name in due else self._entries[name].secret
            for name in names
        ]

    def read_latest(self, name: str, deadline: Deadline) -> FetchedSecret:
        """What Key Vault holds now (an operator may have stored a new value), even while
        a produced value waits to be stored; it does not replace that value."""
        return self._await(name, self._entries.get(name), self._start_read(name), deadline)

    def _start_read(self, name: str) -> Future[FetchedSecret]:
        """The read under way for `name` (single flight), or a new one."""
        with self._lock:
            future = self._inflight.get(name)
            if future is None:
                future = self._executor.submit(in_current_context(self._fetch), name)
                self._inflight[name] = future
            return future

    def _await(
        self,
        name: str,
        entry: _Entry | None,
        future: Future[FetchedSecret],
        deadline: Deadline,
    ) -> FetchedSecret:
        try:
            return future.result(timeout=deadline.remaining())
        except FutureTimeout:
            failure = DependencyUnavailable(
                f"Key Vault did not return secret '{name}' in time.",
                retry_after=DEPENDENCY_RETRY_AFTER,
            )
        except DependencyUnavailable as exc:
            failure = exc
        return self._stale_or_raise(name, entry, failure)

    def keep(self, name: str, value: SecretStr) -> None:
        """Use a value we produced (a rotated refresh token) from now on, whatever the
        vault says, until it is stored there."""
        self._entries[name] = _Entry(FetchedSecret(value, None), self._clock(), unstored=True)

    def write_in_background(self, name: str, value: SecretStr) -> Future[str | None]:
        """Keep the value and store it as a new version without holding up the request."""
        self.keep(name, value)
        return self._executor.submit(in_current_context(self._store), name, value)

    def _store(self, name: str, value: SecretStr) -> str | None:
        """Write with retries; the value stays in use (unstored) until a write lands."""
        attempts = len(self._write_retry_delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                # One write per secret at a time, and only of the current value: an older
                # value's write can never land after a newer one's.
                with self._write_lock(name):
                    if not self._is_current(name, value):
                        return None  # superseded; the newer value's own write stores it
                    version = self._reader.write(name, value)
            except DependencyUnavailable as exc:
                if attempt == attempts:
                    logger.error(
                        "ALERT: could not store the new refresh token in Key Vault secret '%s' "
                        "after %d attempts (%s). It stays in use in memory and the next token "
                        "exchange stores its successor; if every instance restarts first, the "
                        "vault's older token may already be revoked and a partner admin must "
                        "consent again.",
                        name,
                        attempts,
                        exc.detail,
                    )
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
            with self._lock:
                if self._is_current(name, value):
                    self._entries[name] = _Entry(FetchedSecret(value, version), self._clock())
            logger.info("Stored the new refresh token as a new version of '%s'.", name)
            return version
        return None  # pragma: no cover - the loop returns or raises

    def _write_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._write_locks.setdefault(name, threading.Lock())

    def _is_current(self, name: str, value: SecretStr) -> bool:
        entry = self._entries.get(name)
        return entry is not None and entry.unstored and entry.secret.value == value

    def close(self) -> None:
        """Finish pending reads and write-back attempts (no further retries), then stop."""
        self._closed.set()
        self._executor.shutdown(wait=True)

    def _fetch(self, name: str) -> FetchedSecret:
        try:
            fetched = self._reader.read(name, READ_TIMEOUT * 2)
            with self._lock:
                current = self._entries.get(name)
                if current is None or not current.unstored:
                    self._entries[name] = _Entry(fetched, self._clock())
            return fetched
        finally:
            with self._lock:
                self._inflight.pop(name, None)

    def _stale_or_raise(
        self, name: str, entry: _Entry | None, failure: DependencyUnavailable
    ) -> FetchedSecret:
        if entry is not None and self._clock() - entry.fetched_at < self._ttl + self._grace:
            logger.warning(
                "Serving cached Key Vault secret '%s' after a failed refresh: %s",
                name,
                failure.detail,
            )
            return entry.secret
        raise failure


def build_secret_client(
    *, vault_url: str, credential: TokenCredential, verify_challenge_resource: bool
) -> SecretClient:
    # Few SDK retries: the reset's own deadline is the budget, and the stale-value
    # fallback covers short outages.
    return SecretClient(
        vault_url,
        credential,
        verify_challenge_resource=verify_challenge_resource,
        retry_total=2,
        retry_backoff_factor=0.3,
        retry_backoff_max=2,
        connection_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        # A redirect would carry the bearer token, or a refresh token being stored, away.
        permit_redirects=False,
    )
