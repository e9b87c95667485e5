"""The credentials probe: one real token exchange for `?probe=true`, rationed.

An exchange redeems the partner's one refresh token and stores a new Key Vault version,
so a probe may not make one per request: at most one per floor (HEALTH_PROBE_MIN_SECONDS)
per instance, and probes arriving while one is under way share it. Within the floor the
last probe's outcome is reported again, a failure included: a refused credential is not
redeemed again by every probe (resets and the rotation timer still exchange on their own).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace

from credentials.exchange import PartnerCenterTokens
from credentials.health import ProbeOutcome
from shared.cache import Cache, CacheWaitTimeout
from shared.context import current_deadline
from shared.errors import DomainError, PartnerCredentialsInvalid

_LAST_PROBE = "probe"
STILL_RUNNING = (
    "Another probe's token exchange was still under way when this answer was due, so its "
    "outcome is not known yet."
)


class CredentialProbe:
    def __init__(self, tokens: PartnerCenterTokens, *, clock: Callable[[], float]) -> None:
        self._tokens = tokens
        self._clock = clock
        # Never fresh (ttl 0), never dropped: the floor alone decides when to load again,
        # and a load is one exchange, shared by the probes that arrive while it runs.
        self._last: Cache[str, ProbeOutcome] = Cache(
            ttl=0, stale_grace=math.inf, max_entries=1, clock=clock
        )

    def probe(self, *, floor_seconds: float) -> ProbeOutcome:
        """This probe's exchange (`probed`), or the last probe's outcome when one was made
        within `floor_seconds` or is under way."""
        try:
            found = self._last.get(
                _LAST_PROBE,
                self._exchange,
                wait=current_deadline().remaining(),
                refresh_if_attempted_before=floor_seconds,
            )
        except CacheWaitTimeout:
            return ProbeOutcome(failure=STILL_RUNNING, probed=False)
        return replace(found.value, probed=False) if found.cached else found.value

    def _exchange(self) -> ProbeOutcome:
        return replace(exchange_now(self._tokens), at=self._clock())


def exchange_now(tokens: PartnerCenterTokens) -> ProbeOutcome:
    """One token exchange past the cached access token, its new refresh token stored
    before this returns (so the vault's date is the exchange's); never raises."""
    try:
        exchange = tokens.exchange()
    except DomainError as exc:
        return ProbeOutcome(
            failure=exc.detail, credentials_rejected=isinstance(exc, PartnerCredentialsInvalid)
        )
    except Exception as exc:  # noqa: BLE001 - the check reports every failure
        # The type only: an unexpected exception's message may hold anything.
        failure = f"The token exchange failed unexpectedly ({type(exc).__name__})."
        return ProbeOutcome(failure=failure)
    if exchange.stored is None:
        return ProbeOutcome()
    return ProbeOutcome(store_problem=_store_problem(exchange.stored))


def _store_problem(stored: Future[str | None]) -> str | None:
    try:
        stored.result(timeout=current_deadline().remaining())
    except FutureTimeout:
        return "storing it in Key Vault did not finish in time."
    except DomainError as exc:
        return exc.detail
    except Exception as exc:  # noqa: BLE001
        return f"storing it failed ({type(exc).__name__})."
    return None
