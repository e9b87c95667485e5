"""Composition root: what each function needs, built once per process from validated
settings and handed to it.

The rotation timer and the credentials health route ask only for the credentials (and
the health thresholds; the route also for its caller-token and probe settings), so a bad
setting of the reset route cannot stop them; the reset route gets the whole graph,
sharing those same credentials (one token cache per process). Tests call `rebuild()` to
start cold, as a new worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from credentials import key_vault, secret_cache
from credentials.checks import CredentialsHealthDependencies
from credentials.derived_key import derived_key
from credentials.exchange import RefreshTokenExchange
from credentials.grant import RefreshTokenGrant, TokenEndpoint
from credentials.key_vault import KeyVaultStore, OneIdentityCall, SecretNames, build_secret_client
from credentials.partner_center_tokens import PartnerCenterTokens
from credentials.probe import CredentialProbe
from credentials.secret_cache import SecretCache
from credentials.tenant_tokens import TenantTokens
from reset_password.guard import GuardPolicy
from reset_password.idempotency import HMAC_KEY_LABEL
from reset_password.lookups import NameResolver
from reset_password.service import ResetService
from shared import caller_auth, partner_center
from shared import graph as microsoft_graph
from shared.caller_auth import CallerTokenValidator, CustomerPolicy
from shared.gdap import GdapCheck
from shared.graph import GraphClient
from shared.http import build_session
from shared.log import install_correlation_logging
from shared.partner_center import PartnerCenterClient
from shared.retry import RetryPolicy
from shared.settings import (
    CallerTokenSettings,
    CredentialSettings,
    HealthRouteSettings,
    Settings,
    load_credential_settings,
    load_health_route_settings,
    load_health_settings,
    load_settings,
)
from shared.startup import quiet_sdk_logging, report_settings_problems
from shared.tenant_discovery import TenantDiscovery

install_correlation_logging()
quiet_sdk_logging()
report_settings_problems()


@dataclass(frozen=True)
class Timings:
    """Every wait the function makes, in one place: tests swap in short ones."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    partner_center_timeouts: tuple[float, float] = (
        partner_center.CONNECT_TIMEOUT,
        partner_center.READ_TIMEOUT,
    )
    graph_timeouts: tuple[float, float] = (
        microsoft_graph.CONNECT_TIMEOUT,
        microsoft_graph.READ_TIMEOUT,
    )
    caller_key_refresh_floor: float = caller_auth.KEY_REFRESH_FLOOR_SECONDS
    caller_key_wait: float = caller_auth.KEY_LOCK_WAIT_SECONDS
    secret_write_retry_delays: tuple[float, ...] = secret_cache.WRITE_RETRY_DELAYS
    # The Azure SDK's own backoff between its Key Vault attempts (it sleeps itself).
    key_vault_retry_backoff: float = key_vault.SDK_RETRY_BACKOFF
    # Wall-clock time: access-token expiry (expires_on is epoch seconds), when the last
    # exchange happened, and the credentials health check's "now" (Key Vault's dates).
    token_clock: Callable[[], float] = time.time
    # Retry waits and the reset's deadline: a test swaps both for a virtual clock that
    # a sleep advances, so a Retry-After of seconds costs no real time.
    sleep: Callable[[float], None] = time.sleep
    deadline_clock: Callable[[], float] = time.monotonic
    # How old a remembered name or miss is: a test moves it past LOOKUP_MISS_CACHE_SECONDS.
    lookup_clock: Callable[[], float] = time.monotonic


# Read when the graph is built.
TIMINGS = Timings()


@dataclass(frozen=True)
class Credentials:
    settings: CredentialSettings
    names: SecretNames
    secrets: SecretCache
    # Partner Center's access tokens (and the exchange history), other tenants' tokens:
    # both from the one stored refresh token, one exchange at a time.
    tokens: PartnerCenterTokens
    tenant_tokens: TenantTokens
    # The probe floor's memory lives as long as the token cache it spares.
    probe: CredentialProbe

    def derived_key(self, label: bytes) -> bytes:
        """A key only this function holds, derived from the app secret under `label`."""
        return derived_key(self.secrets, self.names.app_secret, label)


