"""Which Microsoft Entra tenant verified a domain: the identity platform's public OpenID
discovery document for that domain names the tenant in its `issuer`.

This sees every verified domain of a tenant (custom domains included), where Partner
Center's customer search sees only the one in each company profile.
"""

from __future__ import annotations

import re

import requests

from shared.errors import DEPENDENCY_RETRY_AFTER, CustomerNotFound, DependencyUnavailable
from shared.json_body import json_body
from shared.upstream import Request, Upstream, UpstreamFailed

# The v2.0 document's issuer is https://<authority>/<tenant GUID>/v2.0; the v1 form,
# https://sts.windows.net/<tenant GUID>/, names the tenant the same way. Any scheme and
# host (a sovereign cloud's authority, the local emulator), but the GUID must be the
# whole first path segment: anything looser could read a tenant out of another URL.
_ISSUER = re.compile(
    r"^https?://[^/]+/(?P<tenant>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(/v2\.0)?/?$"
)


class TenantDiscovery:
    def __init__(self, *, upstream: Upstream, authority_host: str) -> None:
        self._upstream = upstream
        self._authority_host = authority_host

    def tenant_of(self, domain: str) -> str:
        """The tenant ID (lower case) that verified `domain`; CustomerNotFound if none.

        `domain` must already be a checked domain name: it goes into the URL path.
        """
        request = Request(
            "GET",
            f"{self._authority_host}/{domain}/v2.0/.well-known/openid-configuration",
            headers={"Accept": "application/json"},
            label="tenant discovery",
        )
        try:
            return self._upstream.call(request, lambda response: _tenant_from(response, domain))
        except UpstreamFailed as failed:
            raise _unavailable(failed.reason) from None


def _tenant_from(response: requests.Response, domain: str) -> str:
    """A final answer (retried statuses never get here): the tenant, or why none."""
    status = response.status_code
    if status in (400, 404):
        # AADSTS90002: no tenant has verified this domain.
        raise CustomerNotFound(
            f"No Microsoft Entra tenant has verified the domain {domain}: check the "
            "spelling, or name the customer by its tenant ID."
        )
    if status != 200:
        raise _unavailable(f"the identity platform answered HTTP {status}")
    try:
        issuer = json_body(response).get("issuer")
    except (ValueError, AttributeError):
        issuer = None
    found = _ISSUER.fullmatch(issuer) if isinstance(issuer, str) else None
    if found is None:
        raise _unavailable("the identity platform's discovery document names no tenant in 'issuer'")
    return found["tenant"].lower()


def _unavailable(reason: str) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"Could not learn which tenant verified the domain ({reason}).",
        retry_after=DEPENDENCY_RETRY_AFTER,
    )
