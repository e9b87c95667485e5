"""The access tokens the emulated identity services handed out and still honour."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


def normalize_audience(audience: str) -> str:
    # "https://vault.azure.net" and "https://vault.azure.net/" name the same resource.
    return audience.rstrip("/")


@dataclass(frozen=True)
class _Grant:
    audience: str
    expires_at: float
    # The directory the token was issued in, for services (Graph) whose data is per tenant.
    tenant: str | None = None


class TokenLedger:
    """Thread-safe registry shared by token issuers and the services that check tokens."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {}
        # Tests move this forward to expire tokens instead of sleeping.
        self.clock: Callable[[], float] = time.time

    def issue(self, audience: str, lifetime_s: float, *, tenant: str | None = None) -> str:
        token = "emu-" + secrets.token_urlsafe(32)
        grant = _Grant(normalize_audience(audience), self.clock() + lifetime_s, tenant)
        with self._lock:
            self._grants[token] = grant
        return token

    def record(self, token: str, audience: str, lifetime_s: float) -> None:
        """Honour a token minted elsewhere: the code grant's access token is a JWT with `amr`."""
        grant = _Grant(normalize_audience(audience), self.clock() + lifetime_s)
        with self._lock:
            self._grants[token] = grant

    def is_valid(self, token: str | None, audience: str) -> bool:
        if not token:
            return False
        with self._lock:
            grant = self._grants.get(token)
        if grant is None or grant.expires_at <= self.clock():
            return False
        return grant.audience == normalize_audience(audience)

    def audience_of(self, token: str) -> str | None:
        with self._lock:
            grant = self._grants.get(token)
        return grant.audience if grant else None

    def tenant_of(self, token: str) -> str | None:
        """The tenant a token was issued in, when its issuer said (None otherwise)."""
        with self._lock:
            grant = self._grants.get(token)
        return grant.tenant if grant else None

    def revoke(self, token: str) -> None:
        with self._lock:
            self._grants.pop(token, None)

    def revoke_all(self) -> None:
        with self._lock:
            self._grants.clear()

    def issued_tokens(self) -> list[str]:
        """Every token still on record, for tests that search output for leaked secrets."""
        with self._lock:
            return list(self._grants)

    def __len__(self) -> int:
        with self._lock:
            return len(self._grants)
