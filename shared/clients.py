"""The process's upstream clients, built once from the settings and reused.

They are rebuilt only when the app settings change (App Service restarts the worker for
that anyway, but a long-lived process that changes its environment still gets clients
that match it).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import requests
from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from requests.adapters import HTTPAdapter

from reset_password.idempotency import HMAC_KEY_LABEL
from reset_password.lookups import NameResolver
from reset_password.service import GuardPolicy, ResetService
from shared.caller_auth import CallerTokenValidator, CustomerPolicy
from shared.key_vault import KeyVaultSecrets, SecretCache, build_secret_client
from shared.partner_center import PartnerCenterClient
from shared.retry import RetryPolicy
from shared.settings import Settings, load_settings, read_environment
from shared.tokens import PartnerCenterTokens, SecretNames

# Standard variables that change how the clients connect, beside our own settings.
_STANDARD_VARIABLES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE")
# The Functions worker runs sync handlers on a thread pool; keep a connection for each.
HTTP_POOL_SIZE = 64
# Read when the clients are built; tests swap in a policy that does not wait.
RETRY_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Clients:
    settings: Settings
    secrets: SecretCache
    tokens: PartnerCenterTokens
    partner_center: PartnerCenterClient
    caller_tokens: CallerTokenValidator | None
    customer_policy: CustomerPolicy
    # Per process, so resolved names outlive a request (LOOKUP_CACHE_SECONDS).
    names: NameResolver
    reset_service: ResetService


_lock = threading.Lock()
_current: tuple[tuple[tuple[str, str], ...], Clients] | None = None


def get_clients() -> Clients:
    """The cached clients; raises SettingsError naming any bad setting."""
    global _current  # noqa: PLW0603 - the per-process cache is the point
    key = _environment_key()
    current = _current
    if current is not None and current[0] == key:
        return current[1]
    with _lock:
        if _current is not None and _current[0] == key:
            return _current[1]
        clients = build_clients(load_settings())
        _current = (key, clients)
        return clients


def _environment_key() -> tuple[tuple[str, str], ...]:
    values = read_environment()
    for name in _STANDARD_VARIABLES:
        if name in os.environ:
            values[name] = os.environ[name]
    return tuple(sorted(values.items()))


def build_clients(settings: Settings) -> Clients:
    session = build_session()
    secrets = SecretCache(
        KeyVaultSecrets(
            build_secret_client(
                vault_url=settings.key_vault_url,
                credential=build_credential(settings),
                verify_challenge_resource=settings.key_vault_verify_challenge_resource,
            )
        ),
        ttl=settings.secret_cache_seconds,
    )
    retry = RETRY_POLICY
    tokens = PartnerCenterTokens(
        session=session,
        authority_host=settings.authority_host,
        tenant_id=settings.partner_tenant_id,
        secrets=secrets,
        names=SecretNames(*settings.secret_names),
        rotate_refresh_token=settings.rotate_refresh_token,
        retry=retry,
    )
    partner_center = PartnerCenterClient(
        base_url=settings.partner_center_base_url,
        session=session,
        tokens=tokens,
        retry=retry,
    )
    caller_tokens = None
    if settings.caller_tenant_id is not None and settings.caller_audience is not None:
        caller_tokens = CallerTokenValidator(
            session=session,
            authority_host=settings.authority_host,
            tenant_id=settings.caller_tenant_id,
            audience=settings.caller_audience,
            required_role=settings.caller_required_role,
        )
    names = NameResolver(
        partner_center,
        ttl_seconds=settings.lookup_cache_seconds,
        miss_ttl_seconds=settings.lookup_miss_cache_seconds,
    )
    return Clients(
        settings,
        secrets,
        tokens,
        partner_center,
        caller_tokens,
        CustomerPolicy(settings.caller_policy),
        names,
        ResetService(
            partner_center=partner_center,
            names=names,
            guard=GuardPolicy(settings.protected_role_guard, settings.protected_role_ids),
            idempotency_hmac_key=lambda deadline: tokens.derived_key(HMAC_KEY_LABEL, deadline),
        ),
    )


def build_session() -> requests.Session:
    session = requests.Session()
    # Retries are ours (they must share an MS-RequestId and respect the deadline).
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=HTTP_POOL_SIZE, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def build_credential(settings: Settings) -> TokenCredential:
    """Managed identity in Azure; developer credentials elsewhere."""
    # Few, short attempts: a hanging identity endpoint must not outlast the reset.
    if os.environ.get("IDENTITY_ENDPOINT") and os.environ.get("IDENTITY_HEADER"):
        return ManagedIdentityCredential(
            client_id=settings.azure_client_id,
            retry_total=1,
            connection_timeout=3,
            read_timeout=5,
            permit_redirects=False,
        )
    return DefaultAzureCredential(
        authority=settings.authority_host,
        managed_identity_client_id=settings.azure_client_id,
        exclude_interactive_browser_credential=True,
        retry_total=1,
        permit_redirects=False,
    )


def reset_clients() -> None:
    """Forget the cached clients: the next request starts cold, as in a new worker."""
    global _current  # noqa: PLW0603
    with _lock:
        if _current is not None:
            _current[1].secrets.close()
        _current = None
