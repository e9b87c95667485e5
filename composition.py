"""Composition root: what each function needs, built once per process from validated
settings. Its providers (`reset_dependencies`, `credentials`, `credentials_health`,
`health_route_access`) are handed to the blueprints in `function_app.py` and asked per
request or run, so a bad setting is reported by the function that needs it, when it does.

The rotation timer and the credentials health route ask only for the credentials (and
the health thresholds; the route also for its caller-token and probe settings), so a bad
setting of the reset route cannot stop them; the reset route gets the whole graph,
sharing those same credentials (one token cache per process). Tests call `rebuild()` to
start cold, as a new worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import requests
from azure.data.tables import TableClient
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.storage.queue import QueueClient

from credentials import key_vault, secret_cache
from credentials.checks import CredentialsHealthDependencies
from credentials.dependencies import Credentials, HealthRouteAccess
from credentials.exchange import RefreshTokenExchange
from credentials.grant import RefreshTokenGrant, TokenEndpoint
from credentials.key_vault import KeyVaultStore, OneIdentityCall, SecretNames, build_secret_client
from credentials.outcome_table import TABLE_NAME as OUTCOME_TABLE
from credentials.outcome_table import OutcomeTable
from credentials.partner_center_tokens import PartnerCenterTokens
from credentials.probe import CredentialProbe
from credentials.secret_cache import SecretCache
from credentials.tenant_tokens import TenantTokens
from reset_batches.accept import BatchAcceptance
from reset_batches.dependencies import BatchDependencies
from reset_batches.links import BatchLinks
from reset_batches.queue import BatchQueue, open_queue
from reset_batches.step import ServiceResetStep
from reset_batches.store import TABLE_NAME as BATCH_TABLE
from reset_batches.store import BatchStore
from reset_batches.worker import BatchWorker, ResetStep
from reset_password.caller_policy import CustomerPolicy
from reset_password.delivery import LinkStorage, PasswordDelivery
from reset_password.dependencies import ResetDependencies
from reset_password.gdap import GdapCheck
from reset_password.graph import GraphClient
from reset_password.guard import GuardPolicy, TargetGuard
from reset_password.idempotency import HMAC_KEY_LABEL
from reset_password.lookups import NameResolver
from reset_password.partner_center import PartnerCenterClient
from reset_password.service import GraphSteps, ResetService
from reset_password.tenant_discovery import TenantDiscovery
from secret_links.routes import SecretLinkDependencies
from secret_links.store import TABLE_NAME as LINK_TABLE
from secret_links.store import SecretLinkStore
from shared import caller_auth, storage
from shared.caller_auth import CallerTokenValidator, TokenRules
from shared.log import install_correlation_logging
from shared.retry import RetryPolicy
from shared.settings import (
    BatchSettings,
    CallerTokenSettings,
    CredentialSettings,
    SecretLinkSettings,
    Settings,
    SettingsError,
    load_batch_settings,
    load_check_table_settings,
    load_credential_settings,
    load_health_route_settings,
    load_health_settings,
    load_secret_link_settings,
    load_settings,
)
from shared.storage import open_table
from shared.upstream import Upstream
from worker.http import build_session
from worker.startup import quiet_sdk_logging, report_settings_problems
from worker.telemetry import start_log_export

install_correlation_logging()
quiet_sdk_logging()
# Before the settings report, so its lines are exported too.
start_log_export()
report_settings_problems()


@dataclass(frozen=True)
class Timings:
    """Every wait the function makes, in one place: tests swap in short ones."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # (connect, read) seconds per upstream call, each clipped to what is left of the
    # request's deadline. A reset waits longest for Partner Center, which answers it.
    partner_center_timeouts: tuple[float, float] = (3.0, 20.0)
    graph_timeouts: tuple[float, float] = (3.0, 10.0)
    # The identity platform's public documents: tenant discovery, caller signing keys.
    identity_documents_timeouts: tuple[float, float] = (3.0, 5.0)
    # The identity platform's token endpoint: the refresh-token grant.
    token_endpoint_timeouts: tuple[float, float] = (3.0, 10.0)
    # The App Service managed-identity endpoint, through azure-identity.
    managed_identity_timeouts: tuple[float, float] = (3.0, 5.0)
    # Key Vault and Table storage, through the Azure SDK (each attempt; a table attempt,
    # and the SDK's wait before it, also cut to what is left of the request's deadline).
    key_vault_timeouts: tuple[float, float] = (3.0, 10.0)
    table_timeouts: tuple[float, float] = (3.0, 10.0)
    # Queue storage (the batch messages), through the Azure SDK (each attempt, and the
    # SDK's wait before it, also cut to what is left of the request's deadline).
    queue_timeouts: tuple[float, float] = (3.0, 10.0)
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
    # Wall-clock time of one-time links (their expiry, the reveal's audit time).
    link_clock: Callable[[], float] = time.time
    # The Azure SDK's own backoff between its Table storage attempts.
    table_retry_backoff: float = storage.SDK_RETRY_BACKOFF
    # How old a remembered name or miss is: a test moves it past LOOKUP_MISS_CACHE_SECONDS.
    lookup_clock: Callable[[], float] = time.monotonic
    # The Azure SDK's own backoff between its Queue storage attempts (batches).
    queue_retry_backoff: float = storage.SDK_RETRY_BACKOFF


