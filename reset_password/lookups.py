"""Names to IDs: a customer's domain to its tenant ID, a UPN to the user's object ID.

- Customer by domain, in two steps the service keeps apart: the identity platform's
  OpenID discovery document for the domain names the tenant that verified it (any
  verified domain: custom ones too; public, no Partner Center call), then one Partner
  Center read confirms the tenant is a customer. Between the two the service compares
  the tenant with the caller's list, so a restricted caller never makes Partner Center
  read a tenant outside it. Partner Center's own customer search would see only the
  domain in each company profile, so it is not used.
- User by UPN: Partner Center offers no exact lookup: the users collection has no UPN
  filter (a `filter` there is refused), so the customer's users are read page by page
  with the continuation token until the page that holds the match, matched exactly
  (case-insensitively). Its cost grows with the customer's size (ceil(n / 500) calls
  for the last user), which is why results are cached.

Resolved IDs are cached for LOOKUP_CACHE_SECONDS. A cached ID may go stale (user deleted
and re-created); the service drops the entry on a 404 and looks again. A name that was
not found is remembered as missing for LOOKUP_MISS_CACHE_SECONDS: ten requests for one
missing UPN in a 20,000-user customer must not page through it ten times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from reset_password.names import GUID, CustomerRef, UserRef
from reset_password.partner_center import CallContext, PartnerCenterClient, customer_not_found
from reset_password.tenant_discovery import TenantDiscovery
from shared.cache import Cache, CacheWaitTimeout, Misses, Stale
from shared.context import current_deadline
from shared.errors import (
    CustomerNotFound,
    UpstreamError,
    UpstreamTimeout,
    UserNotFound,
)

logger = logging.getLogger(__name__)

# The largest page Partner Center serves for users: fewer round trips per lookup.
USER_PAGE_SIZE = 500
# Bounds memory when callers name many distinct names: the IDs found and the names
# remembered as missing number at most this many each; the oldest go first.
MAX_CACHE_ENTRIES = 50_000


@dataclass(frozen=True)
class Resolved:
    """An ID and whether it came from the cache (and so may be stale)."""

    id: str
    cached: bool


class NameResolver:
    """Resolves names through Partner Center, one process-wide cache for all requests.

    Concurrent requests for the same name share one lookup (single flight): a burst of
    resets for one big customer must not each page through its 20,000 users.
    """

    def __init__(
        self,
        partner_center: PartnerCenterClient,
        discovery: TenantDiscovery,
        *,
        ttl_seconds: float,
        miss_ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._partner_center = partner_center
        self._discovery = discovery
        self._cache: Cache[Hashable, str] = Cache(
            ttl=ttl_seconds,
            misses=Misses(miss_ttl_seconds, (CustomerNotFound, UserNotFound)),
            # A stale ID is never served: a 404 for it is handled by a fresh lookup.
            stale=Stale(on=()),
            max_entries=MAX_CACHE_ENTRIES,
            clock=clock,
        )

    def tenant(self, ref: CustomerRef) -> Resolved:
        """The tenant the caller named: its ID as given, or the tenant that verified its
        domain (OpenID discovery: public, no Partner Center call). CustomerNotFound when
        no tenant verified the domain."""
        if ref.tenant_id is not None:
            return Resolved(ref.tenant_id, cached=False)
        domain = ref.requested
        return self._resolve(("tenant", domain), lambda: self._discovery.tenant_of(domain))

    def confirm_customer(self, ref: CustomerRef, tenant: Resolved) -> Resolved:
        """`tenant` (from `tenant(ref)`) once Partner Center confirmed it is a customer;
        CustomerNotFound when it is not. A tenant named by ID is not read here: the
        reset's own call says whether it is a customer (60003)."""
        if ref.domain is None:
            return tenant
        tenant_id = tenant.id
        confirmed = self._resolve(("customer", tenant_id), lambda: self._confirm(tenant_id))
        return Resolved(tenant_id, cached=tenant.cached or confirmed.cached)

    def user(self, customer_id: str, ref: UserRef) -> Resolved:
        if ref.object_id is not None:
            return Resolved(ref.object_id, cached=False)
        upn = ref.requested
        return self._resolve(
            ("user", customer_id.lower(), upn),
            lambda: self._find_user(customer_id, upn),
        )

    def forget_customer(self, ref: CustomerRef, tenant_id: str) -> None:
        if ref.domain is not None:
            self._cache.drop(("tenant", ref.domain))
            self._cache.drop(("customer", tenant_id))

    def forget_user(self, customer_id: str, ref: UserRef) -> None:
        if ref.upn is not None:
            self._cache.drop(("user", customer_id.lower(), ref.upn))

    def _resolve(self, key: Hashable, find: Callable[[], str]) -> Resolved:
        try:
            found = self._cache.get(key, find, wait=current_deadline().remaining())
        except CacheWaitTimeout:
            raise UpstreamTimeout(
                "The reset's deadline ran out while another request looked up the same name."
            ) from None
        return Resolved(found.value, cached=found.cached)

    # --- Partner Center searches -----------------------------------------------

    def _confirm(self, tenant_id: str) -> str:
        """The tenant, if it is one of the partner's customers (one Partner Center read).
        A verified domain belongs to one tenant, so no domain is ambiguous."""
        self._partner_center.get_customer(tenant_id, context=CallContext())
        return tenant_id

    def _find_user(self, customer_id: str, upn: str) -> str:
        continuation: str | None = None
        pages = 0
        while True:
            items, continuation = self._partner_center.get_collection_page(
                f"/v1/customers/{customer_id}/users",
                params={"size": str(USER_PAGE_SIZE)},
                continuation=continuation,
                context=CallContext(),
                not_found=lambda _answer: customer_not_found(customer_id),
            )
            pages += 1
            for item in items:
                name = item.get("userPrincipalName")
                if isinstance(name, str) and name.lower() == upn:
                    logger.debug(
                        "UPN lookup found the user on page %d",
                        pages,
                    )
                    return _guid(item.get("id"), "user object ID")
            if continuation is None:
                raise UserNotFound(
                    f"The customer's tenant has no user with the userPrincipalName {upn}."
                )


def _guid(value: object, what: str) -> str:
    # The ID goes into the next request's URL path: only a GUID may.
    if not isinstance(value, str) or not GUID.fullmatch(value):
        raise UpstreamError(f"Partner Center's lookup answer held no valid {what}.")
    return value.lower()