@dataclass(frozen=True)
class HealthRouteAccess:
    """Who may call the credentials health route, and how often a probe may exchange."""

    settings: HealthRouteSettings
    caller_tokens: CallerTokenValidator | None


@dataclass(frozen=True)
class ResetDependencies:
    settings: Settings
    credentials: Credentials
    caller_tokens: CallerTokenValidator | None
    customer_policy: CustomerPolicy
    reset_service: ResetService
    reads: ThreadPoolExecutor
    deadline_clock: Callable[[], float]


_lock = threading.Lock()
_credentials: Credentials | None = None
_reset: ResetDependencies | None = None
_health_access: HealthRouteAccess | None = None


def credentials() -> Credentials:
    """The credentials; raises SettingsError naming any bad credential setting."""
    global _credentials  # noqa: PLW0603 - the per-process graph is the point
    built = _credentials
    if built is not None:
        return built
    with _lock:
        if _credentials is None:
            _credentials = _build_credentials(load_credential_settings())
        return _credentials


def credentials_health() -> CredentialsHealthDependencies:
    """What the credentials health check needs; raises SettingsError naming any bad
    credential or threshold setting (the reset route's settings play no part)."""
    thresholds = load_health_settings()
    built = credentials()
    return CredentialsHealthDependencies(
        built.secrets, built.names, built.tokens, built.probe, thresholds, TIMINGS.token_clock
    )


def health_route_access() -> HealthRouteAccess:
    """The credentials health route's caller check and probe floor; raises SettingsError
    naming any bad caller-token or probe setting (CALLER_POLICY and the other reset route
    settings play no part). With caller tokens on, the token check needs AUTHORITY_HOST,
    so a bad credential setting is raised too: no token can be checked without it."""
    global _health_access  # noqa: PLW0603
    built = _health_access
    if built is not None:
        return built
    settings = load_health_route_settings()
    caller_tokens = None
    if settings.caller_tokens_required:
        authority_host = credentials().settings.authority_host
        caller_tokens = _caller_tokens(settings, authority_host, build_session())
    with _lock:
        if _health_access is None:
            _health_access = HealthRouteAccess(settings, caller_tokens)
        return _health_access


def reset_dependencies() -> ResetDependencies:
    """The reset route's graph; raises SettingsError naming any bad setting."""
    global _reset  # noqa: PLW0603
    built = _reset
    if built is not None:
        return built
    settings = load_settings()
    shared_credentials = credentials()
    with _lock:
        if _reset is None:
            _reset = _build_reset(settings, shared_credentials)
        return _reset


def rebuild(*, keep_credentials: bool = False) -> None:
    """Forget the graph: the next request starts cold, as in a new worker.

    `keep_credentials` forgets only the reset route's graph, for a test that changes a
    setting of the route alone and wants the secrets and tokens warm.
    """
    global _credentials, _reset, _health_access  # noqa: PLW0603
    with _lock:
        if _credentials is not None and not keep_credentials:
            _credentials.secrets.close()
            _credentials = None
        if _reset is not None:
            _reset.reads.shutdown(wait=True)
        _reset = None
        # Caller-token settings are shared with the reset route: read them again too.
        _health_access = None


def _build_credentials(settings: CredentialSettings) -> Credentials:
    names = SecretNames(*settings.secret_names)
    secrets = _secret_cache(settings)
    exchanges = RefreshTokenExchange(
        secrets=secrets,
        names=names,
        grant=RefreshTokenGrant(
            session=build_session(), names=names, retry=TIMINGS.retry, sleep=TIMINGS.sleep
        ),
        rotate_refresh_token=settings.rotate_refresh_token,
        clock=TIMINGS.token_clock,
    )
    endpoint = TokenEndpoint.partner_center(
        settings.authority_host, settings.partner_tenant_id, settings.partner_center_resource
    )
    tokens = PartnerCenterTokens(exchanges, endpoint, clock=TIMINGS.token_clock)
    return Credentials(
        settings,
        names,
        secrets,
        tokens,
        TenantTokens(exchanges, authority_host=settings.authority_host, clock=TIMINGS.token_clock),
        CredentialProbe(tokens, clock=TIMINGS.token_clock),
    )