# Read when the graph is built.
TIMINGS = Timings()


@dataclass(frozen=True)
class _ResetGraph:
    dependencies: ResetDependencies
    # The guard's reads, shut down when the graph is forgotten.
    reads: ThreadPoolExecutor


@dataclass(frozen=True)
class _LinkGraph:
    """One store for the link routes and the resets that make links."""

    routes: SecretLinkDependencies
    storage: LinkStorage


_lock = threading.Lock()
_credentials: Credentials | None = None
_reset: _ResetGraph | None = None
_secret_links: _LinkGraph | None = None
_health_access: HealthRouteAccess | None = None
_batches: BatchDependencies | None = None
_outcomes: OutcomeTable | None = None


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
        return built.dependencies
    settings = load_settings()
    shared_credentials = credentials()
    with _lock:
        if _reset is None:
            _reset = _build_reset(settings, shared_credentials)
        return _reset.dependencies


def secret_links() -> SecretLinkDependencies:
    """The one-time links' store; raises SettingsError naming any bad link setting (the
    reset's and the credentials' settings play no part)."""
    return _links().routes


def link_storage() -> LinkStorage:
    """What a reset that generates a password needs of the link settings; asked for only
    by such a reset, so a bad link setting never stops a reset with the caller's password."""
    return _links().storage


def _links() -> _LinkGraph:
    global _secret_links  # noqa: PLW0603
    built = _secret_links
    if built is not None:
        return built
    settings = load_secret_link_settings()
    with _lock:
        if _secret_links is None:
            _secret_links = _build_secret_links(settings)
        return _secret_links


def batches() -> BatchDependencies:
    """The batch functions' graph; raises SettingsError naming any bad setting: the batch
    storage's, and the reset's and the links' it builds on (the same objects)."""
    global _batches  # noqa: PLW0603
    built = _batches
    if built is not None:
        return built
    settings = load_batch_settings()
    base_url = load_secret_link_settings().link_base_url
    reset = reset_dependencies()
    links = secret_links()
    with _lock:
        if _batches is None:
            _batches = _build_batches(settings, reset, links, base_url)
        return _batches


def rotation_outcomes() -> OutcomeTable:
    """The rotation's kept checks (table credentialchecks in the host's storage, reached
    as the batches reach it); raises SettingsError naming a bad storage setting (the
    credentials' settings play no part)."""
    global _outcomes  # noqa: PLW0603
    built = _outcomes
    if built is not None:
        return built
    settings = load_check_table_settings()
    with _lock:
        if _outcomes is None:
            _outcomes = OutcomeTable(
                _host_table(settings, OUTCOME_TABLE), clock=TIMINGS.token_clock
            )
        return _outcomes


def _host_table(settings: SecretLinkSettings | BatchSettings, name: str) -> TableClient:
    """A table of the host's storage account, reached as the host reaches it."""
    if settings.storage_connection_string is None:
        return open_table(
            endpoint=settings.table_endpoint,
            credential=_storage_credential(settings),
            table_name=name,
            timeouts=TIMINGS.table_timeouts,
            retry_backoff=TIMINGS.table_retry_backoff,
        )
    with _connection_string_checked():
        return open_table(
            connection_string=settings.storage_connection_string,
            table_name=name,
            timeouts=TIMINGS.table_timeouts,
            retry_backoff=TIMINGS.table_retry_backoff,
        )


