"""An access token from the token endpoint's answer, and the cache both kinds of token
(Partner Center's, other tenants') are kept in: fresh until shortly before expiry, then
usable while one request refreshes it; a failed refresh keeps serving the still-valid one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import SecretStr

from credentials.grant_answer import token_endpoint_down
from shared.cache import Cache, CacheWaitTimeout, Found, Lifetime, Stale
from shared.context import current_deadline
from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable, UpstreamTimeout
from shared.retry import parse_seconds

# Refresh this long before expiry (or at half-life for short-lived tokens).
REFRESH_MARGIN_SECONDS = 300.0
DEFAULT_LIFETIME_SECONDS = 3600.0
# What an HTTP header can carry: a token with anything else is unusable, not a crash.
_HEADER_SAFE_TOKEN = re.compile(r"^[\x21-\x7e]{1,16384}$")

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class AccessToken:
    value: SecretStr
    expires_at: float
    refresh_at: float


def access_token_from(answer: dict[str, Any], now: float) -> AccessToken:
    """The access token in a grant's answer, with when to refresh it and when it expires."""
    value = str(answer["access_token"])
    if not _HEADER_SAFE_TOKEN.fullmatch(value):
        raise token_endpoint_down("it issued an access token that no header can carry")
    # An unreadable lifetime counts as absent: the default, not a failed request.
    lifetime = parse_seconds(answer.get("expires_in"))
    if lifetime is None:
        expires_on = parse_seconds(answer.get("expires_on"))
        lifetime = (expires_on - now) if expires_on is not None else DEFAULT_LIFETIME_SECONDS
    lifetime = min(max(lifetime, 0.0), 24 * 3600.0)
    margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
    return AccessToken(
        value=SecretStr(value), expires_at=now + lifetime, refresh_at=now + lifetime - margin
    )


def token_cache(clock: Callable[[], float]) -> Cache[K, AccessToken]:
    return Cache(
        ttl=0,
        lifetime=lambda token: Lifetime(
            fresh=token.refresh_at - clock(), usable=token.expires_at - clock()
        ),
        stale=Stale(on=(DependencyUnavailable, UpstreamTimeout)),
        clock=clock,
    )


def cached_token(
    cache: Cache[K, AccessToken], key: K, exchange: Callable[[], AccessToken]
) -> Found[AccessToken]:
    """The token for `key`, exchanged when due; waiting on another request's exchange no
    longer than the deadline."""
    try:
        return cache.get(key, exchange, wait=current_deadline().remaining())
    except CacheWaitTimeout:
        raise waited_too_long() from None


def waited_too_long() -> DependencyUnavailable:
    return DependencyUnavailable(
        "Timed out waiting for the Partner Center token exchange.",
        retry_after=DEPENDENCY_RETRY_AFTER,
    )
