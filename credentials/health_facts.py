"""Gathers the facts the credentials health checks judge (credentials/health.py).

Key Vault is read past the cache, each secret's value dropped at once: the check must say
what the vault holds now, and only its dates are needed. With `probe`, one token exchange
is made first (bypassing the cached access token), and its new refresh token is stored
before the vault is read, so the refresh token's date is the one the exchange produced.
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from credentials.exchange import PartnerCenterTokens, SecretNames
from credentials.health import CredentialFacts, ProbeOutcome
from credentials.key_vault import SecretCache
from shared.context import current_deadline
from shared.errors import DomainError, PartnerCredentialsInvalid


def gather(
    *, secrets: SecretCache, tokens: PartnerCenterTokens, names: SecretNames, probe: bool
) -> CredentialFacts:
    outcome = _probe(tokens) if probe else None
    app_id, app_secret, refresh_token = secrets.inspect(
        (names.app_id, names.app_secret, names.refresh_token)
    )
    return CredentialFacts(app_id, app_secret, refresh_token, tokens.history(), outcome)


def _probe(tokens: PartnerCenterTokens) -> ProbeOutcome:
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
