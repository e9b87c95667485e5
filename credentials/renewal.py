"""One exchange past the cached access token, then its new refresh token's write-back
awaited: the rotation timer and the credentials probe both report only once Key Vault
holds the token the exchange produced (or why it does not)."""

from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Protocol

from credentials.exchange import Exchange
from shared.context import Deadline


class ExchangesNow(Protocol):
    """An exchange past the cached access token (credentials.partner_center_tokens)."""

    def exchange(self) -> Exchange: ...


@dataclass(frozen=True)
class Renewal:
    """How it went. `failure`: the exchange raised it (a DomainError speaks for itself;
    of anything else only the type may be told). `rotated`: a new refresh token came back;
    `written`: a write-back of it was started (ROTATE_REFRESH_TOKEN); `store_failure`:
    the write-back raised it, or `StoreLate` when it had not finished in time."""

    failure: Exception | None = None
    rotated: bool = False
    written: bool = False
    store_failure: Exception | None = None


class StoreLate(Exception):
    """The write-back was still under way when the wait for it ended."""


def renew(tokens: ExchangesNow, deadline: Deadline, *, wait_at_least: float = 0.0) -> Renewal:
    """Exchange now and wait for the write-back until `deadline` (or `wait_at_least`
    seconds, if longer); never raises."""
    try:
        exchange = tokens.exchange()
    except Exception as exc:  # noqa: BLE001 - the callers report every failure
        return Renewal(failure=exc)
    if exchange.stored is None:
        return Renewal(rotated=exchange.refresh_token_rotated)
    try:
        exchange.stored.result(timeout=max(deadline.remaining(), wait_at_least))
    except FutureTimeout:
        return Renewal(rotated=True, written=True, store_failure=StoreLate())
    except Exception as exc:  # noqa: BLE001
        return Renewal(rotated=True, written=True, store_failure=exc)
    return Renewal(rotated=True, written=True)