def _host_queue(settings: BatchSettings) -> QueueClient:
    """The batch queue of the host's storage account, reached as the host reaches it."""
    if settings.storage_connection_string is None:
        return open_queue(
            endpoint=settings.queue_endpoint,
            credential=_storage_credential(settings),
            timeouts=TIMINGS.queue_timeouts,
            retry_backoff=TIMINGS.queue_retry_backoff,
        )
    with _connection_string_checked():
        return open_queue(
            connection_string=settings.storage_connection_string,
            timeouts=TIMINGS.queue_timeouts,
            retry_backoff=TIMINGS.queue_retry_backoff,
        )


@contextmanager
def _connection_string_checked() -> Iterator[None]:
    # The SDK's parser says what it could not read, with the text it read: name the
    # setting alone.
    try:
        yield
    except ValueError:
        raise SettingsError(["AzureWebJobsStorage is not a storage connection string"]) from None


def batch_reset_step(reset: ResetDependencies) -> ResetStep:
    """What runs one batch item: the single reset's service and CALLER_POLICY, the very
    same objects (a spec of the worker's own rules hands in a scripted step)."""
    return ServiceResetStep(reset.reset_service, reset.customer_policy)


def rebuild(*, keep_credentials: bool = False) -> None:
    """Forget the graph: the next request starts cold, as in a new worker.

    `keep_credentials` forgets only the reset route's graph, for a test that changes a
    setting of the route alone and wants the secrets and tokens warm.
    """
    global _credentials, _reset, _health_access, _secret_links, _batches, _outcomes  # noqa: PLW0603
    with _lock:
        if _outcomes is not None:
            _outcomes.close()
            _outcomes = None
        if _batches is not None:
            _batches.acceptance.close()
            _batches.store.close()
            _batches = None
        if _secret_links is not None:
            _secret_links.routes.store.close()
            _secret_links = None
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
            upstream=_upstream(
                "the identity platform", build_session(), TIMINGS.token_endpoint_timeouts
            ),
            names=names,
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
                timeouts=TIMINGS.key_vault_timeouts,
                retry_backoff=TIMINGS.key_vault_retry_backoff,
            ),
            timeouts=TIMINGS.key_vault_timeouts,
            authorized=credential.issued,
        ),
        ttl=settings.secret_cache_seconds,
        write_retry_delays=TIMINGS.secret_write_retry_delays,
    )


def _build_reset(settings: Settings, credentials: Credentials) -> _ResetGraph:
    session = build_session()
    tokens = credentials.tokens
    graph = _upstream("Microsoft Graph", session, TIMINGS.graph_timeouts)
    client = PartnerCenterClient(
        upstream=_upstream("Partner Center", session, TIMINGS.partner_center_timeouts),
        base_url=settings.partner_center_base_url,
        tokens=tokens,
        reset_call=settings.partner_center_reset_call,
    )
    # The calls a reset makes side by side: the guard's two reads, a link's seal and the
    # user's older links.
    reads = ThreadPoolExecutor(max_workers=32, thread_name_prefix="beside")
    delivery = PasswordDelivery(link_storage, reads)
    service = ResetService(
        partner_center=client,
        names=_names(settings, client, session),
        guard=TargetGuard(
            client,
            GuardPolicy(settings.protected_role_guard, settings.protected_role_ids),
            reads,
        ),
        idempotency_hmac_key=lambda: credentials.derived_key(HMAC_KEY_LABEL),
        graph=GraphSteps(
            sessions=GraphClient(
                upstream=graph, base_url=settings.graph_base_url, tokens=credentials.tenant_tokens
            ),
            gdap=GdapCheck(
                upstream=graph,
                base_url=settings.graph_base_url,
                partner_tenant_id=credentials.settings.partner_tenant_id,
                tokens=credentials.tenant_tokens,
            ),
        ),
        delivery=delivery,
    )
    dependencies = ResetDependencies(
        reset_service=service,
        delivery=delivery,
        caller_tokens=_caller_tokens(settings, settings.authority_host, session),
        customer_policy=CustomerPolicy(settings.caller_policy),
        deadline_seconds=settings.reset_deadline_seconds,
        deadline_clock=TIMINGS.deadline_clock,
    )
    return _ResetGraph(dependencies, reads)


