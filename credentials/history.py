"""This instance's Partner Center exchanges, for the credentials health check: when the
last one worked (and the sign-in's methods), when the last one failed and why. No secret
in it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from credentials.access_token import AccessToken
from shared.errors import DomainError, PartnerCredentialsInvalid
from shared.jwt_claims import authentication_methods, unverified_claims


@dataclass(frozen=True)
class ExchangeSucceeded:
    """What the credentials health check may know of the last good exchange: when, and
    the sign-in's methods from the access token (None: the token's claims were unreadable)."""

    at: float
    authentication_methods: tuple[str, ...] | None

    @property
    def mfa(self) -> bool | None:
        methods = self.authentication_methods
        return None if methods is None else "mfa" in methods


@dataclass(frozen=True)
class ExchangeFailed:
    """The last failed exchange: when, and our own detail (never an upstream string)."""

    at: float
    detail: str
    credentials_rejected: bool


@dataclass(frozen=True)
class ExchangeHistory:
    """This instance's Partner Center exchanges since it started (no secret in it)."""

    last_success: ExchangeSucceeded | None = None
    last_failure: ExchangeFailed | None = None

    @property
    def failing(self) -> bool:
        """The most recent exchange failed."""
        if self.last_failure is None:
            return False
        return self.last_success is None or self.last_failure.at >= self.last_success.at


class ExchangeLog:
    """Where exchanges are recorded as they end; `history()` is the record so far."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._history = ExchangeHistory()

    def history(self) -> ExchangeHistory:
        return self._history

    def succeeded(self, token: AccessToken) -> None:
        # The token came from the token endpoint over our own connection: its claims are
        # read only to report the sign-in's methods, never trusted for anything else.
        claims = unverified_claims(token.value.get_secret_value())
        methods = tuple(authentication_methods(claims)) if claims else None
        self._history = ExchangeHistory(
            ExchangeSucceeded(self._clock(), methods), self._history.last_failure
        )

    def failed(self, error: DomainError) -> None:
        failed = ExchangeFailed(
            self._clock(), error.detail, isinstance(error, PartnerCredentialsInvalid)
        )
        self._history = ExchangeHistory(self._history.last_success, failed)