def _secret_cache(settings: CredentialSettings) -> SecretCache:
    credential = OneIdentityCall(_azure_credential(settings))
    return SecretCache(
        KeyVaultStore(
            build_secret_client(
                vault_url=settings.key_vault_url,
                credential=credential,
                verify_challenge_resource=settings.key_vault_verify_challenge_resource,
                retry_backoff=TIMINGS.key_vault_retry_backoff,
            ),
            authorized=credential.issued,
        ),
        ttl=settings.secret_cache_seconds,
        write_retry_delays=TIMINGS.secret_write_retry_delays,
    )


def _build_reset(settings: Settings, credentials: Credentials) -> ResetDependencies:
    session = build_session()
    tokens = credentials.tokens
    client = PartnerCenterClient(
        base_url=settings.partner_center_base_url,
        session=session,
        tokens=tokens,
        retry=TIMINGS.retry,
        sleep=TIMINGS.sleep,
        timeouts=TIMINGS.partner_center_timeouts,
        reset_call=settings.partner_center_reset_call,
    )
    caller_tokens = _caller_tokens(settings, settings.authority_host, session)
    reads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="guard-reads")
    names = NameResolver(
        client,
        TenantDiscovery(
            session=session,
            authority_host=settings.authority_host,
            retry=TIMINGS.retry,
            sleep=TIMINGS.sleep,
        ),
        ttl_seconds=settings.lookup_cache_seconds,
        miss_ttl_seconds=settings.lookup_miss_cache_seconds,
        clock=TIMINGS.lookup_clock,
    )
    service = ResetService(
        partner_center=client,
        names=names,
        guard=GuardPolicy(settings.protected_role_guard, settings.protected_role_ids),
        idempotency_hmac_key=lambda: credentials.derived_key(HMAC_KEY_LABEL),
        reads=reads,
        graph=GraphClient(
            base_url=settings.graph_base_url,
            session=session,
            tokens=credentials.tenant_tokens,
            retry=TIMINGS.retry,
            sleep=TIMINGS.sleep,
            timeouts=TIMINGS.graph_timeouts,
        ),
        gdap=GdapCheck(
            base_url=settings.graph_base_url,
            partner_tenant_id=credentials.settings.partner_tenant_id,
            session=session,
            tokens=credentials.tenant_tokens,
            retry=TIMINGS.retry,
            sleep=TIMINGS.sleep,
            timeouts=TIMINGS.graph_timeouts,
        ),
    )
    return ResetDependencies(
        settings,
        credentials,
        caller_tokens,
        CustomerPolicy(settings.caller_policy),
        service,
        reads,
        TIMINGS.deadline_clock,
    )


def _caller_tokens(
    settings: CallerTokenSettings, authority_host: str, session: requests.Session
) -> CallerTokenValidator | None:
    """The caller-token check, when CALLER_TENANT_ID and CALLER_AUDIENCE turn it on."""
    if settings.caller_tenant_id is None or settings.caller_audience is None:
        return None
    return CallerTokenValidator(
        session=session,
        authority_host=authority_host,
        tenant_id=settings.caller_tenant_id,
        audience=settings.caller_audience,
        required_role=settings.caller_required_role,
        refresh_floor=TIMINGS.caller_key_refresh_floor,
        lock_wait=TIMINGS.caller_key_wait,
    )


def _azure_credential(
    settings: CredentialSettings,
) -> ManagedIdentityCredential | DefaultAzureCredential:
    """Managed identity in Azure; developer credentials elsewhere. Few, short attempts:
    a hanging identity endpoint must not outlast the reset. Redirects are never followed."""
    if settings.managed_identity_available:
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
