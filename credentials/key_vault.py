"""Partner Center credentials from Key Vault, cached in process.

`KeyVaultStore` is the thin wrapper over the SDK that turns its exceptions into
`DependencyUnavailable` naming the secret; `SecretCache` adds the time-to-live, the
grace period for a Key Vault outage, single flight and pinned values (shared.cache).
Reads run on a small executor so a hanging vault cannot hold a request past its deadline.

A cold process pays the vault's authentication challenge and the identity token once:
the first read elicits both, and the other secrets are read, concurrently, as soon as the
token is there (`OneIdentityCall` tells when).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from azure.core.credentials import (
    AccessToken,
    AccessTokenInfo,
    SupportsTokenInfo,
    TokenCredential,
    TokenRequestOptions,
)
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.keyvault.secrets import SecretClient
from pydantic import SecretStr

from shared.cache import Cache, CacheWaitTimeout
from shared.context import current_deadline, in_current_context
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
    # The version's attributes (epoch seconds), for the credentials health check.
    created_on: float | None = None
    expires_on: float | None = None


@dataclass(frozen=True)
class SecretState:
    """What Key Vault says of one secret right now, without its value: its current
    version's dates, or why it could not be read (our own words, naming the secret)."""

    name: str
    version: str | None = None
    created_on: float | None = None
    expires_on: float | None = None
    problem: str | None = None

    @property
    def present(self) -> bool:
        return self.problem is None


class SecretStore(Protocol):
    # Done once a read needs no authentication challenge or identity call first.
    authorized: Future[None]

    def read(self, name: str, timeout: float) -> FetchedSecret: ...

    def write(self, name: str, value: SecretStr) -> str | None: ...


class IdentityCredential(TokenCredential, SupportsTokenInfo, Protocol):
    """What azure-identity's credentials offer; the Key Vault SDK prefers get_token_info."""


class OneIdentityCall:
    """The vault's credential, asked by one thread at a time, and `issued` once it has
    given a token.

    Concurrent first reads each meet the vault's challenge and would each ask the identity
    endpoint for a token; in turn, the first asks and the others get the token the
    credential cached. `issued` lets the other reads wait for that token instead of
    eliciting a challenge of their own.
    """

    def __init__(self, credential: IdentityCredential) -> None:
        self._credential = credential
        self._lock = threading.Lock()
        self.issued: Future[None] = Future()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        with self._lock:
            token = self._credential.get_token(
                *scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs
            )
            self._mark_issued()
        return token

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        with self._lock:
            token = self._credential.get_token_info(*scopes, options=options)
            self._mark_issued()
        return token

    def _mark_issued(self) -> None:
        if not self.issued.done():
            self.issued.set_result(None)

    def close(self) -> None:
        self._credential.close()

    def __enter__(self) -> OneIdentityCall:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class KeyVaultStore:
    """Reads and writes secrets with the Azure SDK; errors name the secret, never its value."""

    def __init__(self, client: SecretClient, authorized: Future[None] | None = None) -> None:
        self._client = client
        if authorized is None:
            authorized = Future()
            authorized.set_result(None)
        self.authorized = authorized

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
        properties = secret.properties
        return FetchedSecret(
            SecretStr(secret.value.strip()),
            properties.version,
            created_on=_epoch(properties.created_on or properties.updated_on),
            expires_on=_epoch(properties.expires_on),
        )

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


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


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


class SecretCache:
    """Secrets reused for `ttl` seconds, and for `grace` more while Key Vault is down;
    one read per secret however many requests wait; produced values pinned until stored.

    Reads and writes run on a small executor so that a hanging vault or identity
    endpoint cannot hold a request past its deadline.
    """

    def __init__(
        self,
        store: SecretStore,
        *,
        ttl: float,
        grace: float = STALE_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        write_retry_delays: tuple[float, ...] | None = None,
    ) -> None:
        self._store = store
        self._cache: Cache[str, FetchedSecret] = Cache(
            ttl=ttl, stale_grace=grace, stale_on=(DependencyUnavailable,), clock=clock
        )
        self._write_retry_delays = (
            WRITE_RETRY_DELAYS if write_retry_delays is None else write_retry_delays
        )
        # Set by close(): a write-back waiting to retry gives up instead of holding
        # the worker's shutdown.
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._write_locks: dict[str, threading.Lock] = {}
        self._io = ThreadPoolExecutor(max_workers=8, thread_name_prefix="key-vault")
        # get_many's fan-out waits on _io, so it gets its own threads (no starvation).
        self._fan_out = ThreadPoolExecutor(max_workers=8, thread_name_prefix="key-vault-many")

    def get(self, name: str) -> FetchedSecret:
        """The secret, read again once older than the cache TTL."""
        try:
            found = self._cache.get(
                name, lambda: self._read(name), wait=current_deadline().remaining()
            )
        except CacheWaitTimeout:
            raise _late(name) from None
        if found.load_failure is not None:
            logger.warning(
                "Serving cached Key Vault secret '%s' after a failed refresh: %s",
                name,
                getattr(found.load_failure, "detail", type(found.load_failure).__name__),
            )
        return found.value

    def get_many(self, names: tuple[str, ...]) -> list[FetchedSecret]:
        """Several secrets read at the same time: a cold start waits for one round trip,
        not one per secret.

        The others start once the first read has its token (or is done): started
        together, each would elicit the vault's challenge and ask for a token itself.
        """

        def read(name: str) -> Future[FetchedSecret]:
            return self._fan_out.submit(in_current_context(self.get), name)

        futures = [read(name) for name in names[:1]]
        if futures and not self._store.authorized.done():
            first_done: list[Future[Any]] = [futures[0], self._store.authorized]
            wait(
                first_done,
                timeout=current_deadline().remaining(),
                return_when=FIRST_COMPLETED,
            )
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
        futures = [self._fan_out.submit(in_current_context(self._read), name) for name in names]
        states = []
        for name, future in zip(names, futures, strict=True):
            try:
                fetched = future.result(timeout=max(current_deadline().remaining(), 0.0))
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
        return self._io.submit(in_current_context(self._write_with_retries), name, value)

    def close(self) -> None:
        """Finish pending reads and write-back attempts (no further retries), then stop."""
        self._closed.set()
        self._fan_out.shutdown(wait=True)
        self._io.shutdown(wait=True)

    def _read(self, name: str) -> FetchedSecret:
        future = self._io.submit(in_current_context(self._store.read), name, READ_TIMEOUT * 2)
        try:
            return future.result(timeout=current_deadline().remaining())
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
            logger.info("Stored the new refresh token as a new version of '%s'.", name)
            return version
        return None  # pragma: no cover - the loop returns or raises

    def _write_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._write_locks.setdefault(name, threading.Lock())


def _late(names: str) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"Key Vault did not return secret '{names}' in time.", retry_after=DEPENDENCY_RETRY_AFTER
    )


# azure-core waits factor * 2**(n-1) s before its n-th retry (the first at once).
SDK_RETRY_BACKOFF = 0.3


def build_secret_client(
    *,
    vault_url: str,
    credential: TokenCredential,
    verify_challenge_resource: bool,
    retry_backoff: float = SDK_RETRY_BACKOFF,
) -> SecretClient:
    # Few SDK retries: the reset's own deadline is the budget, and the stale-value
    # fallback covers short outages.
    return SecretClient(
        vault_url,
        credential,
        verify_challenge_resource=verify_challenge_resource,
        retry_total=2,
        retry_backoff_factor=retry_backoff,
        retry_backoff_max=2,
        connection_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        # A redirect would carry the bearer token, or a refresh token being stored, away.
        permit_redirects=False,
    )
