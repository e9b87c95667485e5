"""Access tokens for a resource in another tenant (Microsoft Graph in a customer's
tenant, or in the partner's own for its GDAP relationships), from the same stored
refresh token: GDAP makes the partner admin's token good there. Cached per tenant and
scope; these exchanges are not part of the Partner Center exchange history.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from credentials.access_token import AccessToken, cached_token, token_cache
from credentials.exchange import RefreshTokenExchange
from credentials.grant import TokenEndpoint
from shared.cache import Cache


class TenantTokens:
    def __init__(
        self,
        exchanges: RefreshTokenExchange,
        *,
        authority_host: str,
        clock: Callable[[], float],
    ) -> None:
        self._exchanges = exchanges
        self._authority_host = authority_host
        self._cache: Cache[tuple[str, str], AccessToken] = token_cache(clock)

    def token_for(self, tenant_id: str, scope: str) -> SecretStr:
        """A token for `scope` in `tenant_id`, exchanged when none is cached or due."""
        key = (tenant_id.lower(), scope)
        endpoint = TokenEndpoint.tenant(self._authority_host, key[0], scope)
        found = cached_token(self._cache, key, lambda: self._exchanges.redeem(endpoint).token)
        return found.value.value

    def invalidate_for(self, tenant_id: str, scope: str, rejected: SecretStr) -> None:
        """Forget a token the resource refused, unless another request already replaced it."""
        self._cache.drop((tenant_id.lower(), scope), only_if=lambda token: token.value == rejected)
