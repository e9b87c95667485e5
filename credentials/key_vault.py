"""Key Vault through the Azure SDK: where the Partner Center credentials are kept.

`KeyVaultStore` is the thin wrapper over the SDK that turns its exceptions into
`DependencyUnavailable` naming the secret; `OneIdentityCall` lets the first read's
identity token serve the others (`authorized`). The cache over it is
credentials/secret_cache.py.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
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

from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable


@dataclass(frozen=True)
class SecretNames:
    """The Key Vault secrets that hold the partner's app ID, app secret and refresh token."""

    app_id: str
    app_secret: str
    refresh_token: str


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

    def read(self, name: str) -> FetchedSecret: ...

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


class KeyVaultStore:
    """Reads and writes secrets with the Azure SDK; errors name the secret, never its value.

    `timeouts` (connect, read) bound each attempt; a call, its SDK retries included, ends
    after twice the read timeout. The reset's deadline usually cuts the wait shorter.
    """

    def __init__(
        self,
        client: SecretClient,
        *,
        timeouts: tuple[float, float],
        authorized: Future[None] | None = None,
    ) -> None:
        self._client = client
        connect, read = timeouts
        self._per_call: dict[str, Any] = {
            "timeout": read * 2,
            "connection_timeout": connect,
            "read_timeout": read,
        }
        if authorized is None:
            authorized = Future()
            authorized.set_result(None)
        self.authorized = authorized

    def read(self, name: str) -> FetchedSecret:
        try:
            secret = self._client.get_secret(name, **self._per_call)
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
                name, value.get_secret_value(), content_type="refresh-token", **self._per_call
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


# azure-core waits factor * 2**(n-1) s before its n-th retry (the first at once).
SDK_RETRY_BACKOFF = 0.3


def build_secret_client(
    *,
    vault_url: str,
    credential: TokenCredential,
    verify_challenge_resource: bool,
    timeouts: tuple[float, float],
    retry_backoff: float = SDK_RETRY_BACKOFF,
) -> SecretClient:
    # Few SDK retries: the reset's own deadline is the budget, and the stale-value
    # fallback covers short outages.
    connect, read = timeouts
    return SecretClient(
        vault_url,
        credential,
        verify_challenge_resource=verify_challenge_resource,
        retry_total=2,
        retry_backoff_factor=retry_backoff,
        retry_backoff_max=2,
        connection_timeout=connect,
        read_timeout=read,
        # A redirect would carry the bearer token, or a refresh token being stored, away.
        permit_redirects=False,
    )