def _names(
    settings: Settings, client: PartnerCenterClient, session: requests.Session
) -> NameResolver:
    """Names to IDs: domains through OpenID discovery, UPNs through Partner Center."""
    return NameResolver(
        client,
        TenantDiscovery(
            upstream=_identity_documents(session), authority_host=settings.authority_host
        ),
        ttl_seconds=settings.lookup_cache_seconds,
        miss_ttl_seconds=settings.lookup_miss_cache_seconds,
        clock=TIMINGS.lookup_clock,
    )


def _upstream(name: str, session: requests.Session, timeouts: tuple[float, float]) -> Upstream:
    """A dependency reached through `session`, retried and waited for as TIMINGS says."""
    return Upstream(name, session, timeouts, TIMINGS.retry, TIMINGS.sleep)


def _identity_documents(session: requests.Session) -> Upstream:
    return _upstream("the identity platform", session, TIMINGS.identity_documents_timeouts)


def _build_secret_links(settings: SecretLinkSettings) -> _LinkGraph:
    table = _host_table(settings, LINK_TABLE)
    store = SecretLinkStore(
        table,
        ttl=timedelta(minutes=settings.secret_link_ttl_minutes),
        clock=TIMINGS.link_clock,
    )
    return _LinkGraph(
        SecretLinkDependencies(store, TIMINGS.link_clock),
        LinkStorage(store, settings.link_base_url, settings.generated_password_length),
    )


def _build_batches(
    settings: BatchSettings,
    reset: ResetDependencies,
    links: SecretLinkDependencies,
    base_url: str,
) -> BatchDependencies:
    table = _host_table(settings, BATCH_TABLE)
    queue = _host_queue(settings)
    store = BatchStore(table)
    batch_links = BatchLinks(reset.delivery, links.store)
    return BatchDependencies(
        caller_tokens=reset.caller_tokens,
        customer_policy=reset.customer_policy,
        acceptance=BatchAcceptance(store, BatchQueue(queue), batch_links, clock=TIMINGS.link_clock),
        store=store,
        worker=BatchWorker(
            store,
            batch_reset_step(reset),
            batch_links,
            deadline_seconds=reset.deadline_seconds,
            deadline_clock=TIMINGS.deadline_clock,
        ),
        base_url=base_url,
    )


def _storage_credential(
    settings: SecretLinkSettings | BatchSettings,
) -> ManagedIdentityCredential | DefaultAzureCredential:
    """As the Functions host reaches its storage: the managed identity the app settings
    name (AzureWebJobsStorage__credential, __clientId), else developer credentials."""
    return _identity(settings.storage_uses_managed_identity, settings.storage_client_id)


def _caller_tokens(
    settings: CallerTokenSettings, authority_host: str, session: requests.Session
) -> CallerTokenValidator | None:
    """The caller-token check, when CALLER_TENANT_ID and CALLER_AUDIENCE turn it on."""
    if settings.caller_tenant_id is None or settings.caller_audience is None:
        return None
    return CallerTokenValidator(
        upstream=_identity_documents(session),
        authority_host=authority_host,
        rules=TokenRules(
            settings.caller_tenant_id, settings.caller_audience, settings.caller_required_role
        ),
        refresh_floor=TIMINGS.caller_key_refresh_floor,
        lock_wait=TIMINGS.caller_key_wait,
    )


def _azure_credential(
    settings: CredentialSettings,
) -> ManagedIdentityCredential | DefaultAzureCredential:
    """Managed identity in Azure; developer credentials elsewhere."""
    return _identity(
        settings.managed_identity_available, settings.azure_client_id, settings.authority_host
    )


def _identity(
    managed: bool, client_id: str | None, authority: str | None = None
) -> ManagedIdentityCredential | DefaultAzureCredential:
    """The managed identity (`managed`), else developer credentials. Few, short attempts:
    a hanging identity endpoint must not outlast the reset. Redirects are never followed."""
    if managed:
        connect, read = TIMINGS.managed_identity_timeouts
        return ManagedIdentityCredential(
            client_id=client_id,
            retry_total=1,
            connection_timeout=connect,
            read_timeout=read,
            permit_redirects=False,
        )
    return DefaultAzureCredential(
        authority=authority,
        managed_identity_client_id=client_id,
        exclude_interactive_browser_credential=True,
        retry_total=1,
        permit_redirects=False,
    )
