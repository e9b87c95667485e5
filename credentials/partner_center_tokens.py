"""Partner Center access tokens in the partner tenant, and this instance's history of
getting them (for the credentials health check).

A token is cached until shortly before it expires, then refreshed by one request while
the others keep using the still-valid one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import SecretStr

from credentials.access_token import AccessToken, cached_token, token_cache
from credentials.exchange import Exchange, RefreshTokenExchange
from credentials.grant import TokenEndpoint
from credentials.history import ExchangeHistory, ExchangeLog
from shared.cache import Cache

logger = logging.getLogger(__name__)

_KEY = "partner-center"


class PartnerCenterTokens:
    def __init__(
        self,
        exchanges: RefreshTokenExchange,
        endpoint: TokenEndpoint,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._exchanges = exchanges
        self._endpoint = endpoint
        self._cache: Cache[str, AccessToken] = token_cache(clock)
        self._log = ExchangeLog(clock)

    def access_token(self) -> SecretStr:
        found = cached_token(self._cache, _KEY, lambda: self._exchange().token)
        if found.load_failure is not None:
            logger.warning(
                "Early token refresh failed; using the current token: %s",
                getattr(found.load_failure, "detail", type(found.load_failure).__name__),
            )
        return found.value.value

    def invalidate(self, rejected: SecretStr) -> None:
        """Forget a token Partner Center refused, unless another request already replaced it."""
        self._cache.drop(_KEY, only_if=lambda token: token.value == rejected)

    def exchange(self) -> Exchange:
        """Exchange the refresh token now, whatever is cached (the rotation timer, a probe)."""
        exchange = self._exchange()
        self._cache.put(_KEY, exchange.token)
        return exchange

    def history(self) -> ExchangeHistory:
        """The last good and the last failed Partner Center exchange of this instance."""
        return self._log.history()

    def _exchange(self) -> Exchange:
        return self._exchanges.redeem(self._endpoint, record=self._log)
