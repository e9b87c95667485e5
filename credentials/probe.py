"""The credentials probe: one real token exchange for `?probe=true`, rationed.

An exchange redeems the partner's one refresh token and stores a new Key Vault version,
so a probe may not make one per request: at most one per floor (HEALTH_PROBE_MIN_SECONDS)
per instance, and probes arriving while one is under way share it. Within the floor the
last probe's outcome is reported again, a failure included: a refused credential is not
redeemed again by every probe (resets and the rotation timer still exchange on their own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from credentials.health import ProbeOutcome
from credentials.partner_center_tokens import PartnerCenterTokens
from credentials.renewal import StoreLate, renew
from shared.cache import Cache, CacheWaitTimeout, Lifetime
from shared.context import current_deadline
from shared.errors import DomainError, PartnerCredentialsInvalid

_LAST_PROBE = "probe"
STILL_RUNNING = (
    "Another probe's token exchange was still under way when this answer was due, so its "
    "outcome is not known yet."
)


@dataclass(frozen=True)
class _Probed:
    outcome: ProbeOutcome
    # The floor in force when it was made: how long it stands for every later probe.
    floor_seconds: float


class CredentialProbe:
    def __init__(self, tokens: PartnerCenterTokens, *, clock: Callable[[], float]) -> None:
        self._tokens = tokens
        self._clock = clock
        # Fresh for the floor, then gone: the first probe after it makes the exchange, and
        # the probes that arrive while it runs wait for it (single flight).
        self._last: Cache[str, _Probed] = Cache(
            ttl=0,
            lifetime=lambda probed: Lifetime(probed.floor_seconds, probed.floor_seconds),
            max_entries=1,
            clock=clock,
        )

    def probe(self, *, floor_seconds: float) -> ProbeOutcome:
        """This probe's exchange (`probed`), or the last probe's outcome when one was made
        less than `floor_seconds` ago or is under way."""
        try:
            found = self._last.get(
                _LAST_PROBE,
                lambda: _Probed(self._exchange(), floor_seconds),
                wait=current_deadline().remaining(),
            )
        except CacheWaitTimeout:
            return ProbeOutcome(failure=STILL_RUNNING, probed=False)
        outcome = found.value.outcome
        return replace(outcome, probed=False) if found.cached else outcome

    def _exchange(self) -> ProbeOutcome:
        outcome = exchange_now(self._tokens)
        # When it ended, as the exchange history records it; the floor runs from here.
        return replace(outcome, at=self._clock())


def exchange_now(tokens: PartnerCenterTokens) -> ProbeOutcome:
    """One token exchange past the cached access token, its new refresh token stored
    before this returns (so the vault's date is the exchange's); never raises."""
    renewal = renew(tokens, current_deadline())
    failure = renewal.failure
    if isinstance(failure, DomainError):
        rejected = isinstance(failure, PartnerCredentialsInvalid)
        return ProbeOutcome(failure=failure.detail, credentials_rejected=rejected)
    if failure is not None:
        # The type only: an unexpected exception's message may hold anything.
        failure_text = f"The token exchange failed unexpectedly ({type(failure).__name__})."
        return ProbeOutcome(failure=failure_text)
    return ProbeOutcome(store_problem=_store_problem(renewal.store_failure))


def _store_problem(failure: Exception | None) -> str | None:
    if isinstance(failure, StoreLate):
        return "storing it in Key Vault did not finish in time."
    if isinstance(failure, DomainError):
        return failure.detail
    if failure is not None:
        return f"storing it failed ({type(failure).__name__})."
    return None
