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

from shared.deadline import Deadline
from shared.errors import DependencyUnavailable

logger = logging.getLogger(__name__)

DEPENDENCY_RETRY_AFTER = 30
# The vault may be down for a while; the values it gave us stay right meanwhile.
STALE_GRACE_SECONDS = 24 * 3600.0
# Upper bounds for one SDK call; the reset's deadline usually cuts them shorter.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0


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


class SecretCache:
    """Secrets reused for `ttl` seconds; one read per secret however many requests wait."""

    def __init__(
        self,
        reader: SecretReader,
        *,
        ttl: float,
        grace: float = STALE_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._ttl = ttl
        self._grace = grace
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._inflight: dict[str, Future[FetchedSecret]] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="key-vault")

    def get(self, name: str, deadline: Deadline, *, max_age: float | None = None) -> FetchedSecret:
        """The secret, read again when older than `max_age` (default: the cache TTL)."""
        limit = self._ttl if max_age is None else max_age
        entry = self._entries.get(name)
        if entry is not None and self._clock() - entry.fetched_at < limit:
            return entry.secret
        with self._lock:
            future = self._inflight.get(name)
            if future is None:
                future = self._executor.submit(self._fetch, name)
                self._inflight[name] = future
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

    def put(self, name: str, value: SecretStr) -> None:
        """Remember a value we produced (a rotated refresh token) as the current one."""
        self._entries[name] = _Entry(FetchedSecret(value, None), self._clock())

    def write_in_background(self, name: str, value: SecretStr) -> Future[str | None]:
        """Store a new version in Key Vault without holding up the request."""
        self.put(name, value)
        future = self._executor.submit(self._reader.write, name, value)
        future.add_done_callback(lambda done: _log_write_outcome(name, done))
        return future

    def close(self) -> None:
        """Finish pending reads and write-backs, then stop the executor."""
        self._executor.shutdown(wait=True)

    def _fetch(self, name: str) -> FetchedSecret:
        try:
            fetched = self._reader.read(name, READ_TIMEOUT * 2)
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


def _log_write_outcome(name: str, done: Future[str | None]) -> None:
    error = done.exception()
    if error is None:
        logger.info("Stored the rotated refresh token as a new version of '%s'.", name)
    else:
        reason = error.detail if isinstance(error, DependencyUnavailable) else type(error).__name__
        logger.error(
            "Could not write the rotated refresh token back to Key Vault secret '%s': %s "
            "The reset went through; the previous refresh token stays valid.",
            name,
            reason,
        )


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
    )
