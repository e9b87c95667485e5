"""Which Microsoft Entra tenant verified a domain: the identity platform's public OpenID
discovery document for that domain names the tenant in its `issuer`.

This sees every verified domain of a tenant (custom domains included), where Partner
Center's customer search sees only the one in each company profile.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import requests

from shared.context import current_deadline
from shared.errors import (
    DEPENDENCY_RETRY_AFTER,
    CustomerNotFound,
    DependencyUnavailable,
    UpstreamTimeout,
)
from shared.json_body import json_body
from shared.retry import RETRYABLE_STATUSES, RetryPolicy, TryAgain, with_retries

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
# The v2.0 document's issuer is https://<authority>/<tenant GUID>/v2.0; the v1 form,
# https://sts.windows.net/<tenant GUID>/, names the tenant the same way. Any scheme and
# host (a sovereign cloud's authority, the local emulator), but the GUID must be the
# whole first path segment: anything looser could read a tenant out of another URL.
_ISSUER = re.compile(
    r"^https?://[^/]+/(?P<tenant>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(/v2\.0)?/?$"
)


class TenantDiscovery:
    def __init__(
        self,
        *,
        session: requests.Session,
        authority_host: str,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = session
        self._authority_host = authority_host
        self._retry = retry
        self._sleep = sleep

    def tenant_of(self, domain: str) -> str:
        """The tenant ID (lower case) that verified `domain`; CustomerNotFound if none.

        `domain` must already be a checked domain name: it goes into the URL path.
        """
        url = f"{self._authority_host}/{domain}/v2.0/.well-known/openid-configuration"

        def attempt() -> str | TryAgain:
            deadline = current_deadline()
            try:
                response = self._session.get(
                    url,
                    headers={"Accept": "application/json"},
                    timeout=(deadline.timeout(CONNECT_TIMEOUT), deadline.timeout(READ_TIMEOUT)),
                    allow_redirects=False,
                )
            except UpstreamTimeout:
                raise _unavailable("the request's deadline ran out") from None
            except requests.RequestException as exc:
                return TryAgain(f"it could not be reached ({type(exc).__name__})")
            status = response.status_code
            if status in (400, 404):
                # AADSTS90002: no tenant has verified this domain.
                raise CustomerNotFound(
                    f"No Microsoft Entra tenant has verified the domain {domain}: check the "
                    "spelling, or name the customer by its tenant ID."
                )
            if status in RETRYABLE_STATUSES:
                return TryAgain(f"it answered HTTP {status}")
            if status != 200:
                raise _unavailable(f"it answered HTTP {status}")
            return _tenant_from(response)

        return with_retries(
            attempt,
            policy=self._retry,
            sleep=self._sleep,
            give_up=lambda last, _delay: _unavailable(last.failure or "no answer in time"),
            label="tenant discovery",
        )


def _tenant_from(response: requests.Response) -> str:
    try:
        issuer = json_body(response).get("issuer")
    except (ValueError, AttributeError):
        issuer = None
    found = _ISSUER.fullmatch(issuer) if isinstance(issuer, str) else None
    if found is None:
        raise _unavailable("its discovery document names no tenant in 'issuer'")
    return found["tenant"].lower()


def _unavailable(reason: str) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"Could not learn which tenant verified the domain from the identity platform "
        f"({reason}).",
        retry_after=DEPENDENCY_RETRY_AFTER,
    )
