"""Redeeming the stored refresh token: one exchange at a time, the new refresh token kept.

Every access token the function gets (Partner Center's, a Graph token in another tenant)
comes from the partner's one refresh token, which each exchange may rotate. So the
exchanges run one at a time (the timer's and a request's never redeem the same refresh
token twice), and a new refresh token is kept before anything else can fail: the identity
platform may already have revoked the old one. It is stored in Key Vault in the
background (ROTATE_REFRESH_TOKEN) or only kept in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from pydantic import SecretStr

from credentials.access_token import AccessToken, access_token_from, waited_too_long
from credentials.grant import RefreshTokenGrant, TokenEndpoint
from credentials.history import ExchangeLog
from credentials.key_vault import SecretNames
from credentials.secret_cache import SecretCache
from shared.context import current_deadline
from shared.errors import DomainError, PartnerCredentialsInvalid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exchange:
    """A completed exchange; `stored` is the write-back of the new refresh token, if any."""

    token: AccessToken
    refresh_token_rotated: bool
    stored: Future[str | None] | None


class RefreshTokenExchange:
    def __init__(
        self,
        *,
        secrets: SecretCache,
        names: SecretNames,
        grant: RefreshTokenGrant,
        rotate_refresh_token: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = secrets
        self._names = names
        self._grant = grant
        self._rotate = rotate_refresh_token
        self._clock = clock
        self._lock = threading.Lock()

    def redeem(self, endpoint: TokenEndpoint, record: ExchangeLog | None = None) -> Exchange:
        """An access token from `endpoint`, once the exchanges under way are done; its
        success or failure is written to `record`, when given, before the next begins."""
        if not self._lock.acquire(timeout=current_deadline().remaining()):
            raise waited_too_long()
        try:
            exchange = self._redeem(endpoint)
        except DomainError as exc:
            if record is not None:
                record.failed(exc)
            raise
        else:
            if record is not None:
                record.succeeded(exchange.token)
            return exchange
        finally:
            self._lock.release()

    def _redeem(self, endpoint: TokenEndpoint) -> Exchange:
        names = (self._names.app_id, self._names.app_secret, self._names.refresh_token)
        app_id_secret, app_secret_secret, refresh = self._secrets.get_many(names)
        app_id, app_secret = app_id_secret.value, app_secret_secret.value
        try:
            answer = self._grant.redeem(endpoint, app_id, app_secret, refresh.value)
        except PartnerCredentialsInvalid:
            # An operator may have stored a new refresh token after re-consent: look once.
            latest = self._secrets.read_latest(self._names.refresh_token)
            if latest.value == refresh.value:
                raise
            logger.warning("Refresh token rejected; retrying with the newer one in Key Vault.")
            answer = self._grant.redeem(endpoint, app_id, app_secret, latest.value)
        # The new refresh token is kept first: the identity platform may already have
        # revoked the old one, so nothing below may lose it.
        new_refresh = answer.get("refresh_token")
        stored = None
        rotated = isinstance(new_refresh, str) and bool(new_refresh.strip())
        if rotated:
            stored = self._keep_refresh_token(SecretStr(str(new_refresh).strip()))
        token = access_token_from(answer, self._clock())
        return Exchange(token, refresh_token_rotated=rotated, stored=stored)

    def _keep_refresh_token(self, value: SecretStr) -> Future[str | None] | None:
        if self._rotate:
            return self._secrets.write_in_background(self._names.refresh_token, value)
        self._secrets.keep(self._names.refresh_token, value)
        return None
